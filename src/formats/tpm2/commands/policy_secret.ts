/**
 * TPM2_PolicySecret (Part 3, 23.4): adds "the caller knows authHandle's auth value" to a policy
 * session — the EK's policy is PolicySecret(TPM_RH_ENDORSEMENT).
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { passwordAuth, type AuthCommand } from '../marshal/auth.js';
import { readTpm2b, writeTpm2b } from '../marshal/tpm2b.js';

/** TPM2_PolicySecret(authHandle, policySession, nonceTPM='', cpHashA='', policyRef='', 0). */
export function encodePolicySecret(
  authHandle: number,
  policySession: number,
  auth: AuthCommand = passwordAuth(),
): Uint8Array {
  const w = new ByteWriter(16);
  writeTpm2b(w, new Uint8Array(0));
  writeTpm2b(w, new Uint8Array(0));
  writeTpm2b(w, new Uint8Array(0));
  w.u32be(0);
  return encodeCommand({
    cc: TPM_CC.PolicySecret,
    handles: [authHandle, policySession],
    auths: [auth],
    params: w.finish(),
  });
}

/** Checks PolicySecret's response (timeout and ticket are read and dropped). */
export function decodePolicySecretResponse(resp: Uint8Array): void {
  const r = decodeResponse(resp, { command: 'TPM2_PolicySecret', sessionCount: 1 }).params;
  readTpm2b(r, 'timeout', TPM2_LIMITS.maxDigest);
  r.u16be('policyTicket.tag');
  r.u32be('policyTicket.hierarchy');
  readTpm2b(r, 'policyTicket.digest', TPM2_LIMITS.maxDigest);
  r.expectEnd('TPM2_PolicySecret');
}
