/**
 * DER encoding of the ASN.1 primitives an X.509 certificate needs (ITU-T X.690 §8, §10): a
 * TLV with definite lengths (short form below 128, long form above), and the universal types
 * SEQUENCE, SET, EXPLICIT context tags, NULL, BOOLEAN, INTEGER (non-negative), OBJECT
 * IDENTIFIER, OCTET STRING, BIT STRING, UTF8String, IA5String, UTCTime and GeneralizedTime.
 * Encode only; parsing is `der_decode.ts`'s job (on asn1js).
 *
 * @module
 */
import { concatBytes } from '../../bytes/hex.js';

/** A DER value (tag + length + body). */
export type Der = Uint8Array;

function lenBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | out.length, ...out];
}

/** A TLV with the given tag. */
export function tlv(tag: number, body: Uint8Array): Der {
  const l = lenBytes(body.length);
  const out = new Uint8Array(1 + l.length + body.length);
  out[0] = tag;
  out.set(l, 1);
  out.set(body, 1 + l.length);
  return out;
}

/** SEQUENCE. */
export const seq = (...items: readonly Der[]): Der => tlv(0x30, concatBytes(...items));
/** SET. */
export const set = (...items: readonly Der[]): Der => tlv(0x31, concatBytes(...items));
/** Context-specific constructed [n] (EXPLICIT). */
export const ctx = (n: number, ...items: readonly Der[]): Der =>
  tlv(0xa0 | n, concatBytes(...items));
/** NULL. */
export const nul = (): Der => Uint8Array.of(0x05, 0x00);
/** BOOLEAN. */
export const bool = (v: boolean): Der => Uint8Array.of(0x01, 0x01, v ? 0xff : 0x00);
/** OCTET STRING. */
export const octets = (b: Uint8Array): Der => tlv(0x04, b);
/** BIT STRING with no unused bits. */
export const bits = (b: Uint8Array): Der => tlv(0x03, concatBytes(Uint8Array.of(0), b));
/** UTF8String. */
export const utf8 = (s: string): Der => tlv(0x0c, new TextEncoder().encode(s));
/** IA5String. */
export const ia5 = (s: string): Der => tlv(0x16, new TextEncoder().encode(s));

/** INTEGER from a non-negative number or bigint. */
export function int(v: number | bigint): Der {
  let x = BigInt(v);
  const out: number[] = [];
  do {
    out.unshift(Number(x & 0xffn));
    x >>= 8n;
  } while (x > 0n);
  if ((out[0] ?? 0) & 0x80) out.unshift(0);
  return tlv(0x02, Uint8Array.from(out));
}

/** OBJECT IDENTIFIER from dotted text. */
export function oid(text: string): Der {
  const p = text.split('.').map(Number);
  const out: number[] = [40 * (p[0] ?? 0) + (p[1] ?? 0)];
  for (const n of p.slice(2)) {
    const b: number[] = [n & 0x7f];
    let v = Math.floor(n / 128);
    while (v > 0) {
      b.unshift(0x80 | (v & 0x7f));
      v = Math.floor(v / 128);
    }
    out.push(...b);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** UTCTime (years 1950–2049, as RFC 5280 §4.1.2.5 requires) or GeneralizedTime. */
export function time(d: Date): Der {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const y = d.getUTCFullYear();
  return y >= 1950 && y < 2050
    ? tlv(0x17, new TextEncoder().encode(`${iso.slice(2)}Z`))
    : tlv(0x18, new TextEncoder().encode(`${iso}Z`));
}
