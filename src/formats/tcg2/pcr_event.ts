/**
 * TCG PC Client log records, both layouts.
 *
 * SHA-1 format, `TCG_PCClientPCREvent` (PC Client PFP 1.05 §10.2.1; TPM 1.2 logs, SHA-1-only
 * logs, and the header record of crypto-agile logs):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | pcrIndex |
 * | 4 | 4 | eventType |
 * | 8 | 20 | digest (SHA-1) |
 * | 28 | 4 | eventSize |
 * | 32 | eventSize | event |
 *
 * Crypto-agile format, `TCG_PCR_EVENT2` (§10.2.2), after a Spec ID header:
 *
 * | size | field |
 * | --- | --- |
 * | 4 | pcrIndex |
 * | 4 | eventType |
 * | 4 | digests.count (`TPML_DIGEST_VALUES`) |
 * | 2 + s | digests[i]: hashAlg (TPM_ALG_ID) then the digest, s from the Spec ID table |
 * | 4 | eventSize |
 * | eventSize | event |
 *
 * All integers little-endian. Parsers take a reader over exactly one record (the framer found
 * its length with {@link measurePcrEvent2}) and copy what they keep.
 *
 * @module
 */
import type { ByteReader } from '../../bytes/reader.js';
import type { ByteWriter } from '../../bytes/writer.js';
import { hashAlgFromId, type HashAlg } from '../../crypto/hash_alg.js';

/** One digest as logged (algorithm ids mrstack does not know are kept, not replayed). */
export interface LoggedDigest {
  readonly algId: number;
  readonly alg: HashAlg | undefined;
  readonly digest: Uint8Array;
}

/** A record of either layout, decoded. */
export interface TcgPcrRecord {
  readonly pcrIndex: number;
  readonly eventType: number;
  /** Digests in log order (one SHA-1 digest for the SHA-1 layout). */
  readonly digests: readonly LoggedDigest[];
  /** The event data (copied). */
  readonly data: Uint8Array;
}

/** Size of the fixed part of a SHA-1-format record. */
export const PCR_EVENT_HEADER_SIZE = 32;

/** SHA-1 algorithm id (the only digest of the SHA-1 layout). */
const ALG_SHA1 = 0x0004;

/**
 * Parses a SHA-1-format record from a reader over exactly that record.
 * @throws ParseError `ERR_TRUNCATED`, `ERR_TRAILING_BYTES`
 */
export function parsePcrEvent(r: ByteReader): TcgPcrRecord {
  const pcrIndex = r.u32le('pcrIndex');
  const eventType = r.u32le('eventType');
  const digest = r.copy(20, 'digest');
  const size = r.u32le('eventSize');
  const data = r.copy(size, 'event');
  r.expectEnd('record');
  return { pcrIndex, eventType, digests: [{ algId: ALG_SHA1, alg: 'sha1', digest }], data };
}

/** Writes a SHA-1-format record; `eventSize` overrides the size field (quirk round trips). */
export function encodePcrEvent(w: ByteWriter, rec: TcgPcrRecord, eventSize?: number): void {
  const d = rec.digests[0];
  w.u32le(rec.pcrIndex).u32le(rec.eventType);
  if (d?.digest.length === 20) w.bytes(d.digest);
  else w.zeros(20);
  w.u32le(eventSize ?? rec.data.length).bytes(rec.data);
}

/** Outcome of measuring a record from its first bytes. */
export type Measure =
  | { readonly length: number; readonly need?: undefined }
  | { readonly need: number; readonly length?: undefined };

/**
 * How long the crypto-agile record starting at the reader is, from the bytes available; or how
 * many bytes are needed to tell. Checks the digest count and event size against the limits.
 * @param sizes - digest size per algorithm id, from the Spec ID table.
 * @throws ParseError `ERR_LENGTH_LIMIT`, `ERR_UNKNOWN_ALGORITHM`, `ERR_RECORD_TOO_LARGE`
 */
export function measurePcrEvent2(
  r: ByteReader,
  sizes: ReadonlyMap<number, number>,
  maxDigests: number,
  maxEventSize: number,
): Measure {
  if (r.remaining < 12) return { need: 12 };
  r.skip(8, 'pcrIndex+eventType');
  const countAt = r.offset;
  const count = r.u32le('digests.count');
  if (count > maxDigests) {
    throw r.errorAt(countAt, 'ERR_LENGTH_LIMIT', 'digests.count', {
      expected: `<= ${maxDigests}`,
      actual: String(count),
    });
  }
  let pos = 12;
  for (let i = 0; i < count; i++) {
    if (r.remaining < 2) return { need: pos + 2 };
    const at = r.offset;
    const algId = r.u16le(`digests[${i}].hashAlg`);
    const size = sizes.get(algId);
    if (size === undefined) {
      throw r.errorAt(at, 'ERR_UNKNOWN_ALGORITHM', `digests[${i}].hashAlg`, {
        expected: `an algorithm of the Spec ID table (${[...sizes.keys()].map((k) => `0x${k.toString(16)}`).join(', ')})`,
        actual: `0x${algId.toString(16)}`,
      });
    }
    pos += 2 + size;
    if (r.remaining < size) return { need: pos };
    r.skip(size, `digests[${i}].digest`);
  }
  if (r.remaining < 4) return { need: pos + 4 };
  const sizeAt = r.offset;
  const eventSize = r.u32le('eventSize');
  if (eventSize > maxEventSize) {
    throw r.errorAt(sizeAt, 'ERR_RECORD_TOO_LARGE', 'eventSize', {
      expected: `<= ${maxEventSize}`,
      actual: String(eventSize),
    });
  }
  return { length: pos + 4 + eventSize };
}

/**
 * Parses a crypto-agile record from a reader over exactly that record.
 * @throws ParseError `ERR_UNKNOWN_ALGORITHM`, `ERR_TRUNCATED`, `ERR_TRAILING_BYTES`
 */
export function parsePcrEvent2(r: ByteReader, sizes: ReadonlyMap<number, number>): TcgPcrRecord {
  const pcrIndex = r.u32le('pcrIndex');
  const eventType = r.u32le('eventType');
  const count = r.u32le('digests.count');
  r.checkLength(count, 'digests.count', undefined, 2);
  const digests: LoggedDigest[] = [];
  for (let i = 0; i < count; i++) {
    const at = r.offset;
    const algId = r.u16le(`digests[${i}].hashAlg`);
    const size = sizes.get(algId);
    if (size === undefined) {
      throw r.errorAt(at, 'ERR_UNKNOWN_ALGORITHM', `digests[${i}].hashAlg`, {
        actual: `0x${algId.toString(16)}`,
      });
    }
    digests.push({
      algId,
      alg: hashAlgFromId(algId),
      digest: r.copy(size, `digests[${i}].digest`),
    });
  }
  const size = r.u32le('eventSize');
  const data = r.copy(size, 'event');
  r.expectEnd('record');
  return { pcrIndex, eventType, digests, data };
}

/** Writes a crypto-agile record. */
export function encodePcrEvent2(w: ByteWriter, rec: TcgPcrRecord): void {
  w.u32le(rec.pcrIndex).u32le(rec.eventType).u32le(rec.digests.length);
  for (const d of rec.digests) w.u16le(d.algId).bytes(d.digest);
  w.u32le(rec.data.length).bytes(rec.data);
}
