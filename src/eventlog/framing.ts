/**
 * Streaming input for log parsers: turns `AsyncIterable<Uint8Array>` (a file stream, stdin, a
 * socket) into records, buffering at most one record plus one input chunk, with absolute
 * offsets. A record longer than `limits.maxRecordSize` is refused before it is buffered; input
 * that ends inside a record is `ERR_TRUNCATED` with `incomplete: true` and the number of complete
 * records before it (the cbor-x idea: "cut short" reads differently from "corrupt").
 *
 * Parsers are written as async loops over a {@link Framer}: `await fill(n)` to have `n` bytes
 * buffered, `peek(n)` to look at them, `reader(n)` to take a record as a {@link ByteReader} with
 * absolute offsets. {@link LineFramer} does the same for LF-terminated text.
 *
 * @module
 */
import { ByteReader } from '../bytes/reader.js';
import { ParseError, type FormatId } from '../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import type { AnyIterable } from './event.js';

/** Options of a {@link Framer}. */
export interface FramerOptions {
  readonly format: FormatId;
  readonly limits?: Limits;
  /** Absolute offset of the first byte of the input (default 0). */
  readonly origin?: number;
}

/** Wraps a whole buffer as a one-chunk input (small logs, tests). */
export async function* bytesInput(buf: Uint8Array): AsyncIterable<Uint8Array> {
  await Promise.resolve();
  yield buf;
}

/**
 * Copies every chunk, for producers that reuse one buffer for successive chunks (a read loop
 * into a fixed buffer, `FileHandle.read` with a supplied buffer). Parsers take chunks as theirs
 * once yielded — node streams hand each chunk over and never touch it again — and keep views
 * of them (carries across chunk boundaries, fields of yielded events); a reused buffer would
 * rewrite those.
 */
export async function* ownedChunks(input: AnyIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const c of input) yield new Uint8Array(c);
}

/** Makes any byte iterable async. */
export async function* toAsync(input: AnyIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const c of input) yield c;
}

/** A bounded look-ahead buffer over a byte stream. */
export class Framer {
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #format: FormatId;
  readonly #limits: Limits;
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #offset: number;
  #eof = false;
  #owned = false;

  constructor(input: AnyIterable<Uint8Array>, opts: FramerOptions) {
    this.#it = toAsync(input)[Symbol.asyncIterator]();
    this.#format = opts.format;
    this.#limits = opts.limits ?? DEFAULT_LIMITS;
    this.#offset = opts.origin ?? 0;
  }

  /** The limits in force. */
  get limits(): Limits {
    return this.#limits;
  }

  /** The format errors are reported in. */
  get format(): FormatId {
    return this.#format;
  }

  /** Absolute offset of the next unconsumed byte. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes buffered and not yet consumed. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Buffers until at least `n` bytes are available or the input ends; returns how many are
   * available (fewer than `n` only at end of input). `n` is bounded by the caller (a record
   * size already checked against the limits).
   */
  async fill(n: number): Promise<number> {
    while (this.buffered < n && !this.#eof) {
      const r = await this.#it.next();
      if (r.done === true) {
        this.#eof = true;
        break;
      }
      this.#append(r.value);
    }
    return this.buffered;
  }

  /** True when nothing is buffered and the input has ended. */
  async atEnd(): Promise<boolean> {
    return (await this.fill(1)) === 0;
  }

  /** A view of up to `n` buffered bytes (valid until the next `fill`). */
  peek(n: number): Uint8Array {
    return this.#buf.subarray(this.#start, this.#start + Math.min(n, this.buffered));
  }

  /**
   * Takes the next `n` buffered bytes as a reader with absolute offsets (valid until the next
   * `fill`; copy what you keep). The caller has checked `n` against the limits and `fill`ed.
   */
  reader(n: number, record?: number): ByteReader {
    if (n > this.buffered) throw new RangeError(`Framer.reader(${n}): only ${this.buffered}`);
    const r = new ByteReader(this.#buf.subarray(this.#start, this.#start + n), {
      format: this.#format,
      origin: this.#offset,
      ...(record === undefined ? {} : { record }),
    });
    this.#start += n;
    this.#offset += n;
    return r;
  }

  /** Drops `n` buffered bytes. */
  skip(n: number): void {
    const k = Math.min(n, this.buffered);
    this.#start += k;
    this.#offset += k;
  }

  /**
   * Checks a record length read from the input against `limits.maxRecordSize` before it is
   * buffered. `at` is the absolute offset of the length field.
   * @throws ParseError `ERR_RECORD_TOO_LARGE`
   */
  checkRecordSize(len: number, at: number, field: string, record?: number): void {
    if (!(len >= 0) || len > this.#limits.maxRecordSize) {
      throw new ParseError({
        code: 'ERR_RECORD_TOO_LARGE',
        format: this.#format,
        offset: at,
        field,
        expected: `<= ${this.#limits.maxRecordSize}`,
        actual: String(len),
        ...(record === undefined ? {} : { record }),
      });
    }
  }

  /**
   * The error for input that ended inside a record: `ERR_TRUNCATED`, incomplete, with the count
   * of complete records before it. `at` is the record's first byte.
   */
  truncated(
    at: number,
    field: string,
    completeRecords: number,
    need: number,
    record?: number,
  ): ParseError {
    return new ParseError({
      code: 'ERR_TRUNCATED',
      format: this.#format,
      offset: at,
      field,
      expected: `${need} bytes`,
      actual: `${this.#end - this.#start} left`,
      incomplete: true,
      completeRecords,
      ...(record === undefined ? {} : { record }),
    });
  }

  /**
   * Buffers `n` bytes or throws the truncation error for a record that started at `at`.
   * @throws ParseError `ERR_TRUNCATED` (incomplete)
   */
  async require(
    n: number,
    at: number,
    field: string,
    completeRecords: number,
    record?: number,
  ): Promise<void> {
    if ((await this.fill(n)) < n) throw this.truncated(at, field, completeRecords, n, record);
  }

  #append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const live = this.#end - this.#start;
    if (live === 0) {
      // Nothing buffered: borrow the chunk (no copy); it is never written to.
      this.#buf = chunk;
      this.#owned = false;
      this.#start = 0;
      this.#end = chunk.length;
      return;
    }
    if (this.#owned && this.#buf.length - this.#end >= chunk.length) {
      this.#buf.set(chunk, this.#end);
      this.#end += chunk.length;
      return;
    }
    const need = live + chunk.length;
    if (this.#owned && this.#buf.length >= need) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const next = new Uint8Array(Math.max(need, 2 * live, 64 * 1024));
      next.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = next;
      this.#owned = true;
    }
    this.#start = 0;
    this.#end = live;
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }
}

/** One text line: its bytes without the LF (and without a CR before it only if asked). */
export interface Line {
  /** The line's bytes (a view, valid until the next line is read). */
  readonly bytes: Uint8Array;
  /** Absolute offset of the line's first byte. */
  readonly offset: number;
  /** 1-based line number. */
  readonly line: number;
  /** False for a last line without a final LF. */
  readonly terminated: boolean;
}

/** Options of {@link readLines}. */
const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

/**
 * A line's text, decoded as UTF-8 fatally: malformed UTF-8 is `ERR_BAD_ENCODING` at the line
 * (text logs count lines, not bytes).
 */
export function decodeLine(l: Line, format: FormatId, record?: number): string {
  try {
    return utf8Fatal.decode(l.bytes);
  } catch (cause) {
    throw new ParseError({
      code: 'ERR_BAD_ENCODING',
      format,
      offset: l.line,
      unit: 'line',
      field: `line[${l.line}]`,
      expected: 'UTF-8 text',
      ...(record === undefined ? {} : { record }),
      cause,
    });
  }
}

/** Options of {@link readLines}: the format named in errors and the limits that bound a line. */
export interface LineOptions {
  readonly format: FormatId;
  readonly limits?: Limits;
}

/**
 * Splits a byte stream into LF-terminated lines, each at most `limits.maxLineLength` bytes
 * (longer is `ERR_RECORD_TOO_LARGE`, reported by line number, never buffered). A last line
 * without LF is yielded with `terminated: false`; the caller decides whether that is truncation.
 */
export async function* readLines(
  input: AnyIterable<Uint8Array>,
  opts: LineOptions,
): AsyncIterable<Line> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const f = new Framer(input, { format: opts.format, limits });
  let lineNo = 0;
  let scanned = 0;
  // The next line (lineNo + 1) is over the limit; errors about lines count from 1.
  const tooLong = (actual: string): ParseError =>
    new ParseError({
      code: 'ERR_RECORD_TOO_LARGE',
      format: opts.format,
      offset: lineNo + 1,
      unit: 'line',
      field: `line[${lineNo + 1}]`,
      expected: `<= ${limits.maxLineLength} bytes`,
      actual,
    });
  for (;;) {
    const avail = await f.fill(scanned + 1);
    if (avail === 0) return;
    const view = f.peek(avail);
    const nl = view.indexOf(0x0a, scanned);
    if (nl < 0) {
      if (avail > limits.maxLineLength) throw tooLong(`> ${limits.maxLineLength} bytes`);
      if (avail === scanned) {
        // End of input without a final LF.
        lineNo++;
        const at = f.offset;
        const bytes = f.reader(avail).rest();
        yield { bytes, offset: at, line: lineNo, terminated: false };
        return;
      }
      scanned = avail;
      continue;
    }
    if (nl > limits.maxLineLength) throw tooLong(`${nl} bytes`);
    lineNo++;
    const at = f.offset;
    const bytes = f.reader(nl).rest();
    f.skip(1);
    scanned = 0;
    yield { bytes, offset: at, line: lineNo, terminated: true };
  }
}
