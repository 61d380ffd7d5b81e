/**
 * From an appraisal to a signed EAR: one submodule per appraised evidence, its trustworthiness
 * vector from the claim mapping, its status the worst tier of its claims, `iat` the appraisal
 * time and `exp` = `iat` + a configured lifetime. This is what `mrstack appraise --ear-out` and
 * the verifier service call.
 *
 * @module
 */
import type { Appraisal, ProvenClaims } from '../appraise/appraisal_input.js';
import { statusFromVector } from './ar4si.js';
import { trustVectorOf } from './claim_mapping.js';
import { earClaimsJson, type EarOut, type EarVerifierId } from './ear_claims.js';
import type { EarSigningKey } from './ear_keys.js';
import { signEar } from './ear_token.js';

/** Default EAR lifetime, seconds (trustee's attestation service issues 300-second tokens too). */
export const DEFAULT_EAR_LIFETIME_SECONDS = 300;

/** Default `ear.verifier-id`. */
export const MRSTACK_VERIFIER_ID: EarVerifierId = Object.freeze({
  developer: 'https://github.com/mrstack/mrstack',
  build: 'mrstack',
});

/** One appraisal to put into an EAR, with what verify proved about its evidence. */
export interface EarSubmodInput {
  readonly appraisal: Pick<Appraisal, 'findings' | 'policyId' | 'kind'>;
  /** The proof states and relaxations of the verified evidence (absent for nothing proved). */
  readonly proven?: Pick<ProvenClaims, 'signature' | 'nonce' | 'tcb' | 'relaxed' | 'skipped'> &
    Partial<Pick<ProvenClaims, 'kind'>>;
  /** The submodule name (default: the evidence kind, e.g. `tdx`). */
  readonly name?: string;
}

/** Options of {@link earFromAppraisals} and {@link issueEar}. */
export interface EarIssueOptions {
  /** The appraisal time: `iat`. */
  readonly at: Date;
  /** `exp` − `iat`, seconds (default {@link DEFAULT_EAR_LIFETIME_SECONDS}). */
  readonly lifetimeSeconds?: number;
  readonly verifierId?: EarVerifierId;
  /** The caller's nonce (8–64 bytes), written as `eat_nonce`. */
  readonly nonce?: Uint8Array;
}

/** The EAR content for appraisals (unsigned); see {@link issueEar}. */
export function earFromAppraisals(
  inputs: readonly EarSubmodInput[],
  opts: EarIssueOptions,
): EarOut {
  const iat = Math.floor(opts.at.getTime() / 1000);
  const lifetime = opts.lifetimeSeconds ?? DEFAULT_EAR_LIFETIME_SECONDS;
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0)
    throw new RangeError(`EAR lifetime must be a positive integer of seconds, got ${lifetime}`);
  const submods: Record<string, EarOut['submods'][string]> = {};
  for (const input of inputs) {
    const { appraisal } = input;
    const vector = trustVectorOf(appraisal.findings, input.proven ?? {});
    const problems = appraisal.findings
      .filter((f) => f.status !== 'affirming')
      .map((f) => ({ id: f.id, status: f.status, claim: f.claim }));
    submods[input.name ?? appraisal.kind] = {
      status: statusFromVector(vector),
      trustVector: vector,
      policyId: appraisal.policyId,
      // Which findings set the vector: a relying party can show them without re-appraising.
      ...(problems.length === 0 ? {} : { extensions: { 'ear.mrstack.findings': problems } }),
    };
  }
  return {
    iat,
    exp: iat + lifetime,
    verifierId: opts.verifierId ?? MRSTACK_VERIFIER_ID,
    ...(opts.nonce === undefined ? {} : { nonce: opts.nonce }),
    submods,
  };
}

/** A signed EAR and what it says. */
export interface IssuedEar {
  /** The compact JWS. */
  readonly token: string;
  /** The claims-set that was signed. */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly ear: EarOut;
}

/**
 * Builds and signs an EAR (veraison 2023 profile) for appraisals with `key`.
 * @throws MrstackError `ERR_EAR_CLAIMS` for a nonce outside 8–64 bytes
 */
export async function issueEar(
  inputs: readonly EarSubmodInput[],
  key: EarSigningKey,
  opts: EarIssueOptions,
): Promise<IssuedEar> {
  const ear = earFromAppraisals(inputs, opts);
  const claims = earClaimsJson(ear);
  return { token: await signEar(claims, key), claims, ear };
}
