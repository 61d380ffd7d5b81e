/**
 * TPM2_Quote (Part 3, 18.4): the AK signs a TPMS_ATTEST over the selected PCRs' digest with the
 * caller's qualifying data.
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_ALG, TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { passwordAuth, type AuthCommand } from '../marshal/auth.js';
import { writePcrSelectionList, type PcrSelection } from '../marshal/pcr_selection.js';
import { readSignature, type TpmtSignature } from '../marshal/signature.js';
import { readTpm2b, writeTpm2b } from '../marshal/tpm2b.js';

/** Quote's result: the signed TPMS_ATTEST bytes and the signature. */
export interface QuoteResult {
  readonly quoted: Uint8Array;
  readonly signature: TpmtSignature;
  /** The TPMT_SIGNATURE bytes as the TPM returned them. */
  readonly signatureBytes: Uint8Array;
}

/** TPM2_Quote(signHandle, qualifyingData, inScheme = TPM_ALG_NULL (the key's), PCRselect). */
export function encodeQuote(
  signHandle: number,
  qualifyingData: Uint8Array,
  selection: readonly PcrSelection[],
  auth: AuthCommand = passwordAuth(),
): Uint8Array {
  const w = new ByteWriter(qualifyingData.length + 32);
  writeTpm2b(w, qualifyingData, TPM2_LIMITS.maxData);
  w.u16be(TPM_ALG.NULL);
  writePcrSelectionList(w, selection);
  return encodeCommand({
    cc: TPM_CC.Quote,
    handles: [signHandle],
    auths: [auth],
    params: w.finish(),
  });
}

/** Decodes Quote's response. */
export function decodeQuoteResponse(resp: Uint8Array): QuoteResult {
  const r = decodeResponse(resp, { command: 'TPM2_Quote', sessionCount: 1 }).params;
  const quoted = readTpm2b(r, 'quoted', TPM2_LIMITS.maxAttest);
  const start = r.position;
  const sigReader = r.peek(r.remaining);
  const signature = readSignature(r, 'signature');
  const signatureBytes = sigReader.slice(0, r.position - start);
  r.expectEnd('TPM2_Quote');
  return { quoted, signature, signatureBytes };
}
