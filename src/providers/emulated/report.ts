/**
 * Reports of the emulated TVM: one function per profile, chosen from {@link EMULATED_REPORTS}.
 *
 * Each profile's report module (`report_tdx.ts`, `report_snp.ts`, `report_cca.ts`,
 * `report_tpm.ts`) produces its platform's real binary format, signed by keys kept under
 * `<state>/keys/<profile>/` (see `EmulatedReportContext.keysDir`); what they are given is
 * in `report_context.ts`.
 *
 * @module
 */
import type { Profile } from '../provider.js';
import type { EmulatedReportFn } from './report_context.js';
import { snpEmulatedReport } from './report_snp.js';
import { ccaEmulatedReport } from './report_cca.js';
import { tdxEmulatedReport } from './report_tdx.js';
import { tpmEmulatedReport } from './report_tpm.js';

/** The report function of each profile (one line per profile). */
export const EMULATED_REPORTS: Record<Profile, EmulatedReportFn> = {
  tdx: tdxEmulatedReport,
  snp: snpEmulatedReport,
  cca: ccaEmulatedReport,
  tpm: tpmEmulatedReport,
};
