/**
 * TPM2_ReadPublic (Part 3, 12.4).
 *
 * @module
 */
import { TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { readPublic2b, type PublicArea } from '../marshal/public.js';
import { readTpm2b } from '../marshal/tpm2b.js';

/** ReadPublic's result. */
export interface ReadPublicResult {
  readonly outPublic: PublicArea;
  readonly name: Uint8Array;
  readonly qualifiedName: Uint8Array;
}

/** TPM2_ReadPublic(objectHandle). */
export function encodeReadPublic(handle: number): Uint8Array {
  return encodeCommand({ cc: TPM_CC.ReadPublic, handles: [handle] });
}

/** Decodes ReadPublic's response. */
export function decodeReadPublicResponse(resp: Uint8Array): ReadPublicResult {
  const r = decodeResponse(resp, { command: 'TPM2_ReadPublic' }).params;
  const outPublic = readPublic2b(r, 'outPublic');
  const name = readTpm2b(r, 'name', TPM2_LIMITS.maxName);
  const qualifiedName = readTpm2b(r, 'qualifiedName', TPM2_LIMITS.maxName);
  r.expectEnd('TPM2_ReadPublic');
  return { outPublic, name, qualifiedName };
}
