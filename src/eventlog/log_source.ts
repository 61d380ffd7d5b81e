/**
 * Opening logs: files or any byte stream, format detection on the first bytes (or `--format`),
 * then a streaming parse that replays the detection bytes first. Nothing is read twice and only
 * the detection head (≤ 64 KiB) is held beyond the parser's one record.
 *
 * @module
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { fromErrno } from '../errors.js';
import type { AnyIterable, LogEvent } from './event.js';
import { eventBatches, type LogFormat, type LogParseOptions } from './log_format.js';
import { DETECT_HEAD_BYTES, detectLogFormat } from './registry.js';

/** A log ready to be parsed. */
export interface OpenedLog {
  readonly format: LogFormat;
  /** The events, parsed lazily as the iterable is consumed. */
  readonly events: AsyncIterable<LogEvent>;
  /**
   * The same events in batches (`LogFormat.parseBatches`), for consumers with a synchronous
   * per-event step. Both views read the one input: consume one of them, not both.
   */
  readonly batches: AsyncIterable<readonly LogEvent[]>;
  /** The raw bytes, detection head first, for `format.replay`: the third view of the input. */
  readonly input: AsyncIterable<Uint8Array>;
  /** The options the views parse with. */
  readonly options: LogParseOptions;
}

/** Options of {@link openLogStream} and {@link openLogFile}. */
export interface OpenLogOptions extends LogParseOptions {
  /** `--format`: a format id, or `auto`/undefined to detect. */
  readonly format?: string;
  /** Called with the byte count consumed so far (progress display). */
  readonly onProgress?: (bytes: number) => void;
  /**
   * The caller replays with `format.replay` and the format reads each chunk in place before
   * asking for the next, keeping nothing of it (`ima-binary`: its scanner copies a record cut by
   * a chunk's end): a plain file is then read into one reused buffer after the detection head —
   * no buffer per chunk, no stream. Other formats are read as usual.
   */
  readonly replayInPlace?: boolean;
}

/** Formats whose `replay` consumes each chunk before the next is read and keeps none of it. */
const IN_PLACE_REPLAY: ReadonlySet<string> = new Set(['ima-binary']);

async function* prefixed(
  head: readonly Uint8Array[],
  rest: AsyncIterator<Uint8Array>,
  onProgress?: (bytes: number) => void,
): AsyncIterable<Uint8Array> {
  let n = 0;
  for (const c of head) {
    n += c.length;
    onProgress?.(n);
    yield c;
  }
  for (;;) {
    const r = await rest.next();
    if (r.done === true) return;
    n += r.value.length;
    onProgress?.(n);
    yield r.value;
  }
}

/**
 * Detects a stream's format from its first bytes (unless `opts.format` names one) and returns a
 * lazy parse of the whole stream.
 * @throws ParseError `ERR_UNKNOWN_FORMAT`
 */
export async function openLogStream(
  input: AnyIterable<Uint8Array>,
  opts: OpenLogOptions = {},
): Promise<OpenedLog> {
  const it =
    Symbol.asyncIterator in input
      ? input[Symbol.asyncIterator]()
      : (async function* () {
          await Promise.resolve();
          yield* input;
        })()[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let have = 0;
  while (have < DETECT_HEAD_BYTES) {
    const r = await it.next();
    if (r.done === true) break;
    const c = r.value;
    head.push(c);
    have += c.length;
  }
  const first = head.length === 1 ? head[0]! : Buffer.concat(head);
  const format = detectLogFormat(first.subarray(0, DETECT_HEAD_BYTES), opts.format);
  const rest = prefixed(head, it, opts.onProgress);
  // Both views are lazy generators over the same input; only the one consumed reads it.
  return {
    format,
    events: format.parse(rest, opts),
    batches: eventBatches(format, rest, opts),
    input: rest,
    options: opts,
  };
}

async function* fileChunks(path: string): AsyncIterable<Uint8Array> {
  // 256 KiB reads: with IMA lists replayed in place the stream's per-chunk cost showed — 64 KiB
  // chunks cost 0.3–0.6 CPU-s more on a 1M-entry list (3 alternating runs each), for 8 MB less
  // peak RSS (94 vs 102 MB, both threads; the bound is 150 MB). 1 MiB chunks raised RSS to 155 MB
  // earlier (garbage chunks outlive a scavenge).
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  // an archived agent log segment (`*.mrlog.gz`, docs/mrlog.md): read through gunzip
  const s: Readable = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  if (s !== raw) raw.once('error', (e) => s.destroy(e));
  try {
    for await (const c of s)
      yield new Uint8Array((c as Buffer).buffer, (c as Buffer).byteOffset, (c as Buffer).length);
  } catch (e) {
    throw fromErrno(e, path);
  } finally {
    s.destroy();
    raw.destroy();
  }
}

/**
 * Opens a log file (`-` is stdin) for streaming parse.
 * @throws ProviderError `ERR_NOT_FOUND` / `ERR_PERMISSION` / `ERR_IO`; ParseError
 * `ERR_UNKNOWN_FORMAT`
 */
export async function openLogFile(path: string, opts: OpenLogOptions = {}): Promise<OpenedLog> {
  if (opts.replayInPlace === true && path !== '-' && !path.endsWith('.gz')) {
    const mode = { reuse: false };
    const log = await openLogStream(reusedFileChunks(path, mode), { logName: path, ...opts });
    mode.reuse = IN_PLACE_REPLAY.has(log.format.id);
    return log;
  }
  const input = path === '-' ? (process.stdin as AsyncIterable<Uint8Array>) : fileChunks(path);
  return openLogStream(input, { logName: path, ...opts });
}

/** Reads of a plain file for a replay in place: 1 MiB, measured against 256 KiB streams. */
const IN_PLACE_READ = 1 << 20;

/**
 * A plain file's chunks by synchronous reads: each into a fresh buffer until `mode.reuse` is set
 * (the detection head is kept), then all into one buffer the consumer must be done with before
 * asking for the next chunk.
 */
function* reusedFileChunks(path: string, mode: { reuse: boolean }): Iterable<Uint8Array> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fromErrno(e, path);
  }
  const shared = new Uint8Array(IN_PLACE_READ);
  try {
    for (;;) {
      const buf = mode.reuse ? shared : new Uint8Array(IN_PLACE_READ);
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        throw fromErrno(e, path);
      }
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** The size of a log file in bytes (undefined for stdin or when unknown). */
export async function logFileSize(path: string): Promise<number | undefined> {
  if (path === '-') return undefined;
  try {
    return (await stat(path)).size;
  } catch (e) {
    throw fromErrno(e, path);
  }
}
