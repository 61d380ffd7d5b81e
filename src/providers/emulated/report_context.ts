/**
 * What an emulated profile's report function is given: the TVM's registers and request
 * ({@link EmulatedReportContext}), and the function's type. Its own module so that the report
 * modules and the table choosing between them (`report.ts`) import it without importing each other.
 *
 * @module
 */
import type { HashAlg } from '../../crypto/hash_alg.js';
import type { IoOptions, MrInfo, Profile, RawReport, ReportRequest } from '../provider.js';
import type { TvmConfig } from './tvm_state.js';

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

/** The map key of a register bank in {@link EmulatedReportContext.values}. */
export function registerKey(name: string, alg: HashAlg | undefined): string {
  return alg === undefined ? name : `${name}:${alg}`;
}
