/**
 * Growable little/big-endian byte writer for encoders.
 *
 * @module
 */
import { MrstackError } from '../errors.js';

/** Appends fixed-width integers and byte strings; `finish()` returns exactly what was written. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  u8(v: number): this {
    this.#int(v, 0xff, 'u8');
    this.#grow(1);
    this.#view.setUint8(this.#pos, v);
    this.#pos += 1;
    return this;
  }

  u16le(v: number): this {
    this.#int(v, 0xffff, 'u16');
    this.#grow(2);
    this.#view.setUint16(this.#pos, v, true);
    this.#pos += 2;
    return this;
  }

  u16be(v: number): this {
    this.#int(v, 0xffff, 'u16');
    this.#grow(2);
    this.#view.setUint16(this.#pos, v, false);
    this.#pos += 2;
    return this;
  }

  u32le(v: number): this {
    this.#int(v, 0xffffffff, 'u32');
    this.#grow(4);
    this.#view.setUint32(this.#pos, v, true);
    this.#pos += 4;
    return this;
  }

  u32be(v: number): this {
    this.#int(v, 0xffffffff, 'u32');
    this.#grow(4);
    this.#view.setUint32(this.#pos, v, false);
    this.#pos += 4;
    return this;
  }

  u64le(v: bigint): this {
    this.#grow(8);
    this.#view.setBigUint64(this.#pos, BigInt.asUintN(64, v), true);
    this.#pos += 8;
    return this;
  }

  u64be(v: bigint): this {
    this.#grow(8);
    this.#view.setBigUint64(this.#pos, BigInt.asUintN(64, v), false);
    this.#pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#grow(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  /** `n` zero bytes (reserved fields). */
  zeros(n: number): this {
    this.#grow(n);
    this.#buf.fill(0, this.#pos, this.#pos + n);
    this.#pos += n;
    return this;
  }

  /** UTF-8 bytes of the text, without a terminator. */
  utf8(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  /** Overwrites a u32le at an earlier position (length fields written after their body). */
  patchU32le(position: number, v: number): this {
    if (position < 0 || position + 4 > this.#pos) {
      throw new MrstackError(
        'ERR_INTERNAL',
        `ByteWriter.patchU32le: position ${position} out of range`,
      );
    }
    this.#int(v, 0xffffffff, 'u32');
    this.#view.setUint32(position, v, true);
    return this;
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }

  #int(v: number, max: number, what: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new MrstackError('ERR_INTERNAL', `ByteWriter: ${String(v)} does not fit a ${what}`);
    }
  }

  #grow(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
}
