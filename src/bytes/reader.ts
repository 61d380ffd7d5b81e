/**
 * Bounds-checked reading of binary input with absolute offsets.
 *
 * Parsers never index a `Uint8Array` directly: they read through a `ByteReader`, which checks
 * bounds where the cursor moves (never later), knows the absolute offset of its first byte in
 * the whole input, and builds {@link ParseError}s that name the format, offset and field.
 *
 * @module
 */
import { ParseError, type FormatId, type ParseErrorCode } from '../errors.js';

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

/**
 * The little-endian u32 at `at`, read straight from the bytes: for format detection and the
 * one-pass decoders of hot paths, which check `at + 4 <= b.length` themselves first.
 */
export function u32leAt(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** What a reader needs to know to report errors well. */
export interface ByteReaderOptions {
  readonly format: FormatId;
  /** Absolute offset of the buffer's first byte in the whole input (default 0). */
  readonly origin?: number;
  /** Record number, added to every error this reader makes. */
  readonly record?: number;
}

/** Extra detail for an error made by {@link ByteReader.error}. */
export interface ErrorDetail {
  readonly expected?: string;
  readonly actual?: string;
  readonly incomplete?: boolean;
}

/** A cursor over bytes that throws typed errors instead of running off the end. */
export class ByteReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  readonly #origin: number;
  readonly #format: FormatId;
  readonly #record: number | undefined;
  #pos = 0;

  constructor(buf: Uint8Array, opts: ByteReaderOptions) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#origin = opts.origin ?? 0;
    this.#format = opts.format;
    this.#record = opts.record;
  }

  /** Absolute offset of the next byte to read. */
  get offset(): number {
    return this.#origin + this.#pos;
  }

  /** Offset of the next byte relative to this reader's start. */
  get position(): number {
    return this.#pos;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  /** The format this reader reports errors in. */
  get format(): FormatId {
    return this.#format;
  }

  /** Moves the cursor to a position relative to this reader's start. */
  seek(position: number, field: string): void {
    if (position < 0 || position > this.#buf.length) {
      throw this.error('ERR_TRUNCATED', field, {
        expected: `position <= ${this.#buf.length}`,
        actual: String(position),
      });
    }
    this.#pos = position;
  }

  u8(field: string): number {
    this.#need(1, field);
    return this.#view.getUint8(this.#pos++);
  }

  u16le(field: string): number {
    this.#need(2, field);
    const v = this.#view.getUint16(this.#pos, true);
    this.#pos += 2;
    return v;
  }

  u16be(field: string): number {
    this.#need(2, field);
    const v = this.#view.getUint16(this.#pos, false);
    this.#pos += 2;
    return v;
  }

  u32le(field: string): number {
    this.#need(4, field);
    const v = this.#view.getUint32(this.#pos, true);
    this.#pos += 4;
    return v;
  }

  u32be(field: string): number {
    this.#need(4, field);
    const v = this.#view.getUint32(this.#pos, false);
    this.#pos += 4;
    return v;
  }

  u64le(field: string): bigint {
    this.#need(8, field);
    const v = this.#view.getBigUint64(this.#pos, true);
    this.#pos += 8;
    return v;
  }

  u64be(field: string): bigint {
    this.#need(8, field);
    const v = this.#view.getBigUint64(this.#pos, false);
    this.#pos += 8;
    return v;
  }

  /** The next `n` bytes as a view into the input (copy with `slice()` to keep them). */
  bytes(n: number, field: string): Uint8Array {
    this.#need(n, field);
    const v = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  /** The next `n` bytes, copied. */
  copy(n: number, field: string): Uint8Array {
    return new Uint8Array(this.bytes(n, field));
  }

  /** Skips `n` bytes, checking that they exist. */
  skip(n: number, field: string): void {
    this.#need(n, field);
    this.#pos += n;
  }

  /** Looks at the next `n` bytes without moving (fewer if fewer remain). */
  peek(n: number): Uint8Array {
    return this.#buf.subarray(this.#pos, Math.min(this.#buf.length, this.#pos + n));
  }

  /** All bytes left, as a view; the cursor moves to the end. */
  rest(): Uint8Array {
    const v = this.#buf.subarray(this.#pos);
    this.#pos = this.#buf.length;
    return v;
  }

  /**
   * A child reader over the next `len` bytes, for every length-prefixed body. The length is
   * checked against `limit` (when given) and the bytes left before anything else happens.
   */
  take(len: number, field: string, limit?: number): ByteReader {
    this.checkLength(len, field, limit);
    const child = new ByteReader(this.#buf.subarray(this.#pos, this.#pos + len), {
      format: this.#format,
      origin: this.offset,
      ...(this.#record === undefined ? {} : { record: this.#record }),
    });
    this.#pos += len;
    return child;
  }

  /**
   * Checks a length or count read from input: against `limit`, then against the bytes left
   * (count × `unit` bytes). Call before allocating or looping by it.
   */
  checkLength(len: number, field: string, limit?: number, unit = 1): void {
    if (limit !== undefined && len > limit) {
      throw this.error('ERR_LENGTH_LIMIT', field, {
        expected: `<= ${limit}`,
        actual: String(len),
      });
    }
    this.#need(len * unit, field);
  }

  /** UTF-8 text of the next `n` bytes, decoded fatally (malformed UTF-8 is a typed error). */
  utf8(n: number, field: string): string {
    const at = this.offset;
    const b = this.bytes(n, field);
    try {
      return utf8Fatal.decode(b);
    } catch (cause) {
      throw new ParseError({
        code: 'ERR_BAD_ENCODING',
        format: this.#format,
        offset: at,
        field,
        expected: 'UTF-8 text',
        ...(this.#record === undefined ? {} : { record: this.#record }),
        cause,
      });
    }
  }

  /** Checks that the next `n` bytes are all zero (reserved / must-be-zero ranges). */
  zeros(n: number, field: string): void {
    const at = this.offset;
    const b = this.bytes(n, field);
    const i = b.findIndex((x) => x !== 0);
    if (i >= 0) {
      throw new ParseError({
        code: 'ERR_RESERVED_NONZERO',
        format: this.#format,
        offset: at + i,
        field: `${field}[${i}]`,
        expected: `${n} zero bytes`,
        actual: `0x${(b[i] ?? 0).toString(16).padStart(2, '0')}`,
        ...(this.#record === undefined ? {} : { record: this.#record }),
      });
    }
  }

  /** Ends a parse: trailing bytes are an error. */
  expectEnd(what: string): void {
    if (this.remaining !== 0) {
      throw this.error('ERR_TRAILING_BYTES', what, { actual: `${this.remaining} extra bytes` });
    }
  }

  /** A parse error at the current offset. */
  error(code: ParseErrorCode, field: string, detail: ErrorDetail = {}): ParseError {
    return this.errorAt(this.offset, code, field, detail);
  }

  /** A parse error at an absolute offset. */
  errorAt(
    offset: number,
    code: ParseErrorCode,
    field: string,
    detail: ErrorDetail = {},
  ): ParseError {
    return new ParseError({
      code,
      format: this.#format,
      offset,
      field,
      ...detail,
      ...(this.#record === undefined ? {} : { record: this.#record }),
    });
  }

  #need(n: number, field: string): void {
    // Written so it cannot overflow or pass on NaN/negative lengths.
    if (!(n >= 0) || n > this.remaining) {
      throw this.error('ERR_TRUNCATED', field, {
        expected: `${n} bytes`,
        actual: `${this.remaining} left`,
        incomplete: true,
      });
    }
  }
}
