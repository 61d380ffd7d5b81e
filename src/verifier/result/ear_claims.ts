/**
 * EAR claims-sets (IETF RATS "EAT Attestation Results"): the profiles mrstack reads, one
 * normalised model of a decoded EAR, and the JSON claims-set mrstack writes.
 *
 * mrstack **writes** exactly the veraison 2023 profile (`tag:github.com,2023:veraison/ear`),
 * the one deployed relying parties (veraison/ear, rust-ear, trustee KBS) read. It **reads** that
 * profile, trustee's alias of it (`tag:github.com,2024:confidential-containers/Trustee`, same
 * claim names) and draft-ietf-rats-ear-03 (`tag:ietf.org,2026:rats/ear#03`: underscored names,
 * `ear_appraisal_policy_ids` an array). The retired 2022 profile (flat, no `submods`) and
 * anything else are refused with `ERR_EAR_PROFILE`; a malformed claim is `ERR_EAR_CLAIMS`.
 *
 * @module
 */
import { MrstackError } from '../../errors.js';
import {
  AR4SI_CLAIMS,
  TIER_CODES,
  TRUST_TIERS,
  isClaimValue,
  statusCoversVector,
  type TrustTier,
  type TrustVector,
} from './ar4si.js';

/** The profile mrstack writes. */
export const EAR_PROFILE_VERAISON_2023 = 'tag:github.com,2023:veraison/ear';
/** Trustee's alias of the 2023 profile (veraison/ear accepts it as `EatTrusteeProfile`). */
export const EAR_PROFILE_TRUSTEE_2024 = 'tag:github.com,2024:confidential-containers/Trustee';
/** draft-ietf-rats-ear-03. */
export const EAR_PROFILE_DRAFT_03 = 'tag:ietf.org,2026:rats/ear#03';
/** The retired flat profile of veraison/ear before 2023-02-15; refused. */
export const EAR_PROFILE_RETIRED_2022 = 'tag:github.com,2022:veraison/ear';

/** Which claim-name family a profile uses. */
export type EarProfileFamily = 'veraison-2023' | 'draft-03';

/** The profiles mrstack reads, with their claim-name family. */
export const EAR_PROFILES: Readonly<Record<string, EarProfileFamily>> = Object.freeze({
  [EAR_PROFILE_VERAISON_2023]: 'veraison-2023',
  [EAR_PROFILE_TRUSTEE_2024]: 'veraison-2023',
  [EAR_PROFILE_DRAFT_03]: 'draft-03',
});

/** `ear.verifier-id`: who produced the result. */
export interface EarVerifierId {
  readonly developer: string;
  readonly build: string;
}

/** One appraisal (one `submods` entry). */
export interface EarAppraisal {
  readonly status: TrustTier;
  /** The trustworthiness vector as written (absent claims are "no claim"). */
  readonly trustVector?: TrustVector;
  /** Policy ids: the 2023 profile's one string, or draft-03's array. */
  readonly policyIds: readonly string[];
  /** draft-03: a per-appraisal nonce. */
  readonly nonce?: string | readonly string[];
  /** Every other member (extensions such as `ear.veraison.annotated-evidence`), verbatim. */
  readonly extensions: Readonly<Record<string, unknown>>;
}

/** A decoded EAR claims-set, whichever profile it came in. */
export interface Ear {
  readonly profile: string;
  readonly family: EarProfileFamily;
  readonly iat: number;
  readonly exp?: number;
  readonly nbf?: number;
  readonly verifierId: EarVerifierId;
  /** `eat_nonce` as written (base64 text, or a list of them). */
  readonly nonce?: string | readonly string[];
  /** `ear.raw-evidence` (base64url) when present. */
  readonly rawEvidence?: string;
  /** draft-03's optional top-level status. */
  readonly status?: TrustTier;
  readonly submods: Readonly<Record<string, EarAppraisal>>;
  /** Every other top-level member, verbatim. */
  readonly extensions: Readonly<Record<string, unknown>>;
}

/** Claim names per family. */
const NAMES = {
  'veraison-2023': {
    verifierId: 'ear.verifier-id',
    rawEvidence: 'ear.raw-evidence',
    status: 'ear.status',
    vector: 'ear.trustworthiness-vector',
    policy: 'ear.appraisal-policy-id',
  },
  'draft-03': {
    verifierId: 'ear_verifier_id',
    rawEvidence: 'ear_raw_evidence',
    status: 'ear_status',
    vector: 'ear_trustworthiness_vector',
    policy: 'ear_appraisal_policy_ids',
  },
} as const;

function claimsError(message: string, claim: string): MrstackError {
  return new MrstackError('ERR_EAR_CLAIMS', `EAR ${claim}: ${message}`, { details: { claim } });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const B64_TEXT = /^[A-Za-z0-9+/_-]+={0,2}$/;
const B64URL_NOPAD = /^[A-Za-z0-9_-]*$/;

function nonceClaim(v: unknown, claim: string): string | readonly string[] {
  const one = (s: unknown): string => {
    // eat_nonce: 8–64 bytes, base64 text in JSON — padded (12–88 characters) or, as mrstack and
    // jose write it, unpadded base64url (11–86). Judge the decoded length, not the text's.
    if (typeof s !== 'string' || s.length > 88 || !B64_TEXT.test(s))
      throw claimsError('expected base64 text of 8–64 bytes', claim);
    const bytes = Buffer.from(
      s.replace(/=+$/, ''),
      s.includes('+') || s.includes('/') ? 'base64' : 'base64url',
    ).length;
    if (bytes < 8 || bytes > 64)
      throw claimsError(`expected base64 text of 8–64 bytes, found ${bytes} bytes`, claim);
    return s;
  };
  if (Array.isArray(v)) {
    if (v.length === 0) throw claimsError('expected a non-empty list', claim);
    return Object.freeze(v.map(one));
  }
  return one(v);
}

function statusClaim(v: unknown, claim: string): TrustTier {
  if (typeof v === 'string' && (TRUST_TIERS as readonly string[]).includes(v))
    return v as TrustTier;
  // veraison/ear also accepts the integer form (0, 2, 32, 96).
  if (typeof v === 'number') {
    const t = TRUST_TIERS.find((k) => TIER_CODES[k] === v);
    if (t !== undefined) return t;
  }
  throw claimsError(`expected one of ${TRUST_TIERS.join(', ')} (or 0, 2, 32, 96)`, claim);
}

function vectorClaim(v: unknown, claim: string): TrustVector {
  if (!isObject(v)) throw claimsError('expected an object of AR4SI claims', claim);
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!(AR4SI_CLAIMS as readonly string[]).includes(k))
      throw claimsError(`unknown trustworthiness claim ${JSON.stringify(k)}`, `${claim}.${k}`);
    if (!isClaimValue(x)) throw claimsError('expected an integer in -128..127', `${claim}.${k}`);
    out[k] = x;
  }
  return out;
}

function timeClaim(
  o: Record<string, unknown>,
  name: 'iat' | 'exp' | 'nbf',
  nonInteger: ReadonlySet<string>,
): number | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || nonInteger.has(`/${name}`))
    throw claimsError('expected an integer NumericDate (seconds since the epoch)', name);
  return v;
}

/**
 * Decodes and validates an EAR claims-set (a parsed JWT payload).
 * @param nonIntegerLiterals JSON Pointers of numbers written with a fraction or exponent (from
 *   the strict parser), so that `"iat": 1.666091373e+09` is refused although it is integral
 * @throws MrstackError `ERR_EAR_PROFILE` (not an EAR, retired or unknown profile),
 *   `ERR_EAR_CLAIMS` (a missing or malformed claim, a status better than its vector)
 */
export function decodeEarClaims(
  payload: unknown,
  nonIntegerLiterals: ReadonlySet<string> = new Set(),
): Ear {
  if (!isObject(payload)) throw claimsError('expected a JSON object', 'claims-set');
  const profile = payload['eat_profile'];
  if (typeof profile !== 'string') {
    const missing = ['eat_profile', 'ear.verifier-id', 'submods'].filter((k) => !(k in payload));
    throw new MrstackError(
      'ERR_EAR_PROFILE',
      `not an EAR: no eat_profile${missing.length > 1 ? ` (missing ${missing.join(', ')})` : ''}`,
      { details: { missing } },
    );
  }
  const family = EAR_PROFILES[profile];
  if (family === undefined) {
    const retired = profile === EAR_PROFILE_RETIRED_2022;
    throw new MrstackError(
      'ERR_EAR_PROFILE',
      retired
        ? `EAR profile ${profile} is retired (flat claims, no submods); mrstack reads ${Object.keys(EAR_PROFILES).join(', ')}`
        : `EAR profile ${JSON.stringify(profile)} is not one mrstack reads (${Object.keys(EAR_PROFILES).join(', ')})`,
      { details: { profile, retired } },
    );
  }
  const n = NAMES[family];
  const iat = timeClaim(payload, 'iat', nonIntegerLiterals);
  if (iat === undefined) throw claimsError('missing', 'iat');
  const exp = timeClaim(payload, 'exp', nonIntegerLiterals);
  const nbf = timeClaim(payload, 'nbf', nonIntegerLiterals);
  const vid = payload[n.verifierId];
  if (!isObject(vid) || typeof vid['developer'] !== 'string' || typeof vid['build'] !== 'string')
    throw claimsError('expected {developer, build} strings', n.verifierId);
  const raw = payload[n.rawEvidence];
  if (raw !== undefined && (typeof raw !== 'string' || !B64URL_NOPAD.test(raw)))
    throw claimsError('expected base64url without padding', n.rawEvidence);
  const submodsIn = payload['submods'];
  if (!isObject(submodsIn) || Object.keys(submodsIn).length === 0)
    throw claimsError('expected at least one appraisal', 'submods');
  const submods: Record<string, EarAppraisal> = {};
  for (const [name, a] of Object.entries(submodsIn)) {
    const where = `submods.${name}`;
    if (!isObject(a)) throw claimsError('expected an object', where);
    if (!(n.status in a)) throw claimsError('missing', `${where}.${n.status}`);
    const status = statusClaim(a[n.status], `${where}.${n.status}`);
    const tv =
      a[n.vector] === undefined ? undefined : vectorClaim(a[n.vector], `${where}.${n.vector}`);
    if (tv !== undefined && !statusCoversVector(status, tv))
      throw claimsError(`status ${status} is better than its worst trustworthiness claim`, where);
    let policyIds: string[] = [];
    const p = a[n.policy];
    if (p !== undefined) {
      if (family === 'draft-03') {
        if (!Array.isArray(p) || p.length === 0 || !p.every((x) => typeof x === 'string'))
          throw claimsError('expected a non-empty array of strings', `${where}.${n.policy}`);
        policyIds = p;
      } else {
        if (typeof p !== 'string') throw claimsError('expected a string', `${where}.${n.policy}`);
        policyIds = [p];
      }
    }
    const known = new Set<string>([n.status, n.vector, n.policy, 'eat_nonce']);
    const nonce =
      a['eat_nonce'] === undefined ? undefined : nonceClaim(a['eat_nonce'], `${where}.eat_nonce`);
    submods[name] = Object.freeze({
      status,
      ...(tv === undefined ? {} : { trustVector: tv }),
      policyIds: Object.freeze(policyIds),
      ...(nonce === undefined ? {} : { nonce }),
      extensions: Object.fromEntries(Object.entries(a).filter(([k]) => !known.has(k))),
    });
  }
  const top = payload[n.status];
  const status =
    family === 'draft-03' && top !== undefined ? statusClaim(top, n.status) : undefined;
  const nonce =
    payload['eat_nonce'] === undefined ? undefined : nonceClaim(payload['eat_nonce'], 'eat_nonce');
  const known = new Set<string>([
    'eat_profile',
    'iat',
    'exp',
    'nbf',
    n.verifierId,
    n.rawEvidence,
    'submods',
    'eat_nonce',
    ...(family === 'draft-03' ? [n.status] : []),
  ]);
  return Object.freeze({
    profile,
    family,
    iat,
    ...(exp === undefined ? {} : { exp }),
    ...(nbf === undefined ? {} : { nbf }),
    verifierId: { developer: vid['developer'], build: vid['build'] },
    ...(nonce === undefined ? {} : { nonce }),
    ...(raw === undefined ? {} : { rawEvidence: raw }),
    ...(status === undefined ? {} : { status }),
    submods,
    extensions: Object.fromEntries(Object.entries(payload).filter(([k]) => !known.has(k))),
  });
}

/** What mrstack puts into one appraisal it writes. */
export interface EarAppraisalOut {
  readonly status: TrustTier;
  readonly trustVector: Required<TrustVector>;
  readonly policyId: string;
  /** Extra members (namespaced `ear.mrstack.*` by convention). */
  readonly extensions?: Readonly<Record<string, unknown>>;
}

/** What mrstack puts into an EAR it writes. */
export interface EarOut {
  readonly iat: number;
  readonly exp: number;
  readonly verifierId: EarVerifierId;
  /** The caller's nonce, 8–64 bytes (written base64url as `eat_nonce`). */
  readonly nonce?: Uint8Array;
  readonly submods: Readonly<Record<string, EarAppraisalOut>>;
}

/**
 * The JSON claims-set of an EAR in the veraison 2023 profile: `eat_profile`, integer `iat` and
 * `exp`, `ear.verifier-id` at the top, `eat_nonce`, and per submodule `ear.status`,
 * `ear.trustworthiness-vector` (all eight claims) and `ear.appraisal-policy-id` (a string).
 */
export function earClaimsJson(ear: EarOut): Record<string, unknown> {
  if (!Number.isSafeInteger(ear.iat) || !Number.isSafeInteger(ear.exp))
    throw claimsError('iat and exp must be integers', 'iat');
  if (ear.nonce !== undefined && (ear.nonce.length < 8 || ear.nonce.length > 64))
    throw claimsError(`eat_nonce must be 8–64 bytes, got ${ear.nonce.length}`, 'eat_nonce');
  const submods: Record<string, unknown> = {};
  for (const [name, a] of Object.entries(ear.submods)) {
    const vector: Record<string, number> = {};
    for (const c of AR4SI_CLAIMS) vector[c] = a.trustVector[c];
    submods[name] = {
      'ear.status': a.status,
      'ear.trustworthiness-vector': vector,
      'ear.appraisal-policy-id': a.policyId,
      ...(a.extensions ?? {}),
    };
  }
  return {
    eat_profile: EAR_PROFILE_VERAISON_2023,
    iat: ear.iat,
    exp: ear.exp,
    'ear.verifier-id': { developer: ear.verifierId.developer, build: ear.verifierId.build },
    ...(ear.nonce === undefined ? {} : { eat_nonce: Buffer.from(ear.nonce).toString('base64url') }),
    submods,
  };
}
