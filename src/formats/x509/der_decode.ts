/**
 * The one DER reader of mrstack (certificates, CRLs, the SGX and AMD certificate extensions): a
 * thin layer over `asn1js` (the ASN.1 library under `@peculiar/x509` and pkijs) that turns its
 * lenient results into typed errors and exposes what signature checks need — the exact bytes of
 * each element — and strict times.
 *
 * Strict means: the whole input is one element (no trailing bytes), tags are what the profile
 * says, and a time is `YYMMDDHHMMSSZ` (UTCTime) or `YYYYMMDDHHMMSSZ` (GeneralizedTime) naming a
 * real instant (RFC 5280 §4.1.2.5). Anything else is an error, never a NaN date that compares
 * false and so passes a validity check.
 *
 * @module
 */
import * as asn1js from 'asn1js';
import { ParseError, type FormatId } from '../../errors.js';

/** One parsed DER element. */
export type DerNode = asn1js.AsnType;

/** A typed error for malformed DER. */
export function derError(
  format: FormatId,
  field: string,
  expected: string,
  actual?: string,
  cause?: unknown,
): ParseError {
  return new ParseError({
    code: 'ERR_BAD_ENCODING',
    format,
    offset: 0,
    field,
    expected,
    ...(actual === undefined ? {} : { actual }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Parses bytes that must be exactly one DER element.
 * @throws ParseError `ERR_BAD_ENCODING`
 */
export function parseDer(bytes: Uint8Array, field: string, format: FormatId = 'x509'): DerNode {
  let r: ReturnType<typeof asn1js.fromBER>;
  try {
    r = asn1js.fromBER(bytes);
  } catch (cause) {
    throw derError(format, field, 'DER', undefined, cause);
  }
  if (r.offset === -1 || r.result.error !== '') {
    const why = r.result.error === '' ? 'undecodable' : r.result.error;
    if (/end of input/i.test(why)) {
      throw new ParseError({
        code: 'ERR_TRUNCATED',
        format,
        offset: bytes.length,
        field,
        expected: 'a complete DER element',
        actual: why,
      });
    }
    throw derError(format, field, 'DER', why);
  }
  if (r.offset !== bytes.length) {
    throw new ParseError({
      code: 'ERR_TRAILING_BYTES',
      format,
      offset: r.offset,
      field,
      expected: 'one DER element',
      actual: `${bytes.length - r.offset} bytes after it`,
    });
  }
  return r.result;
}

/** The exact encoding of an element (tag, length and contents), as it was read. */
export function rawOf(n: DerNode): Uint8Array {
  return new Uint8Array(n.valueBeforeDecodeView);
}

/**
 * The elements of a SEQUENCE / SET / constructed context element.
 * @throws ParseError when `n` is not constructed
 */
export function childrenOf(n: DerNode, field: string, format: FormatId = 'x509'): DerNode[] {
  if (!(n instanceof asn1js.Constructed)) throw derError(format, field, 'a constructed element');
  return n.valueBlock.value;
}

/** True when `n` has this universal tag number (class 1) or context tag (class 3). */
export function hasTag(n: DerNode, tagNumber: number, tagClass: 1 | 3 = 1): boolean {
  return n.idBlock.tagClass === tagClass && n.idBlock.tagNumber === tagNumber;
}

/**
 * An OBJECT IDENTIFIER's dotted text.
 * @throws ParseError when `n` is not an OID
 */
export function oidOf(n: DerNode | undefined, field: string, format: FormatId = 'x509'): string {
  if (!(n instanceof asn1js.ObjectIdentifier)) throw derError(format, field, 'OBJECT IDENTIFIER');
  return n.getValue();
}

/** The contents octets of a primitive element (INTEGER, OCTET STRING, BIT STRING …). */
export function contentsOf(n: DerNode): Uint8Array {
  const b = n.valueBlock as { valueHexView?: Uint8Array };
  return b.valueHexView === undefined ? new Uint8Array(0) : new Uint8Array(b.valueHexView);
}

/**
 * A small non-negative INTEGER (up to 2^48).
 * @throws ParseError when `n` is not such an INTEGER
 */
export function smallIntOf(
  n: DerNode | undefined,
  field: string,
  format: FormatId = 'x509',
): number {
  if (n === undefined || !hasTag(n, 2)) throw derError(format, field, 'INTEGER');
  const b = contentsOf(n);
  if (b.length === 0 || b.length > 7 || (b[0]! & 0x80) !== 0)
    throw derError(format, field, 'a small non-negative INTEGER');
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

const UTC_RE = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GEN_RE = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Reads a UTCTime or GeneralizedTime strictly (RFC 5280 §4.1.2.5: seconds present, `Z`, no
 * fraction; UTCTime years 50–99 are 19xx). A time that names no real instant (month 13,
 * 24:00:00, 30 February) is an error.
 * @throws ParseError `ERR_BAD_ENCODING`
 */
export function strictTime(n: DerNode | undefined, field: string, format: FormatId = 'x509'): Date {
  if (n === undefined || !(hasTag(n, 23) || hasTag(n, 24)))
    throw derError(format, field, 'UTCTime or GeneralizedTime');
  const text = Buffer.from(contentsOf(n)).toString('latin1');
  const m = hasTag(n, 23) ? UTC_RE.exec(text) : GEN_RE.exec(text);
  if (m === null) {
    throw derError(
      format,
      field,
      hasTag(n, 23) ? 'UTCTime YYMMDDHHMMSSZ' : 'GeneralizedTime YYYYMMDDHHMMSSZ',
      JSON.stringify(text),
    );
  }
  const f = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const year = hasTag(n, 23) ? (f[0] >= 50 ? 1900 + f[0] : 2000 + f[0]) : f[0];
  const ms = Date.UTC(year, f[1] - 1, f[2], f[3], f[4], f[5]);
  const d = new Date(ms);
  // Date.UTC rolls over out-of-range fields; a round trip catches them.
  if (
    Number.isNaN(ms) ||
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== f[1] - 1 ||
    d.getUTCDate() !== f[2] ||
    d.getUTCHours() !== f[3] ||
    d.getUTCMinutes() !== f[4] ||
    d.getUTCSeconds() !== f[5]
  ) {
    throw derError(format, field, 'a valid calendar time', JSON.stringify(text));
  }
  return d;
}

/** A serial number (INTEGER contents) as lowercase hex without leading zeros. */
export function serialHexOf(contents: Uint8Array): string {
  const h = Buffer.from(contents).toString('hex').replace(/^0+/, '');
  return h === '' ? '0' : h;
}
