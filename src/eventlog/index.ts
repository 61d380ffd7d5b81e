/**
 * `mrstack/eventlog`: the event model, streaming framing, the log-format registry and replay.
 * Named re-exports only, no logic; the package's `exports` map blocks deep imports, so this file
 * is the layer's public surface.
 *
 * @module
 */

// errors and limits, shared by every layer
export * from '../errors.js';
export * from '../limits.js';

export { ANCHOR_KINDS } from './event.js';
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
} from './event.js';
export type {
  DigestCheck,
  LogEncodeOptions,
  LogFormat,
  LogFormatId,
  LogParseOptions,
  LogReplayOptions,
  LogWarning,
} from './log_format.js';
export { eventBatches, flattenBatches } from './log_format.js';
export {
  BUILTIN_LOG_FORMATS,
  DETECT_HEAD_BYTES,
  detectLogFormat,
  findLogFormat,
  getLogFormat,
  logFormats,
  registerLogFormat,
} from './registry.js';
export { Replay, replay, replayEvents, compareRegisters } from './replay.js';
export type {
  ExpectedValues,
  RegisterValues,
  ReplayAllOptions,
  ReplayMismatch,
  ReplayOptions,
  ReplayedRegisterValues,
  ReplayResult,
  VerifiedReplay,
} from './replay.js';
export { replayLogs } from './replay_logs.js';
export { bootAggregateOfReplay } from './boot_aggregate_log.js';
export type { BootAggregate } from './boot_aggregate_log.js';
export type { ReplayLogSource, ReplayLogsOptions, ReplayLogsResult } from './replay_logs.js';
export {
  applyWorkarounds,
  findWorkaround,
  workaroundDigests,
  REPLAY_WORKAROUNDS,
  WORKAROUND_FAMILIES,
} from './workarounds.js';
export type { ReplayWorkaround, WorkaroundFamily } from './workarounds.js';
export { parseExpectedJson } from './expect.js';
export { openLogFile, openLogStream, logFileSize } from './log_source.js';
export type { OpenedLog, OpenLogOptions } from './log_source.js';
export {
  ccMrName,
  isReplayable,
  pcrName,
  pcrToCcMrIndex,
  rtmrToCcMrIndex,
  PCR_INDEX_NONE,
  PCR_MAP_NAMES,
} from './mr_map.js';
export type { PcrMapName } from './mr_map.js';
export { resetValue } from './reset_values.js';
export { TcgLogWriter, encodeTcgLog } from './tcg2_writer.js';
export type { TcgRecordInput, TcgLogWriterOptions } from './tcg2_writer.js';
export { tcg2Format } from './tcg2_format.js';
export { ccelFormat, isAaelV2Record } from './ccel_format.js';
export { aaelFormat, AAEL_DEFAULT_REGISTER } from './aael_format.js';
export { imaBinaryFormat, imaAsciiFormat } from './ima_format.js';
export type { ImaEvent } from './ima_format.js';
export { celTlvFormat, celJsonFormat } from './cel_format.js';
export type { CelEvent } from './cel_format.js';
export { MrlogReplayer, replayMrlog } from './mrlog_replay.js';
export type {
  BankValues,
  MrlogStart,
  MrlogGap,
  VmrObservation,
  MrlogReplayOptions,
  MrlogReplayResult,
} from './mrlog_replay.js';
export { replayVmr, vmrExtend, vmrInitial } from './mrlog_vmr.js';
export type { VmrReplayResult } from './mrlog_vmr.js';
export { mrlogEventsToCel, mrlogCelRegister, MRLOG_CEL_EVENT_TYPES } from './mrlog_cel.js';
