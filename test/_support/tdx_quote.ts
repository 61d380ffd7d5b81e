/** Re-encoding parsed TDX quotes, for round-trip tests and quotes with an edited PCK chain. */
import {
  encodeTdxQuote,
  encodeTdxQuoteSignedPart,
  type TdxQuote,
} from '../../src/formats/tdx/quote.js';

/**
 * Encodes a parsed quote again from its fields: header, body, signature, attestation key and QE
 * certification data. `pckChainPem` replaces the quote's own PCK chain (PEM certificates).
 */
export function reencodeTdxQuote(
  q: TdxQuote,
  pckChainPem: string = q.certificationData.pckChainPem,
): Uint8Array {
  const cd = q.certificationData;
  return encodeTdxQuote(encodeTdxQuoteSignedPart(q.header, q.body), {
    signature: q.signature,
    attestationKey: q.attestationKey,
    qeReport: cd.qeReport,
    qeReportSignature: cd.qeReportSignature,
    qeAuthData: cd.qeAuthData,
    pckChainPem,
  });
}
