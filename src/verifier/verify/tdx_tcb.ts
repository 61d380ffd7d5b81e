/**
 * TDX TCB evaluation as Intel's Quote Verification Library does it. Read at
 * intel/SGX-TDX-DCAP-QuoteVerificationLibrary 7e5b2a1 (tag DCAP/1.21, still the QVL submodule of
 * intel/SGXDataCenterAttestationPrimitives at a46ee8a, 2025-08); paths below are under
 * `Src/AttestationLibrary/src/` or `Src/AttestationParsers/src/`.
 *
 * 1. Platform (`Verifiers/Checks/TcbLevelCheck.cpp`, `matchTcbLevels`): the TCB levels in QVL's
 *    order (a `std::set` sorted by `TcbLevel::operator>`, `Json/TcbLevel.cpp`: SGX components,
 *    then PCESVN, then TDX components, highest first; equal levels are rejected); the first
 *    level whose 16 SGX components and PCESVN are at most the PCK certificate's
 *    (`isCpuSvnHigherOrEqual`) *and* whose TDX components are at most the quote's TEE_TCB_SVN
 *    (`isTdxTcbHigherOrEqual`) is the TDX level. `isTdxTcbHigherOrEqual` starts at byte 2 when
 *    TEE_TCB_SVN[1] (the TDX module major version) is non-zero: bytes 0–1 are then the module's
 *    SVN, judged by the module identity (step 2), and are not compared to the level at all. A
 *    `Revoked` SGX level does not end the search (QVL logs it and goes on). No such level: the
 *    collateral does not cover this platform (`ERR_TCB_MISMATCH`; QVL: TCB_NOT_SUPPORTED).
 * 2. TDX module (`Verifiers/QuoteVerifier.cpp`, `QuoteVerifier::verify` step 4.1.2.4.11, and
 *    `Verifiers/Checks/TdxModuleCheck.cpp`, `findTdxModuleIdentity` /
 *    `checkTdxModuleTcbStatus`): TEE_TCB_SVN[1] = 0 → `tdxModule` (which a TDX TCB info must
 *    have), no module status; else the `tdxModuleIdentities` entry whose upper-cased id is
 *    `TDX_<TEE_TCB_SVN[1] as 2 upper-case hex digits>`, which must exist (no fallback to
 *    `tdxModule`). MRSIGNERSEAM must equal its `mrsigner` and SEAMATTRIBUTES & `attributesMask`
 *    its `attributes`; its status is that of the first level, highest `isvsvn` first, whose
 *    `isvsvn` ≤ TEE_TCB_SVN[0].
 * 3. QE identity applied to the QE report: MRSIGNER, ISVPRODID, MISCSELECT & mask and
 *    ATTRIBUTES & mask must match; status of the first level whose `isvsvn` ≤ ISVSVN; none is
 *    a mismatch (QVL: ISVSVN_NOT_SUPPORTED).
 * 4. Convergence: a QE or module status of `OutOfDate` turns `UpToDate`/`SWHardeningNeeded`
 *    into `OutOfDate` and `ConfigurationNeeded`/`ConfigurationAndSWHardeningNeeded` into
 *    `OutOfDateConfigurationNeeded`; `Revoked` wins over everything. Advisory IDs of every
 *    matched level are merged.
 *
 * @module
 */
import { VerifyError } from '../../errors.js';
import { toHex, bytesEqual } from '../../bytes/hex.js';
import type { EnclaveReport } from '../../formats/tdx/enclave_report.js';
import type { PckExtension } from '../../formats/tdx/pck_extension.js';
import type {
  IsvTcbLevel,
  QeIdentity,
  TdxModuleIdentity,
  TdxTcbInfo,
  TdxTcbLevel,
} from '../collateral/tdx_collateral.js';

/** TCB statuses Intel's collateral uses. */
export const TCB_STATUS = {
  UP_TO_DATE: 'UpToDate',
  SW_HARDENING_NEEDED: 'SWHardeningNeeded',
  CONFIGURATION_NEEDED: 'ConfigurationNeeded',
  CONFIGURATION_AND_SW_HARDENING_NEEDED: 'ConfigurationAndSWHardeningNeeded',
  OUT_OF_DATE: 'OutOfDate',
  OUT_OF_DATE_CONFIGURATION_NEEDED: 'OutOfDateConfigurationNeeded',
  REVOKED: 'Revoked',
} as const;

/** What the evaluation needs from the quote and the PCK certificate. */
export interface TdxTcbInput {
  readonly pck: PckExtension;
  readonly teeTcbSvn: Uint8Array;
  readonly mrSignerSeam: Uint8Array;
  readonly seamAttributes: Uint8Array;
  readonly qeReport: EnclaveReport;
}

/** The outcome of a TCB evaluation. */
export interface TdxTcbEvaluation {
  readonly status: string;
  readonly advisoryIds: readonly string[];
  readonly platformStatus: string;
  readonly tcbDate: string;
  readonly tdxModuleId: string | undefined;
  readonly tdxModuleStatus: string | undefined;
  readonly qeStatus: string;
  readonly qeTcbDate: string | undefined;
  readonly tcbEvaluationDataNumber: number;
}

function mismatch(message: string, details: Record<string, unknown> = {}): VerifyError {
  return new VerifyError('ERR_TCB_MISMATCH', message, { details });
}

function masked(a: Uint8Array, mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = (a[i] ?? 0) & mask[i]!;
  return out;
}

/** Lexicographic comparison of two SVN lists (missing entries count as 0). */
function compareSvns(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 16; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Negative when `a` comes before `b` in QVL's order (`TcbLevel::operator>`, highest first). */
function compareTcbLevels(a: TdxTcbLevel, b: TdxTcbLevel): number {
  return (
    compareSvns(b.sgxTcbComponents, a.sgxTcbComponents) ||
    b.pceSvn - a.pceSvn ||
    compareSvns(b.tdxTcbComponents, a.tdxTcbComponents)
  );
}

// A verifier reuses one parsed TCB info for many quotes: sort its levels once.
const ordered = new WeakMap<readonly TdxTcbLevel[], readonly TdxTcbLevel[]>();

/**
 * The TCB levels in the order QVL walks them (its `std::set<TcbLevel, std::greater<TcbLevel>>`).
 * @throws VerifyError `ERR_TCB_MISMATCH` when two levels are equal under that order (QVL's
 *   parser rejects the TCB info: "Detected duplicated TCB levels")
 */
function qvlOrder(levels: readonly TdxTcbLevel[]): readonly TdxTcbLevel[] {
  const cached = ordered.get(levels);
  if (cached !== undefined) return cached;
  const sorted = [...levels].sort(compareTcbLevels);
  for (let i = 1; i < sorted.length; i++) {
    if (compareTcbLevels(sorted[i - 1]!, sorted[i]!) === 0) {
      throw mismatch('TCB info lists two TCB levels with the same SGX, PCESVN and TDX components');
    }
  }
  ordered.set(levels, sorted);
  return sorted;
}

/**
 * Whether TEE_TCB_SVN reaches a level's TDX components (QVL `isTdxTcbHigherOrEqual`,
 * `Verifiers/Checks/TcbLevelCheck.cpp`): bytes 0–1 are skipped when byte 1, the TDX module major
 * version, is non-zero, because the module identity judges them.
 */
function tdxComponentsReached(teeTcbSvn: Uint8Array, level: TdxTcbLevel): boolean {
  const from = (teeTcbSvn[1] ?? 0) > 0 ? 2 : 0;
  for (let i = from; i < 16; i++) {
    if ((teeTcbSvn[i] ?? 0) < (level.tdxTcbComponents[i] ?? 0)) return false;
  }
  return true;
}

/** Whether the PCK certificate reaches a level's SGX components and PCESVN (QVL `isCpuSvnHigherOrEqual`). */
function sgxComponentsReached(pck: PckExtension, level: TdxTcbLevel): boolean {
  if (pck.pceSvn < level.pceSvn) return false;
  for (let i = 0; i < 16; i++) {
    if ((pck.sgxTcbComponents[i] ?? 0) < (level.sgxTcbComponents[i] ?? 0)) return false;
  }
  return true;
}

/**
 * The platform TCB level of a TDX quote, as QVL's `matchTcbLevels` selects it: in QVL's order of
 * the levels, the first one that both the PCK certificate's SGX components and PCESVN and the
 * quote's TEE_TCB_SVN reach (bytes 0–1 of TEE_TCB_SVN skipped when byte 1 is non-zero).
 * @param levels - the `tcbLevels` of a TDX TCB info, in any order
 * @param pck - the PCK certificate's SGX extension
 * @param teeTcbSvn - the quote's 16-byte TEE_TCB_SVN
 * @returns the matched level, or `undefined` when none matches (TCB level not supported)
 * @throws VerifyError `ERR_TCB_MISMATCH` when two levels are duplicates
 */
export function matchTdxTcbLevel(
  levels: readonly TdxTcbLevel[],
  pck: PckExtension,
  teeTcbSvn: Uint8Array,
): TdxTcbLevel | undefined {
  return qvlOrder(levels).find(
    (l) => sgxComponentsReached(pck, l) && tdxComponentsReached(teeTcbSvn, l),
  );
}

function isvLevel(levels: readonly IsvTcbLevel[], svn: number): IsvTcbLevel | undefined {
  return levels.find((l) => l.isvSvn <= svn);
}

/** A module identity's level for an ISV SVN; QVL keeps these highest `isvsvn` first. */
function moduleLevel(levels: readonly IsvTcbLevel[], svn: number): IsvTcbLevel | undefined {
  return isvLevel(
    [...levels].sort((a, b) => b.isvSvn - a.isvSvn),
    svn,
  );
}

/** Converges the platform status with a QE or TDX module status (QVL's rules). */
export function convergeTcbStatus(platform: string, other: string): string {
  const S = TCB_STATUS;
  if (platform === S.REVOKED || other === S.REVOKED) return S.REVOKED;
  if (other === S.OUT_OF_DATE) {
    if (platform === S.UP_TO_DATE || platform === S.SW_HARDENING_NEEDED) return S.OUT_OF_DATE;
    if (
      platform === S.CONFIGURATION_NEEDED ||
      platform === S.CONFIGURATION_AND_SW_HARDENING_NEEDED
    ) {
      return S.OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
  }
  return platform;
}

function checkModule(input: TdxTcbInput, m: TdxModuleIdentity, name: string): void {
  if (!bytesEqual(input.mrSignerSeam, m.mrSigner)) {
    throw mismatch(
      `MRSIGNERSEAM ${toHex(input.mrSignerSeam)} differs from ${name} mrsigner ${toHex(m.mrSigner)}`,
    );
  }
  const got = masked(input.seamAttributes, m.attributesMask);
  if (!bytesEqual(got, masked(m.attributes, m.attributesMask))) {
    throw mismatch(
      `SEAMATTRIBUTES ${toHex(input.seamAttributes)} (masked) differ from ${name} attributes ${toHex(m.attributes)}`,
    );
  }
}

/** Applies the QE identity to the QE report; returns the matched level (undefined: none). */
export function checkQeIdentity(report: EnclaveReport, qe: QeIdentity): IsvTcbLevel | undefined {
  if (!bytesEqual(report.mrSigner, qe.mrSigner)) {
    throw mismatch(
      `QE MRSIGNER ${toHex(report.mrSigner)} differs from the QE identity's ${toHex(qe.mrSigner)}`,
    );
  }
  if (report.isvProdId !== qe.isvProdId) {
    throw mismatch(
      `QE ISVPRODID ${report.isvProdId} differs from the QE identity's ${qe.isvProdId}`,
    );
  }
  if ((report.miscSelect & qe.miscSelectMask) >>> 0 !== (qe.miscSelect & qe.miscSelectMask) >>> 0) {
    throw mismatch(
      `QE MISCSELECT 0x${report.miscSelect.toString(16)} (masked) differs from the QE identity`,
    );
  }
  if (
    !bytesEqual(
      masked(report.attributes, qe.attributesMask),
      masked(qe.attributes, qe.attributesMask),
    )
  ) {
    throw mismatch(
      `QE ATTRIBUTES ${toHex(report.attributes)} (masked) differ from the QE identity's ${toHex(qe.attributes)}`,
    );
  }
  return isvLevel(qe.tcbLevels, report.isvSvn);
}

/**
 * Evaluates the TCB of a TDX quote against TCB info and QE identity.
 * @throws VerifyError `ERR_TCB_MISMATCH` when the collateral does not apply (wrong FMSPC, no
 *   matching level, module or QE identity mismatch)
 */
export function evaluateTdxTcb(
  input: TdxTcbInput,
  tcbInfo: TdxTcbInfo,
  qe: QeIdentity,
): TdxTcbEvaluation {
  if (tcbInfo.id !== 'TDX') throw mismatch(`TCB info id is "${tcbInfo.id}", not "TDX"`);
  if (qe.id !== 'TD_QE') throw mismatch(`QE identity id is "${qe.id}", not "TD_QE"`);
  const fmspc = toHex(input.pck.fmspc);
  if (fmspc !== tcbInfo.fmspc) {
    throw mismatch(`TCB info is for FMSPC ${tcbInfo.fmspc}, the PCK certificate has ${fmspc}`, {
      fmspc,
      tcb_info_fmspc: tcbInfo.fmspc,
    });
  }
  const pceId = toHex(input.pck.pceId);
  if (pceId !== tcbInfo.pceId) {
    throw mismatch(`TCB info is for PCE-ID ${tcbInfo.pceId}, the PCK certificate has ${pceId}`);
  }
  const level = matchTdxTcbLevel(tcbInfo.tcbLevels, input.pck, input.teeTcbSvn);
  if (level === undefined) {
    throw mismatch('no TCB level of the TCB info matches the platform (TCB level not supported)', {
      sgx_tcb_components: input.pck.sgxTcbComponents,
      pcesvn: input.pck.pceSvn,
      tee_tcb_svn: toHex(input.teeTcbSvn),
    });
  }
  const advisories = new Set<string>(level.advisoryIds);
  let status = level.tcbStatus;

  // TDX module identity (QVL QuoteVerifier::verify 4.1.2.4.11, checkTdxModuleTcbStatus): the
  // module version selects tdxModule (0) or exactly one tdxModuleIdentities entry, no fallback.
  const version = input.teeTcbSvn[1] ?? 0;
  let moduleId: string | undefined;
  let moduleStatus: string | undefined;
  if (version === 0) {
    if (tcbInfo.tdxModule === undefined) throw mismatch('TDX TCB info has no tdxModule');
    checkModule(input, tcbInfo.tdxModule, 'tdxModule');
  } else {
    moduleId = `TDX_${version.toString(16).toUpperCase().padStart(2, '0')}`;
    const m = tcbInfo.tdxModuleIdentities.find((x) => x.id?.toUpperCase() === moduleId);
    if (m === undefined) throw mismatch(`TCB info has no TDX module identity ${moduleId}`);
    checkModule(input, m, moduleId);
    const ml = moduleLevel(m.tcbLevels, input.teeTcbSvn[0] ?? 0);
    if (ml === undefined) {
      throw mismatch(
        `no TCB level of TDX module identity ${moduleId} matches ISV SVN ${input.teeTcbSvn[0] ?? 0}`,
      );
    }
    moduleStatus = ml.tcbStatus;
    for (const a of ml.advisoryIds) advisories.add(a);
    status = convergeTcbStatus(status, moduleStatus);
  }

  // QE identity.
  const ql = checkQeIdentity(input.qeReport, qe);
  if (ql === undefined) {
    // QVL: EnclaveIdentityV2::getTcbStatus finds no level → STATUS_SGX_ENCLAVE_REPORT_ISVSVN_
    // NOT_SUPPORTED (EnclaveReportVerifier.cpp), a failure, not an out-of-date status.
    throw mismatch(
      `QE ISVSVN ${input.qeReport.isvSvn} is below every level of the QE identity (not supported)`,
    );
  }
  const qeStatus = ql.tcbStatus;
  for (const a of ql.advisoryIds) advisories.add(a);
  status = convergeTcbStatus(status, qeStatus);

  return {
    status,
    advisoryIds: [...advisories],
    platformStatus: level.tcbStatus,
    tcbDate: level.tcbDate,
    tdxModuleId: moduleId,
    tdxModuleStatus: moduleStatus,
    qeStatus,
    qeTcbDate: ql.tcbDate,
    tcbEvaluationDataNumber: tcbInfo.tcbEvaluationDataNumber,
  };
}
