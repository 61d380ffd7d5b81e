/**
 * The PEM certificate chain of TDX certification data type 5 (and of PCS issuer-chain headers):
 * `-----BEGIN CERTIFICATE-----` blocks, leaf first. Whitespace between blocks is allowed and
 * NUL bytes at the end are tolerated with a warning (some quote generators count the C string
 * terminator); anything else outside a block, or a block that is not closed, is an error.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';

/** A decoded PEM chain. */
export interface PemChain {
  readonly pem: string;
  /** DER of each certificate, in order. */
  readonly certificates: readonly Uint8Array[];
  readonly warnings: readonly string[];
}

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';
const B64 = /^[A-Za-z0-9+/=\s]*$/;

/**
 * Reads the rest of `r` as a PEM chain.
 * @throws ParseError `ERR_BAD_ENCODING` (offset of the offending byte), `ERR_BAD_VALUE` (empty)
 */
export function parsePemCertificates(r: ByteReader, field: string): PemChain {
  const origin = r.offset;
  const raw = r.rest();
  let end = raw.length;
  while (end > 0 && raw[end - 1] === 0) end--;
  const warnings: string[] = [];
  if (end < raw.length) warnings.push(`${raw.length - end} NUL bytes after the PEM chain`);
  const text = Buffer.from(raw.buffer, raw.byteOffset, end).toString('latin1');
  const badAt = text.search(/[^\t\n\r\x20-\x7e]/);
  if (badAt >= 0) {
    throw r.errorAt(origin + badAt, 'ERR_BAD_ENCODING', field, {
      expected: 'PEM text',
      actual: `byte 0x${text.charCodeAt(badAt).toString(16).padStart(2, '0')}`,
    });
  }
  const certificates: Uint8Array[] = [];
  let pos = 0;
  for (;;) {
    const gap = /^\s*/.exec(text.slice(pos))![0].length;
    pos += gap;
    if (pos >= text.length) break;
    if (!text.startsWith(BEGIN, pos)) {
      throw r.errorAt(origin + pos, 'ERR_BAD_ENCODING', `${field}[${certificates.length}]`, {
        expected: BEGIN,
        actual: JSON.stringify(text.slice(pos, pos + 16)),
      });
    }
    const bodyAt = pos + BEGIN.length;
    const endAt = text.indexOf(END, bodyAt);
    const nextBegin = text.indexOf(BEGIN, bodyAt);
    if (endAt < 0 || (nextBegin >= 0 && nextBegin < endAt)) {
      throw r.errorAt(origin + bodyAt, 'ERR_BAD_ENCODING', `${field}[${certificates.length}]`, {
        expected: END,
        actual: 'no matching end line',
      });
    }
    const b64 = text.slice(bodyAt, endAt);
    if (!B64.test(b64)) {
      const bad = b64.search(/[^A-Za-z0-9+/=\s]/);
      throw r.errorAt(
        origin + bodyAt + bad,
        'ERR_BAD_ENCODING',
        `${field}[${certificates.length}]`,
        {
          expected: 'base64',
          actual: JSON.stringify(b64[bad]),
        },
      );
    }
    // Node's base64 decoder skips the line breaks itself.
    // (A Buffer is a Uint8Array: kept as is, without another copy.)
    certificates.push(Buffer.from(b64, 'base64'));
    pos = endAt + END.length;
  }
  if (certificates.length === 0) {
    throw r.errorAt(origin, 'ERR_BAD_VALUE', field, {
      expected: 'at least one certificate',
      actual: 'none',
    });
  }
  return { pem: text, certificates, warnings };
}

/** Parses PEM text (an issuer chain from a file or JSON) into DER certificates. */
export function parsePemText(text: string, field: string): readonly Uint8Array[] {
  const b = new Uint8Array(Buffer.from(text, 'latin1'));
  return parsePemCertificates(new ByteReader(b, { format: 'x509' }), field).certificates;
}
