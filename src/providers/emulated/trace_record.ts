/**
 * The emulated TVM's trace record: one fixed-size, self-checking record per extend.
 *
 * The trace file (`<state>/trace.bin`) is a plain concatenation of these records, with no file
 * header. Each extend appends its record(s) with ONE `write(2)` on a descriptor opened with
 * `O_APPEND`: the kernel places the bytes at the end of the file atomically with respect to other
 * appenders, so concurrent processes need no lock, and a process killed at any instant leaves its
 * record either wholly present or absent. A record is 128 bytes, so records never straddle a 4 KiB
 * page and a reader never sees half of one.
 *
 * Layout (all integers little-endian; offsets in bytes):
 *
 * | offset | size | field    | meaning                                                         |
 * | ------ | ---- | -------- | --------------------------------------------------------------- |
 * | 0x00   | 4    | magic    | `4d 52 54 52` (ASCII `MRTR`)                                    |
 * | 0x04   | 1    | version  | 1                                                               |
 * | 0x05   | 1    | profile  | 1 tdx, 2 snp, 3 cca, 4 tpm (must match `tvm.json`)              |
 * | 0x06   | 1    | register | register number: `rtmrN`, `remN`, `pcrN` → N                    |
 * | 0x07   | 1    | length   | bytes of `data` used, 1..64                                     |
 * | 0x08   | 2    | alg      | TPM_ALG_ID of the bank extended (0x000c sha384, 0x000b sha256…) |
 * | 0x0a   | 6    | reserved | zero                                                            |
 * | 0x10   | 16   | nonce    | random per extend; lets the writer find its own record again    |
 * | 0x20   | 64   | data     | the extended bytes (digest or CCA REM data), zero-padded        |
 * | 0x60   | 32   | check    | SHA-256 of bytes 0x00..0x5f                                     |
 *
 * One extend of several banks at once (a TPM PCR extended from event data) writes one record per
 * bank, all with the same nonce, in the same `write(2)`.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ParseError } from '../../errors.js';
import { bytesEqual, toHex } from '../../bytes/hex.js';
import { hash } from '../../crypto/hash.js';
import { hashAlgFromId, hashAlgId, type HashAlg } from '../../crypto/hash_alg.js';
import type { Profile } from '../provider.js';

/** Size of one trace record in bytes. */
export const TRACE_RECORD_SIZE = 128;
/** `MRTR`. */
export const TRACE_MAGIC: Uint8Array = new Uint8Array([0x4d, 0x52, 0x54, 0x52]);
/** The record version this code writes and reads. */
export const TRACE_VERSION = 1;
/** Largest `data` a record holds (a CCA REM extend takes up to 64 bytes). */
export const TRACE_MAX_DATA = 64;
/** Size of the per-extend nonce. */
export const TRACE_NONCE_SIZE = 16;

/** Field offsets of the documented layout. */
export const TRACE_OFFSETS = {
  magic: 0x00,
  version: 0x04,
  profile: 0x05,
  register: 0x06,
  length: 0x07,
  alg: 0x08,
  reserved: 0x0a,
  nonce: 0x10,
  data: 0x20,
  check: 0x60,
} as const;

/** Profile numbers stored in a record. */
export const TRACE_PROFILE_IDS: Readonly<Record<Profile, number>> = Object.freeze({
  tdx: 1,
  snp: 2,
  cca: 3,
  tpm: 4,
});

const PROFILE_BY_ID = new Map<number, Profile>(
  Object.entries(TRACE_PROFILE_IDS).map(([k, v]) => [v, k as Profile]),
);

/** One decoded record. `data` and `nonce` are copies. */
export interface TraceRecord {
  readonly profile: Profile;
  /** Register number (`rtmr2` → 2). */
  readonly register: number;
  /** The bank extended. */
  readonly alg: HashAlg;
  /** The extended bytes (1..64). */
  readonly data: Uint8Array;
  readonly nonce: Uint8Array;
}

/**
 * Encodes one record (128 bytes).
 * @throws RangeError when a field is out of range (a caller bug: inputs are validated before).
 */
export function encodeTraceRecord(rec: TraceRecord): Uint8Array {
  if (rec.data.length < 1 || rec.data.length > TRACE_MAX_DATA)
    throw new RangeError(`trace record data: ${rec.data.length} bytes (1..64)`);
  if (rec.nonce.length !== TRACE_NONCE_SIZE)
    throw new RangeError(`trace record nonce: ${rec.nonce.length} bytes (16)`);
  if (!Number.isInteger(rec.register) || rec.register < 0 || rec.register > 0xff)
    throw new RangeError(`trace record register: ${rec.register}`);
  const out = new Uint8Array(TRACE_RECORD_SIZE);
  const view = new DataView(out.buffer);
  out.set(TRACE_MAGIC, TRACE_OFFSETS.magic);
  view.setUint8(TRACE_OFFSETS.version, TRACE_VERSION);
  view.setUint8(TRACE_OFFSETS.profile, TRACE_PROFILE_IDS[rec.profile]);
  view.setUint8(TRACE_OFFSETS.register, rec.register);
  view.setUint8(TRACE_OFFSETS.length, rec.data.length);
  view.setUint16(TRACE_OFFSETS.alg, hashAlgId(rec.alg), true);
  out.set(rec.nonce, TRACE_OFFSETS.nonce);
  out.set(rec.data, TRACE_OFFSETS.data);
  out.set(hash('sha256', out.subarray(0, TRACE_OFFSETS.check)), TRACE_OFFSETS.check);
  return out;
}

/**
 * Decodes the record at `buf[0..128)`; `offset` is its absolute offset in the trace file and
 * `where` names the file in errors. Checks magic, version, the checksum, the reserved bytes,
 * the profile, the algorithm, the length and the zero padding of `data`.
 * @throws ParseError `ERR_TRACE_CORRUPT` (format `trace`) naming the file, offset and field;
 *   with `incomplete: true` when fewer than 128 bytes are left (a torn tail).
 */
export function decodeTraceRecord(buf: Uint8Array, offset: number, where = 'trace'): TraceRecord {
  const record = Math.floor(offset / TRACE_RECORD_SIZE);
  const r = new ByteReader(buf, { format: 'trace', origin: offset, record });
  const f = (name: string): string => `${where}: record[${record}].${name}`;
  if (buf.length < TRACE_RECORD_SIZE) {
    throw new ParseError({
      code: 'ERR_TRACE_CORRUPT',
      format: 'trace',
      offset,
      record,
      field: f('length'),
      expected: `${TRACE_RECORD_SIZE} bytes`,
      actual: `${buf.length} bytes (a partial record at the end of the trace)`,
      incomplete: true,
      completeRecords: record,
    });
  }
  const magic = r.bytes(4, f('magic'));
  if (!bytesEqual(magic, TRACE_MAGIC)) {
    throw corrupt(offset, record, f('magic'), '4d525452 (MRTR)', toHex(magic));
  }
  const version = r.u8(f('version'));
  if (version !== TRACE_VERSION) {
    throw corrupt(offset + 4, record, f('version'), String(TRACE_VERSION), String(version));
  }
  const check = buf.subarray(TRACE_OFFSETS.check, TRACE_RECORD_SIZE);
  const want = hash('sha256', buf.subarray(0, TRACE_OFFSETS.check));
  if (!bytesEqual(check, want)) {
    throw corrupt(
      offset + TRACE_OFFSETS.check,
      record,
      f('check'),
      `SHA-256 of bytes 0x00..0x5f = ${toHex(want)}`,
      toHex(check),
    );
  }
  const profileId = r.u8(f('profile'));
  const profile = PROFILE_BY_ID.get(profileId);
  if (profile === undefined) {
    throw corrupt(offset + 5, record, f('profile'), '1..4', String(profileId));
  }
  const register = r.u8(f('register'));
  const length = r.u8(f('length'));
  if (length < 1 || length > TRACE_MAX_DATA) {
    throw corrupt(offset + 7, record, f('length'), '1..64', String(length));
  }
  const algId = r.u16le(f('alg'));
  const alg = hashAlgFromId(algId);
  if (alg === undefined) {
    throw corrupt(offset + 8, record, f('alg'), 'a known TPM_ALG_ID', `0x${algId.toString(16)}`);
  }
  const reserved = r.bytes(6, f('reserved'));
  if (reserved.some((b) => b !== 0)) {
    throw corrupt(offset + TRACE_OFFSETS.reserved, record, f('reserved'), 'zero', toHex(reserved));
  }
  const nonce = r.copy(TRACE_NONCE_SIZE, f('nonce'));
  const data = r.copy(length, f('data'));
  const pad = r.bytes(TRACE_MAX_DATA - length, f('data.padding'));
  if (pad.some((b) => b !== 0)) {
    throw corrupt(
      offset + TRACE_OFFSETS.data + length,
      record,
      f('data.padding'),
      'zero',
      toHex(pad),
    );
  }
  return { profile, register, alg, data, nonce };
}

function corrupt(
  offset: number,
  record: number,
  field: string,
  expected: string,
  actual: string,
): ParseError {
  return new ParseError({
    code: 'ERR_TRACE_CORRUPT',
    format: 'trace',
    offset,
    record,
    field,
    expected,
    actual,
  });
}
