/**
 * A vTPM attestation key vouched for by a **verified CVM report** (DESIGN §6.1): on Azure
 * confidential VMs the paravisor's HCL report publishes the vTPM's AK (`HCLAkPub`) in runtime
 * claims whose hash the hardware report carries (SNP REPORT_DATA, or the REPORTDATA of the TD
 * quote made from the TDREPORT). When that hardware report verifies to a vendor anchor, the AK
 * is trusted for that reason ({@link decideAkTrust} reason `cvm_report`).
 *
 * The CVM report is verified by its own kind's verifier from the injected registry (SNP with
 * the VCEK from `--cert`/the container; TDX through the `td_quote` part), with the caller's
 * policy, and without the nonce: the vTPM quote's extraData carries freshness.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { isMrstackError, MrstackError } from '../../errors.js';
import { parseHclReport } from '../../formats/azure/hcl_report.js';
import { hclAkPublicKey } from './binding_hcl.js';
import type { EvidenceResult, ResolvedVerifyOptions } from './evidence_result.js';

/** The envelope / container part that carries an Azure HCL report. */
export const HCL_REPORT_PART = 'hcl_report';

/** Which CVM report vouched for the AK. */
export type CvmReportKind = 'azure-hcl-snp' | 'azure-hcl-tdx';

/** The outcome of verifying the CVM report that publishes an AK. */
export interface CvmAkBinding {
  readonly report: CvmReportKind;
  /** The AK the report publishes; undefined when it publishes none that is usable. */
  readonly ak: KeyObject | undefined;
  /** Why `ak` is undefined. */
  readonly akError?: MrstackError;
  /** The CVM report's own verification (its checks become `cvm.<check>`). */
  readonly result: EvidenceResult;
}

/**
 * Verifies the HCL report in `opts.parts` and returns the AK it publishes, or undefined when
 * the evidence carries no HCL report.
 * @throws ParseError for a malformed HCL report; MrstackError `ERR_COLLATERAL_MISSING` when the
 *   hardware report cannot be verified for want of input (an SNP VCEK, a TD quote)
 */
export async function cvmAkBinding(opts: ResolvedVerifyOptions): Promise<CvmAkBinding | undefined> {
  const bytes = opts.parts?.[HCL_REPORT_PART];
  if (bytes === undefined) return undefined;
  const hcl = parseHclReport(bytes);
  const kind = hcl.report_type === 'snp' ? 'snp' : 'tdx';
  const registry = opts.verifiers;
  if (registry === undefined)
    throw new MrstackError('ERR_INTERNAL', 'the CVM report binding needs the verifier registry');
  // The CVM report's freshness is the vTPM quote's (its extraData), never the boot-time report's.
  const { nonce: _nonce, ...rest } = opts; // eslint-disable-line @typescript-eslint/no-unused-vars
  const result = await registry[kind].verify(bytes, { ...rest, kind, freshnessElsewhere: true });
  let ak: KeyObject | undefined;
  let akError: MrstackError | undefined;
  try {
    ak = hclAkPublicKey(hcl);
  } catch (e) {
    if (!isMrstackError(e)) throw e;
    akError = e;
  }
  return {
    report: kind === 'snp' ? 'azure-hcl-snp' : 'azure-hcl-tdx',
    ak,
    ...(akError === undefined ? {} : { akError }),
    result,
  };
}
