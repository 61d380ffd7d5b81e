/**
 * LF-terminated text in stream framing: {@link LineSplitter} cuts pushed chunks into lines (in
 * the framers' one carry buffer, {@link ByteQueue}), bounded by `limits.maxLineLength`, and
 * {@link readLines} does it for an async byte stream. Text log parsers (AAEL, mrlog, IMA ascii)
 * read their lines here.
 *
 * @module
 */
import { ParseError, type FormatId } from '../../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import { ByteQueue } from './byte_queue.js';
import type { ByteInput } from './framer.js';

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

/** What a {@link LineSplitter} does with a line over its maximum length. */
export type TooLongLine = (line: number, actual: string) => Error;

/**
 * Cuts chunks into LF-terminated lines (push form). A line's bytes are a view, valid until the
 * next `push`; lines longer than `maxLineLength` bytes are refused before they are buffered.
 */
export class LineSplitter {
  readonly #q = new ByteQueue();
  readonly #max: number;
  readonly #tooLong: TooLongLine;
  #line = 0;
  // bytes of the buffered partial line already searched for LF
  #scanned = 0;

  /**
   * @param maxLineLength - bytes a line may have (without its LF)
   * @param tooLong - the error for line number `line` (1-based) over the limit
   */
  constructor(maxLineLength: number, tooLong: TooLongLine) {
    this.#max = maxLineLength;
    this.#tooLong = tooLong;
  }

  /** Lines read so far. */
  get lines(): number {
    return this.#line;
  }

  /** Adds a chunk and hands every line it completes to `sink`, in order. */
  push(chunk: Uint8Array, sink: (l: Line) => void): void {
    const q = this.#q;
    q.append(chunk);
    const buf = q.view();
    let start = 0;
    let from = this.#scanned;
    for (;;) {
      const nl = buf.indexOf(0x0a, start + from);
      if (nl < 0) break;
      if (nl - start > this.#max) throw this.#tooLong(this.#line + 1, `${nl - start} bytes`);
      this.#line++;
      const l: Line = {
        bytes: buf.subarray(start, nl),
        offset: q.offset + start,
        line: this.#line,
        terminated: true,
      };
      start = nl + 1;
      from = 0;
      sink(l);
    }
    q.consume(start);
    q.own();
    this.#scanned = q.length;
    if (q.length > this.#max) throw this.#tooLong(this.#line + 1, `> ${this.#max} bytes`);
  }

  /** Ends the input: a last line without LF, if any (`terminated: false`). */
  end(): Line | undefined {
    const q = this.#q;
    if (q.length === 0) return undefined;
    this.#line++;
    const l = { bytes: q.view(), offset: q.offset, line: this.#line, terminated: false };
    q.consume(q.length);
    this.#scanned = 0;
    return l;
  }
}

/**
 * Splits a byte stream into LF-terminated lines, each at most `limits.maxLineLength` bytes
 * (longer is `ERR_RECORD_TOO_LARGE`, reported by line number, never buffered). A last line
 * without LF is yielded with `terminated: false`; the caller decides whether that is truncation.
 */
export async function* readLines(input: ByteInput, opts: LineOptions): AsyncIterable<Line> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const sp = new LineSplitter(
    limits.maxLineLength,
    (line, actual) =>
      new ParseError({
        code: 'ERR_RECORD_TOO_LARGE',
        format: opts.format,
        offset: line,
        unit: 'line',
        field: `line[${line}]`,
        expected: `<= ${limits.maxLineLength} bytes`,
        actual,
      }),
  );
  // a chunk's lines, yielded before the next chunk is pushed (their views stay valid till then)
  const got: Line[] = [];
  const take = (l: Line): void => {
    got.push(l);
  };
  for await (const chunk of input) {
    sp.push(chunk, take);
    for (const l of got) yield l;
    got.length = 0;
  }
  const last = sp.end();
  if (last !== undefined) yield last;
}
