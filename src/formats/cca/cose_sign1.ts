/**
 * COSE_Sign1 (RFC 9052 §4.2) as the Arm CCA tokens use it: `[protected bstr, unprotected map,
 * payload bstr, signature bstr]`, optionally under tag 18; the signature covers the
 * Sig_structure `["Signature1", protected, external_aad = h'', payload]`. Pure decode/encode on
 * cbor-x; signatures are checked by the verifier with node:crypto.
 *
 * @module
 */
import { Decoder, Encoder, Tag } from 'cbor-x';
import { checkStrictCbor } from './cbor_strict.js';
import { ParseError, type FormatId } from '../../errors.js';

/** COSE algorithm ids of ECDSA (RFC 9053). */
export const COSE_ALGS = {
  ES256: -7,
  ES384: -35,
  ES512: -36,
} as const;

/** What an ECDSA COSE algorithm means. */
export interface CoseAlgInfo {
  readonly name: 'ES256' | 'ES384' | 'ES512';
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  readonly curve: 'P-256' | 'P-384' | 'P-521';
  /** Raw r‖s signature size. */
  readonly sigSize: number;
}

/** The algorithm info for a COSE alg id, or undefined. */
export function coseAlgInfo(alg: number): CoseAlgInfo | undefined {
  switch (alg) {
    case COSE_ALGS.ES256:
      return { name: 'ES256', hash: 'sha256', curve: 'P-256', sigSize: 64 };
    case COSE_ALGS.ES384:
      return { name: 'ES384', hash: 'sha384', curve: 'P-384', sigSize: 96 };
    case COSE_ALGS.ES512:
      return { name: 'ES512', hash: 'sha512', curve: 'P-521', sigSize: 132 };
    default:
      return undefined;
  }
}

/** A decoded COSE_Sign1. */
export interface CoseSign1 {
  /** The protected header bytes exactly as carried. */
  readonly protectedBytes: Uint8Array;
  readonly protectedHeader: ReadonlyMap<unknown, unknown>;
  readonly unprotectedHeader: ReadonlyMap<unknown, unknown>;
  /** The payload bytes exactly as carried. */
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  /** Protected header label 1. */
  readonly alg: number | undefined;
}

/** The CBOR decoder mrstack uses for tokens: maps stay Maps, no record extensions. */
export function cborDecoder(): Decoder {
  return new Decoder({ mapsAsObjects: false, useRecords: false });
}

/** The CBOR encoder for tokens: Maps as maps, Uint8Array as plain byte strings. */
export function cborEncoder(): Encoder {
  return new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });
}

/**
 * Decodes one CBOR item, mapping decoder failures to a typed error. The bytes are first checked
 * strictly (`cbor_strict.ts`): a map with a duplicate key, or bytes after the item, are refused
 * — cbor-x would keep a map's last value, so a copy appended after a signed claim could win.
 * @throws ParseError `ERR_BAD_ENCODING`
 */
export function decodeCbor(bytes: Uint8Array, format: FormatId, field: string): unknown {
  checkStrictCbor(bytes, format, field);
  try {
    return cborDecoder().decode(bytes) as unknown;
  } catch (cause) {
    throw new ParseError({
      code: 'ERR_BAD_ENCODING',
      format,
      offset: 0,
      field,
      expected: 'well-formed CBOR',
      actual: cause instanceof Error ? cause.message : String(cause),
      cause,
    });
  }
}

/** An `ERR_BAD_VALUE` of a CCA token (CBOR carries no byte offsets, so the field locates it). */
export function ccaBadValue(field: string, expected: string, actual?: string): ParseError {
  return new ParseError({
    code: 'ERR_BAD_VALUE',
    format: 'cca-token',
    offset: 0,
    field,
    expected,
    ...(actual === undefined ? {} : { actual }),
  });
}

/** True for a byte string as cbor-x decodes it. */
export function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

/**
 * Parses a COSE_Sign1 from its CBOR bytes (tag 18 optional).
 * @throws ParseError `ERR_BAD_ENCODING`, `ERR_BAD_VALUE`
 */
export function parseCoseSign1(bytes: Uint8Array, field: string): CoseSign1 {
  let v = decodeCbor(bytes, 'cca-token', field);
  if (v instanceof Tag) {
    if (v.tag !== 18) throw ccaBadValue(`${field}.tag`, '18 (COSE_Sign1)', String(v.tag));
    v = v.value as unknown;
  }
  if (!Array.isArray(v) || v.length !== 4) {
    throw ccaBadValue(field, 'a COSE_Sign1 array of 4 items');
  }
  const [p, u, payload, sig] = v as unknown[];
  if (!isBytes(p)) throw ccaBadValue(`${field}.protected`, 'a byte string');
  if (!(u instanceof Map)) throw ccaBadValue(`${field}.unprotected`, 'a map');
  if (!isBytes(payload))
    throw ccaBadValue(`${field}.payload`, 'a byte string (detached payloads are not used)');
  if (!isBytes(sig)) throw ccaBadValue(`${field}.signature`, 'a byte string');
  const ph: unknown =
    p.length === 0 ? new Map<unknown, unknown>() : decodeCbor(p, 'cca-token', `${field}.protected`);
  if (!(ph instanceof Map)) throw ccaBadValue(`${field}.protected`, 'an encoded map');
  const alg: unknown = (ph as Map<unknown, unknown>).get(1);
  return {
    protectedBytes: new Uint8Array(p),
    protectedHeader: ph as Map<unknown, unknown>,
    unprotectedHeader: u as Map<unknown, unknown>,
    payload: new Uint8Array(payload),
    signature: new Uint8Array(sig),
    alg: typeof alg === 'number' ? alg : undefined,
  };
}

function head(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  return Uint8Array.of(m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** The Sig_structure bytes a COSE_Sign1 signature covers (external AAD empty). */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  const ctx = new TextEncoder().encode('Signature1');
  return Buffer.concat([
    head(4, 4),
    head(3, ctx.length),
    ctx,
    head(2, protectedBytes.length),
    protectedBytes,
    head(2, 0),
    head(2, payload.length),
    payload,
  ]);
}

/** Encodes a tagged COSE_Sign1 from its parts. */
export function encodeCoseSign1(
  protectedBytes: Uint8Array,
  unprotected: ReadonlyMap<unknown, unknown>,
  payload: Uint8Array,
  signature: Uint8Array,
): Uint8Array {
  return cborEncoder().encode(
    new Tag(
      [Buffer.from(protectedBytes), unprotected, Buffer.from(payload), Buffer.from(signature)],
      18,
    ),
  );
}
