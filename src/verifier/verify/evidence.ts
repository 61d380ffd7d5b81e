/**
 * The verification front door: one entry point for every kind of evidence (TDX quote, SNP
 * report, TPM quote, CCA token, agent bundle), one result type, and a dispatch table with one
 * line per kind.
 *
 * - {@link decodeEvidenceInput} turns what a user hands over (binary, hex or base64 text, or an
 *   mrstack report envelope) into bytes (`evidence_input.ts`);
 * - {@link detectEvidenceKind} recognises the kind from the bytes (`evidence_detect.ts`);
 * - {@link showEvidence} decodes without verifying; {@link verifyEvidence} verifies, loading
 *   only the kind's verifier (`evidence_dispatch.ts`).
 *
 * This module loads every kind's verifier (its {@link EVIDENCE_VERIFIERS} table and the
 * synchronous {@link showEvidence} need them); callers that only verify import
 * `evidence_dispatch.ts` and `evidence_input.ts` instead.
 *
 * Verification failures (a bad signature, an expired certificate, a wrong nonce) are collected
 * in {@link EvidenceResult.errors} with `verified: false`; malformed input and missing inputs
 * throw typed errors (exit 2). Time is an input: every check uses `options.at`.
 *
 * Adding a verifier: implement {@link EvidenceVerifier} in `verifier/verify/<kind>*.ts`, replace
 * that kind's line in {@link EVIDENCE_VERIFIERS} and its loader in `evidence_dispatch.ts`, and
 * its detection in `evidence_detect.ts`.
 *
 * @module
 */
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import { TDX_OR_HCL_VERIFIER } from './hcl_tdx.js';
import { SNP_VERIFIER } from './snp.js';
import { BUNDLE_VERIFIER } from './bundle.js';
import { CCA_VERIFIER } from './cca.js';
import { TPM_EVIDENCE_VERIFIER } from './tpm_attestation.js';
import {
  EVIDENCE_KINDS,
  type EvidenceKind,
  type EvidenceShowResult,
  type EvidenceVerifier,
} from './evidence_result.js';
import { looksGoTpmAttestation } from '../../formats/tpm2/gotpm_attestation.js';
import { checkTdReportHashes, parseTdReport, tdReportClaims } from '../../formats/tdx/tdreport.js';
import {
  detectEvidenceKindOf,
  looksLikeCca,
  looksLikeJsonObject,
  looksLikeSnpReport,
  looksLikeTpmAttest,
  looksTdReport,
} from './evidence_detect.js';

import { checkedEvidenceKind } from './evidence_dispatch.js';

export {
  decodeEvidenceInput,
  type DecodedEvidenceInput,
  type ReportEnvelope,
} from './evidence_input.js';
export { verifyEvidence } from './evidence_dispatch.js';

/**
 * The dispatch table: one line per kind (a kind's verifier, with the cheap byte-level detection).
 */
export const EVIDENCE_VERIFIERS: Readonly<Record<EvidenceKind, EvidenceVerifier>> = {
  tdx: TDX_OR_HCL_VERIFIER,
  snp: { ...SNP_VERIFIER, detect: (d) => looksLikeSnpReport(d) || SNP_VERIFIER.detect(d) },
  tpm: {
    ...TPM_EVIDENCE_VERIFIER,
    detect: (d) => looksLikeTpmAttest(d) || TPM_EVIDENCE_VERIFIER.detect(d),
  },
  cca: { ...CCA_VERIFIER, detect: looksLikeCca },
  bundle: { ...BUNDLE_VERIFIER, detect: looksLikeJsonObject },
};

/**
 * Detects the kind of evidence from its bytes.
 * @throws ParseError `ERR_UNKNOWN_FORMAT`; MrstackError `ERR_UNSUPPORTED` for a TDREPORT
 */
export function detectEvidenceKind(data: Uint8Array): EvidenceKind {
  return detectEvidenceKindOf(data, looksGoTpmAttestation);
}

function resolveKind(data: Uint8Array, kind: EvidenceKind | undefined): EvidenceKind {
  return kind === undefined ? detectEvidenceKind(data) : checkedEvidenceKind(kind);
}

/**
 * Decodes evidence without verifying anything.
 * @throws ParseError for malformed input; `ERR_UNSUPPORTED` for a kind without a verifier yet
 */
export function showEvidence(
  data: Uint8Array,
  kind?: EvidenceKind,
  limits: Partial<Limits> = {},
): EvidenceShowResult {
  if (
    kind === undefined &&
    looksTdReport(data) &&
    !EVIDENCE_KINDS.some((k) => EVIDENCE_VERIFIERS[k].detect(data))
  )
    return showTdReport(data);
  const k = resolveKind(data, kind);
  return EVIDENCE_VERIFIERS[k].show(data, { ...DEFAULT_LIMITS, ...limits });
}

/**
 * A raw TDREPORT, decoded: the TD's registers with their kernel names, and whether its two
 * internal SHA-384 hashes hold (its MAC only the CPU that made it can check).
 */
function showTdReport(data: Uint8Array): EvidenceShowResult {
  const t = parseTdReport(data);
  const h = checkTdReportHashes(t);
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  return {
    kind: 'tdx',
    claims: {
      format: 'tdreport',
      ...tdReportClaims(t),
      mac: hex(t.mac),
      tee_tcb_info_hash_ok: h.teeTcbInfoHash,
      tee_info_hash_ok: h.teeInfoHash,
    },
    warnings: [
      'a TDREPORT, not a quote: its MAC is checkable only by the CPU that made it, so nothing here is verified',
    ],
  };
}
