/**
 * `mrstack/providers`: the provider interface and the emulated, Linux and TPM providers.
 * Named re-exports only, no logic; the package's `exports` map blocks deep imports, so this file
 * is the layer's public surface.
 *
 * @module
 */

// errors and limits, shared by every layer
export * from '../errors.js';
export * from '../limits.js';

export { parseMrSelector, formatMrSelector, selectMrs } from './provider.js';
export type {
  Provider,
  ProviderKind,
  Profile,
  MrInfo,
  MrSelector,
  MrValue,
  ExtendInput,
  ExtendResult,
  ReportRequest,
  ReportFormat,
  RawReport,
  IoOptions,
} from './provider.js';
export {
  openEmulatedProvider,
  EmulatedProvider,
  SNAPSHOT_EVERY_RECORDS,
} from './emulated/emulated_provider.js';
export type { OpenEmulatedProviderOptions } from './emulated/emulated_provider.js';
export {
  initEmulatedTvm,
  resolveTvmStateDir,
  readTvmConfig,
  TVM_FILES,
} from './emulated/tvm_state.js';
export type { TvmConfig, InitEmulatedTvmOptions } from './emulated/tvm_state.js';
export { EMULATED_TCB_STATUSES } from './emulated/tvm_state.js';
export type { EmulatedTcbStatus } from './emulated/tvm_state.js';
export {
  emulatedCollateral,
  emulatedTpmCaCertificate,
  EMULATED_TPM_NAMES,
} from './emulated/collateral.js';
export type { EmulatedCollateral, EmulatedCollateralOptions } from './emulated/collateral.js';
export { PROFILES, TPM_BANKS, CCA_HASH_ALGS, tpmPcrReset } from './emulated/profiles.js';
export {
  encodeTraceRecord,
  decodeTraceRecord,
  TRACE_RECORD_SIZE,
  TRACE_OFFSETS,
  TRACE_PROFILE_IDS,
} from './emulated/trace_record.js';
export type { TraceRecord } from './emulated/trace_record.js';
export { EMULATED_REPORTS } from './emulated/report.js';
export type {
  EmulatedReportContext,
  EmulatedReportFn,
  EmulatedRegister,
} from './emulated/report_context.js';
export { makeEmulatedSnpReport, loadOrCreateSnpKeys } from './emulated/report_snp.js';
export type { EmulatedSnpKeys } from './emulated/report_snp.js';
export { makeEmulatedCcaToken, loadOrCreateCcaKeys } from './emulated/report_cca.js';
export type { EmulatedCcaKeys } from './emulated/report_cca.js';
export { tpmEmulatedReport, loadEmulatedAk, emulatedAkPublic } from './emulated/report_tpm.js';
export { openLinuxProvider, probeLinux } from './linux/linux_provider.js';
export type { LinuxProvider, LinuxProviderOptions } from './linux/linux_provider.js';
export { nodeTsmFs } from './linux/tsm_fs.js';
export type { TsmFs, TsmStat } from './linux/tsm_fs.js';
export { requestTsmReport } from './linux/configfs_report.js';
export type { TsmReportOptions } from './linux/configfs_report.js';
export { findKernelLogs, openKernelLog } from './linux/log_locations.js';
export type { KernelLog, KernelLogKind } from './linux/log_locations.js';
export { KNOWN_TSM_MR_DEVICES, TSM_REPORT_PROVIDERS } from './linux/devices.js';
export type { KnownDevice, KnownMr } from './linux/devices.js';
export { Tpm } from './tpm/tpm.js';
export type { PcrReading, LoadedKey } from './tpm/tpm.js';
export { TpmProvider, openTpmProvider, openTpmTransport } from './tpm/tpm_provider.js';
export type { TpmProviderOptions, TpmLocation } from './tpm/tpm_provider.js';
export type { TpmTransport } from './tpm/transport.js';
export { DeviceTransport, DEFAULT_TPM_DEVICE } from './tpm/device_transport.js';
export {
  SwtpmTransport,
  SwtpmControl,
  SWTPM_CTRL,
  parseSocketAddress,
  formatAddress,
} from './tpm/swtpm_transport.js';
export type { SocketAddress } from './tpm/swtpm_transport.js';
export {
  createEk,
  createSrk,
  createAk,
  loadAk,
  readEkCertificate,
  encodeAkBlob,
  decodeAkBlob,
  readTpmIdentity,
  activateWithAk,
} from './tpm/identity.js';
export type { AkBlob, TpmIdentity } from './tpm/identity.js';
export { startSwtpm, setupSwtpmState, findFreePortPair } from './tpm/swtpm_process.js';
export type { SwtpmInstance, StartSwtpmOptions, SwtpmSetupOptions } from './tpm/swtpm_process.js';
export { checkAgentPcr, RESETTABLE_PCRS, DRTM_PCRS } from './tpm/agent_pcrs.js';
