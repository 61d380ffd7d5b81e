/**
 * The verification front door without the verifiers loaded: {@link verifyEvidence} recognises
 * the kind from the bytes (`evidence_detect.ts`) and only then imports that kind's verifier and
 * what it needs — a TDX bundle never loads the TPM verifier's protobuf decoder, the CCA
 * verifier's CBOR/COSE, or SNP's. The CLI's `evidence verify`, `appraise` and the verifier
 * service come in here; `evidence.ts` keeps the eager dispatch table ({@link
 * EVIDENCE_VERIFIERS}) and the synchronous `showEvidence` for the library's callers.
 *
 * Nested evidence (a bundle's report, a vTPM quote's CVM report) reaches its kind's verifier
 * through {@link LAZY_VERIFIERS}, injected as `verifiers` like the eager table was: its
 * `verify` loads the kind on first use.
 *
 * @module
 */
import { MrstackError, UsageError } from '../../errors.js';
import { DEFAULT_LIMITS } from '../../limits.js';
import { detectEvidenceKindOf } from './evidence_detect.js';
import {
  EVIDENCE_KINDS,
  type EvidenceKind,
  type EvidenceResult,
  type EvidenceVerifier,
  type ResolvedVerifyOptions,
  type VerifierRegistry,
  type VerifyEvidenceOptions,
} from './evidence_result.js';
import { resolveTrustPolicy } from './trust_policy.js';

/** Imports a kind's verifier (each module once: `import()` keeps what it loaded). */
const LOADERS: Readonly<Record<EvidenceKind, () => Promise<EvidenceVerifier>>> = {
  // an Azure TDX HCL report is TDX evidence, verified through its TD quote (hcl_tdx.ts)
  tdx: async () => (await import('./hcl_tdx.js')).TDX_OR_HCL_VERIFIER,
  snp: async () => (await import('./snp.js')).SNP_VERIFIER,
  tpm: async () => (await import('./tpm_attestation.js')).TPM_EVIDENCE_VERIFIER,
  cca: async () => (await import('./cca.js')).CCA_VERIFIER,
  bundle: async () => (await import('./bundle.js')).BUNDLE_VERIFIER,
};

/** The kinds loaded so far, for the registry's synchronous `detect` and `show`. */
const loaded = new Map<EvidenceKind, EvidenceVerifier>();

/** A kind's verifier, imported on first use. */
export async function loadEvidenceVerifier(kind: EvidenceKind): Promise<EvidenceVerifier> {
  const v = await LOADERS[kind]();
  loaded.set(kind, v);
  return v;
}

function notLoaded(kind: EvidenceKind): never {
  throw new MrstackError(
    'ERR_INTERNAL',
    `the ${kind} verifier is not loaded: verify with it first, or use EVIDENCE_VERIFIERS`,
  );
}

/**
 * The registry injected into {@link ResolvedVerifyOptions.verifiers}: `verify` loads the kind on
 * first use; `detect` and `show` are the loaded verifier's (verifiers call only `verify` on
 * nested evidence).
 */
export const LAZY_VERIFIERS: VerifierRegistry = Object.freeze(
  Object.fromEntries(
    EVIDENCE_KINDS.map((kind): [EvidenceKind, EvidenceVerifier] => [
      kind,
      {
        detect: (d) => (loaded.get(kind) ?? notLoaded(kind)).detect(d),
        show: (d, limits) => (loaded.get(kind) ?? notLoaded(kind)).show(d, limits),
        verify: async (d, o) => (await loadEvidenceVerifier(kind)).verify(d, o),
      },
    ]),
  ) as Record<EvidenceKind, EvidenceVerifier>,
);

/** The go-tpm-tools decoder, for bytes that start as one (it loads protobufjs). */
async function goTpmDetector(data: Uint8Array): Promise<(d: Uint8Array) => boolean> {
  if (data[0] !== 0x0a) return () => false;
  return (await import('../../formats/tpm2/gotpm_attestation.js')).looksGoTpmAttestation;
}

/**
 * Detects the kind of evidence from its bytes, as `detectEvidenceKind` does, loading no verifier.
 * @throws ParseError `ERR_UNKNOWN_FORMAT`; MrstackError `ERR_UNSUPPORTED` for a TDREPORT
 */
export async function detectEvidenceKindLazily(data: Uint8Array): Promise<EvidenceKind> {
  return detectEvidenceKindOf(data, await goTpmDetector(data));
}

/**
 * A kind a caller asked for, checked to be one.
 * @throws UsageError `ERR_USAGE`
 */
export function checkedEvidenceKind(kind: EvidenceKind): EvidenceKind {
  if (!(EVIDENCE_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(
      'ERR_USAGE',
      `--kind ${kind as string}: expected ${EVIDENCE_KINDS.join('|')}`,
    );
  }
  return kind;
}

/** The kind asked for (checked), or the detected one. */
async function resolveKind(
  data: Uint8Array,
  kind: EvidenceKind | undefined,
): Promise<EvidenceKind> {
  return kind === undefined ? detectEvidenceKindLazily(data) : checkedEvidenceKind(kind);
}

/**
 * Verifies evidence offline at `options.at`, loading only its kind's verifier.
 * @returns the result; `verified: false` with `errors` when a check failed
 * @throws ParseError for malformed input; MrstackError `ERR_COLLATERAL_MISSING` when collateral
 *   is needed and not given (and not waived), `ERR_UNSUPPORTED` for a kind without a verifier
 */
export async function verifyEvidence(
  data: Uint8Array,
  options: VerifyEvidenceOptions = {},
): Promise<EvidenceResult> {
  const k = await resolveKind(data, options.kind);
  const { at, limits, policy, ...rest } = options;
  const resolved: ResolvedVerifyOptions = {
    ...rest,
    // The one place "now" is read: the edge, when the caller chose no time.
    at: at ?? new Date(),
    limits: { ...DEFAULT_LIMITS, ...limits },
    policy: resolveTrustPolicy({ ...options, ...(policy === undefined ? {} : { policy }) }),
    verifiers: LAZY_VERIFIERS,
  };
  if (Number.isNaN(resolved.at.getTime())) {
    throw new UsageError('ERR_USAGE', 'verification time is not a valid date');
  }
  return LAZY_VERIFIERS[k].verify(data, resolved);
}
