/**
 * Hex at the edges (CLI, JSON): strict decoding with typed errors, lowercase encoding.
 *
 * @module
 */
import { ParseError } from '../errors.js';

const HEX_RE = /^[0-9a-fA-F]*$/;

/** Lowercase hex of the bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Decodes hex strictly: an optional `0x` prefix, an even number of hex digits, nothing else.
 * @param what - names the input in the error (`digest`, `--nonce`).
 * @throws ParseError `ERR_BAD_HEX` with the offending position.
 */
export function fromHex(text: string, what = 'hex'): Uint8Array {
  const s = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (!HEX_RE.test(s)) {
    const bad = s.search(/[^0-9a-fA-F]/);
    throw new ParseError({
      code: 'ERR_BAD_HEX',
      format: 'hex',
      offset: bad,
      field: what,
      expected: 'hex digits',
      actual: JSON.stringify(s[bad]),
    });
  }
  if (s.length % 2 !== 0) {
    throw new ParseError({
      code: 'ERR_BAD_HEX',
      format: 'hex',
      offset: s.length,
      field: what,
      expected: 'an even number of hex digits',
      actual: `${s.length} digits`,
    });
  }
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** True when two byte arrays hold the same bytes (not constant-time; no secrets here). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Concatenation of the parts into one new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
