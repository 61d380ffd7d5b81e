/**
 * TPM2_PCR_Extend (Part 3, 22.2): one digest per bank, all banks in one command.
 *
 * @module
 */
import { TPM_CC } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { passwordAuth, type AuthCommand } from '../marshal/auth.js';
import { encodeDigestValues, type TaggedDigest } from '../marshal/digests.js';

/** TPM2_PCR_Extend(pcrHandle = PCR index, digests). */
export function encodePcrExtend(
  pcr: number,
  digests: readonly TaggedDigest[],
  auth: AuthCommand = passwordAuth(),
): Uint8Array {
  return encodeCommand({
    cc: TPM_CC.PCR_Extend,
    handles: [pcr],
    auths: [auth],
    params: encodeDigestValues(digests),
  });
}

/** Checks PCR_Extend's response. */
export function decodePcrExtendResponse(resp: Uint8Array): void {
  decodeResponse(resp, { command: 'TPM2_PCR_Extend', sessionCount: 1 }).params.expectEnd(
    'TPM2_PCR_Extend',
  );
}
