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
 * |    256 |  239 | TEE_TCB_INFO: VALID 8, TEE_TCB_SVN 16, MRSEAM 48, MRSIGNERSEAM 48, ATTRIBUTES 8, reserved 111 |
 * |    495 |   17 | reserved                                      |
 * |    512 |  512 | TDINFO: ATTRIBUTES 8, XFAM 8, MRTD 48, MRCONFIGID 48, MROWNER 48, MROWNERCONFIG 48, RTMR0..3 4×48, SERVTD_HASH 48, reserved 64 |
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ByteWriter } from '../../bytes/writer.js';
import { hash } from '../../crypto/hash.js';
import { bytesEqual } from '../../bytes/hex.js';
import { fixed } from './enclave_report.js';

/** Size of a TDREPORT. */
export const TDREPORT_SIZE = 1024;
const TEE_TCB_INFO_SIZE = 239;

/** A decoded TDREPORT. */
export interface TdReport {
  readonly reportType: Uint8Array;
  readonly cpuSvn: Uint8Array;
  readonly teeTcbInfoHash: Uint8Array;
  readonly teeInfoHash: Uint8Array;
  readonly reportData: Uint8Array;
  readonly mac: Uint8Array;
  /** The raw 239-byte TEE_TCB_INFO. */
  readonly teeTcbInfo: Uint8Array;
  readonly teeTcbInfoValid: Uint8Array;
  readonly teeTcbSvn: Uint8Array;
  readonly mrSeam: Uint8Array;
  readonly mrSignerSeam: Uint8Array;
  readonly seamAttributes: Uint8Array;
  /** The raw 512-byte TDINFO. */
  readonly tdInfo: Uint8Array;
  readonly tdAttributes: Uint8Array;
  readonly xfam: Uint8Array;
  readonly mrTd: Uint8Array;
  readonly mrConfigId: Uint8Array;
  readonly mrOwner: Uint8Array;
  readonly mrOwnerConfig: Uint8Array;
  readonly rtmr: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  readonly servTdHash: Uint8Array;
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
  const teeTcbSvn = r.copy(16, 'tee_tcb_info.tee_tcb_svn');
  const mrSeam = r.copy(48, 'tee_tcb_info.mrseam');
  const mrSignerSeam = r.copy(48, 'tee_tcb_info.mrsignerseam');
  const seamAttributes = r.copy(8, 'tee_tcb_info.attributes');
  r.skip(111 + 17, 'tee_tcb_info.reserved');
  const tdInfo = data.slice(512, 1024);
  const tdAttributes = r.copy(8, 'tdinfo.attributes');
  const xfam = r.copy(8, 'tdinfo.xfam');
  const mrTd = r.copy(48, 'tdinfo.mrtd');
  const mrConfigId = r.copy(48, 'tdinfo.mrconfigid');
  const mrOwner = r.copy(48, 'tdinfo.mrowner');
  const mrOwnerConfig = r.copy(48, 'tdinfo.mrownerconfig');
  const rtmr = [
    r.copy(48, 'tdinfo.rtmr0'),
    r.copy(48, 'tdinfo.rtmr1'),
    r.copy(48, 'tdinfo.rtmr2'),
    r.copy(48, 'tdinfo.rtmr3'),
  ] as const;
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
    teeTcbSvn,
    mrSeam,
    mrSignerSeam,
    seamAttributes,
    tdInfo,
    tdAttributes,
    xfam,
    mrTd,
    mrConfigId,
    mrOwner,
    mrOwnerConfig,
    rtmr,
    servTdHash,
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
export interface TdReportInit {
  readonly cpuSvn?: Uint8Array;
  readonly reportData: Uint8Array;
  readonly mac?: Uint8Array;
  readonly teeTcbSvn: Uint8Array;
  readonly mrSeam: Uint8Array;
  readonly mrSignerSeam: Uint8Array;
  readonly seamAttributes: Uint8Array;
  readonly tdAttributes: Uint8Array;
  readonly xfam: Uint8Array;
  readonly mrTd: Uint8Array;
  readonly mrConfigId: Uint8Array;
  readonly mrOwner: Uint8Array;
  readonly mrOwnerConfig: Uint8Array;
  readonly rtmr: readonly Uint8Array[];
  readonly servTdHash?: Uint8Array;
}

/** Encodes a TDREPORT with correct TEE_TCB_INFO_HASH and TEE_INFO_HASH. */
export function encodeTdReport(init: TdReportInit): Uint8Array {
  const teeTcbInfo = new ByteWriter(TEE_TCB_INFO_SIZE)
    .bytes(new Uint8Array([0xff, 0x01, 0, 0, 0, 0, 0, 0]))
    .bytes(fixed(init.teeTcbSvn, 16))
    .bytes(fixed(init.mrSeam, 48))
    .bytes(fixed(init.mrSignerSeam, 48))
    .bytes(fixed(init.seamAttributes, 8))
    .zeros(111)
    .finish();
  const td = new ByteWriter(512)
    .bytes(fixed(init.tdAttributes, 8))
    .bytes(fixed(init.xfam, 8))
    .bytes(fixed(init.mrTd, 48))
    .bytes(fixed(init.mrConfigId, 48))
    .bytes(fixed(init.mrOwner, 48))
    .bytes(fixed(init.mrOwnerConfig, 48));
  for (let i = 0; i < 4; i++) td.bytes(fixed(init.rtmr[i] ?? new Uint8Array(48), 48));
  const tdInfo = td
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
