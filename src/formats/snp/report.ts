/**
 * The AMD SEV-SNP ATTESTATION_REPORT (SEV-SNP ABI spec, table "ATTESTATION_REPORT Structure"),
 * versions 2, 3 and 5: 1184 bytes, little-endian, fixed offsets, signed over [0, 0x2A0).
 *
 * Must-be-zero ranges are checked; fields a version does not have are absent (not zero).
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import {
  decodeTcb,
  productFromCpuid,
  tcbLayoutForFamily,
  type SnpProduct,
  type SnpTcb,
} from './tcb.js';

/** Size of every report version. */
export const SNP_REPORT_SIZE = 0x4a0;
/** End of the signed region (the signature starts here). */
export const SNP_SIGNED_SIZE = 0x2a0;
/** Report versions this parser reads. */
export const SNP_REPORT_VERSIONS: readonly number[] = Object.freeze([2, 3, 5]);

/** SIGNATURE_ALGO values. */
export const SNP_SIGNATURE_ALGO = { ECDSA_P384_SHA384: 1 } as const;

/** KEY_INFO.SIGNING_KEY values (bits 2–4). */
export const SNP_SIGNING_KEY = { VCEK: 0, VLEK: 1, NONE: 7 } as const;

/** Decoded guest POLICY (u64). */
export interface SnpPolicy {
  readonly raw: bigint;
  readonly abi_minor: number;
  readonly abi_major: number;
  readonly smt: boolean;
  readonly migrate_ma: boolean;
  readonly debug: boolean;
  readonly single_socket: boolean;
  readonly cxl_allow: boolean;
  readonly mem_aes_256_xts: boolean;
  readonly rapl_dis: boolean;
  readonly ciphertext_hiding: boolean;
  readonly page_swap_disable: boolean;
}

/** Decoded PLATFORM_INFO (u64). */
export interface SnpPlatformInfo {
  readonly raw: bigint;
  readonly smt_en: boolean;
  readonly tsme_en: boolean;
  readonly ecc_en: boolean;
  readonly rapl_dis: boolean;
  readonly ciphertext_hiding_en: boolean;
  readonly alias_check_complete: boolean;
  readonly tio_en: boolean;
}

/** Firmware version triple. */
export interface SnpFirmwareVersion {
  readonly major: number;
  readonly minor: number;
  readonly build: number;
}

/** A parsed SEV-SNP attestation report. */
export interface SnpReport {
  readonly version: number;
  readonly guest_svn: number;
  readonly policy: SnpPolicy;
  readonly family_id: Uint8Array;
  readonly image_id: Uint8Array;
  readonly vmpl: number;
  readonly signature_algo: number;
  readonly current_tcb: SnpTcb;
  readonly platform_info: SnpPlatformInfo;
  readonly author_key_en: boolean;
  readonly mask_chip_key: boolean;
  /** KEY_INFO.SIGNING_KEY: `vcek`, `vlek`, `none` (or the raw number when reserved). */
  readonly signing_key: 'vcek' | 'vlek' | 'none' | number;
  readonly report_data: Uint8Array;
  readonly measurement: Uint8Array;
  readonly host_data: Uint8Array;
  readonly id_key_digest: Uint8Array;
  readonly author_key_digest: Uint8Array;
  readonly report_id: Uint8Array;
  readonly report_id_ma: Uint8Array;
  readonly reported_tcb: SnpTcb;
  /** v3+. */
  readonly cpuid_fam_id?: number;
  readonly cpuid_mod_id?: number;
  readonly cpuid_step?: number;
  /** The product named by CPUID (v3+). */
  readonly product?: SnpProduct;
  readonly chip_id: Uint8Array;
  readonly committed_tcb: SnpTcb;
  readonly current: SnpFirmwareVersion;
  readonly committed: SnpFirmwareVersion;
  readonly launch_tcb: SnpTcb;
  /** v5. */
  readonly launch_mit_vector?: bigint;
  readonly current_mit_vector?: bigint;
  /** Signature R and S as big-endian 48-byte integers (converted from 72-byte little-endian). */
  readonly signature_r: Uint8Array;
  readonly signature_s: Uint8Array;
  /** The signed bytes [0, 0x2A0) (a view into the input). */
  readonly signed: Uint8Array;
}

function bit(v: bigint, n: number): boolean {
  return ((v >> BigInt(n)) & 1n) === 1n;
}

/** Decodes a guest POLICY value. */
export function decodeSnpPolicy(raw: bigint): SnpPolicy {
  return {
    raw,
    abi_minor: Number(raw & 0xffn),
    abi_major: Number((raw >> 8n) & 0xffn),
    smt: bit(raw, 16),
    migrate_ma: bit(raw, 18),
    debug: bit(raw, 19),
    single_socket: bit(raw, 20),
    cxl_allow: bit(raw, 21),
    mem_aes_256_xts: bit(raw, 22),
    rapl_dis: bit(raw, 23),
    ciphertext_hiding: bit(raw, 24),
    page_swap_disable: bit(raw, 25),
  };
}

/** Decodes a PLATFORM_INFO value. */
export function decodeSnpPlatformInfo(raw: bigint): SnpPlatformInfo {
  return {
    raw,
    smt_en: bit(raw, 0),
    tsme_en: bit(raw, 1),
    ecc_en: bit(raw, 2),
    rapl_dis: bit(raw, 3),
    ciphertext_hiding_en: bit(raw, 4),
    alias_check_complete: bit(raw, 5),
    tio_en: bit(raw, 7),
  };
}

/** 72-byte little-endian signature component → 48-byte big-endian (bytes 48..71 must be zero). */
function sigComponent(r: ByteReader, field: string): Uint8Array {
  const le = r.bytes(72, field);
  for (let i = 48; i < 72; i++) {
    if (le[i] !== 0) {
      throw r.errorAt(r.offset - 72 + i, 'ERR_RESERVED_NONZERO', `${field}[${i}]`, {
        expected: 'zero above the 48 low bytes',
        actual: `0x${(le[i] ?? 0).toString(16)}`,
      });
    }
  }
  const be = new Uint8Array(48);
  for (let i = 0; i < 48; i++) be[i] = le[47 - i] ?? 0;
  return be;
}

/** Options for {@link parseSnpReport}. */
export interface ParseSnpReportOptions {
  /** Accept bytes after the 1184-byte report (default false: ERR_TRAILING_BYTES). */
  readonly allowTrailing?: boolean;
  /** Absolute offset of the report in a larger input (for error messages). */
  readonly origin?: number;
}

/**
 * Parses an SEV-SNP attestation report.
 * @throws ParseError `ERR_TRUNCATED`, `ERR_UNSUPPORTED_VERSION`, `ERR_RESERVED_NONZERO`,
 *   `ERR_UNKNOWN_ALGORITHM`, `ERR_TRAILING_BYTES`
 */
export function parseSnpReport(buf: Uint8Array, opts: ParseSnpReportOptions = {}): SnpReport {
  const r = new ByteReader(buf, { format: 'snp-report', origin: opts.origin ?? 0 });
  if (buf.length < SNP_REPORT_SIZE) {
    throw r.error('ERR_TRUNCATED', 'report', {
      expected: `${SNP_REPORT_SIZE} bytes`,
      actual: `${buf.length}`,
      incomplete: true,
    });
  }
  const version = r.u32le('version');
  if (!SNP_REPORT_VERSIONS.includes(version)) {
    throw r.errorAt(r.offset - 4, 'ERR_UNSUPPORTED_VERSION', 'version', {
      expected: SNP_REPORT_VERSIONS.join(', '),
      actual: String(version),
    });
  }
  const guest_svn = r.u32le('guest_svn');
  const policy = decodeSnpPolicy(r.u64le('policy'));
  const family_id = r.copy(16, 'family_id');
  const image_id = r.copy(16, 'image_id');
  const vmpl = r.u32le('vmpl');
  const signature_algo = r.u32le('signature_algo');
  if (signature_algo !== SNP_SIGNATURE_ALGO.ECDSA_P384_SHA384) {
    throw r.errorAt(r.offset - 4, 'ERR_UNKNOWN_ALGORITHM', 'signature_algo', {
      expected: '1 (ECDSA P-384 with SHA-384)',
      actual: String(signature_algo),
    });
  }
  const currentTcbRaw = r.u64le('current_tcb');
  const platform_info = decodeSnpPlatformInfo(r.u64le('platform_info'));
  const keyInfoAt = r.offset;
  const keyInfo = r.u32le('key_info');
  if (keyInfo >>> 5 !== 0) {
    throw r.errorAt(keyInfoAt, 'ERR_RESERVED_NONZERO', 'key_info[31:5]', {
      expected: 'zero',
      actual: `0x${keyInfo.toString(16)}`,
    });
  }
  const sk = (keyInfo >>> 2) & 7;
  const signing_key =
    sk === SNP_SIGNING_KEY.VCEK
      ? 'vcek'
      : sk === SNP_SIGNING_KEY.VLEK
        ? 'vlek'
        : sk === SNP_SIGNING_KEY.NONE
          ? 'none'
          : sk;
  r.zeros(4, 'reserved_4c');
  const report_data = r.copy(64, 'report_data');
  const measurement = r.copy(48, 'measurement');
  const host_data = r.copy(32, 'host_data');
  const id_key_digest = r.copy(48, 'id_key_digest');
  const author_key_digest = r.copy(48, 'author_key_digest');
  const report_id = r.copy(32, 'report_id');
  const report_id_ma = r.copy(32, 'report_id_ma');
  const reportedTcbRaw = r.u64le('reported_tcb');
  let cpuid: { fam: number; mod: number; step: number } | undefined;
  if (version >= 3) {
    const fam = r.u8('cpuid_fam_id');
    const mod = r.u8('cpuid_mod_id');
    const step = r.u8('cpuid_step');
    cpuid = { fam, mod, step };
    r.zeros(0x1a0 - 0x18b, 'reserved_18b');
  } else {
    r.zeros(0x1a0 - 0x188, 'reserved_188');
  }
  const chip_id = r.copy(64, 'chip_id');
  const committedTcbRaw = r.u64le('committed_tcb');
  const cb = r.u8('current_build');
  const cmi = r.u8('current_minor');
  const cma = r.u8('current_major');
  r.zeros(1, 'reserved_1eb');
  const kb = r.u8('committed_build');
  const kmi = r.u8('committed_minor');
  const kma = r.u8('committed_major');
  r.zeros(1, 'reserved_1ef');
  const launchTcbRaw = r.u64le('launch_tcb');
  let mit: { launch: bigint; current: bigint } | undefined;
  if (version >= 5) {
    mit = { launch: r.u64le('launch_mit_vector'), current: r.u64le('current_mit_vector') };
    r.zeros(SNP_SIGNED_SIZE - 0x208, 'reserved_208');
  } else {
    r.zeros(SNP_SIGNED_SIZE - 0x1f8, 'reserved_1f8');
  }
  const signature_r = sigComponent(r, 'signature.r');
  const signature_s = sigComponent(r, 'signature.s');
  r.zeros(SNP_REPORT_SIZE - 0x2a0 - 144, 'signature.reserved');
  if (opts.allowTrailing !== true && r.remaining !== 0) r.expectEnd('report');
  const layout = tcbLayoutForFamily(cpuid?.fam);
  const product = cpuid === undefined ? undefined : productFromCpuid(cpuid.fam, cpuid.mod);
  return {
    version,
    guest_svn,
    policy,
    family_id,
    image_id,
    vmpl,
    signature_algo,
    current_tcb: decodeTcb(currentTcbRaw, layout),
    platform_info,
    author_key_en: (keyInfo & 1) === 1,
    mask_chip_key: (keyInfo & 2) === 2,
    signing_key,
    report_data,
    measurement,
    host_data,
    id_key_digest,
    author_key_digest,
    report_id,
    report_id_ma,
    reported_tcb: decodeTcb(reportedTcbRaw, layout),
    ...(cpuid === undefined
      ? {}
      : { cpuid_fam_id: cpuid.fam, cpuid_mod_id: cpuid.mod, cpuid_step: cpuid.step }),
    ...(product === undefined ? {} : { product }),
    chip_id,
    committed_tcb: decodeTcb(committedTcbRaw, layout),
    current: { major: cma, minor: cmi, build: cb },
    committed: { major: kma, minor: kmi, build: kb },
    launch_tcb: decodeTcb(launchTcbRaw, layout),
    ...(mit === undefined
      ? {}
      : { launch_mit_vector: mit.launch, current_mit_vector: mit.current }),
    signature_r,
    signature_s,
    signed: buf.subarray(0, SNP_SIGNED_SIZE),
  };
}

/** True when the bytes look like an SNP report (size and version), for kind detection. */
export function looksLikeSnpReport(buf: Uint8Array): boolean {
  if (buf.length !== SNP_REPORT_SIZE) return false;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return SNP_REPORT_VERSIONS.includes(v.getUint32(0, true)) && v.getUint32(0x34, true) === 1;
}

/** The report's signature as DER (`ECDSA-Sig-Value`), e.g. for `openssl dgst -verify`. */
export function snpSignatureDer(report: SnpReport): Uint8Array {
  const int = (be: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < be.length - 1 && be[i] === 0) i++;
    let v = be.subarray(i);
    if ((v[0] ?? 0) & 0x80) v = Uint8Array.of(0, ...v);
    return Uint8Array.of(0x02, v.length, ...v);
  };
  const r = int(report.signature_r);
  const s = int(report.signature_s);
  return Uint8Array.of(0x30, r.length + s.length, ...r, ...s);
}

/** Claims in the JSON contract's names (bytes stay Uint8Array: the CLI prints them as hex). */
export function snpReportClaims(rep: SnpReport): Record<string, unknown> {
  const tcb = (t: SnpTcb): Record<string, unknown> => ({
    raw: `0x${t.raw.toString(16).padStart(16, '0')}`,
    bootloader: t.bootloader,
    tee: t.tee,
    snp: t.snp,
    microcode: t.microcode,
    ...(t.fmc === undefined ? {} : { fmc: t.fmc }),
  });
  return {
    version: rep.version,
    guest_svn: rep.guest_svn,
    policy: { ...rep.policy, raw: `0x${rep.policy.raw.toString(16)}` },
    family_id: rep.family_id,
    image_id: rep.image_id,
    vmpl: rep.vmpl,
    signature_algo: rep.signature_algo,
    current_tcb: tcb(rep.current_tcb),
    platform_info: { ...rep.platform_info, raw: `0x${rep.platform_info.raw.toString(16)}` },
    author_key_en: rep.author_key_en,
    mask_chip_key: rep.mask_chip_key,
    signing_key: rep.signing_key,
    report_data: rep.report_data,
    measurement: rep.measurement,
    host_data: rep.host_data,
    id_key_digest: rep.id_key_digest,
    author_key_digest: rep.author_key_digest,
    report_id: rep.report_id,
    report_id_ma: rep.report_id_ma,
    reported_tcb: tcb(rep.reported_tcb),
    ...(rep.cpuid_fam_id === undefined
      ? {}
      : {
          cpuid_fam_id: rep.cpuid_fam_id,
          cpuid_mod_id: rep.cpuid_mod_id,
          cpuid_step: rep.cpuid_step,
        }),
    ...(rep.product === undefined ? {} : { product: rep.product }),
    chip_id: rep.chip_id,
    committed_tcb: tcb(rep.committed_tcb),
    current_build: rep.current.build,
    current_minor: rep.current.minor,
    current_major: rep.current.major,
    committed_build: rep.committed.build,
    committed_minor: rep.committed.minor,
    committed_major: rep.committed.major,
    launch_tcb: tcb(rep.launch_tcb),
    ...(rep.launch_mit_vector === undefined
      ? {}
      : {
          launch_mit_vector: `0x${rep.launch_mit_vector.toString(16)}`,
          current_mit_vector: `0x${(rep.current_mit_vector ?? 0n).toString(16)}`,
        }),
  };
}
