/**
 * The SGX enclave report body (384 bytes): the Quoting Enclave's report inside a TDX quote's
 * certification data (type 6).
 *
 * | offset | size | field        |
 * |-------:|-----:|--------------|
 * |      0 |   16 | CPUSVN       |
 * |     16 |    4 | MISCSELECT   |
 * |     20 |   28 | reserved     |
 * |     48 |   16 | ATTRIBUTES   |
 * |     64 |   32 | MRENCLAVE    |
 * |     96 |   32 | reserved     |
 * |    128 |   32 | MRSIGNER     |
 * |    160 |   96 | reserved     |
 * |    256 |    2 | ISVPRODID    |
 * |    258 |    2 | ISVSVN       |
 * |    260 |   60 | reserved     |
 * |    320 |   64 | REPORTDATA   |
 *
 * Reserved ranges are kept as read (they are signed) and written back as given.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ByteWriter } from '../../bytes/writer.js';

/** Size of an SGX enclave report body. */
export const ENCLAVE_REPORT_SIZE = 384;

/** A decoded SGX enclave report body. */
export interface EnclaveReport {
  readonly cpuSvn: Uint8Array;
  readonly miscSelect: number;
  readonly attributes: Uint8Array;
  readonly mrEnclave: Uint8Array;
  readonly mrSigner: Uint8Array;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly reportData: Uint8Array;
}

/** Reads a 384-byte enclave report body from the reader. */
export function readEnclaveReport(r: ByteReader, field = 'qe_report'): EnclaveReport {
  r.checkLength(ENCLAVE_REPORT_SIZE, field);
  const cpuSvn = r.copy(16, `${field}.cpusvn`);
  const miscSelect = r.u32le(`${field}.miscselect`);
  r.skip(28, `${field}.reserved1`);
  const attributes = r.copy(16, `${field}.attributes`);
  const mrEnclave = r.copy(32, `${field}.mrenclave`);
  r.skip(32, `${field}.reserved2`);
  const mrSigner = r.copy(32, `${field}.mrsigner`);
  r.skip(96, `${field}.reserved3`);
  const isvProdId = r.u16le(`${field}.isvprodid`);
  const isvSvn = r.u16le(`${field}.isvsvn`);
  r.skip(60, `${field}.reserved4`);
  const reportData = r.copy(64, `${field}.report_data`);
  return { cpuSvn, miscSelect, attributes, mrEnclave, mrSigner, isvProdId, isvSvn, reportData };
}

/** Encodes an enclave report body (reserved ranges zero). */
export function encodeEnclaveReport(e: EnclaveReport): Uint8Array {
  return new ByteWriter(ENCLAVE_REPORT_SIZE)
    .bytes(fixed(e.cpuSvn, 16))
    .u32le(e.miscSelect)
    .zeros(28)
    .bytes(fixed(e.attributes, 16))
    .bytes(fixed(e.mrEnclave, 32))
    .zeros(32)
    .bytes(fixed(e.mrSigner, 32))
    .zeros(96)
    .u16le(e.isvProdId)
    .u16le(e.isvSvn)
    .zeros(60)
    .bytes(fixed(e.reportData, 64))
    .finish();
}

/** The bytes, zero-padded to `n` (longer input is an encoder bug). */
export function fixed(b: Uint8Array, n: number): Uint8Array {
  if (b.length === n) return b;
  if (b.length > n) throw new RangeError(`field of ${b.length} bytes does not fit ${n}`);
  const out = new Uint8Array(n);
  out.set(b);
  return out;
}

/** JSON-friendly claims of an enclave report (DESIGN §7 snake_case names). */
export function enclaveReportClaims(e: EnclaveReport): Record<string, unknown> {
  return {
    cpusvn: e.cpuSvn,
    miscselect: e.miscSelect,
    attributes: e.attributes,
    mrenclave: e.mrEnclave,
    mrsigner: e.mrSigner,
    isvprodid: e.isvProdId,
    isvsvn: e.isvSvn,
    report_data: e.reportData,
  };
}
