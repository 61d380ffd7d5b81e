/**
 * The Azure confidential-VM HCL attestation report (the paravisor's "IGVM attest" report, as
 * read from the vTPM NV index 0x01400001): a 32-byte header (`HCLA`, version, report size,
 * request type, status, reserved), the hardware report in a 1184-byte area at 0x20 (an SNP
 * report, or a TDX TDREPORT in its first 1024 bytes), then the runtime-data header at 0x4C0
 * (data size, version, report type, hash type, variable-data size) and the variable data at
 * 0x4D4: JSON runtime claims holding the vTPM keys (`HCLAkPub`, `HCLEkPub` as JWKs). The
 * hardware report's REPORT_DATA starts with H(variable data), H named by the hash type.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ParseError } from '../../errors.js';
import type { HashAlg } from '../../crypto/hash_alg.js';

/** `HCLA` read as a little-endian u32. */
export const HCL_MAGIC = 0x414c4348;
/** Where the hardware report starts, and the size of its area. */
export const HCL_HW_REPORT_OFFSET = 0x20;
export const HCL_HW_REPORT_AREA = 0x4a0;
/** Runtime-data header offset (after the hardware report area). */
export const HCL_RUNTIME_OFFSET = 0x4c0;

/** Runtime report types (IGVM_REPORT_TYPE). */
export const HCL_REPORT_TYPE = { invalid: 0, reserved: 1, snp: 2, tvm: 3, tdx: 4 } as const;
/** Runtime hash types → algorithm. */
export const HCL_HASH_TYPE: Readonly<Record<number, HashAlg>> = Object.freeze({
  1: 'sha256',
  2: 'sha384',
  3: 'sha512',
});

/** A parsed HCL report. */
export interface HclReport {
  readonly version: number;
  readonly report_size: number;
  readonly request_type: number;
  readonly status: number;
  /** `snp` or `tdx` (or the raw number for another type). */
  readonly report_type: 'snp' | 'tdx' | number;
  readonly hash_alg: HashAlg;
  /** The hardware report: 1184 bytes (SNP) or 1024 bytes (TDX TDREPORT). */
  readonly report: Uint8Array;
  /** The variable data exactly as carried (its hash is in REPORT_DATA). */
  readonly variable_data: Uint8Array;
  /** The variable data parsed as JSON, when it is JSON. */
  readonly runtime_claims: unknown;
  /** A readable summary for claims output. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** True when the bytes start with the HCL magic. */
export function looksLikeHclReport(d: Uint8Array): boolean {
  return d.length >= 4 && d[0] === 0x48 && d[1] === 0x43 && d[2] === 0x4c && d[3] === 0x41;
}

/**
 * Parses an HCL report.
 * @throws ParseError `ERR_BAD_MAGIC`, `ERR_TRUNCATED`, `ERR_UNKNOWN_ALGORITHM`, `ERR_BAD_VALUE`
 */
export function parseHclReport(buf: Uint8Array): HclReport {
  const r = new ByteReader(buf, { format: 'hcl-report' });
  const magic = r.u32le('header.signature');
  if (magic !== HCL_MAGIC) {
    throw r.errorAt(0, 'ERR_BAD_MAGIC', 'header.signature', {
      expected: '"HCLA"',
      actual: `0x${magic.toString(16)}`,
    });
  }
  const version = r.u32le('header.version');
  const report_size = r.u32le('header.report_size');
  const request_type = r.u32le('header.request_type');
  const status = r.u32le('header.status');
  r.skip(12, 'header.reserved');
  const area = r.bytes(HCL_HW_REPORT_AREA, 'hw_report');
  const dataSize = r.u32le('runtime.data_size');
  const rtVersion = r.u32le('runtime.version');
  const typeAt = r.offset;
  const type = r.u32le('runtime.report_type');
  const hashAt = r.offset;
  const hashType = r.u32le('runtime.hash_type');
  const varSize = r.u32le('runtime.variable_data_size');
  if (dataSize !== varSize + 20) {
    throw r.errorAt(HCL_RUNTIME_OFFSET, 'ERR_BAD_VALUE', 'runtime.data_size', {
      expected: `${varSize + 20} (20 + variable_data_size)`,
      actual: String(dataSize),
    });
  }
  const hash_alg = HCL_HASH_TYPE[hashType];
  if (hash_alg === undefined) {
    throw r.errorAt(hashAt, 'ERR_UNKNOWN_ALGORITHM', 'runtime.hash_type', {
      expected: '1 (sha256), 2 (sha384) or 3 (sha512)',
      actual: String(hashType),
    });
  }
  const variable_data = r.copy(varSize, 'runtime.variable_data');
  const report_type =
    type === HCL_REPORT_TYPE.snp ? 'snp' : type === HCL_REPORT_TYPE.tdx ? 'tdx' : type;
  if (report_type !== 'snp' && report_type !== 'tdx') {
    throw r.errorAt(typeAt, 'ERR_BAD_VALUE', 'runtime.report_type', {
      expected: '2 (SNP) or 4 (TDX)',
      actual: String(type),
    });
  }
  const report =
    report_type === 'snp' ? new Uint8Array(area) : new Uint8Array(area.subarray(0, 1024));
  let runtime_claims: unknown;
  try {
    runtime_claims = JSON.parse(Buffer.from(variable_data).toString('utf8'));
  } catch {
    runtime_claims = undefined;
  }
  const claims: Record<string, unknown> = {
    version,
    report_size,
    request_type,
    status,
    runtime_version: rtVersion,
    report_type,
    hash_type: hash_alg,
    variable_data,
    ...(runtime_claims === undefined ? {} : { runtime_claims }),
  };
  return {
    version,
    report_size,
    request_type,
    status,
    report_type,
    hash_alg,
    report,
    variable_data,
    runtime_claims,
    claims,
  };
}

/**
 * The JWK with the given `kid` (`HCLAkPub`, `HCLEkPub`) in the runtime claims.
 * @throws ParseError `ERR_BAD_JSON` when absent or malformed
 */
export function hclRuntimeKey(hcl: HclReport, kid: string): Record<string, unknown> {
  const keys = (hcl.runtime_claims as { keys?: unknown } | undefined)?.keys;
  const k = Array.isArray(keys)
    ? (keys as unknown[]).find(
        (x): x is Record<string, unknown> =>
          typeof x === 'object' && x !== null && (x as Record<string, unknown>)['kid'] === kid,
      )
    : undefined;
  if (k === undefined) {
    throw new ParseError({
      code: 'ERR_BAD_JSON',
      format: 'hcl-report',
      offset: HCL_RUNTIME_OFFSET + 20,
      field: `runtime_claims.keys[kid=${kid}]`,
      expected: `a JWK with kid ${kid}`,
    });
  }
  return k;
}
