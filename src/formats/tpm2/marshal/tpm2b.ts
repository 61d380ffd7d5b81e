/**
 * TPM2B_*: a big-endian u16 size followed by that many bytes, each kind with its own cap from
 * Part 2 (TPM2B_DIGEST, TPM2B_DATA, TPM2B_NAME …). Also the plain integers TPM types use.
 *
 * @module
 */
import type { ByteReader } from '../../../bytes/reader.js';
import { ByteWriter } from '../../../bytes/writer.js';
import { MrstackError } from '../../../errors.js';

/**
 * Reads a TPM2B: u16 size (checked against `max` and the bytes left), then the body, copied.
 * @throws ParseError `ERR_LENGTH_LIMIT`, `ERR_TRUNCATED`
 */
export function readTpm2b(r: ByteReader, field: string, max: number): Uint8Array {
  const size = r.u16be(`${field}.size`);
  r.checkLength(size, `${field}.buffer`, max);
  return r.copy(size, `${field}.buffer`);
}

/** A child reader over a TPM2B's body (for TPM2B wrappers of structures: TPM2B_PUBLIC …). */
export function readTpm2bReader(r: ByteReader, field: string, max: number): ByteReader {
  const size = r.u16be(`${field}.size`);
  return r.take(size, `${field}.buffer`, max);
}

/** Writes a TPM2B. Throws `ERR_INTERNAL` when the body is larger than `max` (a caller bug). */
export function writeTpm2b(w: ByteWriter, body: Uint8Array, max = 0xffff): void {
  if (body.length > max) {
    throw new MrstackError('ERR_INTERNAL', `TPM2B body of ${body.length} bytes exceeds ${max}`);
  }
  w.u16be(body.length).bytes(body);
}

/** Writes a structure as a TPM2B: the size, then what `fill` writes. */
export function writeTpm2bOf(w: ByteWriter, fill: (inner: ByteWriter) => void): void {
  const inner = new ByteWriter(128);
  fill(inner);
  writeTpm2b(w, inner.finish());
}

/** A TPM2B as bytes on its own. */
export function encodeTpm2b(body: Uint8Array): Uint8Array {
  const w = new ByteWriter(body.length + 2);
  writeTpm2b(w, body);
  return w.finish();
}
