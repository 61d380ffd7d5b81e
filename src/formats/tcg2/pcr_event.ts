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
import { u32leAt, type ByteReader } from '../../bytes/reader.js';
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

/** Per TPM_ALG_ID of a Spec ID table: the digest size and, when mrstack knows it, the algorithm. */
export type AgileDigestTable = ReadonlyMap<
  number,
  { readonly size: number; readonly alg: HashAlg | undefined }
>;

/** Builds the {@link AgileDigestTable} of a Spec ID table's digest sizes. */
export function agileDigestTable(sizes: ReadonlyMap<number, number>): AgileDigestTable {
  return new Map([...sizes].map(([algId, size]) => [algId, { size, alg: hashAlgFromId(algId) }]));
}

/** Outcome of measuring a record from its first bytes. */
export type Measure =
  | { readonly length: number; readonly need?: undefined }
  | { readonly need: number; readonly length?: undefined };

/**
 * How long the crypto-agile record starting at the reader is, from the bytes available; or how
 * many bytes are needed to tell. Checks the digest count and event size against the limits.
 * @param table - the digest sizes of the Spec ID table.
 * @throws ParseError `ERR_LENGTH_LIMIT`, `ERR_UNKNOWN_ALGORITHM`, `ERR_RECORD_TOO_LARGE`
 */
export function measurePcrEvent2(
  r: ByteReader,
  table: AgileDigestTable,
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
    const size = table.get(algId)?.size;
    if (size === undefined) {
      throw r.errorAt(at, 'ERR_UNKNOWN_ALGORITHM', `digests[${i}].hashAlg`, {
        expected: `an algorithm of the Spec ID table (${[...table.keys()].map((k) => `0x${k.toString(16)}`).join(', ')})`,
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
export function parsePcrEvent2(r: ByteReader, table: AgileDigestTable): TcgPcrRecord {
  const pcrIndex = r.u32le('pcrIndex');
  const eventType = r.u32le('eventType');
  const count = r.u32le('digests.count');
  r.checkLength(count, 'digests.count', undefined, 2);
  const digests: LoggedDigest[] = [];
  for (let i = 0; i < count; i++) {
    const at = r.offset;
    const algId = r.u16le(`digests[${i}].hashAlg`);
    const entry = table.get(algId);
    if (entry === undefined) {
      throw r.errorAt(at, 'ERR_UNKNOWN_ALGORITHM', `digests[${i}].hashAlg`, {
        actual: `0x${algId.toString(16)}`,
      });
    }
    digests.push({
      algId,
      alg: entry.alg,
      digest: r.copy(entry.size, `digests[${i}].digest`),
    });
  }
  const size = r.u32le('eventSize');
  const data = r.copy(size, 'event');
  r.expectEnd('record');
  return { pcrIndex, eventType, digests, data };
}

/** A crypto-agile record decoded by {@link tryDecodePcrEvent2}, and its length in the input. */
export interface DecodedPcrEvent2 {
  readonly record: TcgPcrRecord;
  readonly length: number;
}

const SLAB_SIZE = 64 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

/**
 * Copies `bytes[0, length)` into the current slab (a fresh one when it is full; records over a
 * quarter of a slab get their own buffer) and returns the copy. Slabs are never written twice, so
 * a copy stays valid for as long as anything holds it; a slab lives while any of its views does.
 */
function copyToSlab(bytes: Uint8Array, length: number): Uint8Array {
  if (length > SLAB_SIZE >>> 2) return new Uint8Array(bytes.subarray(0, length));
  if (slabUsed + length > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const at = slabUsed;
  slab.set(bytes.subarray(0, length), at);
  slabUsed += length;
  return slab.subarray(at, at + length);
}

/**
 * The one-pass decoder of the replay hot path: decodes the well-formed crypto-agile record at
 * the start of `bytes` when it lies wholly there, into one owned copy of the record (digests and
 * data are views of it). Returns undefined for anything else — too few bytes, an algorithm
 * outside the table, a count or size over its limit — and the caller then takes the
 * {@link measurePcrEvent2} / {@link parsePcrEvent2} path, which buffers more or throws the typed
 * error. It indexes the bytes directly (every read is checked against `bytes.length` first)
 * because a ByteReader and a copy per field cost more than the rest of the parse (the bench
 * showed them at ~12 % of a 1M-record replay).
 */
export function tryDecodePcrEvent2(
  bytes: Uint8Array,
  table: AgileDigestTable,
  maxDigests: number,
  maxEventSize: number,
): DecodedPcrEvent2 | undefined {
  const n = bytes.length;
  if (n < 12) return undefined;
  const count = u32leAt(bytes, 8);
  if (count > maxDigests) return undefined;
  let pos = 12;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > n) return undefined;
    const entry = table.get(bytes[pos]! | (bytes[pos + 1]! << 8));
    if (entry === undefined) return undefined;
    pos += 2 + entry.size;
  }
  if (pos + 4 > n) return undefined;
  const eventSize = u32leAt(bytes, pos);
  if (eventSize > maxEventSize) return undefined;
  const length = pos + 4 + eventSize;
  if (length > n) return undefined;
  // One copy per record into a shared slab (an ArrayBuffer per record costs more than the
  // parse); the fields are plain Uint8Array views of the copy, as every other parser hands out.
  const own = copyToSlab(bytes, length);
  const ab = own.buffer;
  const base = own.byteOffset;
  const digests: LoggedDigest[] = [];
  pos = 12;
  for (let i = 0; i < count; i++) {
    const algId = own[pos]! | (own[pos + 1]! << 8);
    const entry = table.get(algId)!;
    digests.push({ algId, alg: entry.alg, digest: new Uint8Array(ab, base + pos + 2, entry.size) });
    pos += 2 + entry.size;
  }
  return {
    record: {
      pcrIndex: u32leAt(own, 0),
      eventType: u32leAt(own, 4),
      digests,
      data: new Uint8Array(ab, base + pos + 4, eventSize),
    },
    length,
  };
}

/** Writes a crypto-agile record. */
export function encodePcrEvent2(w: ByteWriter, rec: TcgPcrRecord): void {
  w.u32le(rec.pcrIndex).u32le(rec.eventType).u32le(rec.digests.length);
  for (const d of rec.digests) w.u16le(d.algId).bytes(d.digest);
  w.u32le(rec.data.length).bytes(rec.data);
}
