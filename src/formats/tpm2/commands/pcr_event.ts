/**
 * TPM2_PCR_Event (Part 3, 22.3): the TPM hashes event data (≤ 1024 bytes) in every bank and
 * extends each bank of the PCR, returning the digests it used.
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { passwordAuth, type AuthCommand } from '../marshal/auth.js';
import { readDigestValues, type TaggedDigest } from '../marshal/digests.js';
import { writeTpm2b } from '../marshal/tpm2b.js';

/** TPM2_PCR_Event(pcrHandle, eventData). */
export function encodePcrEvent(
  pcr: number,
  eventData: Uint8Array,
  auth: AuthCommand = passwordAuth(),
): Uint8Array {
  const w = new ByteWriter(eventData.length + 2);
  writeTpm2b(w, eventData, TPM2_LIMITS.maxEvent);
  return encodeCommand({ cc: TPM_CC.PCR_Event, handles: [pcr], auths: [auth], params: w.finish() });
}

/** PCR_Event's digests, one per bank. */
export function decodePcrEventResponse(resp: Uint8Array): TaggedDigest[] {
  const r = decodeResponse(resp, { command: 'TPM2_PCR_Event', sessionCount: 1 }).params;
  const d = readDigestValues(r, 'digests');
  r.expectEnd('TPM2_PCR_Event');
  return d;
}
