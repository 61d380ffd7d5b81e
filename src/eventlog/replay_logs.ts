/**
 * Replaying one or more log files into one set of registers, with the decisions a caller should
 * not have to repeat: whether a log cut inside its last record is replayed up to the cut, how
 * expected values are checked, and which known firmware logging bugs may explain a mismatch.
 * `mrstack log replay` is a thin wrapper; a service calls the same function.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashAlg } from '../crypto/hash_alg.js';
import { ParseError, ReplayError, UsageError } from '../errors.js';
import type { LogFormatId, LogWarning } from './log_format.js';
import { openLogFile, type OpenLogOptions } from './log_source.js';
import { Replay, type ExpectedValues, type RegisterValues, type ReplayResult } from './replay.js';
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
   * Which expected values are compared: `all` (default; a register no log extends must still be
   * at its expected value) or `extended`, only the registers and banks the logs extend — for
   * expected values taken from evidence, which reports registers no given log explains. With
   * `extended`, expected values that name none of them are `ERR_REPLAY_MISMATCH`.
   */
  readonly expectScope?: 'all' | 'extended';
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
  /** Replay only these banks (default: every bank the events carry). */
  readonly banks?: readonly HashAlg[];
  /** Check each event's digest against its data (default true; a mismatch is a warning). */
  readonly checkDigests?: boolean;
  /**
   * IMA lists asked for several `imaBanks` (per-bank rule): hash the banks after the first on a
   * worker thread, which reads the files again, while this thread replays the rest (`2`,
   * the default when the machine has two cores and every source is a file), or all on this
   * thread (`1`). Results are the same either way.
   */
  readonly threads?: 1 | 2;
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
  const {
    expect: expectGiven,
    expectScope = 'all',
    workarounds: allowed = [],
    allowPartialTail = false,
    banks,
    checkDigests = true,
    // `threads` stays in `open`: bankSplit reads it from `opts`, openLogFile ignores it.
    ...open
  } = opts;
  if (allowed.length > 0 && expectGiven === undefined) {
    throw new UsageError('ERR_USAGE', '--workaround needs --expect (it only explains a mismatch)');
  }
  const split = bankSplit(sources, opts);
  const helper = split === undefined ? undefined : startBankWorker(sources, opts, split.worker);
  const warnings: LogWarning[] = [];
  const onWarning = (w: LogWarning): void => {
    warnings.push(w);
    opts.onWarning?.(w);
  };
  const replay = new Replay({
    onWarning,
    ...(banks === undefined ? {} : { banks }),
    ...(checkDigests ? {} : { checkDigest: () => 'n/a' as const }),
  });
  const formats: LogFormatId[] = [];
  const imaBanks = split?.main ?? open.imaBanks;
  try {
    for (const s of sources) {
      const src = typeof s === 'string' ? { path: s } : s;
      const log = await openLogFile(src.path, {
        // format.replay, where there is one, consumes each chunk in place
        replayInPlace: true,
        ...open,
        ...(imaBanks === undefined ? {} : { imaBanks }),
        ...src.open,
        onWarning,
      });
      formats.push(log.format.id);
      try {
        if (log.format.replay !== undefined) {
          await log.format.replay(log.input, replay, {
            ...log.options,
            ...(banks === undefined ? {} : { banks }),
            checkDigests,
          });
        } else {
          for await (const batch of log.batches) for (const e of batch) replay.add(e);
        }
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
  } catch (e) {
    // This thread's error is the one to report (the worker read the same bytes).
    void helper?.terminate();
    throw e;
  }
  if (helper !== undefined) {
    for (const [reg, vals] of await helper.result) {
      for (const [alg, v] of vals) replay.adoptBank(reg, alg, v);
    }
  }
  const expect =
    expectGiven === undefined || expectScope === 'all'
      ? expectGiven
      : extendedOnly(expectGiven, replay.result().registers);
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

/** The expected values of the registers and banks a replay has values for. */
function extendedOnly(expect: ExpectedValues, replayed: RegisterValues): ExpectedValues {
  const out = new Map<string, ReadonlyMap<HashAlg, Uint8Array>>();
  for (const [reg, banks] of expect) {
    const have = replayed.get(reg);
    if (have === undefined) continue;
    const kept = new Map([...banks].filter(([alg]) => have.has(alg)));
    if (kept.size > 0) out.set(reg, kept);
  }
  if (out.size === 0) {
    throw new ReplayError(
      'ERR_REPLAY_MISMATCH',
      `the logs extend none of the expected registers (${[...expect.keys()].join(', ')}) in a bank they name`,
      { details: { expected: [...expect.keys()], replayed: [...replayed.keys()] } },
    );
  }
  return out;
}

/** Which IMA banks this thread and a worker take, or undefined to replay on one thread. */
function bankSplit(
  sources: readonly (string | ReplayLogSource)[],
  opts: ReplayLogsOptions,
): { main: HashAlg[]; worker: HashAlg[] } | undefined {
  const ima = opts.imaBanks ?? [];
  const threads = opts.threads ?? (availableParallelism() >= 2 ? 2 : 1);
  if (
    threads < 2 ||
    ima.length < 2 ||
    opts.imaBankMode === 'padded' ||
    opts.banks !== undefined ||
    opts.checkDigests === false ||
    sources.some((s) => (typeof s === 'string' ? s : s.path) === '-')
  ) {
    return undefined;
  }
  return { main: [ima[0]!], worker: ima.slice(1) };
}

interface BankWorker {
  readonly result: Promise<RegisterValues>;
  terminate(): Promise<number>;
}

/** What the worker is told: plain data only (no callbacks cross the thread boundary). */
export interface BankWorkerInput {
  readonly paths: readonly string[];
  readonly opts: ReplayLogsOptions;
}

function startBankWorker(
  sources: readonly (string | ReplayLogSource)[],
  opts: ReplayLogsOptions,
  banks: readonly HashAlg[],
): BankWorker {
  const input: BankWorkerInput = {
    paths: sources.map((s) => (typeof s === 'string' ? s : s.path)),
    opts: {
      ...(opts.format === undefined ? {} : { format: opts.format }),
      ...(opts.pcrMap === undefined ? {} : { pcrMap: opts.pcrMap }),
      ...(opts.register === undefined ? {} : { register: opts.register }),
      ...(opts.limits === undefined ? {} : { limits: opts.limits }),
      ...(opts.imaBankMode === undefined ? {} : { imaBankMode: opts.imaBankMode }),
      allowPartialTail: opts.allowPartialTail ?? false,
      imaBanks: banks,
      banks,
      // This thread checks every digest (in the list's bank) and reports the warnings.
      checkDigests: false,
      threads: 1,
    },
  };
  const w = new Worker(new URL('./replay_worker.js', import.meta.url), { workerData: input });
  const result = new Promise<RegisterValues>((resolve, reject) => {
    w.once('message', (m: RegisterValues) => resolve(m));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`bank worker exited with code ${code}`));
    });
  });
  // An error is reported through this thread's own replay of the same bytes.
  result.catch(() => undefined);
  return { result, terminate: () => w.terminate() };
}

/** A truncation inside the last record (not a bad length or a cut at a record boundary). */
/** A parse error that only says the log ends inside its last record. */
export function isPartialTail(e: unknown): e is ParseError {
  return e instanceof ParseError && e.code === 'ERR_TRUNCATED' && e.incomplete;
}
