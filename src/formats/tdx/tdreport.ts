/**
 * The TDREPORT (1024 bytes, TDG.MR.REPORT output; Intel TDX module ABI, TDREPORT_STRUCT), parse
 * and encode, with its internal SHA-384 hashes.
 *
 * | offset | size | part / field                                  |
 * |-------:|-----:|-----------------------------------------------|
 * |      0 |  256 | REPORTMACSTRUCT                               |
 * |      0 |    4 |   REPORTTYPE (type 0x81 = TDX, subtype, version, reserved) |
 * |      4 |   12 |   reserved                                    |
 * |     16 |   16 |   CPUSVN                                      |
 * |     32 |   48 |   TEE_TCB_INFO_HASH = SHA-384(TEE_TCB_INFO)   |
 * |     80 |   48 |   TEE_INFO_HASH = SHA-384(TDINFO)             |
 * |    128 |   64 |   REPORTDATA                                  |
 * |    192 |   32 |   reserved                                    |
 * |    224 |   32 |   MAC (checkable by the CPU only)             |
 * |    256 |  239 | TEE_TCB_INFO: VALID 8, TEE_TCB_SVN 16, MRSEAM 48, MRSIGNERSEAM 48, ATTRIBUTES 8, TEE_TCB_SVN2 16 (TDX 1.5; reserved in 1.0), reserved 95 |
 * |    495 |   17 | reserved                                      |
 * |    512 |  512 | TDINFO: ATTRIBUTES 8, XFAM 8, MRTD 48, MRCONFIGID 48, MROWNER 48, MROWNERCONFIG 48, RTMR0..3 4×48, SERVTD_HASH 48 (TDX 1.5), reserved 64 |
 *
 * TDX module 1.5 fills TEE_TCB_SVN2 (at 384) and SERVTD_HASH (at 912); a quote with a TD 1.5
 * report body (DCAP quote v5, body type 3) carries them as TEE_TCB_SVN2 and MRSERVICETD.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ByteWriter } from '../../bytes/writer.js';
import { hash } from '../../crypto/hash.js';
import { bytesEqual } from '../../bytes/hex.js';
import { fixed } from './enclave_report.js';
import {
  readTdMeasurementFields,
  readTdSeamFields,
  writeTdMeasurementFields,
  writeTdSeamFields,
  type TdMeasurementFields,
  type TdMeasurementInit,
  type TdSeamFields,
} from './td_identity.js';

/** Size of a TDREPORT. */
export const TDREPORT_SIZE = 1024;
const TEE_TCB_INFO_SIZE = 239;

/** A decoded TDREPORT. */
export interface TdReport extends TdSeamFields, TdMeasurementFields {
  readonly reportType: Uint8Array;
  readonly cpuSvn: Uint8Array;
  readonly teeTcbInfoHash: Uint8Array;
  readonly teeInfoHash: Uint8Array;
  readonly reportData: Uint8Array;
  readonly mac: Uint8Array;
  /** The raw 239-byte TEE_TCB_INFO. */
  readonly teeTcbInfo: Uint8Array;
  readonly teeTcbInfoValid: Uint8Array;
  /** The raw 512-byte TDINFO. */
  readonly tdInfo: Uint8Array;
  readonly servTdHash: Uint8Array;
  /** TEE_TCB_INFO.TEE_TCB_SVN2 (TDX 1.5; zero from a 1.0 module). */
  readonly teeTcbSvn2: Uint8Array;
}

/**
 * Parses a 1024-byte TDREPORT.
 * @throws ParseError (`tdx-report`) `ERR_TRUNCATED`, `ERR_TRAILING_BYTES`, `ERR_BAD_MAGIC`
 */
export function parseTdReport(data: Uint8Array): TdReport {
  const r = new ByteReader(data, { format: 'tdx-report' });
  r.checkLength(TDREPORT_SIZE, 'tdreport');
  const reportType = r.copy(4, 'reportmacstruct.reporttype');
  if (reportType[0] !== 0x81) {
    throw r.errorAt(0, 'ERR_BAD_MAGIC', 'reportmacstruct.reporttype.type', {
      expected: '0x81 (TDX)',
      actual: `0x${reportType[0]!.toString(16)}`,
    });
  }
  r.skip(12, 'reportmacstruct.reserved1');
  const cpuSvn = r.copy(16, 'reportmacstruct.cpusvn');
  const teeTcbInfoHash = r.copy(48, 'reportmacstruct.tee_tcb_info_hash');
  const teeInfoHash = r.copy(48, 'reportmacstruct.tee_info_hash');
  const reportData = r.copy(64, 'reportmacstruct.report_data');
  r.skip(32, 'reportmacstruct.reserved2');
  const mac = r.copy(32, 'reportmacstruct.mac');
  const teeTcbInfo = data.slice(256, 256 + TEE_TCB_INFO_SIZE);
  const teeTcbInfoValid = r.copy(8, 'tee_tcb_info.valid');
  const seam = readTdSeamFields(r, 'tee_tcb_info');
  const teeTcbSvn2 = r.copy(16, 'tee_tcb_info.tee_tcb_svn2');
  r.skip(95 + 17, 'tee_tcb_info.reserved');
  const tdInfo = data.slice(512, 1024);
  const td = readTdMeasurementFields(r, 'tdinfo');
  const servTdHash = r.copy(48, 'tdinfo.servtd_hash');
  r.skip(64, 'tdinfo.reserved');
  r.expectEnd('tdreport');
  return {
    reportType,
    cpuSvn,
    teeTcbInfoHash,
    teeInfoHash,
    reportData,
    mac,
    teeTcbInfo,
    teeTcbInfoValid,
    ...seam,
    tdInfo,
    ...td,
    servTdHash,
    teeTcbSvn2,
  };
}

/**
 * A TDREPORT's fields as lowercase hex under the names `evidence show` prints (the kernel's
 * register names for the measurements): the claims of a raw TDREPORT and of an Azure HCL
 * report's embedded one.
 */
export function tdReportClaims(t: TdReport): Record<string, string> {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  return {
    report_type: hex(t.reportType),
    cpu_svn: hex(t.cpuSvn),
    tee_tcb_svn: hex(t.teeTcbSvn),
    mrseam: hex(t.mrSeam),
    mrsignerseam: hex(t.mrSignerSeam),
    seam_attributes: hex(t.seamAttributes),
    td_attributes: hex(t.tdAttributes),
    xfam: hex(t.xfam),
    mrtd: hex(t.mrTd),
    mrconfigid: hex(t.mrConfigId),
    mrowner: hex(t.mrOwner),
    mrownerconfig: hex(t.mrOwnerConfig),
    rtmr0: hex(t.rtmr[0]),
    rtmr1: hex(t.rtmr[1]),
    rtmr2: hex(t.rtmr[2]),
    rtmr3: hex(t.rtmr[3]),
    servtd_hash: hex(t.servTdHash),
    report_data: hex(t.reportData),
  };
}

/** Which of the TDREPORT's internal hashes hold (the MAC needs the CPU). */
export function checkTdReportHashes(t: TdReport): {
  teeTcbInfoHash: boolean;
  teeInfoHash: boolean;
} {
  return {
    teeTcbInfoHash: bytesEqual(hash('sha384', t.teeTcbInfo), t.teeTcbInfoHash),
    teeInfoHash: bytesEqual(hash('sha384', t.tdInfo), t.teeInfoHash),
  };
}

/** Fields of a TDREPORT to encode; the hashes are computed, the MAC is given (or zero). */
export interface TdReportInit extends TdSeamFields, TdMeasurementInit {
  readonly cpuSvn?: Uint8Array;
  readonly reportData: Uint8Array;
  readonly mac?: Uint8Array;
  readonly servTdHash?: Uint8Array;
  /** TDX 1.5's TEE_TCB_SVN2 (default zero, as a 1.0 module leaves it). */
  readonly teeTcbSvn2?: Uint8Array;
}

/** Encodes a TDREPORT with correct TEE_TCB_INFO_HASH and TEE_INFO_HASH. */
export function encodeTdReport(init: TdReportInit): Uint8Array {
  const teeTcbInfo = writeTdSeamFields(
    new ByteWriter(TEE_TCB_INFO_SIZE).bytes(new Uint8Array([0xff, 0x01, 0, 0, 0, 0, 0, 0])),
    init,
  )
    .bytes(fixed(init.teeTcbSvn2 ?? new Uint8Array(16), 16))
    .zeros(95)
    .finish();
  const tdInfo = writeTdMeasurementFields(new ByteWriter(512), init)
    .bytes(fixed(init.servTdHash ?? new Uint8Array(48), 48))
    .zeros(64)
    .finish();
  return new ByteWriter(TDREPORT_SIZE)
    .bytes(new Uint8Array([0x81, 0, 0, 0]))
    .zeros(12)
    .bytes(fixed(init.cpuSvn ?? new Uint8Array(16), 16))
    .bytes(hash('sha384', teeTcbInfo))
    .bytes(hash('sha384', tdInfo))
    .bytes(fixed(init.reportData, 64))
    .zeros(32)
    .bytes(fixed(init.mac ?? new Uint8Array(32), 32))
    .bytes(teeTcbInfo)
    .zeros(17)
    .bytes(tdInfo)
    .finish();
}
