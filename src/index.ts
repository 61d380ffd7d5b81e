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
