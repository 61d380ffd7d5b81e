/**
 * The one table from appraisal findings to AR4SI trustworthiness claims (docs/ear.md), and the
 * rules that turn relaxed or skipped checks into "no claim" (0).
 *
 * Each finding id maps to the claims it speaks to and, per finding status, the AR4SI value it
 * gives them. A claim's value is then chosen as AR4SI says: a contraindicated value if any, else
 * a warning value, else — unless a relaxed, skipped or unproven check supports that claim, which
 * makes it 0 — an affirming value, else 0. So no collateral leaves hardware and configuration
 * at 0, no nonce leaves instance-identity at 0, and a failure found elsewhere is never hidden.
 *
 * @module
 */
import { findingIdInfo, type Finding, type FindingStatus } from '../appraise/finding.js';
import type { ProofState } from '../appraise/appraisal_input.js';
import { AR4SI_CLAIMS, AR4SI_VALUES, type Ar4siClaim, type TrustVector } from './ar4si.js';

/** How one finding id sets claims: the claims, and the value per finding status. */
export interface ClaimMapping {
  readonly claims: readonly Ar4siClaim[];
  /** Value when the finding is affirming (absent: the id never affirms these claims). */
  readonly affirming?: number;
  readonly warning: number;
  readonly contraindicated: number;
  /**
   * `boot`/`runtime` split the executables claim: 3 (approved at boot) from boot findings
   * alone, 2 (approved at boot and run time) only when runtime findings affirm too.
   */
  readonly phase?: 'boot' | 'runtime';
}

const ALL = AR4SI_CLAIMS;
const m = (
  claims: readonly Ar4siClaim[],
  affirming: number | undefined,
  warning: number,
  contraindicated: number,
  phase?: 'boot' | 'runtime',
): ClaimMapping =>
  Object.freeze({
    claims,
    ...(affirming === undefined ? {} : { affirming }),
    warning,
    contraindicated,
    ...(phase === undefined ? {} : { phase }),
  });

/**
 * Per finding subject (the `subject` of the finding-id table): the default mapping. AR4SI codes:
 * hardware 2 genuine / 32 known vulnerabilities / 96 contraindicated; configuration 2 approved /
 * 32 known vulnerabilities / 96 unsupportable; executables 3 approved at boot / 2 approved at
 * boot and run time / 33 unrecognised / 96 contraindicated; instance-identity 2 recognised /
 * 97 not recognised although it should be; 99 cryptographic validation failed.
 */
export const SUBJECT_MAPPINGS: Readonly<Record<string, ClaimMapping>> = Object.freeze({
  evidence: m(ALL, undefined, AR4SI_VALUES.cryptoFailed, AR4SI_VALUES.cryptoFailed),
  freshness: m(['instance-identity'], 2, 32, AR4SI_VALUES.cryptoFailed),
  hardware: m(['hardware'], 2, 32, 96),
  configuration: m(['configuration'], 2, 32, 96),
  boot: m(['executables'], 3, 33, 96, 'boot'),
  runtime: m(['executables'], 2, 33, 96, 'runtime'),
  files: m(['executables'], 2, 33, 96, 'runtime'),
  tenant: m(['executables'], 2, 33, 96, 'runtime'),
});

/**
 * Ids whose mapping differs from their subject's. Debug switches make guest memory readable by
 * the host, so they speak to runtime-opaque too (and "not debug" on a verified TEE report
 * affirms it: memory encrypted inside a TEE).
 */
export const ID_MAPPINGS: Readonly<Record<string, ClaimMapping>> = Object.freeze({
  // A wrong nonce: the evidence is not fresh, nothing in it holds now (veraison gives every
  // claim 99 for a nonce mismatch).
  'nonce.mismatch': m(ALL, undefined, AR4SI_VALUES.cryptoFailed, AR4SI_VALUES.cryptoFailed),
  'policy.kind.mismatch': m(['instance-identity'], undefined, 33, 97),
  'tdx.td.debug': m(['configuration', 'runtime-opaque'], undefined, 32, 96),
  'tdx.td.not-debug': m(['configuration', 'runtime-opaque'], 2, 32, 96),
  'snp.policy.debug': m(['configuration', 'runtime-opaque'], undefined, 32, 96),
  'snp.policy.match': m(['configuration', 'runtime-opaque'], 2, 32, 96),
  'cca.platform.debug': m(['hardware', 'runtime-opaque'], undefined, 32, 96),
  // Tenant events after the reported value are outside what the report vouches for: they
  // neither support nor block a claim.
  'tenant.event.pending': m([], undefined, 33, 96),
});

/** The mapping of one finding id (replay ids share their `replay.<register>.*` row). */
export function claimMappingOf(id: string): ClaimMapping {
  const own = ID_MAPPINGS[id];
  if (own !== undefined) return own;
  const info = findingIdInfo(id as Finding['id']) as ReturnType<typeof findingIdInfo> | undefined;
  if (info === undefined) return SUBJECT_MAPPINGS['evidence']!; // unknown id: block everything
  return SUBJECT_MAPPINGS[info.subject]!;
}

/**
 * The claims a `claim.unproven` finding blocks, from the name of what could not be judged.
 * Unknown names block every claim: what verify did not prove is never affirmed.
 */
export function claimsOfUnproven(claim: string): readonly Ar4siClaim[] {
  const c = claim.toLowerCase();
  if (/nonce|report_data|freshness/.test(c)) return ['instance-identity'];
  // TPM / CCA: the platform key's revocation speaks to the hardware only (docs/ear.md)
  if (c === 'revocation') return ['hardware'];
  if (/tcb|advisor|collateral|crl|mrseam|platform|svn/.test(c))
    return ['hardware', 'configuration'];
  if (
    /debug|attribute|xfam|mrconfig|mrowner|host_data|policy|id_key|author_key|vmpl|realm|migrat/.test(
      c,
    )
  )
    return ['configuration'];
  if (/mrtd|rtmr|pcr|measurement|rim|rem\d|replay|ima|tenant|event/.test(c)) return ['executables'];
  return ALL;
}

/** What verify proved about the checks that back the claims (from `ProvenClaims`). */
export interface ClaimSupport {
  /**
   * The evidence kind. For `tpm` and `cca` the TCB proof is the platform key's revocation (a
   * CRL), which supports hardware only; for TDX/SNP collateral supports configuration too.
   */
  readonly kind?: string;
  readonly signature?: ProofState;
  readonly nonce?: ProofState;
  readonly tcb?: ProofState;
  /** Checks the caller relaxed, as verify lists them (`collateral`, `crl`, `nonce` …). */
  readonly relaxed?: readonly string[];
  /** Checks verify skipped, with their reason. */
  readonly skipped?: Readonly<Record<string, string>>;
}

/**
 * Relaxations (`--relax NAME`) and the claims they take away (set to 0). Skipped checks of
 * verify map by name the same way (`nonce`, `*_crl`, collateral/TCB checks).
 */
export const RELAXATION_CLAIMS: Readonly<Record<string, readonly Ar4siClaim[]>> = Object.freeze({
  collateral: ['hardware', 'configuration'],
  crl: ['hardware'],
  nonce: ['instance-identity'],
  'unverified-anchor': ALL,
  'missing-checkpoint': ['executables'],
});

function skippedClaims(check: string): readonly Ar4siClaim[] {
  const c = check.toLowerCase();
  if (c.includes('nonce')) return RELAXATION_CLAIMS['nonce']!;
  if (c.includes('crl')) return RELAXATION_CLAIMS['crl']!;
  if (/collateral|tcb|qe_identity|advis/.test(c)) return RELAXATION_CLAIMS['collateral']!;
  if (c.includes('checkpoint')) return RELAXATION_CLAIMS['missing-checkpoint']!;
  if (/anchor|root|chain|signature/.test(c)) return ALL;
  return [];
}

/** The claims relaxed, skipped or unproven checks leave without support. */
export function blockedClaims(
  findings: readonly Pick<Finding, 'id' | 'status' | 'claim'>[],
  support: ClaimSupport,
): Set<Ar4siClaim> {
  const out = new Set<Ar4siClaim>();
  const add = (cs: readonly Ar4siClaim[]): void => cs.forEach((c) => out.add(c));
  const weak = (p: ProofState | undefined): boolean => p === 'skipped' || p === 'relaxed';
  if (support.signature !== undefined && support.signature !== 'ok') add(ALL);
  if (weak(support.nonce)) add(RELAXATION_CLAIMS['nonce']!);
  if (weak(support.tcb))
    add(
      support.kind === 'tpm' || support.kind === 'cca'
        ? ['hardware']
        : RELAXATION_CLAIMS['collateral']!,
    );
  for (const r of support.relaxed ?? []) add(RELAXATION_CLAIMS[r] ?? ALL);
  for (const check of Object.keys(support.skipped ?? {})) add(skippedClaims(check));
  for (const f of findings) {
    if (f.status !== 'none') continue;
    add(f.id === 'claim.unproven' ? claimsOfUnproven(f.claim) : claimMappingOf(f.id).claims);
  }
  return out;
}

/**
 * The trustworthiness vector of one appraisal: all eight claims, each chosen from the findings
 * by the rules of this module.
 */
export function trustVectorOf(
  findings: readonly Pick<Finding, 'id' | 'status' | 'claim'>[],
  support: ClaimSupport = {},
): Required<TrustVector> {
  if (support.signature === 'failed') {
    // The evidence failed cryptographic validation: every claim is 99 (as veraison reports it).
    return Object.fromEntries(
      AR4SI_CLAIMS.map((c) => [c, AR4SI_VALUES.cryptoFailed]),
    ) as Required<TrustVector>;
  }
  const bad = new Map<Ar4siClaim, { contra: number[]; warn: number[] }>();
  const good = new Map<Ar4siClaim, { boot: boolean; runtime: boolean; values: number[] }>();
  for (const f of findings) {
    const map = claimMappingOf(f.id);
    for (const c of map.claims) {
      const v = valueFor(map, f.status);
      if (v === undefined) continue;
      if (f.status === 'affirming') {
        const g = good.get(c) ?? { boot: false, runtime: false, values: [] };
        g.values.push(v);
        if (map.phase === 'boot') g.boot = true;
        if (map.phase === 'runtime') g.runtime = true;
        good.set(c, g);
      } else {
        const b = bad.get(c) ?? { contra: [], warn: [] };
        (f.status === 'contraindicated' ? b.contra : b.warn).push(v);
        bad.set(c, b);
      }
    }
  }
  const blocked = blockedClaims(findings, support);
  const out = {} as Record<Ar4siClaim, number>;
  for (const c of AR4SI_CLAIMS) {
    const b = bad.get(c);
    const g = good.get(c);
    if (b !== undefined && b.contra.length > 0) out[c] = Math.max(...b.contra);
    else if (b !== undefined && b.warn.length > 0) out[c] = Math.max(...b.warn);
    else if (blocked.has(c) || g === undefined) out[c] = AR4SI_VALUES.noClaim;
    else if (c === 'executables')
      // Run-time approval without boot approval says nothing about what booted.
      out[c] = g.boot ? (g.runtime ? 2 : 3) : AR4SI_VALUES.noClaim;
    else out[c] = Math.max(...g.values);
  }
  return out;
}

function valueFor(map: ClaimMapping, status: FindingStatus): number | undefined {
  if (status === 'affirming') return map.affirming;
  if (status === 'warning') return map.warning;
  if (status === 'contraindicated') return map.contraindicated;
  return undefined;
}
