/**
 * TPM2_GetRandom (Part 3, 16.1).
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { readTpm2b } from '../marshal/tpm2b.js';

/** TPM2_GetRandom(bytesRequested); a TPM returns at most one digest's worth per call. */
export function encodeGetRandom(bytesRequested: number): Uint8Array {
  return encodeCommand({
    cc: TPM_CC.GetRandom,
    params: new ByteWriter(2).u16be(bytesRequested).finish(),
  });
}

/** The random bytes. */
export function decodeGetRandomResponse(resp: Uint8Array): Uint8Array {
  const r = decodeResponse(resp, { command: 'TPM2_GetRandom' }).params;
  const b = readTpm2b(r, 'randomBytes', TPM2_LIMITS.maxDigest);
  r.expectEnd('TPM2_GetRandom');
  return b;
}
