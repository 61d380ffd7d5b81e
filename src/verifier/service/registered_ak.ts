/**
 * Which TPM attestation key the verifier service trusts for a quote (DESIGN §6.1, §6.5): the AK
 * it registered to the attester by credential activation. An attester that registered AKs is
 * attested only by them; a quote by any other AK — another key of the same TPM, or a key
 * registered to another attester — is refused before its signature matters
 * (`ERR_AK_UNREGISTERED`, finding `tpm.ak.unregistered`). So is a quote whose AK nobody registered
 * and that no trusted AK certificate vouches for (the evidence verifier's `ERR_UNTRUSTED_KEY`):
 * for the service, registration is how an AK without a certificate becomes trusted.
 *
 * @module
 */
import { bytesEqual } from '../../bytes/hex.js';
import { objectName } from '../../formats/tpm2/public_key.js';
import type { EvidenceAppraisal } from '../appraise/appraise_evidence.js';
import { appraise } from '../appraise/appraise.js';
import type { Appraisal } from '../appraise/appraisal_input.js';
import { FINDING_IDS, appraisalStatus, type Finding } from '../appraise/finding.js';
import type { CompiledPolicy } from '../appraise/policy.js';
import { provenClaimsOf } from '../appraise/proven_claims.js';
import type { EvidenceResult } from '../verify/evidence_result.js';
import type { EkTrustReason, VerifierStore } from '../store/store.js';

/** Why the service pinned a TPM AK for a verification: it is registered to the attester. */
export interface AkPin {
  readonly reason: 'registered';
  readonly attesterId: string;
  readonly akName: Uint8Array;
  /** False only when the evidence names no AK (the registered one is then used). */
  readonly matchesEvidence: boolean;
  /**
   * Why the attester's EK was trusted when the AK was activated against it (`certificate`,
   * `allowlist`, `svsm_report`); null for attesters stored before migration 3 without one.
   */
  readonly ekTrust?: EkTrustReason | null;
}

/** Why a quote's AK is refused. */
export type AkRefusalReason =
  /** The session's attester registered AKs, and this is none of them. */
  | 'not-this-attesters'
  /** The AK is registered, to another attester than the session's. */
  | 'another-attesters'
  /** Nobody registered it and no trusted certificate vouches for it. */
  | 'not-registered';

/** A refused AK, as the result's `ak` member and the finding report it. */
export interface AkRefusal {
  readonly reason: AkRefusalReason;
  /** The session's attester, when it named one. */
  readonly attesterId: string | null;
  /** TPM name of the quote's AK (hex), when the evidence carries it. */
  readonly akName: string | null;
  /** The AKs registered to the session's attester (hex names). */
  readonly registered: readonly string[];
}

/** What the store says about the quote's AK. */
export type AkDecision =
  | {
      readonly kind: 'pinned';
      readonly pin: AkPin;
      readonly akPublic: Uint8Array;
      /** The attester's own relaxations (an allowlisted bare EK). */
      readonly relaxed: readonly string[];
    }
  | { readonly kind: 'refused'; readonly refusal: AkRefusal }
  /** Nothing registered for it: the evidence verifier decides (an AK certificate may vouch). */
  | { readonly kind: 'unknown'; readonly akName: Uint8Array | undefined };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Looks the quote's AK up in the store. A session for an attester pins that attester's AK the
 * quote names, refuses any other; a session for nobody pins the AK the quote names when some
 * attester registered it (the result is then that attester's).
 * @param parts the report envelope's parts (`ak_public` is the quote's TPMT_PUBLIC)
 */
export async function decideRegisteredAk(
  store: VerifierStore,
  parts: Readonly<Record<string, Uint8Array>> | undefined,
  attesterId: string | null,
): Promise<AkDecision> {
  const carried = parts?.['ak_public'];
  let name: Uint8Array | undefined;
  if (carried !== undefined) {
    try {
      name = objectName(carried);
    } catch {
      name = undefined; // not a TPMT_PUBLIC: the evidence verifier reports it
    }
  }
  let key: { attesterId: string; akName: Uint8Array; akPublic: Uint8Array } | null = null;
  if (attesterId !== null) {
    const keys = await store.listAttesterKeys(attesterId);
    if (name === undefined) key = keys[0] ?? null;
    else {
      key = keys.find((k) => bytesEqual(k.akName, name)) ?? null;
      if (key === null && keys.length > 0) {
        return refused('not-this-attesters', attesterId, name, keys);
      }
      if (key === null) {
        const elsewhere = await store.findAttesterKey(name);
        if (elsewhere !== null && elsewhere.attesterId !== attesterId) {
          return refused('another-attesters', attesterId, name, []);
        }
      }
    }
  } else if (name !== undefined) {
    key = await store.findAttesterKey(name);
  }
  if (key === null) return { kind: 'unknown', akName: name };
  const attester = await store.getAttester(key.attesterId);
  return {
    kind: 'pinned',
    pin: {
      reason: 'registered',
      attesterId: key.attesterId,
      akName: key.akName,
      matchesEvidence: name !== undefined && bytesEqual(key.akName, name),
      ekTrust: attester?.ekTrust ?? null,
    },
    akPublic: key.akPublic,
    relaxed: attester?.relaxed ?? [],
  };
}

function refused(
  reason: AkRefusalReason,
  attesterId: string | null,
  name: Uint8Array | undefined,
  keys: readonly { akName: Uint8Array }[],
): AkDecision {
  return {
    kind: 'refused',
    refusal: {
      reason,
      attesterId,
      akName: name === undefined ? null : hex(name),
      registered: keys.map((k) => hex(k.akName)),
    },
  };
}

/**
 * The refusal for an AK nobody registered, when the evidence verifier found no certificate
 * that makes it trusted either; undefined when it did (or the quote failed for another reason).
 */
export function unregisteredAfterVerify(
  verify: EvidenceResult,
  attesterId: string | null,
  akName: Uint8Array | undefined,
): AkRefusal | undefined {
  if (!verify.errors.some((e) => e.code === 'ERR_UNTRUSTED_KEY')) return undefined;
  return {
    reason: 'not-registered',
    attesterId,
    akName: akName === undefined ? null : hex(akName),
    registered: [],
  };
}

const MESSAGES: Readonly<Record<AkRefusalReason, string>> = {
  'not-this-attesters': 'the quote was signed by an AK that is not one the attester registered',
  'another-attesters': 'the quote was signed by an AK registered to another attester',
  'not-registered':
    'the quote was signed by an AK nobody registered (and no trusted AK certificate vouches for it)',
};

/** The refusal as JSON (the result's `ak` member). */
export function refusalJson(r: AkRefusal): Record<string, unknown> {
  return {
    reason: r.reason,
    ...(r.attesterId === null ? {} : { attester_id: r.attesterId }),
    ...(r.akName === null ? {} : { ak_name: r.akName }),
    registered: r.registered,
  };
}

/** What {@link refuseEvidence} adds to a verification that the service refuses. */
export interface ServiceRefusal {
  readonly code: 'ERR_AK_UNREGISTERED' | 'ERR_PLATFORM_MISMATCH';
  /** The check verify reports failed (`ak_registered`, `platform_identity`). */
  readonly check: string;
  readonly findingId: 'tpm.ak.unregistered' | 'platform.identity.mismatch';
  readonly claim: string;
  readonly message: string;
  readonly expected?: unknown;
  readonly actual?: unknown;
  readonly details?: Record<string, unknown>;
}

/**
 * The verification and appraisal of evidence the service refuses for a reason of its own (an
 * AK it did not register, a platform that is not the registered one): verify fails with the
 * refusal's code and check, nothing the evidence claims is judged, and the appraisal leads with
 * the refusal's finding.
 */
export function refuseEvidence(
  ea: Pick<EvidenceAppraisal, 'verify' | 'replay'>,
  policy: CompiledPolicy,
  r: ServiceRefusal,
  opts: { readonly at: Date; readonly nonceGiven: boolean },
): { readonly verify: EvidenceResult; readonly appraisal: Appraisal } {
  const verify: EvidenceResult = {
    ...ea.verify,
    verified: false,
    errors: [
      { code: r.code, message: r.message, check: r.check, ...r.details },
      ...ea.verify.errors,
    ],
    checks: { ...ea.verify.checks, [r.check]: 'failed' },
  };
  const claims = provenClaimsOf(verify, { nonceGiven: opts.nonceGiven });
  const base = appraise(claims, ea.replay, policy, { at: opts.at });
  const finding: Finding = {
    id: r.findingId,
    status: policy.status(r.findingId, FINDING_IDS[r.findingId].status),
    claim: r.claim,
    ...(r.expected === undefined ? {} : { expected: r.expected }),
    ...(r.actual === undefined ? {} : { actual: r.actual }),
    where: { layer: 'report' },
    message: r.message,
  };
  const findings = [finding, ...base.findings];
  return {
    verify,
    appraisal: { ...base, status: appraisalStatus(findings.map((f) => f.status)), findings },
  };
}

/** The refusal of an AK as {@link refuseEvidence} takes it. */
export function akRefusal(refusal: AkRefusal): ServiceRefusal {
  return {
    code: 'ERR_AK_UNREGISTERED',
    check: 'ak_registered',
    findingId: 'tpm.ak.unregistered',
    claim: 'ak',
    message: MESSAGES[refusal.reason],
    ...(refusal.registered.length === 0 ? {} : { expected: refusal.registered }),
    ...(refusal.akName === null ? {} : { actual: refusal.akName }),
    details: refusalJson(refusal),
  };
}
