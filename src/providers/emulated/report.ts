/**
 * Reports of the emulated TVM: one function per profile, chosen from {@link EMULATED_REPORTS}.
 *
 * Each profile's report module (`report_tdx.ts`, `report_snp.ts`, `report_cca.ts`,
 * `report_tpm.ts`) produces its platform's real binary format, signed by keys kept under
 * `<state>/keys/<profile>/` (see {@link EmulatedReportContext.keysDir}), and replaces its line in
 * the table below. Until then a profile's entry throws `ERR_UNSUPPORTED`.
 *
 * @module
 */
import type { HashAlg } from '../../crypto/hash_alg.js';
import type { IoOptions, MrInfo, Profile, RawReport, ReportRequest } from '../provider.js';
import type { TvmConfig } from './tvm_state.js';
import { snpEmulatedReport } from './report_snp.js';
import { ccaEmulatedReport } from './report_cca.js';
import { tdxEmulatedReport } from './report_tdx.js';
import { tpmEmulatedReport } from './report_tpm.js';

/** One register bank and its current value. */
export interface EmulatedRegister extends MrInfo {
  readonly value: Uint8Array;
}

/** Everything a profile's report function needs. */
export interface EmulatedReportContext {
  /** The TVM's state directory. */
  readonly stateDir: string;
  /** `<state>/keys/<profile>`: where this profile keeps its signing keys (created lazily). */
  readonly keysDir: string;
  readonly profile: Profile;
  /** The decoded `tvm.json` (static values, realm hash, startup locality, creation time). */
  readonly config: TvmConfig;
  /** Every register bank with its current value, in `describe()` order. */
  readonly registers: readonly EmulatedRegister[];
  /**
   * Current values by `name` (single-bank registers, including no-hash ones) and by
   * `name:alg` (every bank that has an algorithm): `rtmr2`, `rtmr2:sha384`, `pcr7:sha256`.
   */
  readonly values: ReadonlyMap<string, Uint8Array>;
  /** The request as given (report data at most 64 bytes, TPM PCR selection …). */
  readonly request: ReportRequest;
  /** Shorthand for `request.reportData`. */
  readonly reportData: Uint8Array;
  /** The time to put in the report and certificates. */
  readonly now: Date;
}

/** Produces a profile's report. */
export type EmulatedReportFn = (ctx: EmulatedReportContext, opts: IoOptions) => Promise<RawReport>;

/** The report function of each profile (one line per profile). */
export const EMULATED_REPORTS: Record<Profile, EmulatedReportFn> = {
  tdx: tdxEmulatedReport,
  snp: snpEmulatedReport,
  cca: ccaEmulatedReport,
  tpm: tpmEmulatedReport,
};

/** The map key of a register bank in {@link EmulatedReportContext.values}. */
export function registerKey(name: string, alg: HashAlg | undefined): string {
  return alg === undefined ? name : `${name}:${alg}`;
}
