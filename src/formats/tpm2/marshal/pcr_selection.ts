/**
 * TPMS_PCR_SELECTION and TPML_PCR_SELECTION (Part 2, 10.6.2 and 10.9.7): a hash algorithm and
 * a PCR bitmap (bit i of byte i/8 selects PCR i), per bank.
 *
 * @module
 */
import type { ByteReader } from '../../../bytes/reader.js';
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM2_LIMITS } from '../constants.js';

/** One bank's selection: the TPM_ALG_ID and the selected PCR indexes, ascending. */
export interface PcrSelection {
  /** TPM_ALG_ID of the bank. */
  readonly hashAlg: number;
  /** Selected PCR indexes, ascending. */
  readonly pcrs: readonly number[];
  /** sizeofSelect as read or to write (default 3, PCR_SELECT_MIN for 24 PCRs). */
  readonly sizeofSelect?: number;
}

/** Reads one TPMS_PCR_SELECTION. */
export function readPcrSelection(r: ByteReader, field: string): PcrSelection {
  const hashAlg = r.u16be(`${field}.hash`);
  const sizeofSelect = r.u8(`${field}.sizeofSelect`);
  r.checkLength(sizeofSelect, `${field}.pcrSelect`, TPM2_LIMITS.maxPcrSelect);
  const bitmap = r.bytes(sizeofSelect, `${field}.pcrSelect`);
  const pcrs: number[] = [];
  for (let i = 0; i < sizeofSelect * 8; i++) {
    if (((bitmap[i >> 3] ?? 0) & (1 << (i & 7))) !== 0) pcrs.push(i);
  }
  return { hashAlg, pcrs, sizeofSelect };
}

/** Writes one TPMS_PCR_SELECTION. */
export function writePcrSelection(w: ByteWriter, s: PcrSelection): void {
  const max = s.pcrs.reduce((m, p) => Math.max(m, p), -1);
  const size = Math.max(s.sizeofSelect ?? 3, (max >> 3) + 1);
  const bitmap = new Uint8Array(size);
  for (const p of s.pcrs) bitmap[p >> 3]! |= 1 << (p & 7);
  w.u16be(s.hashAlg).u8(size).bytes(bitmap);
}

/** Reads a TPML_PCR_SELECTION (count capped at HASH_COUNT). */
export function readPcrSelectionList(r: ByteReader, field: string): PcrSelection[] {
  const count = r.u32be(`${field}.count`);
  // Each entry takes at least 3 bytes; check before looping.
  r.checkLength(count, `${field}.count`, TPM2_LIMITS.maxHashCount, 3);
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) out.push(readPcrSelection(r, `${field}.pcrSelections[${i}]`));
  return out;
}

/** Writes a TPML_PCR_SELECTION. */
export function writePcrSelectionList(w: ByteWriter, list: readonly PcrSelection[]): void {
  w.u32be(list.length);
  for (const s of list) writePcrSelection(w, s);
}

/** A TPML_PCR_SELECTION as bytes. */
export function encodePcrSelectionList(list: readonly PcrSelection[]): Uint8Array {
  const w = new ByteWriter(4 + list.length * 6);
  writePcrSelectionList(w, list);
  return w.finish();
}
