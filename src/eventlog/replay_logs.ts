/**
 * Replaying one or more log files into one set of registers, with the decisions a caller should
 * not have to repeat: whether a log cut inside its last record is replayed up to the cut, how
 * expected values are checked, and which known firmware logging bugs may explain a mismatch.
 * `mrstack log replay` is a thin wrapper; a service calls the same function.
 *
 * @module
 */
import { ParseError, UsageError } from '../errors.js';
import type { LogFormatId, LogWarning } from './log_format.js';
import { openLogFile, type OpenLogOptions } from './log_source.js';
import { Replay, type ExpectedValues, type ReplayResult } from './replay.js';
import {
  applyWorkarounds,
  findWorkaround,
  WORKAROUND_FAMILIES,
  type ReplayWorkaround,
  type WorkaroundFamily,
} from './workarounds.js';

/** One log to replay: its path and, optionally, options for this file only (e.g. progress). */
export interface ReplayLogSource {
  readonly path: string;
  /** Merged over the shared options of {@link replayLogs} for this file. */
  readonly open?: OpenLogOptions;
  /** Called once the whole file has been read (e.g. to complete a progress bar). */
  readonly onRead?: () => void;
}

/** Options of {@link replayLogs}: how each file is opened, plus the replay's decisions. */
export interface ReplayLogsOptions extends OpenLogOptions {
  /** Expected values: checked after the last file (`ERR_REPLAY_MISMATCH` on the first miss). */
  readonly expect?: ExpectedValues;
  /**
   * Workaround families allowed to explain a register that misses its expected value (needs
   * `expect`). An applied workaround is reported as a `REPLAY_WORKAROUND` warning; a mismatch
   * that a family not allowed would explain names that family in the error's hint.
   */
  readonly workarounds?: readonly WorkaroundFamily[];
  /**
   * A file cut inside its last record replays its complete records and warns
   * (`ERR_TRUNCATED`) instead of failing. Truncation at a record boundary is never detected.
   */
  readonly allowPartialTail?: boolean;
}

/** What {@link replayLogs} returns: the combined replay and what was decided on the way. */
export interface ReplayLogsResult extends ReplayResult {
  /** The detected (or given) format of each file, in order. */
  readonly formats: readonly LogFormatId[];
  /** Workarounds applied to reach the expected values (empty without `expect`). */
  readonly workarounds: readonly ReplayWorkaround[];
}

/**
 * Replays the files in order into the same registers (one file: a plain replay).
 * @throws UsageError `ERR_USAGE` (workarounds without expected values); ParseError from a log;
 * ReplayError `ERR_REPLAY_MISMATCH`, `ERR_LOG_GAP`; MrstackError from a failed read.
 */
export async function replayLogs(
  sources: readonly (string | ReplayLogSource)[],
  opts: ReplayLogsOptions = {},
): Promise<ReplayLogsResult> {
  const { expect, workarounds: allowed = [], allowPartialTail = false, ...open } = opts;
  if (allowed.length > 0 && expect === undefined) {
    throw new UsageError('ERR_USAGE', '--workaround needs --expect (it only explains a mismatch)');
  }
  const warnings: LogWarning[] = [];
  const onWarning = (w: LogWarning): void => {
    warnings.push(w);
    opts.onWarning?.(w);
  };
  const replay = new Replay({ onWarning });
  const formats: LogFormatId[] = [];
  for (const s of sources) {
    const src = typeof s === 'string' ? { path: s } : s;
    const log = await openLogFile(src.path, { ...open, ...src.open, onWarning });
    formats.push(log.format.id);
    try {
      for await (const batch of log.batches) for (const e of batch) replay.add(e);
      src.onRead?.();
    } catch (e) {
      if (!(allowPartialTail && isPartialTail(e))) throw e;
      onWarning({
        code: 'ERR_TRUNCATED',
        message: `${src.path}: partial last record ignored (${e.completeRecords ?? 0} complete records replayed): ${e.message}`,
        log: src.path,
        offset: e.offset,
      });
    }
  }
  let applied: readonly ReplayWorkaround[] = [];
  if (expect !== undefined) {
    applied = applyWorkarounds(replay, expect, allowed);
    for (const w of applied) {
      onWarning({
        code: 'REPLAY_WORKAROUND',
        message: `${w.register} reaches its expected value only with workaround ${w.id}: the log lacks the EV_EFI_ACTION events ${w.actions.map((a) => `"${a}"`).join(', ')}`,
        log: sources.map((s) => (typeof s === 'string' ? s : s.path)).join('+'),
        register: w.register,
      });
    }
    replay.check(expect, (m) => {
      const w = findWorkaround(replay, m.register, expect, WORKAROUND_FAMILIES);
      return w === undefined
        ? undefined
        : `the log may lack events the firmware extended: --workaround ${w.family} would apply ${w.id}`;
    });
  }
  // The replay's own warnings are the ones this function collected; keep the order they came in.
  return { ...replay.result(), warnings, formats, workarounds: applied };
}

/** A truncation inside the last record (not a bad length or a cut at a record boundary). */
function isPartialTail(e: unknown): e is ParseError {
  return e instanceof ParseError && e.code === 'ERR_TRUNCATED' && e.incomplete;
}
