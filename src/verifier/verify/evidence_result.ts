/**
 * The common result and option types of every evidence verifier, and the helpers verifiers
 * share to build results. Verifiers import this module (never `evidence.ts`, which imports them).
 *
 * @module
 */
import { MrstackError, ParseError, type ErrorCode } from '../../errors.js';
import type { Limits } from '../../limits.js';
import type { EvidenceBundle } from '../../formats/bundle/bundle.js';
import type { TrustAnchor } from './x509/chain.js';
import type { VerifierCache } from './verifier_cache.js';
import {
  DEFAULT_TRUST_POLICY,
  anchorRef,
  RELAXATIONS,
  type AnchorRef,
  type Relaxation,
  type TrustPolicy,
} from './trust_policy.js';

/** The kinds of evidence the front door knows. */
export type EvidenceKind = 'tdx' | 'snp' | 'tpm' | 'cca' | 'bundle';

/** Every kind, in detection order. */
export const EVIDENCE_KINDS: readonly EvidenceKind[] = Object.freeze([
  'tdx',
  'snp',
  'tpm',
  'cca',
  'bundle',
]);

/** One failed check: a stable code, a readable message and structured context. */
export interface EvidenceIssue {
  readonly code: ErrorCode;
  readonly message: string;
  readonly [detail: string]: unknown;
}

/**
 * Outcome of one named check. `skipped` comes with a reason in {@link EvidenceResult.skipped};
 * a skipped check the trust policy requires keeps `verified` false unless the caller relaxed it.
 */
export type CheckOutcome = 'ok' | 'failed' | 'skipped';

/** Which anchor the evidence chained to (or which pinned key signed it). */
export interface TrustInfo {
  /** Subject (or key fingerprint) of the root the chain ended in; undefined when none. */
  readonly root: string | undefined;
  /** True when the anchor is a root of the caller's emulated TVM (`--trust-emulated`). */
  readonly emulated: boolean;
  /** The anchor: SHA-256 of its SubjectPublicKeyInfo and its subject (schema v2). */
  readonly anchor?: AnchorRef;
}

/** What verification (or decoding) of one piece of evidence found. */
export interface EvidenceResult {
  /** Signatures, chains, revocation and validity times all hold (TCB status is beside it). */
  readonly verified: boolean;
  readonly kind: EvidenceKind;
  /** TCB status from the collateral (TDX: Intel's names, e.g. `UpToDate`, `OutOfDate`). */
  readonly tcbStatus?: string;
  /** Advisory IDs that apply to the matched TCB level (`INTEL-SA-00837` …). */
  readonly advisories?: readonly string[];
  /** Every decoded field, DESIGN §7 names; bytes as `Uint8Array` (hex in JSON). */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly errors: readonly EvidenceIssue[];
  readonly warnings: readonly string[];
  readonly trust: TrustInfo;
  /** Each check by name (`quote_signature`, `pck_chain`, `pck_crl` …). */
  readonly checks: Readonly<Record<string, CheckOutcome>>;
  /** Why each `skipped` check was skipped (schema v2). */
  readonly skipped: Readonly<Record<string, string>>;
  /** The relaxations that waived a skipped required check (schema v2), in vocabulary order. */
  readonly relaxed: readonly Relaxation[];
  /** The verification time used (ISO-8601). */
  readonly at: string;
}

/** What {@link showEvidence} returns: decoded fields only. */
export interface EvidenceShowResult {
  readonly kind: EvidenceKind;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly warnings: readonly string[];
}

/**
 * Collateral as given by the user, still unparsed: the files of a directory (name → bytes) or
 * one file (a map with one entry). Verifiers may also accept a pre-parsed, cached object
 * (`parsed`) made by their own collateral module.
 */
export interface CollateralInput {
  readonly files?: ReadonlyMap<string, Uint8Array>;
  /** Pre-parsed collateral of the kind's own collateral module (cached by a service). */
  readonly parsed?: unknown;
}

/** Options of {@link verifyEvidence}. Every field is optional; `at` defaults to now at the edge. */
export interface VerifyEvidenceOptions {
  /** Force the kind instead of detecting it. */
  readonly kind?: EvidenceKind;
  /** Verification time; certificates and collateral must be valid then. */
  readonly at?: Date;
  /**
   * Expected nonce. TDX/SNP: report data must equal the nonce when it is 64 bytes, else start
   * with it and be zero after it (docs/evidence.md); TPM: extraData must equal it.
   */
  readonly nonce?: Uint8Array;
  /**
   * The trust policy (anchors, pinned keys, relaxations). When absent one is built from
   * `trustAnchors`, `relax` and `allowMissingCollateral`.
   */
  readonly policy?: TrustPolicy;
  /** Relaxations to add to the policy (`--relax`). */
  readonly relax?: readonly Relaxation[];
  /**
   * The roots of the caller's emulated TVM (PEM or DER certificates; `--trust-emulated
   * --tvm-state DIR`), trusted by SPKI fingerprint beside the other anchors; a result that
   * chains to one says `trust.emulated: true`.
   */
  readonly emulatedAnchors?: readonly Uint8Array[];
  /** Roots to trust instead of the built-in ones (PEM or DER bytes each; `--trust-anchor`). */
  readonly trustAnchors?: readonly Uint8Array[];
  /**
   * Caches shared between verifications (a service keeps one): validated chains are kept per
   * set of anchors, so verifications under different anchors never share a trusted result.
   */
  readonly verifierCache?: VerifierCache;
  readonly collateral?: CollateralInput;
  /** Extra certificates (SNP VCEK/VLEK/ASK/ARK, TPM AK certificate), PEM or DER bytes each. */
  readonly certs?: readonly Uint8Array[];
  /**
   * TPM: the AK public key (TPMT_PUBLIC, PEM or JWK) **the caller pins**: a quote it verifies is
   * trusted for that reason alone (`ak_trust: pinned`). The CLI's `--ak`; the verifier service
   * passes here an AK it registered by credential activation. An `ak_public` in the evidence is
   * never pinned.
   */
  readonly ak?: Uint8Array;
  /**
   * The `ak` is one the verifier service registered by credential activation: `ak_trust`'s
   * reason is then `registered` instead of `pinned`.
   */
  readonly akRegistered?: boolean;
  /** TPM: TPMT_SIGNATURE. */
  readonly signature?: Uint8Array;
  /** TPM: PCR values file. */
  readonly pcrs?: Uint8Array;
  /** The auxblob that came with the report (SNP: the certificate table), from an envelope. */
  readonly auxblob?: Uint8Array;
  /** Extra named parts of the report (TPM: `signature`, `ak_public` …), from an envelope. */
  readonly parts?: Readonly<Record<string, Uint8Array>>;
  /**
   * Expected user data: with `nonce`, the report data must equal
   * {@link reportDataBinding}(nonce, userData) (docs/evidence.md).
   */
  readonly userData?: Uint8Array;
  /**
   * The `collateral` relaxation: verify even without collateral (revocation and TCB status are
   * then `skipped`). Without it, missing TDX collateral is `ERR_COLLATERAL_MISSING`.
   */
  readonly allowMissingCollateral?: boolean;
  readonly limits?: Partial<Limits>;
  /**
   * A bundle the caller parsed already with `parseBundle` from exactly the evidence it passes
   * (the same `Uint8Array` object, unchanged since), so that the bundle verifier does not parse
   * it a second time (the verifier service reads the bundle's window for its checkpoint first).
   * Ignored for any other bytes.
   */
  readonly parsedBundle?: { readonly bytes: Uint8Array; readonly bundle: EvidenceBundle };
}

/** The options a kind's verifier receives: `at`, limits and the trust policy resolved. */
export interface ResolvedVerifyOptions extends Omit<
  VerifyEvidenceOptions,
  'at' | 'limits' | 'policy'
> {
  readonly at: Date;
  readonly limits: Limits;
  readonly policy: TrustPolicy;
  /**
   * Set by the bundle verifier for the report inside (and the HCL wrapper for the SNP report):
   * freshness is checked by the bundle's binding (the HCL user-data) against the caller's nonce,
   * so the report's own `nonce` check is not recorded.
   */
  readonly freshnessElsewhere?: boolean;
  /**
   * The verifiers by kind, injected by the front door so that a verifier of nested evidence (a
   * bundle's report) reaches the others without importing the front door.
   */
  readonly verifiers?: VerifierRegistry;
}

/** One verifier per kind (the front door's dispatch table, or a caller's own). */
export type VerifierRegistry = Readonly<Record<EvidenceKind, EvidenceVerifier>>;

/** One kind's verifier: decode (show) and verify. */
export interface EvidenceVerifier {
  /** True when the bytes look like this kind (cheap checks of magic/version fields). */
  detect(data: Uint8Array): boolean;
  show(data: Uint8Array, limits: Limits): EvidenceShowResult;
  verify(data: Uint8Array, opts: ResolvedVerifyOptions): Promise<EvidenceResult>;
}

/** Why a required check was skipped and which relaxation (if any) may waive it. */
interface SkipRecord {
  readonly reason: string;
  /** undefined: nothing waives it; `optional`: not required (informational). */
  readonly waiver: Relaxation | 'optional' | undefined;
}

/**
 * Collects issues and checks while a verifier runs, and builds the result. `verified` is true
 * only when no check failed and every skipped check is either optional or waived by a
 * relaxation the policy names (DESIGN §6.1).
 */
export class ResultBuilder {
  readonly kind: EvidenceKind;
  readonly at: Date;
  readonly policy: TrustPolicy;
  readonly errors: EvidenceIssue[] = [];
  readonly warnings: string[] = [];
  readonly checks: Record<string, CheckOutcome> = {};
  readonly #skips = new Map<string, SkipRecord>();
  /** Relaxations a nested result (a bundle's report) already used. */
  readonly #relaxedInner = new Set<Relaxation>();
  claims: Record<string, unknown> = {};
  trust: TrustInfo = { root: undefined, emulated: false };
  tcbStatus: string | undefined;
  advisories: string[] | undefined;

  constructor(kind: EvidenceKind, at: Date, policy: TrustPolicy = DEFAULT_TRUST_POLICY) {
    this.kind = kind;
    this.at = at;
    this.policy = policy;
  }

  /** Records the anchor the evidence's chain (or pinned key) ended in: `trust.*` of the result. */
  trustedBy(anchor: TrustAnchor): void {
    this.trust = {
      root: anchor.certificate?.cn ?? anchor.subject,
      emulated: anchor.emulated === true,
      anchor: anchorRef(anchor),
    };
    if (anchor.emulated === true)
      this.warnings.push('verified against an mrstack EMULATED root (not hardware)');
  }

  /** Records a check's success. */
  ok(check: string): void {
    if (this.checks[check] !== 'failed') {
      this.checks[check] = 'ok';
      this.#skips.delete(check);
    }
  }

  /**
   * Records a skipped **required** check with its reason (also a warning). It keeps `verified`
   * false unless `waiver` names a relaxation the policy holds.
   */
  skip(check: string, why: string, waiver?: Relaxation): void {
    if (this.checks[check] === 'failed') return;
    this.checks[check] = 'skipped';
    this.#skips.set(check, { reason: why, waiver });
    this.warnings.push(why);
  }

  /** Records a skipped check that is not required (nothing rests on it), with its reason. */
  optional(check: string, why: string): void {
    if (this.checks[check] === 'failed') return;
    this.checks[check] = 'skipped';
    this.#skips.set(check, { reason: why, waiver: 'optional' });
  }

  /** True when the policy names this relaxation. */
  relaxes(r: Relaxation): boolean {
    return this.policy.relax.has(r);
  }

  /** Records relaxations a nested result used (they appear in this result's `relaxed`). */
  relaxedBy(rs: Iterable<Relaxation>): void {
    for (const r of rs) this.#relaxedInner.add(r);
  }

  /**
   * Takes in the checks of a nested verification (an HCL report's TD quote, the CVM report of a
   * vTPM quote), each named `prefix + check`: its ok checks, its failures with their codes, its
   * unrelaxed required skips as required skips (so this result refuses them too, naming the same
   * relaxation), its optional or relaxed skips as optional, and the relaxations it used.
   */
  absorb(inner: EvidenceResult, prefix = ''): void {
    this.relaxedBy(inner.relaxed);
    const isRelax = (v: unknown): v is Relaxation =>
      (RELAXATIONS as readonly unknown[]).includes(v);
    for (const e of inner.errors) {
      const { code, message, check, ...details } = e;
      const name = `${prefix}${typeof check === 'string' ? check : 'report'}`;
      if (code === 'ERR_CHECK_SKIPPED' && inner.checks[String(check)] === 'skipped') {
        const relax = details['relax'];
        this.skip(
          name,
          inner.skipped[String(check)] ?? message,
          isRelax(relax) ? relax : undefined,
        );
      } else
        this.fail(
          name,
          code,
          `${prefix === '' ? '' : `${prefix.replace(/\.$/, '')}: `}${message}`,
          details,
        );
    }
    for (const [check, outcome] of Object.entries(inner.checks)) {
      const name = `${prefix}${check}`;
      if (outcome === 'ok') this.ok(name);
      else if (outcome === 'skipped' && this.checks[name] === undefined)
        this.optional(name, inner.skipped[check] ?? 'skipped');
    }
  }

  /** Records a failed check. */
  fail(
    check: string,
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
  ): void {
    this.checks[check] = 'failed';
    this.#skips.delete(check);
    this.errors.push({ code, message, check, ...details });
  }

  /** Records a thrown MrstackError as a failed check (rethrows anything else). */
  failWith(check: string, e: unknown): void {
    if (e instanceof MrstackError && !(e instanceof ParseError)) {
      this.fail(check, e.code, e.message, { ...e.details });
      return;
    }
    throw e;
  }

  /**
   * The final result: verified when no check failed and every skipped required check was
   * waived by a relaxation the caller named. An unwaived skip is listed in `errors` as
   * `ERR_CHECK_SKIPPED` (naming the relaxation that would accept it), so the refusal has a code.
   */
  build(): EvidenceResult {
    const errors = [...this.errors];
    const used = new Set<Relaxation>(this.#relaxedInner);
    const skipped: Record<string, string> = {};
    const failedBefore = errors.length > 0;
    for (const [check, outcome] of Object.entries(this.checks)) {
      if (outcome !== 'skipped') continue;
      const rec = this.#skips.get(check);
      if (rec === undefined) {
        // Set directly after an earlier failure: required, and never waivable.
        skipped[check] = 'not reached: an earlier check failed';
        if (!failedBefore) {
          errors.push({
            code: 'ERR_CHECK_SKIPPED',
            message: `${check} was not checked`,
            check,
          });
        }
        continue;
      }
      skipped[check] = rec.reason;
      if (rec.waiver === 'optional') continue;
      if (rec.waiver !== undefined && this.policy.relax.has(rec.waiver)) {
        used.add(rec.waiver);
        continue;
      }
      errors.push({
        code: 'ERR_CHECK_SKIPPED',
        message: `${check} is required and was skipped: ${rec.reason}${rec.waiver === undefined ? '' : ` (--relax ${rec.waiver} accepts that)`}`,
        check,
        ...(rec.waiver === undefined ? {} : { relax: rec.waiver }),
      });
    }
    return {
      verified: errors.length === 0,
      kind: this.kind,
      ...(this.tcbStatus === undefined ? {} : { tcbStatus: this.tcbStatus }),
      ...(this.advisories === undefined ? {} : { advisories: this.advisories }),
      claims: this.claims,
      errors,
      warnings: this.warnings,
      trust: this.trust,
      checks: this.checks,
      skipped,
      relaxed: RELAXATIONS.filter((r) => used.has(r)),
      at: this.at.toISOString(),
    };
  }

  /**
   * Records the freshness check (DESIGN §6.1: required; the nonce is the caller's, never one
   * the evidence carries). `check` runs only with a nonce and returns a mismatch message or
   * undefined. Does nothing when the bundle verifier checks freshness through its binding.
   */
  freshness(
    opts: { readonly nonce?: Uint8Array; readonly freshnessElsewhere?: boolean },
    check: (nonce: Uint8Array) => string | undefined,
  ): void {
    if (opts.freshnessElsewhere === true) return;
    if (opts.nonce === undefined) {
      this.skip('nonce', 'no nonce given (--nonce): freshness not checked', 'nonce');
      return;
    }
    const why = check(opts.nonce);
    if (why === undefined) this.ok('nonce');
    else this.fail('nonce', 'ERR_NONCE_MISMATCH', why);
  }
}

/**
 * The nonce rule shared by TDX and SNP: a 64-byte nonce must equal report data; a shorter one
 * must be its prefix with zeros after it. Returns an issue message when it does not hold.
 */
export function checkReportDataNonce(
  reportData: Uint8Array,
  nonce: Uint8Array,
): string | undefined {
  if (nonce.length > reportData.length) {
    return `nonce is ${nonce.length} bytes, longer than the ${reportData.length}-byte report data`;
  }
  const head = reportData.subarray(0, nonce.length);
  const tail = reportData.subarray(nonce.length);
  if (Buffer.compare(head, nonce) !== 0 || tail.some((b) => b !== 0)) {
    return `report data ${Buffer.from(reportData).toString('hex')} is not bound to nonce ${Buffer.from(nonce).toString('hex')}`;
  }
  return undefined;
}

/** The report binding (one home: `formats/envelope/binding.ts`). */
export { reportDataBinding } from '../../formats/envelope/binding.js';
