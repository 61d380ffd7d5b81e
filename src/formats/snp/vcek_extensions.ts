/**
 * The AMD extensions of a VCEK/VLEK certificate (AMD "Versioned Chip Endorsement Key (VCEK)
 * Certificate and KDS Interface Specification"): structVersion 1.3.6.1.4.1.3704.1.1,
 * productName .1.2 (IA5String), SPLs .1.3.x (INTEGER: .1 boot loader, .2 TEE, .3 SNP, .8
 * microcode, .9 FMC on Turin), hwID .1.4 (raw chip id bytes: 64 on Milan/Genoa, 8 on Turin),
 * CSP id .1.5 (VLEK only, IA5String).
 *
 * A minimal DER walk over the certificate (Certificate → tbsCertificate → [3] extensions); pure,
 * reading only through {@link ByteReader}.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';

/** The AMD extension values found in a VCEK/VLEK. */
export interface VcekExtensions {
  readonly struct_version?: number;
  readonly product_name?: string;
  readonly bl_spl?: number;
  readonly tee_spl?: number;
  readonly snp_spl?: number;
  readonly ucode_spl?: number;
  readonly fmc_spl?: number;
  readonly hwid?: Uint8Array;
  readonly csp_id?: string;
}

const AMD_ARC = '1.3.6.1.4.1.3704.1.';

/** One DER TLV: its tag and a reader over its body. */
export interface Tlv {
  readonly tag: number;
  readonly body: ByteReader;
}

/** Reads one DER TLV (definite lengths up to 4 bytes). */
export function readTlv(r: ByteReader, field: string): Tlv {
  const tag = r.u8(`${field}.tag`);
  let len = r.u8(`${field}.length`);
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) {
      throw r.error('ERR_BAD_ENCODING', `${field}.length`, { expected: '1..4 length bytes' });
    }
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + r.u8(`${field}.length`);
  }
  return { tag, body: r.take(len, field) };
}

function oidText(b: Uint8Array): string {
  const parts: number[] = [];
  let v = 0;
  for (const x of b) {
    v = v * 128 + (x & 0x7f);
    if ((x & 0x80) === 0) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

function derInteger(r: ByteReader, field: string): number {
  const t = readTlv(r, field);
  if (t.tag !== 0x02) throw r.error('ERR_BAD_ENCODING', field, { expected: 'INTEGER' });
  const b = t.body.rest();
  if (b.length > 6) throw r.error('ERR_BAD_VALUE', field, { expected: '<= 6 bytes' });
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

function derString(r: ByteReader, field: string): string {
  const t = readTlv(r, field);
  if (t.tag !== 0x16 && t.tag !== 0x0c && t.tag !== 0x13) {
    throw r.error('ERR_BAD_ENCODING', field, { expected: 'IA5String/UTF8String' });
  }
  return t.body.utf8(t.body.remaining, field);
}

/**
 * Reads the AMD extensions of a DER certificate.
 * @throws ParseError (format `x509`) for malformed DER
 */
export function parseVcekExtensions(der: Uint8Array): VcekExtensions {
  const r = new ByteReader(der, { format: 'x509' });
  const cert = readTlv(r, 'certificate');
  const tbs = readTlv(cert.body, 'tbsCertificate');
  const out: Record<string, unknown> = {};
  while (tbs.body.remaining > 0) {
    const f = readTlv(tbs.body, 'tbsCertificate.field');
    if (f.tag !== 0xa3) continue;
    const exts = readTlv(f.body, 'extensions');
    while (exts.body.remaining > 0) {
      const ext = readTlv(exts.body, 'extension');
      const oid = readTlv(ext.body, 'extension.oid');
      let v = readTlv(ext.body, 'extension.value');
      if (v.tag === 0x01) v = readTlv(ext.body, 'extension.value'); // critical flag
      const name = oidText(oid.body.rest());
      if (!name.startsWith(AMD_ARC)) continue;
      const sub = name.slice(AMD_ARC.length);
      const val = v.body;
      switch (sub) {
        case '1':
          out['struct_version'] = derInteger(val, 'structVersion');
          break;
        case '2':
          out['product_name'] = derString(val, 'productName');
          break;
        case '3.1':
          out['bl_spl'] = derInteger(val, 'blSPL');
          break;
        case '3.2':
          out['tee_spl'] = derInteger(val, 'teeSPL');
          break;
        case '3.3':
          out['snp_spl'] = derInteger(val, 'snpSPL');
          break;
        case '3.8':
          out['ucode_spl'] = derInteger(val, 'ucodeSPL');
          break;
        case '3.9':
          out['fmc_spl'] = derInteger(val, 'fmcSPL');
          break;
        case '4':
          out['hwid'] = new Uint8Array(val.rest());
          break;
        case '5':
          out['csp_id'] = derString(val, 'cspId');
          break;
        default:
          break;
      }
    }
  }
  return out;
}
