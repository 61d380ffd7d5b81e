/**
 * Why mrstack believes a TPM attestation key (DESIGN §6.1): a quote signature proves only that
 * *some* key signed the TPMS_ATTEST, so the key itself must be trusted by something the caller
 * configured. An AK is trusted
 *
 * - `pinned`: the caller gave it (`--ak`, library `opts.ak` — also how the verifier service
 *   passes an AK it registered by credential activation), or its SPKI SHA-256 is among the
 *   policy's pinned keys;
 * - `certificate`: an AK certificate whose SubjectPublicKeyInfo **equals** the quote-signing key
 *   validates through the X.509 core ({@link validateChain}, {@link TPM_AK_PROFILE}) to one of
 *   the caller's anchors (`--trust-anchor`, or the TPM CA of the caller's own emulated TVM under
 *   `--trust-emulated --tvm-state DIR`, pinned by fingerprint);
 * - `cvm_report`: the AK **equals** the one a CVM report publishes (Azure HCL `HCLAkPub`), and
 *   that report verified — every check of it `ok` or relaxed by name — to a vendor anchor
 *   (`cvm_ak_binding.ts`).
 *
 * Nothing else counts: an `ak_public` carried in the evidence, a certificate that chains
 * nowhere, or a CVM report that failed or publishes another key, is `ERR_UNTRUSTED_KEY` (exit 1),
 * whatever the signature says.
 *
 * Separately, when the AK's TPMT_PUBLIC is known, its attributes must make it an attestation
 * key: restricted and sign set, decrypt clear (`ERR_AK_ATTRIBUTES`) — otherwise the key could
 * sign a forged TPMS_ATTEST that starts with TPM_GENERATED.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { VerifyError, isMrstackError, type ErrorCode } from '../../errors.js';
import { TPMA_OBJECT } from '../../formats/tpm2/constants.js';
import type { TpmPublic } from '../../formats/tpm2/marshal/public.js';
import { anchorRef, policyAnchors, type AnchorRef, type TrustPolicy } from './trust_policy.js';
import type { CvmAkBinding, CvmReportKind } from './cvm_ak_binding.js';
import { spkiSha256Of, type Certificate } from './x509/certificate.js';
import { validateChain, type TrustAnchor, type ValidatedChain } from './x509/chain.js';
import { TPM_AK_PROFILE } from './x509/profiles.js';

/** Why an AK is trusted. */
export type AkTrustReason = 'pinned' | 'registered' | 'certificate' | 'cvm_report';

/** The trust decision, as `claims.ak_trust` prints it. */
export interface AkTrust {
  readonly reason: AkTrustReason;
  /** SHA-256 of the AK's SubjectPublicKeyInfo (hex). */
  readonly ak_spki_sha256: string;
  /** `certificate`: the anchor the AK certificate chained to; `cvm_report`: the CVM report's. */
  readonly anchor?: AnchorRef;
  /** `certificate`, `cvm_report`: true when that anchor is a root of the caller's emulated TVM. */
  readonly emulated?: boolean;
  /** `cvm_report`: which report vouched for the AK. */
  readonly cvm?: { readonly report: CvmReportKind; readonly kind: string };
  /** `certificate`: the AK certificate's subject and serial. */
  readonly certificate?: { readonly subject: string; readonly serial: string };
}

/** What {@link decideAkTrust} weighs. */
export interface AkTrustInput {
  /** The key the quote signature was checked with. */
  readonly key: KeyObject;
  /** True when `key` is the caller's own (`--ak`, `opts.ak`): that pins it. */
  readonly callerPinned: boolean;
  /**
   * The caller's key is one the verifier service registered by credential activation: the
   * reason is then `registered` (still a pin: the trust comes from the caller, not the evidence).
   */
  readonly registered?: boolean;
  readonly policy: TrustPolicy;
  /** Candidate certificates, caller's first (`--cert`, emulated collateral), then the evidence's. */
  readonly certificates: readonly Certificate[];
  readonly at: Date;
  /** A CVM report that publishes an AK, already verified ({@link CvmAkBinding}). */
  readonly cvm?: CvmAkBinding;
}

/** The trust decision, and the anchor for `trust.anchor` when a chain was used. */
export interface AkTrustDecision {
  readonly trust: AkTrust;
  readonly anchor?: TrustAnchor;
  /** `certificate`: the validated chain (its leaf is the AK certificate), for revocation. */
  readonly chain?: ValidatedChain;
}

function untrusted(message: string, details: Record<string, unknown> = {}): VerifyError {
  return new VerifyError('ERR_UNTRUSTED_KEY', message, { details });
}

/**
 * Decides whether the quote-signing key is trusted.
 * @throws VerifyError `ERR_UNTRUSTED_KEY` — with `cause_code` (and `rule`) in the details when an
 *   AK certificate for the key was given but its chain failed
 */
export function decideAkTrust(input: AkTrustInput): AkTrustDecision {
  const sha = spkiSha256Of(input.key);
  if (input.callerPinned && input.registered === true) {
    return { trust: { reason: 'registered', ak_spki_sha256: sha } };
  }
  if (input.callerPinned || input.policy.pinnedKeys.some((p) => p.sha256 === sha)) {
    return { trust: { reason: 'pinned', ak_spki_sha256: sha } };
  }
  const cvm = cvmDecision(input.cvm, sha);
  if (cvm !== undefined && 'trust' in cvm) return cvm;
  const leaves = input.certificates.filter((c) => c.spkiSha256 === sha);
  // A CVM report was given and does not vouch for this AK: say why, unless a certificate does.
  if (cvm !== undefined && leaves.length === 0) throw cvm.error;
  if (leaves.length === 0) {
    throw untrusted(
      input.certificates.length === 0
        ? `the AK (SPKI SHA-256 ${sha}) comes with the evidence only: pin it (--ak) or give its AK certificate (--cert) and a --trust-anchor`
        : `no certificate given certifies the quote-signing AK (SPKI SHA-256 ${sha})`,
      { ak_spki_sha256: sha },
    );
  }
  const anchors = policyAnchors(input.policy, []);
  let first: unknown;
  for (const leaf of leaves) {
    try {
      const chain = validateChain({
        leaf,
        intermediates: input.certificates.filter((c) => c !== leaf),
        profile: TPM_AK_PROFILE,
        anchors,
        at: input.at,
      });
      return {
        trust: {
          reason: 'certificate',
          ak_spki_sha256: sha,
          anchor: anchorRef(chain.anchor),
          ...(chain.anchor.emulated === true ? { emulated: true } : {}),
          certificate: { subject: leaf.subject, serial: leaf.serial },
        },
        anchor: chain.anchor,
        chain,
      };
    } catch (e) {
      if (!isMrstackError(e)) throw e;
      first ??= e;
    }
  }
  const e = first as VerifyError;
  const causeCode: ErrorCode = e.code;
  throw untrusted(
    `the AK certificate does not make the AK trusted (${causeCode}): ${e.message}${anchors.length === 0 ? ' — no trust anchor was configured (--trust-anchor, or --trust-emulated --tvm-state DIR)' : ''}`,
    { ak_spki_sha256: sha, cause_code: causeCode, ...e.details },
  );
}

/**
 * The `cvm_report` decision: trusted when the CVM report verified and publishes this AK; else
 * the `ERR_UNTRUSTED_KEY` to raise (with the CVM report's first failure as `cause_code`).
 */
function cvmDecision(
  cvm: CvmAkBinding | undefined,
  sha: string,
): AkTrustDecision | { readonly error: VerifyError } | undefined {
  if (cvm === undefined) return undefined;
  const what = cvm.report === 'azure-hcl-snp' ? 'Azure HCL report (SNP)' : 'Azure HCL report (TDX)';
  if (cvm.ak === undefined) {
    return {
      error: untrusted(`the ${what} publishes no usable AK: ${cvm.akError?.message ?? ''}`, {
        ak_spki_sha256: sha,
        cause_code: cvm.akError?.code ?? 'ERR_BINDING_MISMATCH',
      }),
    };
  }
  const published = spkiSha256Of(cvm.ak);
  if (published !== sha) {
    return {
      error: untrusted(
        `the quote-signing AK (SPKI SHA-256 ${sha}) is not the HCLAkPub the ${what} publishes (${published})`,
        { ak_spki_sha256: sha, hcl_ak_spki_sha256: published, cause_code: 'ERR_BINDING_MISMATCH' },
      ),
    };
  }
  const r = cvm.result;
  if (!r.verified) {
    const first = r.errors[0];
    return {
      error: untrusted(
        `the ${what} that publishes the AK did not verify${first === undefined ? '' : ` (${first.code}${typeof first['check'] === 'string' ? ` at ${first['check']}` : ''}): ${first.message}`}`,
        {
          ak_spki_sha256: sha,
          cause_code: first?.code ?? 'ERR_CHECK_SKIPPED',
          ...(typeof first?.['check'] === 'string' ? { cause_check: first['check'] } : {}),
        },
      ),
    };
  }
  return {
    trust: {
      reason: 'cvm_report',
      ak_spki_sha256: sha,
      ...(r.trust.anchor === undefined ? {} : { anchor: r.trust.anchor }),
      ...(r.trust.emulated ? { emulated: true } : {}),
      cvm: { report: cvm.report, kind: r.kind },
    },
  };
}

/**
 * Checks that a TPMT_PUBLIC describes an attestation key: restricted and sign set, decrypt clear
 * (TPM 2.0 Part 1, "Attestation Key": only a restricted signing key refuses to sign data that
 * starts with TPM_GENERATED).
 * @throws VerifyError `ERR_AK_ATTRIBUTES` naming the attribute that is wrong
 */
export function checkAkAttributes(tpm: TpmPublic): void {
  const a = tpm.objectAttributes;
  const missing = (['restricted', 'sign'] as const).filter((n) => (a & TPMA_OBJECT[n]) === 0);
  const bad = (a & TPMA_OBJECT.decrypt) !== 0 ? ['decrypt'] : [];
  if (missing.length > 0 || bad.length > 0) {
    throw new VerifyError(
      'ERR_AK_ATTRIBUTES',
      `the AK is not a restricted signing key: objectAttributes 0x${a.toString(16).padStart(8, '0')}${missing.length > 0 ? ` lacks ${missing.join(' and ')}` : ''}${bad.length > 0 ? `${missing.length > 0 ? ',' : ''} has decrypt set` : ''}`,
      { details: { object_attributes: a, missing, forbidden: bad } },
    );
  }
}
