/**
 * TPM2_ContextSave (Part 3, 28.2).
 *
 * @module
 */
import { TPM_CC } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { readContext, type TpmsContext } from '../marshal/context.js';

/** TPM2_ContextSave(saveHandle). */
export function encodeContextSave(handle: number): Uint8Array {
  return encodeCommand({ cc: TPM_CC.ContextSave, handles: [handle] });
}

/** The saved context. */
export function decodeContextSaveResponse(resp: Uint8Array): TpmsContext {
  const r = decodeResponse(resp, { command: 'TPM2_ContextSave' }).params;
  const c = readContext(r, 'context');
  r.expectEnd('TPM2_ContextSave');
  return c;
}
