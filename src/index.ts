/**
 * mrstack's public API: named re-exports only, no logic. Every public symbol is exported from
 * here and nowhere else (the package's `exports` map blocks deep imports).
 *
 * @module
 */

// errors and limits
export {
  ERROR_CODES,
  MrstackError,
  ParseError,
  UsageError,
  ProviderError,
  ReplayError,
  VerifyError,
  PolicyError,
  AgentError,
  isMrstackError,
  describeCode,
  fromErrno,
} from './errors.js';
export type {
  ErrorCode,
  ExitCode,
  CodeInfo,
  ParseErrorCode,
  ParseErrorInit,
  FormatId,
  MrstackErrorOptions,
} from './errors.js';
export { DEFAULT_LIMITS, withLimits } from './limits.js';
export type { Limits } from './limits.js';

// bytes
export { ByteReader } from './bytes/reader.js';
export type { ByteReaderOptions, ErrorDetail } from './bytes/reader.js';
export { ByteWriter } from './bytes/writer.js';
export { toHex, fromHex, bytesEqual, concatBytes } from './bytes/hex.js';

// crypto
export {
  HASH_ALGS,
  hashInfo,
  digestSize,
  lookupHashAlg,
  parseHashAlg,
  hashAlgFromId,
  hashAlgId,
} from './crypto/hash_alg.js';
export type { HashAlg, HashAlgInfo } from './crypto/hash_alg.js';
export { hash, hashParts, extend } from './crypto/hash.js';

// providers
export { parseMrSelector, formatMrSelector, selectMrs } from './providers/provider.js';
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
} from './providers/provider.js';

// providers: the emulated TVM
export {
  openEmulatedProvider,
  EmulatedProvider,
  SNAPSHOT_EVERY_RECORDS,
} from './providers/emulated/emulated_provider.js';
export type { OpenEmulatedProviderOptions } from './providers/emulated/emulated_provider.js';
export {
  initEmulatedTvm,
  resolveTvmStateDir,
  readTvmConfig,
  TVM_FILES,
} from './providers/emulated/tvm_state.js';
export type { TvmConfig, InitEmulatedTvmOptions } from './providers/emulated/tvm_state.js';
export {
  PROFILES,
  TPM_BANKS,
  CCA_HASH_ALGS,
  tpmPcrReset,
} from './providers/emulated/profiles.js';
export {
  encodeTraceRecord,
  decodeTraceRecord,
  TRACE_RECORD_SIZE,
  TRACE_OFFSETS,
  TRACE_PROFILE_IDS,
} from './providers/emulated/trace_record.js';
export type { TraceRecord } from './providers/emulated/trace_record.js';
export { EMULATED_REPORTS } from './providers/emulated/report.js';
export type {
  EmulatedReportContext,
  EmulatedReportFn,
  EmulatedRegister,
} from './providers/emulated/report.js';

// event logs (eventlog core; TCG PC Client, CCEL, AAEL formats)
export { ANCHOR_KINDS } from './eventlog/event.js';
export type {
  AnchorKind,
  AnyIterable,
  AppEvent,
  DirectiveEvent,
  EventAnchor,
  EventBase,
  EventKind,
  EventKindMap,
  EventSource,
  LogEvent,
  Tcg2Event,
  Verified,
} from './eventlog/event.js';
export { Framer, readLines, bytesInput, toAsync } from './eventlog/framing.js';
export type { FramerOptions, Line, LineOptions } from './eventlog/framing.js';
export type {
  DigestCheck,
  LogEncodeOptions,
  LogFormat,
  LogFormatId,
  LogParseOptions,
  LogWarning,
} from './eventlog/log_format.js';
export {
  BUILTIN_LOG_FORMATS,
  DETECT_HEAD_BYTES,
  detectLogFormat,
  findLogFormat,
  getLogFormat,
  logFormats,
  registerLogFormat,
} from './eventlog/registry.js';
export { Replay, replay, replayEvents, compareRegisters } from './eventlog/replay.js';
export type {
  ExpectedValues,
  RegisterValues,
  ReplayAllOptions,
  ReplayMismatch,
  ReplayOptions,
  ReplayResult,
  VerifiedReplay,
} from './eventlog/replay.js';
export { parseExpectedJson } from './eventlog/expect.js';
export {
  ccMrName,
  isReplayable,
  pcrName,
  pcrToCcMrIndex,
  rtmrToCcMrIndex,
  PCR_INDEX_NONE,
  PCR_MAP_NAMES,
} from './eventlog/mr_map.js';
export type { PcrMapName } from './eventlog/mr_map.js';
export { resetValue } from './eventlog/reset_values.js';
export { TcgLogWriter, encodeTcgLog } from './eventlog/tcg2_writer.js';
export type { TcgRecordInput, TcgLogWriterOptions } from './eventlog/tcg2_writer.js';
export { tcg2Format } from './eventlog/tcg2_format.js';
export { ccelFormat, isAaelV2Record } from './eventlog/ccel_format.js';
export { aaelFormat, AAEL_DEFAULT_REGISTER } from './eventlog/aael_format.js';
export { EventType, eventTypeName, eventTypeByName } from './formats/tcg2/event_types.js';
export type { EventTypeName } from './formats/tcg2/event_types.js';
export { parseSpecIdEvent, encodeSpecIdEvent } from './formats/tcg2/spec_id_event.js';
export type { SpecIdEvent, SpecIdAlgorithm } from './formats/tcg2/spec_id_event.js';
export type { LoggedDigest, TcgPcrRecord } from './formats/tcg2/pcr_event.js';
export { describeTcgEventData, AAEL_TAGGED_EVENT_ID } from './formats/tcg2/event_data.js';
export { devicePathToText } from './formats/tcg2/device_path.js';
export { formatGuid } from './formats/tcg2/guid.js';
export {
  parseCcelAcpiTable,
  encodeCcelAcpiTable,
  ccelChecksumOk,
  CCEL_TABLE_SIZE,
  CcType,
} from './formats/ccel/acpi_table.js';
export type { CcelAcpiTable } from './formats/ccel/acpi_table.js';
export { parseAaelLine, splitAaelEvent } from './formats/aael/aael_line.js';
export type { AaelLine } from './formats/aael/aael_line.js';

// evidence verification: the front door (all kinds) and TDX quotes, collateral, TCB evaluation
export {
  EVIDENCE_KINDS,
  EVIDENCE_VERIFIERS,
  ResultBuilder,
  checkReportDataNonce,
  reportDataBinding,
  decodeEvidenceInput,
  detectEvidenceKind,
  showEvidence,
  verifyEvidence,
} from './verifier/verify/evidence.js';
export type {
  EvidenceKind,
  EvidenceIssue,
  CheckOutcome,
  TrustInfo,
  EvidenceResult,
  EvidenceShowResult,
  CollateralInput,
  VerifyEvidenceOptions,
  ResolvedVerifyOptions,
  EvidenceVerifier,
  ReportEnvelope,
  DecodedEvidenceInput,
} from './verifier/verify/evidence.js';
export {
  TDX_QUOTE,
  parseTdxQuote,
  encodeTdxQuote,
  encodeTdxQuoteSignedPart,
  encodeQeCertificationData,
  tdxQuoteClaims,
  tdAttributeFlags,
} from './formats/tdx/quote.js';
export type {
  TdxQuote,
  TdxQuoteHeader,
  TdReportBody,
  QeReportCertificationData,
  TdxQuoteSignatureInit,
} from './formats/tdx/quote.js';
export {
  ENCLAVE_REPORT_SIZE,
  readEnclaveReport,
  encodeEnclaveReport,
} from './formats/tdx/enclave_report.js';
export type { EnclaveReport } from './formats/tdx/enclave_report.js';
export {
  TDREPORT_SIZE,
  parseTdReport,
  encodeTdReport,
  checkTdReportHashes,
} from './formats/tdx/tdreport.js';
export type { TdReport, TdReportInit } from './formats/tdx/tdreport.js';
export {
  SGX_EXTENSION_OID,
  parsePckExtension,
  encodePckExtension,
} from './formats/tdx/pck_extension.js';
export type { PckExtension } from './formats/tdx/pck_extension.js';
export {
  TdxQuoteVerifier,
  TDX_VERIFIER,
  looksLikeTdxQuote,
  pckExtensionOf,
} from './verifier/verify/tdx_verifier.js';
export type { TdxVerifierConfig, TdxVerifyOptions } from './verifier/verify/tdx_verifier.js';
export {
  TCB_STATUS,
  evaluateTdxTcb,
  matchTdxTcbLevel,
  convergeTcbStatus,
  checkQeIdentity,
} from './verifier/verify/tdx_tcb.js';
export type { TdxTcbInput, TdxTcbEvaluation } from './verifier/verify/tdx_tcb.js';
export { INTEL_SGX_ROOT_CA_PEM } from './verifier/verify/tdx_roots.js';
export {
  EMULATED_ROOT_ORGANIZATION,
  parseCertificate,
  verifyCertChain,
  parseCrl,
  verifyCrl,
  isRevoked,
  isEmulatedRoot,
} from './verifier/verify/x509_chain.js';
export type { VerifiedChain, ChainOptions, Crl } from './verifier/verify/x509_chain.js';
export {
  parseTdxCollateralFiles,
  parseQuoteCollateralV3,
  parseTdxTcbInfo,
  parseQeIdentity,
} from './verifier/collateral/tdx_collateral.js';
export type {
  TdxCollateral,
  TdxTcbInfo,
  TdxTcbLevel,
  QeIdentity,
  IsvTcbLevel,
  TdxModuleIdentity,
  SignedJson,
} from './verifier/collateral/tdx_collateral.js';
// --- linux provider (kernel tsm-mr + configfs-tsm) and the emulated kernel ABI mount ---
export { openLinuxProvider, probeLinux } from './providers/linux/linux_provider.js';
export type { LinuxProvider, LinuxProviderOptions } from './providers/linux/linux_provider.js';
export { nodeTsmFs } from './providers/linux/tsm_fs.js';
export type { TsmFs, TsmStat } from './providers/linux/tsm_fs.js';
export { requestTsmReport } from './providers/linux/configfs_report.js';
export type { TsmReportOptions } from './providers/linux/configfs_report.js';
export { findKernelLogs, openKernelLog } from './providers/linux/log_locations.js';
export type { KernelLog, KernelLogKind } from './providers/linux/log_locations.js';
export { KNOWN_TSM_MR_DEVICES, TSM_REPORT_PROVIDERS } from './providers/linux/devices.js';
export type { KnownDevice, KnownMr } from './providers/linux/devices.js';
export { mountEmulatedTvm } from './emulate/fuse_mount.js';
export type { EmulatedMount, MountOptions } from './emulate/fuse_mount.js';
// --- IMA and CEL event-log formats (formats/ima, formats/cel; adapters eventlog/ima_format, cel_format) ---
export {
  IMA_TEMPLATES,
  imaTemplateFields,
  decodeImaFields,
  imaEntryDetails,
  imaTemplateHashInput,
  isImaViolation,
  encodeImaTemplateData,
} from './formats/ima/ima_template.js';
export type { ImaEntry, ImaField } from './formats/ima/ima_template.js';
export {
  ImaBinaryReader,
  detectImaBinaryLayout,
  parseImaBinary,
  readImaBinaryStream,
  encodeImaBinary,
  encodeImaBinaryEntry,
} from './formats/ima/ima_binary.js';
export type { ImaBinaryLayout, ImaBinaryOptions } from './formats/ima/ima_binary.js';
export {
  ImaAsciiReader,
  parseImaAscii,
  parseImaAsciiLine,
  readImaAsciiStream,
  encodeImaAscii,
  formatImaAsciiLine,
} from './formats/ima/ima_ascii.js';
export {
  ImaReplay,
  replayIma,
  computeBootAggregate,
  bootAggregateWithoutTpm,
} from './formats/ima/ima_replay.js';
export type { ImaReplayOptions, ImaReplayResult, ImaBankMode } from './formats/ima/ima_replay.js';
export { CEL_TLV_TYPES, celRegisterName } from './formats/cel/cel_record.js';
export type { CelRecord, CelContent, CelDigest, CelRegister } from './formats/cel/cel_record.js';
export {
  CelTlvReader,
  parseCelTlv,
  readCelTlvStream,
  encodeCelTlv,
  encodeCelTlvRecord,
} from './formats/cel/cel_tlv.js';
export {
  parseCelJson,
  encodeCelJson,
  encodeCelJsonSeq,
  celRecordToJson,
  celRecordFromJson,
} from './formats/cel/cel_json.js';
export { CelReplay, replayCel } from './formats/cel/cel_replay.js';
export type { CelReplayResult } from './formats/cel/cel_replay.js';
export { imaBinaryFormat, imaAsciiFormat } from './eventlog/ima_format.js';
export type { ImaEvent } from './eventlog/ima_format.js';
export { celTlvFormat, celJsonFormat } from './eventlog/cel_format.js';
export type { CelEvent } from './eventlog/cel_format.js';
