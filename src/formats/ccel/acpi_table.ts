/**
 * The ACPI CCEL table (UEFI 2.10 / ACPI 6.5 §5.2.34 "Confidential Computing Event Log Table"):
 * where the firmware left the CC event log. Linux exposes it as
 * `/sys/firmware/acpi/tables/CCEL` (the log area itself is `…/tables/data/CCEL`).
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | Signature `CCEL` |
 * | 4 | 4 | Length (56) |
 * | 8 | 1 | Revision |
 * | 9 | 1 | Checksum (all 56 bytes sum to 0 mod 256) |
 * | 10 | 6 | OEMID |
 * | 16 | 8 | OEM Table ID |
 * | 24 | 4 | OEM Revision |
 * | 28 | 4 | Creator ID |
 * | 32 | 4 | Creator Revision |
 * | 36 | 1 | CC Type (1 = AMD SEV, 2 = Intel TDX, 3 = Arm CCA; others reserved) |
 * | 37 | 1 | CC Subtype |
 * | 38 | 2 | Reserved |
 * | 40 | 8 | LAML: log area minimum length |
 * | 48 | 8 | LASA: log area start address |
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ByteWriter } from '../../bytes/writer.js';

/** The table's fixed size. */
export const CCEL_TABLE_SIZE = 56;

/** CC types of the table. */
export const CcType = { SEV: 1, TDX: 2, CCA: 3 } as const;

/** The CCEL ACPI table, decoded. */
export interface CcelAcpiTable {
  readonly revision: number;
  readonly checksum: number;
  readonly oemId: string;
  readonly oemTableId: string;
  readonly oemRevision: number;
  readonly creatorId: string;
  readonly creatorRevision: number;
  readonly ccType: number;
  readonly ccSubtype: number;
  /** Log area minimum length in bytes. */
  readonly laml: bigint;
  /** Log area start address. */
  readonly lasa: bigint;
}

const latin1 = new TextDecoder('latin1');

/**
 * Parses the 56-byte CCEL ACPI table.
 * @throws ParseError `ERR_BAD_MAGIC` (signature), `ERR_BAD_VALUE` (length field),
 * `ERR_TRUNCATED`, `ERR_TRAILING_BYTES`
 */
export function parseCcelAcpiTable(buf: Uint8Array): CcelAcpiTable {
  const r = new ByteReader(buf, { format: 'ccel-acpi' });
  const sig = r.bytes(4, 'signature');
  if (latin1.decode(sig) !== 'CCEL') {
    throw r.errorAt(0, 'ERR_BAD_MAGIC', 'signature', {
      expected: '"CCEL"',
      actual: JSON.stringify(latin1.decode(sig)),
    });
  }
  const length = r.u32le('length');
  if (length !== CCEL_TABLE_SIZE) {
    throw r.errorAt(4, 'ERR_BAD_VALUE', 'length', {
      expected: String(CCEL_TABLE_SIZE),
      actual: String(length),
    });
  }
  const revision = r.u8('revision');
  const checksum = r.u8('checksum');
  const oemId = latin1.decode(r.bytes(6, 'oemId'));
  const oemTableId = latin1.decode(r.bytes(8, 'oemTableId'));
  const oemRevision = r.u32le('oemRevision');
  const creatorId = latin1.decode(r.bytes(4, 'creatorId'));
  const creatorRevision = r.u32le('creatorRevision');
  const ccType = r.u8('ccType');
  const ccSubtype = r.u8('ccSubtype');
  r.skip(2, 'reserved');
  const laml = r.u64le('laml');
  const lasa = r.u64le('lasa');
  r.expectEnd('table');
  return {
    revision,
    checksum,
    oemId,
    oemTableId,
    oemRevision,
    creatorId,
    creatorRevision,
    ccType,
    ccSubtype,
    laml,
    lasa,
  };
}

/** True when the table's bytes sum to zero (mod 256), as ACPI requires. */
export function ccelChecksumOk(buf: Uint8Array): boolean {
  let s = 0;
  for (const b of buf) s = (s + b) & 0xff;
  return s === 0;
}

function ascii(w: ByteWriter, s: string, n: number): void {
  for (let i = 0; i < n; i++) w.u8(i < s.length ? s.charCodeAt(i) & 0xff : 0x20);
}

/** Writes the table (the checksum field is computed). */
export function encodeCcelAcpiTable(t: CcelAcpiTable): Uint8Array {
  const w = new ByteWriter(CCEL_TABLE_SIZE);
  ascii(w, 'CCEL', 4);
  w.u32le(CCEL_TABLE_SIZE).u8(t.revision).u8(0);
  ascii(w, t.oemId, 6);
  ascii(w, t.oemTableId, 8);
  w.u32le(t.oemRevision);
  ascii(w, t.creatorId, 4);
  w.u32le(t.creatorRevision).u8(t.ccType).u8(t.ccSubtype).zeros(2).u64le(t.laml).u64le(t.lasa);
  const out = w.finish();
  let s = 0;
  for (const b of out) s = (s + b) & 0xff;
  out[9] = (0x100 - s) & 0xff;
  return out;
}
