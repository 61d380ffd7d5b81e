/**
 * TPM2_FlushContext (Part 3, 28.4): unloads a transient object or session. The handle is a
 * parameter, not in the handle area.
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CC } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';

/** TPM2_FlushContext(flushHandle). */
export function encodeFlushContext(handle: number): Uint8Array {
  return encodeCommand({
    cc: TPM_CC.FlushContext,
    params: new ByteWriter(4).u32be(handle).finish(),
  });
}

/** Checks FlushContext's response. */
export function decodeFlushContextResponse(resp: Uint8Array): void {
  decodeResponse(resp, { command: 'TPM2_FlushContext' }).params.expectEnd('TPM2_FlushContext');
}
