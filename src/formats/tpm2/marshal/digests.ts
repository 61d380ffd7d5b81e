/**
 * TPML_DIGEST (a list of TPM2B_DIGEST, at most 8) and TPML_DIGEST_VALUES / TPMT_HA (digests
 * tagged with their algorithm, one per bank).
 *
 * @module
 */
import type { ByteReader } from '../../../bytes/reader.js';
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM2_LIMITS } from '../constants.js';
import { hashAlgFromId, digestSize } from '../../../crypto/hash_alg.js';
import { readTpm2b, writeTpm2b } from './tpm2b.js';

/** A TPMT_HA: a digest tagged with its TPM_ALG_ID. */
export interface TaggedDigest {
  readonly hashAlg: number;
  readonly digest: Uint8Array;
}

/** Reads a TPML_DIGEST (count ≤ 8, each a TPM2B_DIGEST ≤ 64 bytes). */
export function readDigestList(r: ByteReader, field: string): Uint8Array[] {
  const count = r.u32be(`${field}.count`);
  r.checkLength(count, `${field}.count`, TPM2_LIMITS.maxDigestList, 2);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    out.push(readTpm2b(r, `${field}.digests[${i}]`, TPM2_LIMITS.maxDigest));
  }
  return out;
}

/** Writes a TPML_DIGEST. */
export function writeDigestList(w: ByteWriter, list: readonly Uint8Array[]): void {
  w.u32be(list.length);
  for (const d of list) writeTpm2b(w, d, TPM2_LIMITS.maxDigest);
}

/**
 * Reads a TPMT_HA: the algorithm decides the digest size, so an unknown algorithm is an error
 * (`ERR_UNKNOWN_ALGORITHM`) rather than a guess.
 */
export function readTaggedDigest(r: ByteReader, field: string): TaggedDigest {
  const at = r.offset;
  const hashAlg = r.u16be(`${field}.hashAlg`);
  const alg = hashAlgFromId(hashAlg);
  if (alg === undefined) {
    throw r.errorAt(at, 'ERR_UNKNOWN_ALGORITHM', `${field}.hashAlg`, {
      expected: 'a known hash algorithm',
      actual: `0x${hashAlg.toString(16).padStart(4, '0')}`,
    });
  }
  return { hashAlg, digest: r.copy(digestSize(alg), `${field}.digest`) };
}

/** Writes a TPMT_HA. */
export function writeTaggedDigest(w: ByteWriter, d: TaggedDigest): void {
  w.u16be(d.hashAlg).bytes(d.digest);
}

/** Reads a TPML_DIGEST_VALUES (count ≤ HASH_COUNT). */
export function readDigestValues(r: ByteReader, field: string): TaggedDigest[] {
  const count = r.u32be(`${field}.count`);
  r.checkLength(count, `${field}.count`, TPM2_LIMITS.maxHashCount, 2);
  const out: TaggedDigest[] = [];
  for (let i = 0; i < count; i++) out.push(readTaggedDigest(r, `${field}.digests[${i}]`));
  return out;
}

/** Writes a TPML_DIGEST_VALUES. */
export function writeDigestValues(w: ByteWriter, list: readonly TaggedDigest[]): void {
  w.u32be(list.length);
  for (const d of list) writeTaggedDigest(w, d);
}

/** A TPML_DIGEST_VALUES as bytes. */
export function encodeDigestValues(list: readonly TaggedDigest[]): Uint8Array {
  const w = new ByteWriter(4 + list.length * 66);
  writeDigestValues(w, list);
  return w.finish();
}
