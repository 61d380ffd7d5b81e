/**
 * TPM2_StartAuthSession (Part 3, 11.1): here unbound and unsalted (tpmKey and bind
 * TPM_RH_NULL), as a policy session needs for the EK's PolicySecret.
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_ALG, TPM_CC, TPM_RH, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { readTpm2b, writeTpm2b } from '../marshal/tpm2b.js';

/** StartAuthSession's result. */
export interface StartAuthSessionResult {
  readonly sessionHandle: number;
  readonly nonceTPM: Uint8Array;
}

/** TPM2_StartAuthSession(TPM_RH_NULL, TPM_RH_NULL, nonceCaller, '', sessionType, NULL, authHash). */
export function encodeStartAuthSession(
  sessionType: number,
  nonceCaller: Uint8Array,
  authHash: number = TPM_ALG.SHA256,
): Uint8Array {
  const w = new ByteWriter(nonceCaller.length + 16);
  writeTpm2b(w, nonceCaller, TPM2_LIMITS.maxDigest);
  writeTpm2b(w, new Uint8Array(0)); // encryptedSalt
  w.u8(sessionType).u16be(TPM_ALG.NULL).u16be(authHash);
  return encodeCommand({
    cc: TPM_CC.StartAuthSession,
    handles: [TPM_RH.NULL, TPM_RH.NULL],
    params: w.finish(),
  });
}

/** Decodes StartAuthSession's response. */
export function decodeStartAuthSessionResponse(resp: Uint8Array): StartAuthSessionResult {
  const f = decodeResponse(resp, { command: 'TPM2_StartAuthSession', handleCount: 1 });
  const nonceTPM = readTpm2b(f.params, 'nonceTPM', TPM2_LIMITS.maxDigest);
  f.params.expectEnd('TPM2_StartAuthSession');
  return { sessionHandle: f.handles[0]!, nonceTPM };
}
