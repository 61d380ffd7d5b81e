/**
 * What appraisal reads and returns (DESIGN §6.3): the claims verify proved, what replay proved,
 * and the appraisal with its findings. Appraisal never reads evidence bytes itself; the adapter
 * in `proven_claims.ts` builds these from a verify result, so a claim reaches a rule only with
 * the proof state verify gave it.
 *
 * @module
 */
import type { HashAlg } from '../../crypto/hash_alg.js';
import type { ImaRecordView } from '../../formats/ima/ima_binary.js';
import type { Finding, FindingStatus } from './finding.js';

/** How a piece of verification came out: proved, disproved, not done, or waived by the caller. */
export type ProofState = 'ok' | 'failed' | 'skipped' | 'relaxed';

/** The evidence kinds appraisal judges (a bundle is judged as its report's kind plus layers). */
export type AppraisedKind = 'tdx' | 'snp' | 'tpm' | 'cca';

/** The claims of one piece of verified evidence, with the proof state of what backs them. */
export interface ProvenClaims {
  readonly kind: AppraisedKind;
  /**
   * The evidence's signatures chain to a trusted anchor (or pinned key) and its structure is
   * bound: only then are {@link ProvenClaims.values} judged at all.
   */
  readonly signature: ProofState;
  /** Claims by DESIGN §7 name (bytes as Uint8Array), as verify decoded them from signed bytes. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The caller's nonce check: `skipped` without a nonce, `relaxed` when the caller waived it. */
  readonly nonce: ProofState;
  /** The TCB evaluation (collateral): `skipped`/`relaxed` without collateral. */
  readonly tcb: ProofState;
  /**
   * TCB status name (Intel's names for TDX; `UpToDate`/`OutOfDate`/`Revoked` for emulated). TPM
   * and CCA: `Revoked` when the CRL of the AK / CPAK certificate's CA lists it, `UpToDate` when
   * that CRL was checked and does not (appraisal lowers it to `OutOfDate` by the policy's
   * minimum versions).
   */
  readonly tcbStatus?: string;
  readonly advisories?: readonly string[];
  /**
   * TDX: the TCB info verified but no TCB level of it matches the platform (`ERR_TCB_MISMATCH`
   * on the `tcb` check): a judged TCB, not an unknown one.
   */
  readonly tcbUnmatched?: boolean;
  /** Checks the caller relaxed (`collateral`, `crl`, `nonce` …), as verify lists them. */
  readonly relaxed: readonly string[];
  /** Skipped checks with their reason. */
  readonly skipped: Readonly<Record<string, string>>;
  /** The anchor was an mrstack emulated root. */
  readonly emulated: boolean;
}

/** One register as replay proved it. */
export interface ReplayedRegister {
  /** Kernel name (`rtmr1`, `pcr10`, `rem0`, a vMR name). */
  readonly name: string;
  readonly alg: HashAlg;
  /** The value the log replays to (the reported value when consistent). */
  readonly value: Uint8Array;
  /**
   * `ok`: the log replayed to the value the verified report carries; `failed`: it did not;
   * `skipped`: there was no verified value to replay against (log-only appraisal).
   */
  readonly proof: ProofState;
  /** The reported value when it differs from the replayed one. */
  readonly reported?: Uint8Array;
  /** The log that was replayed, and its first record that diverged (when known). */
  readonly log?: string;
  readonly divergence?: { readonly record: number; readonly offset: number };
  /** The layer the register belongs to. */
  readonly layer: 'firmware-log' | 'physical' | 'vmr';
}

/** One tenant event (agent bundle) with its replay state. */
export interface ReplayedTenantEvent {
  /** The vMR the event was appended to. */
  readonly vmr: string;
  readonly domain: string;
  readonly operation: string;
  readonly content: string;
  /** 1-based record number in the tenant log. */
  readonly record: number;
  /** `verified`: covered by the reported value; `pending`: appended after it. */
  readonly state: 'verified' | 'pending';
  readonly log: string;
}

/** One IMA measurement-list entry as appraisal reads it. */
export interface ImaRecord {
  /** 0-based entry index in its list. */
  readonly record: number;
  /** Byte offset (binary list) or line number (ascii list), as the list reports it. */
  readonly offset: number;
  readonly template: string;
  /** The file path (`n-ng`/`n`), or the buffer's name for `ima-buf`. */
  readonly path: string;
  /** The file digest's algorithm (`sha256` …), as the `d-ng` field names it. */
  readonly digestAlg: string;
  /** The file digest (hex, lower case). */
  readonly digest: string;
  /** `ima-sig`: the signature field (an IMA xattr: type 3 = digital signature v2). */
  readonly signature?: Uint8Array;
  /** `ima-buf`: the buffer. */
  readonly buf?: Uint8Array;
  /** A measurement violation (all-zero template hash). */
  readonly violation: boolean;
}

/** An IMA list handed to appraisal. */
export interface ImaInput {
  readonly log: string;
  /**
   * `ok`: the list replayed to a register the verified evidence carries (PCR10, `mr_ima`);
   * `skipped`: no quote vouches for it (log-only appraisal).
   */
  readonly proof: ProofState;
  /** The PCR/vMR it replays into. */
  readonly register?: string;
  /**
   * `mr_ima` lists only: the count of the first `mr_ima` token of this boot — entries below it
   * were in the list when the agent started mirroring; `null` when the bundle's physical log
   * starts at a checkpoint, so that token is not in it. Absent for lists a TPM extends (PCR 10
   * is extended before use: the rule does not apply).
   */
  readonly firstMirrored?: number | null;
  readonly entries: Iterable<ImaRecord>;
  /** Entries left out before `entries` (sent from a trusted IMA checkpoint). */
  readonly since?: number;
  /**
   * Where the entries judged end: `since` plus the entries sent (when `since` is given) — with
   * prefix matching against a quote, plus the prefix that folds to the quoted PCR 10.
   */
  readonly end?: number;
  /** Entries sent after the prefix the quote covers: neither verified nor judged. */
  readonly unquoted?: number;
  /**
   * The same entries read in place from the list's bytes, when they are at hand (an ima
   * bundle's list): the IMA rules judge plain `ima-ng` entries from their bytes and take every
   * other one from here as `entries` gives it.
   */
  readonly records?: ImaRecordSource;
  /** Paths whose entries the caller hears of as the rules read them (the agent-files rule). */
  readonly watch?: ImaPathWatch;
  /**
   * Verdicts on the entries of `records` computed ahead, while the list was being verified
   * (`imaVerdictsAhead` in `ima_rules.ts`): read instead of the entries' bytes.
   */
  readonly ahead?: ImaVerdictsAhead;
}

/** In-place verdicts on a binary list's entries, computed before it was verified. */
export interface ImaVerdictsAhead {
  /** The index of the list's first entry in the bytes. */
  readonly base: number;
  /** Per entry from `base`: 0 judge in full, 1 allowed, 2 excluded; +4: a watched path's hash. */
  readonly of: Uint8Array;
  /** The watched paths the hashes were taken of (agent files). */
  readonly watched: ReadonlySet<string>;
}

/** An IMA list's entries as records read in place ({@link ImaInput.records}). */
export interface ImaRecordSource {
  /**
   * Visits the entries of {@link ImaInput.entries} in order, each with its entry index (the
   * record {@link ImaRecord.record}); a view is valid during its visit.
   */
  each(visit: (v: ImaRecordView, index: number) => void): void;
  /** The {@link ImaRecord} that {@link ImaInput.entries} gives for the entry a view shows. */
  record(v: ImaRecordView): ImaRecord;
  /** The indexes of the entries `each` visits: `[first, end)`, when known. */
  readonly first?: number;
  readonly end?: number;
}

/** Paths the IMA rules report as they read them ({@link ImaInput.watch}). */
export interface ImaPathWatch {
  readonly paths: ReadonlySet<string>;
  /** Called for every entry of one of `paths`, in list order. */
  seen(path: string, record: number): void;
}

/**
 * An IMA list that did not meet the verifier's trusted IMA checkpoint (incremental
 * verification, `verifier/replay/ima_checkpoint.ts`).
 */
export interface ImaCheckpointBreak {
  readonly log: string;
  /** The register the list folds into (`pcr10`, `mr_ima`). */
  readonly register: string;
  /** `mismatch`: an entry below the checkpoint changed; `discontinuous`: no trusted start. */
  readonly kind: 'mismatch' | 'discontinuous';
  readonly message: string;
  /** The checkpoint's entry offset, when there was one. */
  readonly checkpoint?: number;
}

/** A tenant log sent since a position that broke the trusted tenant checkpoint. */
export interface TenantCheckpointBreak {
  readonly log: string;
  /** The tenant's vMR. */
  readonly vmr: string;
  /** `mismatch`: a record after the checkpoint changed; `discontinuous`: no trusted start. */
  readonly kind: 'mismatch' | 'discontinuous';
  readonly message: string;
  /** The line the tenant log was sent since. */
  readonly since?: number;
}

/** What replay proved, as appraisal reads it. */
export interface ReplayedEvidence {
  readonly registers: readonly ReplayedRegister[];
  readonly tenantEvents: readonly ReplayedTenantEvent[];
  readonly ima?: readonly ImaInput[];
  /** IMA lists that broke the trusted IMA checkpoint (each is its own finding). */
  readonly imaCheckpoint?: readonly ImaCheckpointBreak[];
  /** Tenant logs that broke the trusted tenant checkpoint (each is its own finding). */
  readonly tenantCheckpoint?: readonly TenantCheckpointBreak[];
}

/** Options of `appraise`. */
export interface AppraiseOptions {
  /** Appraisal time (policy reference-value expiry, RVPS `expiration`). */
  readonly at: Date;
  /** Extra IMA signature keys (`--ima-key`), as SPKI DER or PEM bytes each. */
  readonly imaKeys?: readonly Uint8Array[];
  /**
   * Keys an earlier attestation learned from accepted `ima-buf` keyring entries below the
   * trusted IMA checkpoint (the entries are not sent again): they vouch for `ima-sig` entries
   * as they did then.
   */
  readonly imaLearnedKeys?: readonly Uint8Array[];
  /** Called with the buffer of each keyring entry the policy accepted (to keep it). */
  readonly onImaKeyLearned?: (buf: Uint8Array) => void;
}

/** IMA counts of one appraisal (for tables and the HTML page). */
export interface ImaCounts {
  readonly entries: number;
  readonly matched: number;
  readonly signed: number;
  readonly excluded: number;
  readonly unknown: number;
  readonly mismatched: number;
  readonly violations: number;
}

/** The outcome of `appraise`. */
export interface Appraisal {
  /** The verdict ({@link appraisalStatus} of the findings). */
  readonly status: FindingStatus;
  /** Findings, failures first (contraindicated, warning, none, affirming), each in input order. */
  readonly findings: readonly Finding[];
  /** `<name>@sha256:<digest>` of the policy applied. */
  readonly policyId: string;
  readonly kind: AppraisedKind | 'ima-log';
  /** The appraisal time (ISO-8601). */
  readonly at: string;
  readonly ima?: ImaCounts;
}
