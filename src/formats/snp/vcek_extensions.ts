/**
 * The AMD extensions of a VCEK/VLEK certificate (AMD "Versioned Chip Endorsement Key (VCEK)
 * Certificate and KDS Interface Specification"): structVersion 1.3.6.1.4.1.3704.1.1,
 * productName .1.2 (IA5String), SPLs .1.3.x (INTEGER: .1 boot loader, .2 TEE, .3 SNP, .8
 * microcode, .9 FMC on Turin), hwID .1.4 (raw chip id bytes: 64 on Milan/Genoa, 8 on Turin),
 * CSP id .1.5 (VLEK only, IA5String).
 *
 * The values are read with the one DER reader (formats/x509/der_decode.ts) from the extensions
 * the certificate parser found.
 *
 * @module
 */
import { contentsOf, derError, hasTag, parseDer, smallIntOf } from '../x509/der_decode.js';

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

function derString(v: Uint8Array, field: string): string {
  const n = parseDer(v, field);
  if (!hasTag(n, 22) && !hasTag(n, 12) && !hasTag(n, 19))
    throw derError('x509', field, 'IA5String/UTF8String');
  return Buffer.from(contentsOf(n)).toString('utf8');
}

const int = (v: Uint8Array, field: string): number => smallIntOf(parseDer(v, field), field);

const INTS: Readonly<Record<string, keyof VcekExtensions>> = {
  '1': 'struct_version',
  '3.1': 'bl_spl',
  '3.2': 'tee_spl',
  '3.3': 'snp_spl',
  '3.8': 'ucode_spl',
  '3.9': 'fmc_spl',
};

/**
 * Reads the AMD extensions from a certificate's extensions (OID → extnValue contents, as the
 * certificate parser returns them).
 * @throws ParseError (format `x509`) for a malformed value
 */
export function parseVcekExtensions(
  extensions: ReadonlyMap<string, { readonly value: Uint8Array }>,
): VcekExtensions {
  const out: Record<string, unknown> = {};
  for (const [oid, { value }] of extensions) {
    if (!oid.startsWith(AMD_ARC)) continue;
    const sub = oid.slice(AMD_ARC.length);
    const intName = INTS[sub];
    if (intName !== undefined) out[intName] = int(value, intName);
    else if (sub === '2') out['product_name'] = derString(value, 'productName');
    else if (sub === '4')
      out['hwid'] = new Uint8Array(value); // raw bytes, not DER
    else if (sub === '5') out['csp_id'] = derString(value, 'cspId');
  }
  return out;
}
