/**
 * Intel TDX quote v4 and v5 (ECDSA P-256 attestation key), parse and encode. All integers are
 * little-endian. Layout (Intel TDX DCAP Quote Generation Library and Quote Verification Library
 * API, appendix "Quote format"):
 *
 * Header (48 bytes)
 * | offset | size | field          |
 * |-------:|-----:|----------------|
 * |      0 |    2 | version (4, 5) |
 * |      2 |    2 | att_key_type (2 = ECDSA-256-with-P-256) |
 * |      4 |    4 | tee_type (0x81 = TDX) |
 * |      8 |    2 | qe_svn         |
 * |     10 |    2 | pce_svn        |
 * |     12 |   16 | qe_vendor_id   |
 * |     28 |   20 | user_data      |
 *
 * v4: the TD report body (584 bytes) follows at 48. v5: `body_type` u16 @48 (2 = TDX 1.0,
 * 584 bytes; 3 = TDX 1.5, 648 bytes), `body_size` u32 @50, body @54.
 *
 * TD report body (TDX 1.0, 584 bytes; TDX 1.5 appends the last two rows)
 * | offset | size | field           |
 * |-------:|-----:|-----------------|
 * |      0 |   16 | tee_tcb_svn     |
 * |     16 |   48 | mrseam          |
 * |     64 |   48 | mrsignerseam    |
 * |    112 |    8 | seam_attributes |
 * |    120 |    8 | td_attributes   |
 * |    128 |    8 | xfam            |
 * |    136 |   48 | mrtd            |
 * |    184 |   48 | mrconfigid      |
 * |    232 |   48 | mrowner         |
 * |    280 |   48 | mrownerconfig   |
 * |    328 |  192 | rtmr0..rtmr3    |
 * |    520 |   64 | report_data     |
 * |    584 |   16 | tee_tcb_svn2    |
 * |    600 |   48 | mrservicetd     |
 *
 * Then `sig_data_len` u32 and the signature data: quote signature 64 (raw r‖s, over every byte
 * before `sig_data_len`), attestation key 64 (raw X‖Y), certification data (`type` u16, `size`
 * u32, payload). Type 6 payload: QE report (384, see enclave_report.ts), QE report signature 64
 * (by the PCK key), `auth_data_size` u16 + auth data, then nested certification data of type 5
 * (the PCK certificate chain, PEM). Bytes after the signature data (real quotes are padded) are
 * tolerated and counted in {@link TdxQuote.trailingBytes}.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ByteWriter } from '../../bytes/writer.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import {
  ENCLAVE_REPORT_SIZE,
  encodeEnclaveReport,
  enclaveReportClaims,
  fixed,
  readEnclaveReport,
  type EnclaveReport,
} from './enclave_report.js';
import { parsePemCertificates } from './pem_chain.js';
import {
  readTdMeasurementFields,
  readTdSeamFields,
  writeTdMeasurementFields,
  writeTdSeamFields,
  type TdMeasurementFields,
  type TdSeamFields,
} from './td_identity.js';

/** Quote constants. */
export const TDX_QUOTE = {
  HEADER_SIZE: 48,
  TEE_TYPE_TDX: 0x81,
  ATT_KEY_ECDSA_P256: 2,
  BODY_TDX10: 2,
  BODY_TDX15: 3,
  BODY_SIZE_TDX10: 584,
  BODY_SIZE_TDX15: 648,
  CERT_DATA_PCK_CHAIN: 5,
  CERT_DATA_QE_REPORT: 6,
  /** Intel's QE vendor ID. */
  INTEL_QE_VENDOR_ID: '939a7233f79c4ca9940a0db3957f0607',
} as const;

/** The 48-byte quote header. */
export interface TdxQuoteHeader {
  readonly version: 4 | 5;
  readonly attKeyType: number;
  readonly teeType: number;
  readonly qeSvn: number;
  readonly pceSvn: number;
  readonly qeVendorId: Uint8Array;
  readonly userData: Uint8Array;
}

/** The TD report body (TDX 1.0 fields; TDX 1.5 adds the two optional ones). */
export interface TdReportBody extends TdSeamFields, TdMeasurementFields {
  readonly reportData: Uint8Array;
  readonly teeTcbSvn2?: Uint8Array;
  readonly mrServiceTd?: Uint8Array;
}

/** Certification data of type 6 with its nested PCK chain (type 5). */
export interface QeReportCertificationData {
  readonly qeReport: EnclaveReport;
  /** The 384 signed bytes of the QE report, as in the quote. */
  readonly qeReportBytes: Uint8Array;
  readonly qeReportSignature: Uint8Array;
  readonly qeAuthData: Uint8Array;
  /** The PEM text of the chain (leaf first), as carried, without trailing NUL bytes. */
  readonly pckChainPem: string;
  /**
   * The chain's certificates, DER, leaf first; empty when the quote was parsed with
   * `decodeChain: false` (then {@link decodePckChain} decodes them on demand).
   */
  readonly pckChain: readonly Uint8Array[];
  /** The chain's bytes as carried (a view into the quote) and their absolute offset. */
  readonly pckChainBytes: Uint8Array;
  readonly pckChainOffset: number;
}

/** Options of {@link parseTdxQuote}. */
export interface ParseTdxQuoteOptions {
  /**
   * Decode the PEM chain into DER certificates (default true). A verifier that caches chains by
   * their PEM text passes false and decodes only unseen chains with {@link decodePckChain}.
   */
  readonly decodeChain?: boolean;
}

/**
 * The DER certificates of a quote's PCK chain (decoded now if the parse skipped it).
 * @throws ParseError (`tdx-quote`) `ERR_BAD_ENCODING` / `ERR_BAD_VALUE` at the chain's offsets
 */
export function decodePckChain(cd: QeReportCertificationData): readonly Uint8Array[] {
  if (cd.pckChain.length > 0) return cd.pckChain;
  const r = new ByteReader(cd.pckChainBytes, { format: 'tdx-quote', origin: cd.pckChainOffset });
  return parsePemCertificates(r, 'certification_data.pck.chain').certificates;
}

/** A parsed TDX quote. */
export interface TdxQuote {
  readonly header: TdxQuoteHeader;
  /** 2 = TDX 1.0, 3 = TDX 1.5 (v4 quotes are always 2). */
  readonly bodyType: 2 | 3;
  readonly body: TdReportBody;
  /** The bytes the quote signature covers (header, v5 type/size, body). */
  readonly signedBytes: Uint8Array;
  /** Raw r‖s, 64 bytes. */
  readonly signature: Uint8Array;
  /** Raw X‖Y, 64 bytes. */
  readonly attestationKey: Uint8Array;
  readonly certificationData: QeReportCertificationData;
  /** Bytes after the signature data (padding); tolerated. */
  readonly trailingBytes: number;
  /** Notes about tolerated oddities (trailing bytes, NULs after the PEM chain). */
  readonly warnings: readonly string[];
}

function readHeader(r: ByteReader): TdxQuoteHeader {
  const vAt = r.offset;
  const version = r.u16le('header.version');
  if (version !== 4 && version !== 5) {
    throw r.errorAt(vAt, 'ERR_UNSUPPORTED_VERSION', 'header.version', {
      expected: '4 or 5',
      actual: String(version),
    });
  }
  const kAt = r.offset;
  const attKeyType = r.u16le('header.att_key_type');
  if (attKeyType !== TDX_QUOTE.ATT_KEY_ECDSA_P256) {
    throw r.errorAt(kAt, 'ERR_UNKNOWN_ALGORITHM', 'header.att_key_type', {
      expected: '2 (ECDSA-256-with-P-256)',
      actual: String(attKeyType),
    });
  }
  const tAt = r.offset;
  const teeType = r.u32le('header.tee_type');
  if (teeType !== TDX_QUOTE.TEE_TYPE_TDX) {
    throw r.errorAt(tAt, 'ERR_BAD_MAGIC', 'header.tee_type', {
      expected: '0x81 (TDX)',
      actual: `0x${teeType.toString(16)}`,
    });
  }
  return {
    version,
    attKeyType,
    teeType,
    qeSvn: r.u16le('header.qe_svn'),
    pceSvn: r.u16le('header.pce_svn'),
    qeVendorId: r.copy(16, 'header.qe_vendor_id'),
    userData: r.copy(20, 'header.user_data'),
  };
}

function readBody(r: ByteReader, tdx15: boolean): TdReportBody {
  const f = (n: number, name: string): Uint8Array => r.copy(n, `body.${name}`);
  const base = {
    ...readTdSeamFields(r, 'body'),
    ...readTdMeasurementFields(r, 'body'),
    reportData: f(64, 'report_data'),
  };
  if (!tdx15) return base;
  return { ...base, teeTcbSvn2: f(16, 'tee_tcb_svn2'), mrServiceTd: f(48, 'mrservicetd') };
}

/**
 * Parses a TDX quote v4 or v5.
 * @throws ParseError (`tdx-quote`) naming the offset and field of the first problem
 */
export function parseTdxQuote(
  data: Uint8Array,
  limits: Limits = DEFAULT_LIMITS,
  opts: ParseTdxQuoteOptions = {},
): TdxQuote {
  const r = new ByteReader(data, { format: 'tdx-quote' });
  r.checkLength(data.length, 'quote', limits.maxEvidenceSize);
  const header = readHeader(r);
  let bodyType: 2 | 3 = 2;
  if (header.version === 5) {
    const tAt = r.offset;
    const t = r.u16le('body_type');
    if (t !== TDX_QUOTE.BODY_TDX10 && t !== TDX_QUOTE.BODY_TDX15) {
      throw r.errorAt(tAt, 'ERR_UNSUPPORTED_VERSION', 'body_type', {
        expected: '2 (TDX 1.0) or 3 (TDX 1.5)',
        actual: String(t),
      });
    }
    bodyType = t;
    const sAt = r.offset;
    const size = r.u32le('body_size');
    const want = t === 2 ? TDX_QUOTE.BODY_SIZE_TDX10 : TDX_QUOTE.BODY_SIZE_TDX15;
    if (size !== want) {
      throw r.errorAt(sAt, 'ERR_BAD_VALUE', 'body_size', {
        expected: `${want} for body type ${t}`,
        actual: String(size),
      });
    }
  }
  const body = readBody(r, bodyType === 3);
  const signedBytes = data.subarray(0, r.position);
  const sigLen = r.u32le('sig_data_len');
  const s = r.take(sigLen, 'signature_data', limits.maxEvidenceSize);
  const trailingBytes = r.remaining;
  const warnings: string[] = [];
  if (trailingBytes > 0) {
    const tail = data.subarray(data.length - trailingBytes);
    const zero = tail.every((b) => b === 0);
    warnings.push(
      `${trailingBytes} ${zero ? 'zero ' : ''}bytes after the signature data (ignored)`,
    );
  }
  const signature = s.copy(64, 'signature_data.signature');
  const attestationKey = s.copy(64, 'signature_data.attestation_key');
  const cAt = s.offset;
  const certType = s.u16le('certification_data.type');
  if (certType !== TDX_QUOTE.CERT_DATA_QE_REPORT) {
    throw s.errorAt(cAt, 'ERR_BAD_VALUE', 'certification_data.type', {
      expected: '6 (QE report certification data)',
      actual: String(certType),
    });
  }
  const certSize = s.u32le('certification_data.size');
  const c = s.take(certSize, 'certification_data', limits.maxEvidenceSize);
  if (s.remaining > 0) {
    warnings.push(`${s.remaining} bytes after the certification data inside the signature data`);
  }
  const qeReportBytes = data.subarray(c.offset, c.offset + ENCLAVE_REPORT_SIZE);
  const qeReport = readEnclaveReport(c);
  const qeReportSignature = c.copy(64, 'certification_data.qe_report_signature');
  const authSize = c.u16le('certification_data.qe_auth_data_size');
  const qeAuthData = c.copy(authSize, 'certification_data.qe_auth_data');
  const iAt = c.offset;
  const innerType = c.u16le('certification_data.pck.type');
  if (innerType !== TDX_QUOTE.CERT_DATA_PCK_CHAIN) {
    throw c.errorAt(iAt, 'ERR_BAD_VALUE', 'certification_data.pck.type', {
      expected: '5 (PCK certificate chain)',
      actual: String(innerType),
    });
  }
  const innerSize = c.u32le('certification_data.pck.size');
  const pemReader = c.take(innerSize, 'certification_data.pck.chain', limits.maxEvidenceSize);
  if (c.remaining > 0) {
    warnings.push(`${c.remaining} bytes after the PCK chain inside the certification data`);
  }
  const pckChainOffset = pemReader.offset;
  const pckChainBytes = pemReader.peek(pemReader.remaining);
  let pem: string;
  let certificates: readonly Uint8Array[] = [];
  if (opts.decodeChain === false) {
    let end = pckChainBytes.length;
    while (end > 0 && pckChainBytes[end - 1] === 0) end--;
    if (end < pckChainBytes.length) {
      warnings.push(`${pckChainBytes.length - end} NUL bytes after the PEM chain`);
    }
    pem = Buffer.from(pckChainBytes.buffer, pckChainBytes.byteOffset, end).toString('latin1');
  } else {
    const chain = parsePemCertificates(pemReader, 'certification_data.pck.chain');
    warnings.push(...chain.warnings);
    pem = chain.pem;
    certificates = chain.certificates;
  }
  return {
    header,
    bodyType,
    body,
    signedBytes,
    signature,
    attestationKey,
    certificationData: {
      qeReport,
      qeReportBytes,
      qeReportSignature,
      qeAuthData,
      pckChainPem: pem,
      pckChain: certificates,
      pckChainBytes,
      pckChainOffset,
    },
    trailingBytes,
    warnings,
  };
}

/** Encodes the header and body: the bytes the quote signature covers. */
export function encodeTdxQuoteSignedPart(header: TdxQuoteHeader, body: TdReportBody): Uint8Array {
  const tdx15 = body.teeTcbSvn2 !== undefined || body.mrServiceTd !== undefined;
  if (header.version === 4 && tdx15) {
    throw new RangeError('a v4 quote carries a TDX 1.0 body only');
  }
  const w = new ByteWriter(54 + TDX_QUOTE.BODY_SIZE_TDX15)
    .u16le(header.version)
    .u16le(header.attKeyType)
    .u32le(header.teeType)
    .u16le(header.qeSvn)
    .u16le(header.pceSvn)
    .bytes(fixed(header.qeVendorId, 16))
    .bytes(fixed(header.userData, 20));
  if (header.version === 5) {
    w.u16le(tdx15 ? TDX_QUOTE.BODY_TDX15 : TDX_QUOTE.BODY_TDX10);
    w.u32le(tdx15 ? TDX_QUOTE.BODY_SIZE_TDX15 : TDX_QUOTE.BODY_SIZE_TDX10);
  }
  writeTdMeasurementFields(writeTdSeamFields(w, body), body);
  w.bytes(fixed(body.reportData, 64));
  if (tdx15) {
    w.bytes(fixed(body.teeTcbSvn2 ?? new Uint8Array(16), 16));
    w.bytes(fixed(body.mrServiceTd ?? new Uint8Array(48), 48));
  }
  return w.finish();
}

/** What {@link encodeTdxQuote} needs besides the signed part. */
export interface TdxQuoteSignatureInit {
  readonly signature: Uint8Array;
  readonly attestationKey: Uint8Array;
  readonly qeReport: EnclaveReport;
  readonly qeReportSignature: Uint8Array;
  readonly qeAuthData: Uint8Array;
  readonly pckChainPem: string;
}

/** The QE report certification data (type 6 payload, with its nested type-5 chain). */
export function encodeQeCertificationData(init: TdxQuoteSignatureInit): Uint8Array {
  const pem = Buffer.from(init.pckChainPem, 'utf8');
  return new ByteWriter(1024 + pem.length)
    .bytes(encodeEnclaveReport(init.qeReport))
    .bytes(fixed(init.qeReportSignature, 64))
    .u16le(init.qeAuthData.length)
    .bytes(init.qeAuthData)
    .u16le(TDX_QUOTE.CERT_DATA_PCK_CHAIN)
    .u32le(pem.length)
    .bytes(pem)
    .finish();
}

/** A whole quote: the signed part followed by the signature data. */
export function encodeTdxQuote(signedPart: Uint8Array, init: TdxQuoteSignatureInit): Uint8Array {
  const cert = encodeQeCertificationData(init);
  const sigData = new ByteWriter(134 + cert.length)
    .bytes(fixed(init.signature, 64))
    .bytes(fixed(init.attestationKey, 64))
    .u16le(TDX_QUOTE.CERT_DATA_QE_REPORT)
    .u32le(cert.length)
    .bytes(cert)
    .finish();
  return new ByteWriter(signedPart.length + 4 + sigData.length)
    .bytes(signedPart)
    .u32le(sigData.length)
    .bytes(sigData)
    .finish();
}

/** The TD attribute bits worth naming (TDX module ABI, TDATTRIBUTES). */
export function tdAttributeFlags(a: Uint8Array): Record<string, boolean> {
  const bit = (n: number): boolean => (((a[n >> 3] ?? 0) >> (n & 7)) & 1) === 1;
  return {
    debug: bit(0),
    sept_ve_disable: bit(28),
    pks: bit(30),
    kl: bit(31),
    perfmon: bit(63),
  };
}

function countPem(pem: string): number {
  let n = 0;
  for (
    let i = pem.indexOf('-----BEGIN CERTIFICATE-----');
    i >= 0;
    i = pem.indexOf('-----BEGIN CERTIFICATE-----', i + 1)
  )
    n++;
  return n;
}

/** Claims of a parsed quote with DESIGN §7 names (bytes stay Uint8Array; hex in JSON). */
export function tdxQuoteClaims(q: TdxQuote): Record<string, unknown> {
  const b = q.body;
  const c = q.certificationData;
  return {
    version: q.header.version,
    att_key_type: q.header.attKeyType,
    tee_type: q.header.teeType,
    qe_svn: q.header.qeSvn,
    pce_svn: q.header.pceSvn,
    qe_vendor_id: q.header.qeVendorId,
    user_data: q.header.userData,
    body_type: q.bodyType,
    tee_tcb_svn: b.teeTcbSvn,
    mrseam: b.mrSeam,
    mrsignerseam: b.mrSignerSeam,
    seam_attributes: b.seamAttributes,
    td_attributes: b.tdAttributes,
    td_attributes_flags: tdAttributeFlags(b.tdAttributes),
    xfam: b.xfam,
    mrtd: b.mrTd,
    mrconfigid: b.mrConfigId,
    mrowner: b.mrOwner,
    mrownerconfig: b.mrOwnerConfig,
    rtmr0: b.rtmr[0],
    rtmr1: b.rtmr[1],
    rtmr2: b.rtmr[2],
    rtmr3: b.rtmr[3],
    report_data: b.reportData,
    ...(b.teeTcbSvn2 === undefined ? {} : { tee_tcb_svn2: b.teeTcbSvn2 }),
    ...(b.mrServiceTd === undefined ? {} : { mrservicetd: b.mrServiceTd }),
    signature: q.signature,
    attestation_key: q.attestationKey,
    qe_report: enclaveReportClaims(c.qeReport),
    qe_report_signature: c.qeReportSignature,
    qe_auth_data: c.qeAuthData,
    pck_chain_length: countPem(c.pckChainPem),
    trailing_bytes: q.trailingBytes,
  };
}
