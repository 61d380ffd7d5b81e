/**
 * The SEV-SNP extended-report certificate table (GHCB spec, "SNP Extended Guest Request"):
 * what the kernel returns as configfs-tsm `auxblob` for `sev_guest`. Entries of 24 bytes
 * {GUID (16, mixed-endian as printed), offset u32, length u32} ending with an all-zero entry;
 * offsets are from the start of the table.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ByteWriter } from '../../bytes/writer.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';

/** Well-known GUIDs of the certificate table. */
export const SNP_CERT_GUIDS = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  vlek: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
} as const;

/** One entry of the table. */
export interface SnpCertEntry {
  /** The GUID in its canonical text form. */
  readonly guid: string;
  /** `vcek`, `vlek`, `ask`, `ark`, or undefined for a GUID this code does not know. */
  readonly name: keyof typeof SNP_CERT_GUIDS | undefined;
  /** The certificate bytes (DER as AMD ships them). */
  readonly data: Uint8Array;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** GUID bytes (EFI layout: first three fields little-endian) → text. */
export function guidToString(b: Uint8Array): string {
  const rev = (x: Uint8Array): Uint8Array => Uint8Array.from(x).reverse();
  return [
    hex(rev(b.subarray(0, 4))),
    hex(rev(b.subarray(4, 6))),
    hex(rev(b.subarray(6, 8))),
    hex(b.subarray(8, 10)),
    hex(b.subarray(10, 16)),
  ].join('-');
}

/** GUID text → bytes (EFI layout). */
export function guidFromString(s: string): Uint8Array {
  const h = s.replace(/-/g, '');
  const b = Uint8Array.from(Buffer.from(h, 'hex'));
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

function nameOf(guid: string): keyof typeof SNP_CERT_GUIDS | undefined {
  for (const [k, v] of Object.entries(SNP_CERT_GUIDS)) {
    if (v === guid) return k as keyof typeof SNP_CERT_GUIDS;
  }
  return undefined;
}

/**
 * Parses a certificate table.
 * @throws ParseError `ERR_TRUNCATED` (no terminator, or an entry past the end),
 *   `ERR_LENGTH_LIMIT`
 */
export function parseSnpCertTable(
  buf: Uint8Array,
  limits: Limits = DEFAULT_LIMITS,
): SnpCertEntry[] {
  const r = new ByteReader(buf, { format: 'snp-cert-table' });
  const out: SnpCertEntry[] = [];
  const maxEntries = 64;
  for (let i = 0; ; i++) {
    if (i > maxEntries) {
      throw r.error('ERR_LENGTH_LIMIT', `entry[${i}]`, { expected: `<= ${maxEntries} entries` });
    }
    const guidBytes = r.bytes(16, `entry[${i}].guid`);
    const offAt = r.offset;
    const offset = r.u32le(`entry[${i}].offset`);
    const length = r.u32le(`entry[${i}].length`);
    if (guidBytes.every((x) => x === 0) && offset === 0 && length === 0) break;
    if (length > limits.maxEvidenceSize || offset + length > buf.length) {
      throw r.errorAt(offAt, 'ERR_TRUNCATED', `entry[${i}]`, {
        expected: `offset+length <= ${buf.length}`,
        actual: `${offset}+${length}`,
        incomplete: offset + length > buf.length,
      });
    }
    const guid = guidToString(guidBytes);
    out.push({ guid, name: nameOf(guid), data: buf.slice(offset, offset + length) });
  }
  return out;
}

/** Builds a certificate table (entries, terminator, then the data, each 8-byte aligned). */
export function encodeSnpCertTable(
  entries: readonly { readonly guid: string; readonly data: Uint8Array }[],
): Uint8Array {
  const headerSize = 24 * (entries.length + 1);
  let off = headerSize;
  const w = new ByteWriter();
  const offsets: number[] = [];
  for (const e of entries) {
    offsets.push(off);
    off += Math.ceil(e.data.length / 8) * 8;
  }
  entries.forEach((e, i) => {
    w.bytes(guidFromString(e.guid))
      .u32le(offsets[i] ?? 0)
      .u32le(e.data.length);
  });
  w.zeros(24);
  for (const e of entries) {
    w.bytes(e.data).zeros(Math.ceil(e.data.length / 8) * 8 - e.data.length);
  }
  return w.finish();
}
