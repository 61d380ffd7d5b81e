/**
 * The bottom layer's one interface over measurement registers and reports (DESIGN §2).
 *
 * Hardware differences are data: {@link Provider.describe} lists every register with its name,
 * algorithm, size and whether it can be extended. A missing capability is a typed
 * `ERR_UNSUPPORTED`, never "not implemented".
 *
 * @module
 */
import { ProviderError, UsageError } from '../errors.js';
import { lookupHashAlg, type HashAlg } from '../crypto/hash_alg.js';

/** Which implementation serves the registers. */
export type ProviderKind = 'emulated' | 'linux' | 'tpm';

/** The platform a provider presents (the emulated TVM's profiles; linux reports what it finds). */
export type Profile = 'tdx' | 'snp' | 'cca' | 'tpm';

/** One register, or one bank of a multi-bank register (a TPM PCR has one entry per bank). */
export interface MrInfo {
  /** Kernel-style lowercase name: `mrtd`, `rtmr0`, `mrconfigid`, `pcr7`, `rim`, `rem0`. */
  readonly name: string;
  /** The register's hash algorithm; undefined for no-hash registers (`mrconfigid`, `host_data`). */
  readonly alg: HashAlg | undefined;
  /** Register size in bytes. */
  readonly size: number;
  /** Static registers are fixed at launch; runtime ones may change (by extends). */
  readonly kind: 'static' | 'runtime';
  /** Whether this provider can extend it (a runtime register may still be read-only here). */
  readonly extendable: boolean;
  /**
   * What an extend takes, when extendable: a digest of exactly `size` bytes (TDX RTMR, TPM PCR
   * bank), or data of `min`..`max` bytes (CCA REM: up to 64).
   */
  readonly extendInput?: { readonly min: number; readonly max: number };
}

/** Selects a register and optionally one bank: parsed from `NAME` or `NAME:ALG`. */
export interface MrSelector {
  readonly name: string;
  readonly alg?: HashAlg;
}

/** A value read from one register bank. */
export interface MrValue {
  readonly name: string;
  readonly alg: HashAlg | undefined;
  readonly value: Uint8Array;
}

/** What to extend with. */
export type ExtendInput =
  /** A digest (or CCA REM data) extended as given into one bank. */
  | { readonly kind: 'digest'; readonly digest: Uint8Array }
  /** Event data, hashed in each bank's algorithm and extended into every selected bank. */
  | { readonly kind: 'event'; readonly data: Uint8Array };

/** The outcome of an extend, per bank. */
export interface ExtendResult {
  readonly name: string;
  readonly alg: HashAlg | undefined;
  readonly old: Uint8Array;
  readonly new: Uint8Array;
}

/** A request for a signed report. */
export interface ReportRequest {
  /** Report data / inblob / TPM qualifying data: at most 64 bytes (TDX and SNP take exactly 64). */
  readonly reportData: Uint8Array;
  /** configfs-tsm `privlevel` (SEV VMPL). */
  readonly privlevel?: number;
  /** configfs-tsm `service_provider` (`svsm`). */
  readonly serviceProvider?: string;
  readonly serviceGuid?: string;
  readonly serviceManifestVersion?: number;
  /** TPM: PCRs to quote, by bank. */
  readonly pcrs?: ReadonlyMap<HashAlg, readonly number[]>;
}

/** The binary format of a report's main blob. */
export type ReportFormat = 'tdx-quote' | 'snp-report' | 'tpm-quote' | 'cca-token';

/** A signed report as raw bytes; parsing lives in `formats/`. */
export interface RawReport {
  /** configfs-tsm provider name (`tdx_guest`, `sev_guest`, `arm_cca_guest`) or `tpm`. */
  readonly provider: string;
  readonly format: ReportFormat;
  readonly outblob: Uint8Array;
  readonly auxblob?: Uint8Array;
  readonly manifestblob?: Uint8Array;
  /** Extra named parts (TPM: `signature`, `ak_public`, `pcr_values` …). */
  readonly parts?: Readonly<Record<string, Uint8Array>>;
  /** True when the report comes from the emulated TVM (signed by an emulated root). */
  readonly emulated: boolean;
}

/** Options every I/O method takes. */
export interface IoOptions {
  readonly signal?: AbortSignal;
}

/** The provider interface (DESIGN §2). */
export interface Provider {
  readonly kind: ProviderKind;
  /** The platform presented, when known. */
  readonly profile: Profile | undefined;
  /** Every register (one entry per bank). */
  describe(opts?: IoOptions): Promise<readonly MrInfo[]>;
  /**
   * Reads a register: one value, or one per bank for a multi-bank register without `:ALG`.
   * @throws ProviderError `ERR_UNKNOWN_MR`
   */
  read(sel: MrSelector, opts?: IoOptions): Promise<readonly MrValue[]>;
  /**
   * Extends a register.
   * @throws ProviderError `ERR_UNKNOWN_MR`, `ERR_NOT_EXTENDABLE`, `ERR_DIGEST_SIZE`,
   *   `ERR_EVENT_DATA_REQUIRED`, `ERR_UNSUPPORTED`, device errors
   */
  extend(sel: MrSelector, input: ExtendInput, opts?: IoOptions): Promise<readonly ExtendResult[]>;
  /**
   * Produces a signed report bound to `reportData`.
   * @throws ProviderError `ERR_UNSUPPORTED` when the platform has no reports
   */
  report(req: ReportRequest, opts?: IoOptions): Promise<RawReport>;
  /** Releases handles (files, sockets). */
  close(): Promise<void>;
}

/**
 * Parses `NAME` or `NAME:ALG` as the kernel's tsm-mr file names spell them
 * (`rtmr3:sha384`, `pcr7:sha256`, `mrconfigid`).
 * @throws UsageError `ERR_USAGE` for an empty name; ParseError `ERR_UNKNOWN_ALGORITHM`
 */
export function parseMrSelector(text: string): MrSelector {
  const i = text.lastIndexOf(':');
  const name = (i < 0 ? text : text.slice(0, i)).trim().toLowerCase();
  if (name === '' || !/^[a-z0-9_]+$/.test(name)) {
    throw new UsageError(
      'ERR_USAGE',
      `register name ${JSON.stringify(text)}: expected NAME or NAME:ALG`,
    );
  }
  if (i < 0) return { name };
  const algText = text.slice(i + 1);
  const alg = lookupHashAlg(algText);
  if (alg === undefined) {
    throw new ProviderError(
      'ERR_UNKNOWN_ALGORITHM',
      `register ${JSON.stringify(text)}: unknown hash ${JSON.stringify(algText)} (expected sha1, sha256, sha384, sha512 or sm3)`,
    );
  }
  return { name, alg };
}

/** `NAME` or `NAME:ALG`. */
export function formatMrSelector(sel: MrSelector): string {
  return sel.alg === undefined ? sel.name : `${sel.name}:${sel.alg}`;
}

/**
 * The entries of `describe()` a selector names, with the typed errors every provider shares.
 * @throws ProviderError `ERR_UNKNOWN_MR`
 */
export function selectMrs(all: readonly MrInfo[], sel: MrSelector): readonly MrInfo[] {
  const named = all.filter((m) => m.name === sel.name);
  if (named.length === 0) {
    const names = [...new Set(all.map((m) => m.name))].join(', ');
    throw new ProviderError(
      'ERR_UNKNOWN_MR',
      `no register named ${JSON.stringify(sel.name)} (known: ${names})`,
      {
        details: { mr: sel.name },
      },
    );
  }
  if (sel.alg === undefined) return named;
  const banked = named.filter((m) => m.alg === sel.alg);
  if (banked.length === 0) {
    const algs = named.map((m) => m.alg ?? 'none').join(', ');
    throw new ProviderError(
      'ERR_UNKNOWN_MR',
      `register ${sel.name} has no ${sel.alg} bank (banks: ${algs})`,
      { details: { mr: formatMrSelector(sel) } },
    );
  }
  return banked;
}
