/**
 * Strict CBOR well-formedness for what mrstack verifies (DESIGN §6.1, "signed data is parsed
 * from exactly the bytes that were verified"): one pass over an encoded item that refuses
 *
 * - a map holding the same key twice (RFC 8949 §5.6: such a map is not valid, and a decoder that
 *   keeps the last value — as cbor-x does — would let a second copy appended after a signed
 *   claim replace it);
 * - bytes after the item (nothing unchecked rides along with a signed payload);
 * - reserved additional-information values, a `break` outside an indefinite-length item,
 *   indefinite-length strings with chunks of another type, and nesting deeper than 64.
 *
 * Keys are compared by value for integers, text and byte strings (so `1` and a non-preferred
 * encoding of 1 are the same key), by their encoded bytes otherwise. The walk only reads
 * lengths against the bytes present, so an untrusted length never allocates.
 *
 * @module
 */
import { ParseError, type FormatId } from '../../errors.js';

const MAX_DEPTH = 64;
const BREAK = Symbol('break');

class Walker {
  pos = 0;
  readonly b: Uint8Array;
  readonly format: FormatId;
  readonly field: string;
  constructor(b: Uint8Array, format: FormatId, field: string) {
    this.b = b;
    this.format = format;
    this.field = field;
  }

  fail(expected: string, actual?: string): never {
    throw new ParseError({
      code: 'ERR_BAD_ENCODING',
      format: this.format,
      offset: this.pos,
      field: this.field,
      expected,
      ...(actual === undefined ? {} : { actual }),
    });
  }

  need(n: number): void {
    if (n > this.b.length - this.pos) this.fail(`${n} more bytes`, `${this.b.length - this.pos}`);
  }

  /** The argument of a head with additional information `ai` (undefined: indefinite). */
  arg(ai: number): number | undefined {
    if (ai < 24) return ai;
    const size = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : 0;
    if (ai === 31) return undefined;
    if (size === 0) this.fail('additional information 0..27 or 31', String(ai));
    this.need(size);
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + this.b[this.pos + i]!;
    this.pos += size;
    return v;
  }

  /** Walks one item; returns BREAK for a break code, else the item's key identity. */
  item(depth: number): string | typeof BREAK {
    if (depth > MAX_DEPTH) this.fail(`nesting at most ${MAX_DEPTH} deep`);
    const start = this.pos;
    this.need(1);
    const ib = this.b[this.pos++]!;
    const major = ib >> 5;
    const ai = ib & 31;
    if (major === 7) {
      if (ai === 31) return BREAK;
      if (ai >= 28) this.fail('additional information 0..27 or 31', String(ai));
      this.arg(ai);
      return `r:${this.hex(start)}`;
    }
    const n = this.arg(ai);
    switch (major) {
      case 0:
      case 1:
        if (n === undefined) this.fail('a definite integer');
        // 64-bit arguments beyond 2^53 lose precision in `n`; compare them by bytes.
        return n <= Number.MAX_SAFE_INTEGER
          ? `n:${major === 0 ? n : -1 - n}`
          : `r:${this.hex(start)}`;
      case 2:
      case 3: {
        let content = '';
        if (n === undefined) {
          for (;;) {
            this.need(1);
            if (this.b[this.pos] === 0xff) {
              this.pos++;
              break;
            }
            const cb = this.b[this.pos]!;
            if (cb >> 5 !== major || (cb & 31) === 31)
              this.fail('a definite chunk of the same string type', `0x${cb.toString(16)}`);
            this.pos++;
            const len = this.arg(cb & 31)!;
            this.need(len);
            content += this.hex(this.pos, this.pos + len);
            this.pos += len;
          }
        } else {
          this.need(n);
          content = this.hex(this.pos, this.pos + n);
          this.pos += n;
        }
        return `${major === 2 ? 'b' : 's'}:${content}`;
      }
      case 4:
        if (n === undefined) while (this.item(depth + 1) !== BREAK);
        else for (let i = 0; i < n; i++) this.value(depth + 1);
        return `r:${this.hex(start)}`;
      case 5: {
        const keys = new Set<string>();
        const entry = (key: string | typeof BREAK): boolean => {
          if (key === BREAK) return false;
          if (keys.has(key)) {
            this.fail('a CBOR map without duplicate keys', `key ${key.slice(0, 40)} repeated`);
          }
          keys.add(key);
          this.value(depth + 1);
          return true;
        };
        if (n === undefined) while (entry(this.item(depth + 1)));
        else for (let i = 0; i < n; i++) entry(this.value(depth + 1));
        return `r:${this.hex(start)}`;
      }
      default: // 6: a tag and its item
        if (n === undefined) this.fail('a definite tag number');
        this.value(depth + 1);
        return `r:${this.hex(start)}`;
    }
  }

  /** One item that must not be a break. */
  value(depth: number): string {
    const k = this.item(depth);
    if (k === BREAK) this.fail('a data item', 'a break code outside an indefinite-length item');
    return k;
  }

  hex(from: number, to = this.pos): string {
    return Buffer.from(this.b.buffer, this.b.byteOffset + from, to - from).toString('hex');
  }
}

/**
 * Checks that `bytes` are exactly one well-formed CBOR item whose maps have no duplicate keys.
 * @throws ParseError `ERR_BAD_ENCODING` naming `field` and the offset of the problem
 */
export function checkStrictCbor(bytes: Uint8Array, format: FormatId, field: string): void {
  const w = new Walker(bytes, format, field);
  w.value(0);
  if (w.pos !== bytes.length)
    w.fail('one CBOR item and nothing after it', `${bytes.length - w.pos} more bytes`);
}
