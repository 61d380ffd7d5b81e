/**
 * AR4SI trustworthiness claims (draft-ietf-rats-ar4si): the eight claim names, the tier of a
 * claim value, and the status of a trustworthiness vector. Values and tiers are the draft's
 * (cross-checked with veraison/ear's `trustclaim.go` and `trusttier.go`).
 *
 * @module
 */

/** The eight AR4SI claims, in the draft's order (their CBOR keys are the indexes 0…7). */
export const AR4SI_CLAIMS: readonly [
  'instance-identity',
  'configuration',
  'executables',
  'file-system',
  'hardware',
  'runtime-opaque',
  'storage-opaque',
  'sourced-data',
] = Object.freeze([
  'instance-identity',
  'configuration',
  'executables',
  'file-system',
  'hardware',
  'runtime-opaque',
  'storage-opaque',
  'sourced-data',
] as const);

/** One AR4SI claim name. */
export type Ar4siClaim = (typeof AR4SI_CLAIMS)[number];

/** A trustworthiness vector: claim → signed 8-bit value; an absent claim means 0 ("no claim"). */
export type TrustVector = Partial<Record<Ar4siClaim, number>>;

/** The four trust tiers, also the names of an EAR status. */
export type TrustTier = 'none' | 'affirming' | 'warning' | 'contraindicated';

/** Every tier, from no claim to the worst. */
export const TRUST_TIERS: readonly TrustTier[] = Object.freeze([
  'none',
  'affirming',
  'warning',
  'contraindicated',
]);

/** The integer form of each tier (an EAR status may be written as this integer). */
export const TIER_CODES: Readonly<Record<TrustTier, number>> = Object.freeze({
  none: 0,
  affirming: 2,
  warning: 32,
  contraindicated: 96,
});

/** Well-known claim values used by mrstack (AR4SI standard codes). */
export const AR4SI_VALUES: { readonly noClaim: 0; readonly cryptoFailed: 99 } = Object.freeze({
  /** No assertion: the verifier makes no claim (a relying party treats it as absent). */
  noClaim: 0,
  /** Cryptographic validation of the evidence failed (defined for all eight claims). */
  cryptoFailed: 99,
} as const);

/** True when `v` is a possible claim value: an integer in -128…127. */
export function isClaimValue(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -128 && v <= 127;
}

/**
 * The tier of a claim value: 0, 1, -1 are none; 2…31 and -2…-32 affirming; 32…95 and -33…-96
 * warning; 96…127 and -97…-128 contraindicated.
 */
export function tierOf(value: number): TrustTier {
  if (value >= -1 && value <= 1) return 'none';
  if (value > 0) return value <= 31 ? 'affirming' : value <= 95 ? 'warning' : 'contraindicated';
  const m = -value; // non-standard (vendor) values: one step further out than the standard ones
  return m <= 32 ? 'affirming' : m <= 96 ? 'warning' : 'contraindicated';
}

const RANK: Readonly<Record<TrustTier, number>> = {
  none: 0,
  affirming: 1,
  warning: 2,
  contraindicated: 3,
};

/** The worse of two tiers, in the order none < affirming < warning < contraindicated. */
export function worseTier(a: TrustTier, b: TrustTier): TrustTier {
  return RANK[b] > RANK[a] ? b : a;
}

/**
 * The status a vector implies: the worst tier over its claims, so zeros never pull an affirming
 * vector down and an empty or all-zero vector is `none` (veraison/ear
 * `UpdateStatusFromTrustVector`, rust-ear `update_status_from_trust_vector`).
 */
export function statusFromVector(vector: TrustVector): TrustTier {
  let tier: TrustTier = 'none';
  for (const c of AR4SI_CLAIMS) {
    const v = vector[c];
    if (v !== undefined) tier = worseTier(tier, tierOf(v));
  }
  return tier;
}

/**
 * True when `status` is no better than the worst claim of `vector` (draft-ietf-rats-ear: a
 * status better than the worst claim misleads a relying party that reads only the status).
 * `none` and `affirming` count as equally good here: a status may be more cautious than its
 * claims, and an affirming status may come with no vector at all.
 */
export function statusCoversVector(status: TrustTier, vector: TrustVector): boolean {
  const worst = statusFromVector(vector);
  const bad = (t: TrustTier): number => (t === 'warning' ? 1 : t === 'contraindicated' ? 2 : 0);
  return bad(status) >= bad(worst);
}
