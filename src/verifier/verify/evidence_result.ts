/**
 * The common result and option types of every evidence verifier, and the helpers verifiers
 * share to build results. Verifiers import this module (never `evidence.ts`, which imports them).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { MrstackError, ParseError, type ErrorCode } from '../../errors.js';
import type { Limits } from '../../limits.js';

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

/** Outcome of one named check. */
export type CheckOutcome = 'ok' | 'failed' | 'skipped';

/** Which root the evidence chained to, and whether it is an emulated one. */
export interface TrustInfo {
  /** Subject (or key fingerprint) of the root the chain ended in; undefined when none. */
  readonly root: string | undefined;
  /** True when the root is an mrstack emulated root (accepted only with `trustEmulated`). */
  readonly emulated: boolean;
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
  /** Accept an mrstack emulated root (the result says `trust.emulated: true`). */
  readonly trustEmulated?: boolean;
  /** Roots to trust instead of the built-in ones (PEM or DER bytes each). */
  readonly trustAnchors?: readonly Uint8Array[];
  readonly collateral?: CollateralInput;
  /** Extra certificates (SNP VCEK/VLEK/ASK/ARK, TPM AK certificate), PEM or DER bytes each. */
  readonly certs?: readonly Uint8Array[];
  /** TPM: AK public (TPMT_PUBLIC, PEM or JWK). */
  readonly ak?: Uint8Array;
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
   * Verify even without collateral (revocation and TCB status are then `skipped` and a warning
   * says so). Without this, missing collateral is `ERR_COLLATERAL_MISSING`.
   */
  readonly allowMissingCollateral?: boolean;
  readonly limits?: Partial<Limits>;
}

/** The options a kind's verifier receives: `at` resolved, limits complete. */
export interface ResolvedVerifyOptions extends Omit<VerifyEvidenceOptions, 'at' | 'limits'> {
  readonly at: Date;
  readonly limits: Limits;
}

/** One kind's verifier: decode (show) and verify. */
export interface EvidenceVerifier {
  /** True when the bytes look like this kind (cheap checks of magic/version fields). */
  detect(data: Uint8Array): boolean;
  show(data: Uint8Array, limits: Limits): EvidenceShowResult;
  verify(data: Uint8Array, opts: ResolvedVerifyOptions): Promise<EvidenceResult>;
}

/** Collects issues and checks while a verifier runs, and builds the result. */
export class ResultBuilder {
  readonly kind: EvidenceKind;
  readonly at: Date;
  readonly errors: EvidenceIssue[] = [];
  readonly warnings: string[] = [];
  readonly checks: Record<string, CheckOutcome> = {};
  claims: Record<string, unknown> = {};
  trust: TrustInfo = { root: undefined, emulated: false };
  tcbStatus: string | undefined;
  advisories: string[] | undefined;

  constructor(kind: EvidenceKind, at: Date) {
    this.kind = kind;
    this.at = at;
  }

  /** Records a check's success. */
  ok(check: string): void {
    if (this.checks[check] !== 'failed') this.checks[check] = 'ok';
  }

  /** Records a skipped check with a warning. */
  skip(check: string, why: string): void {
    this.checks[check] = 'skipped';
    this.warnings.push(why);
  }

  /** Records a failed check. */
  fail(
    check: string,
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
  ): void {
    this.checks[check] = 'failed';
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

  /** The final result: verified when no check failed. */
  build(): EvidenceResult {
    return {
      verified: this.errors.length === 0,
      kind: this.kind,
      ...(this.tcbStatus === undefined ? {} : { tcbStatus: this.tcbStatus }),
      ...(this.advisories === undefined ? {} : { advisories: this.advisories }),
      claims: this.claims,
      errors: this.errors,
      warnings: this.warnings,
      trust: this.trust,
      checks: this.checks,
      at: this.at.toISOString(),
    };
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

const REPORT_BINDING_LABEL = 'mrstack-report-v1';

/**
 * The report data `mrstack report` asks for (docs/evidence.md): the nonce itself (zero-padded)
 * when there is no user data, else SHA-512("mrstack-report-v1" ‖ u16be len ‖ nonce ‖ u16be len ‖
 * user data).
 */
export function reportDataBinding(nonce: Uint8Array, userData?: Uint8Array): Uint8Array {
  if (userData === undefined) return nonce;
  const len = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff);
  return new Uint8Array(
    createHash('sha512')
      .update(REPORT_BINDING_LABEL)
      .update(len(nonce.length))
      .update(nonce)
      .update(len(userData.length))
      .update(userData)
      .digest(),
  );
}
