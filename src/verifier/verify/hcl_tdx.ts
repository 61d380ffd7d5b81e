/**
 * Azure TDX confidential VMs: the HCL report (the paravisor's attestation report) carries a
 * TDREPORT, which is MACed with a key only the CPU holds, so it is verified through the **TD
 * quote** made from it:
 *
 * 1. the TD quote verifies by the TDX verifier (Intel's PCK chain, QE report, signature and,
 *    with collateral, revocation and TCB) — its checks keep their names;
 * 2. `hcl_report_data`: the quote's REPORTDATA starts with H(HCL variable data), H the hash the
 *    HCL runtime header names — so Intel's signature covers the runtime claims and the vTPM
 *    attestation key (`HCLAkPub`) they publish;
 * 3. `hcl_td_report`: the quote's TD report body equals the TDREPORT the HCL report holds, field
 *    by field, so the registers read from the HCL report are the quoted ones;
 * 4. `hcl_ak`: the `HCLAkPub` JWK is a usable public key.
 *
 * Freshness: an HCL report is made at boot; a nonce is checked against its runtime claims'
 * `user-data` (as on SNP), and the vTPM quote signed by `HCLAkPub` is what usually carries it.
 * (trustee's `az-tdx-vtpm` verifier checks 1, 2 and the vTPM quote; 3 is ours.)
 *
 * @module
 */
import { MrstackError } from '../../errors.js';
import { parseHclReport, type HclReport } from '../../formats/azure/hcl_report.js';
import { parseTdReport, tdReportClaims } from '../../formats/tdx/tdreport.js';
import { parseTdxQuote } from '../../formats/tdx/quote.js';
import { checkHclBinding, checkHclNonce, checkHclTdReport } from './binding_hcl.js';
import { looksLikeHclTdx } from './evidence_detect.js';
import {
  ResultBuilder,
  type EvidenceResult,
  type EvidenceShowResult,
  type EvidenceVerifier,
  type ResolvedVerifyOptions,
} from './evidence_result.js';
import { TDX_VERIFIER } from './tdx_verifier.js';

/** The envelope / peer-container part that carries the TD quote of an HCL report. */
export const TD_QUOTE_PART = 'td_quote';

export { looksLikeHclTdx };

/**
 * Verifies an Azure TDX HCL report through its TD quote.
 * @throws ParseError for a malformed HCL report or quote; MrstackError `ERR_COLLATERAL_MISSING`
 *   without the TD quote (or without TDX collateral when `collateral` is not relaxed)
 */
export async function verifyHclTdx(
  data: Uint8Array,
  opts: ResolvedVerifyOptions,
): Promise<EvidenceResult> {
  const hcl = parseHclReport(data);
  if (hcl.report_type !== 'tdx') {
    throw new MrstackError('ERR_BAD_VALUE', 'this HCL report holds an SNP report, not a TDREPORT');
  }
  const quoteBytes = opts.parts?.[TD_QUOTE_PART];
  if (quoteBytes === undefined) {
    throw new MrstackError(
      'ERR_COLLATERAL_MISSING',
      "an Azure TDX HCL report is verified through the TD quote made from its TDREPORT: give it with --td-quote FILE (trustee's az-tdx-vtpm evidence carries it as td_quote)",
    );
  }
  return verifyHclTdxWith(hcl, quoteBytes, opts);
}

/** {@link verifyHclTdx} on a parsed HCL report. */
export async function verifyHclTdxWith(
  hcl: HclReport,
  quoteBytes: Uint8Array,
  opts: ResolvedVerifyOptions,
): Promise<EvidenceResult> {
  const tdreport = parseTdReport(hcl.report);
  const quote = parseTdxQuote(quoteBytes, opts.limits, { decodeChain: false });
  const b = new ResultBuilder('tdx', opts.at, opts.policy);
  // The quote by the TDX verifier; freshness is the HCL report's (below), never REPORTDATA's,
  // which holds H(variable data).
  const { nonce, ...rest } = opts;
  const inner = await TDX_VERIFIER.verify(quoteBytes, { ...rest, freshnessElsewhere: true });
  b.claims = { ...inner.claims, hcl: hcl.claims };
  b.trust = inner.trust;
  if (inner.tcbStatus !== undefined) b.tcbStatus = inner.tcbStatus;
  if (inner.advisories !== undefined) b.advisories = [...inner.advisories];
  b.warnings.push(...inner.warnings);
  b.absorb(inner);
  checkHclBinding(b, hcl, quote.body.reportData);
  checkHclTdReport(b, tdreport, quote.body);
  if (nonce !== undefined) checkHclNonce(b, hcl, nonce);
  else b.freshness(opts, () => undefined);
  return b.build();
}

/**
 * Decodes an Azure TDX HCL report without verifying it: the TDREPORT's registers (as `evidence
 * show` decodes a raw TDREPORT) and the HCL header and runtime claims.
 */
export function showHclTdx(data: Uint8Array): EvidenceShowResult {
  const hcl = parseHclReport(data);
  const t = parseTdReport(hcl.report);
  return {
    kind: 'tdx',
    claims: {
      format: 'azure-hcl-tdreport',
      ...tdReportClaims(t),
      hcl: hcl.claims,
    },
    warnings: [
      'an Azure TDX HCL report: its TDREPORT is verified only through the TD quote made from it (evidence verify … --td-quote FILE)',
    ],
  };
}

/**
 * The `tdx` entry of the front door's dispatch tables: a TD quote, or an Azure TDX HCL report
 * verified through its TD quote.
 */
export const TDX_OR_HCL_VERIFIER: EvidenceVerifier = {
  detect: (d) => TDX_VERIFIER.detect(d) || looksLikeHclTdx(d),
  show: (d, limits) => (looksLikeHclTdx(d) ? showHclTdx(d) : TDX_VERIFIER.show(d, limits)),
  verify: (d, o) => (looksLikeHclTdx(d) ? verifyHclTdx(d, o) : TDX_VERIFIER.verify(d, o)),
};
