/**
 * TPM2_ActivateCredential (Part 3, 12.5): with the AK (activateHandle) and the EK (keyHandle,
 * authorized by the EK's policy session), recovers the secret MakeCredential sealed to the
 * AK's name — proof that the AK lives in the same TPM as the EK.
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import type { AuthCommand } from '../marshal/auth.js';
import { readTpm2b, writeTpm2b } from '../marshal/tpm2b.js';

/** TPM2_ActivateCredential(activateHandle, keyHandle, credentialBlob, secret). */
export function encodeActivateCredential(
  activateHandle: number,
  keyHandle: number,
  credentialBlob: Uint8Array,
  secret: Uint8Array,
  activateAuth: AuthCommand,
  keyAuth: AuthCommand,
): Uint8Array {
  const w = new ByteWriter(credentialBlob.length + secret.length + 4);
  writeTpm2b(w, credentialBlob, TPM2_LIMITS.maxIdObject);
  writeTpm2b(w, secret, TPM2_LIMITS.maxEncryptedSecret);
  return encodeCommand({
    cc: TPM_CC.ActivateCredential,
    handles: [activateHandle, keyHandle],
    auths: [activateAuth, keyAuth],
    params: w.finish(),
  });
}

/** The recovered credential (certInfo). */
export function decodeActivateCredentialResponse(resp: Uint8Array): Uint8Array {
  const r = decodeResponse(resp, { command: 'TPM2_ActivateCredential', sessionCount: 2 }).params;
  const certInfo = readTpm2b(r, 'certInfo', TPM2_LIMITS.maxDigest);
  r.expectEnd('TPM2_ActivateCredential');
  return certInfo;
}
