/**
 * The pull form of stream framing, for parsers written as async loops: turns
 * `AsyncIterable<Uint8Array>` (a file stream, stdin, a socket) into records, buffering at most
 * one record plus one input chunk (in the framers' one carry buffer, {@link ByteQueue}), with
 * absolute offsets. A record longer than `limits.maxRecordSize` is refused before it is buffered; input
 * that ends inside a record is `ERR_TRUNCATED` with `incomplete: true` and the number of complete
 * records before it (the cbor-x idea: "cut short" reads differently from "corrupt").
 *
 * Parsers are written as async loops over a {@link Framer}: `await fill(n)` to have `n` bytes
 * buffered, `peek(n)` to look at them, `reader(n)` to take a record as a {@link ByteReader} with
 * absolute offsets. `lines.ts` does the same for LF-terminated text.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ParseError, type FormatId } from '../../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import { ByteQueue } from './byte_queue.js';

/** Bytes from a sync or async source (a file stream, stdin, an array of chunks). */
export type ByteInput = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

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
export async function* ownedChunks(input: ByteInput): AsyncIterable<Uint8Array> {
  for await (const c of input) yield new Uint8Array(c);
}

/** Makes any byte iterable async. */
export async function* toAsync(input: ByteInput): AsyncIterable<Uint8Array> {
  for await (const c of input) yield c;
}

/** A bounded look-ahead buffer over a byte stream. */
export class Framer {
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #format: FormatId;
  readonly #limits: Limits;
  readonly #q: ByteQueue;
  #eof = false;

  constructor(input: ByteInput, opts: FramerOptions) {
    this.#it = toAsync(input)[Symbol.asyncIterator]();
    this.#format = opts.format;
    this.#limits = opts.limits ?? DEFAULT_LIMITS;
    this.#q = new ByteQueue(opts.origin ?? 0);
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
    return this.#q.offset;
  }

  /** Bytes buffered and not yet consumed. */
  get buffered(): number {
    return this.#q.length;
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
      this.#q.append(r.value);
    }
    return this.buffered;
  }

  /** True when nothing is buffered and the input has ended. */
  async atEnd(): Promise<boolean> {
    return (await this.fill(1)) === 0;
  }

  /** A view of up to `n` buffered bytes (valid until the next `fill`). */
  peek(n: number): Uint8Array {
    return this.#q.view(n);
  }

  /**
   * Takes the next `n` buffered bytes as a reader with absolute offsets (valid until the next
   * `fill`; copy what you keep). The caller has checked `n` against the limits and `fill`ed.
   */
  reader(n: number, record?: number): ByteReader {
    if (n > this.buffered) throw new RangeError(`Framer.reader(${n}): only ${this.buffered}`);
    const r = new ByteReader(this.#q.view(n), {
      format: this.#format,
      origin: this.#q.offset,
      ...(record === undefined ? {} : { record }),
    });
    this.#q.consume(n);
    return r;
  }

  /** Drops `n` buffered bytes. */
  skip(n: number): void {
    this.#q.consume(n);
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
      actual: `${this.#q.length} left`,
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
}
