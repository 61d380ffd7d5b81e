/**
 * Encodes SEV-SNP attestation reports (v2, v3, v5) — the inverse of `parseSnpReport`, used by
 * the emulated TVM and by tests. The caller signs {@link encodeSnpReportBody}'s bytes with
 * ECDSA P-384/SHA-384 and finishes with {@link attachSnpSignature}.
 *
 * @module
 */
import { ByteWriter } from '../../bytes/writer.js';
import { SNP_REPORT_SIZE, SNP_SIGNED_SIZE } from './report.js';

/** The fields of a report body; absent byte fields are zero. */
export interface SnpReportFields {
  readonly version: 2 | 3 | 5;
  readonly guest_svn?: number;
  readonly policy: bigint;
  readonly family_id?: Uint8Array;
  readonly image_id?: Uint8Array;
  readonly vmpl?: number;
  readonly current_tcb: bigint;
  readonly platform_info?: bigint;
  readonly author_key_en?: boolean;
  readonly mask_chip_key?: boolean;
  /** 0 VCEK, 1 VLEK, 7 none. */
  readonly signing_key?: number;
  readonly report_data: Uint8Array;
  readonly measurement: Uint8Array;
  readonly host_data?: Uint8Array;
  readonly id_key_digest?: Uint8Array;
  readonly author_key_digest?: Uint8Array;
  readonly report_id?: Uint8Array;
  readonly report_id_ma?: Uint8Array;
  readonly reported_tcb: bigint;
  readonly cpuid?: { readonly family: number; readonly model: number; readonly stepping: number };
  readonly chip_id: Uint8Array;
  readonly committed_tcb?: bigint;
  readonly current?: { readonly major: number; readonly minor: number; readonly build: number };
  readonly committed?: { readonly major: number; readonly minor: number; readonly build: number };
  readonly launch_tcb?: bigint;
  readonly launch_mit_vector?: bigint;
  readonly current_mit_vector?: bigint;
}

function fixed(w: ByteWriter, b: Uint8Array | undefined, n: number): void {
  const v = b ?? new Uint8Array(n);
  if (v.length > n) throw new RangeError(`field of ${v.length} bytes exceeds ${n}`);
  w.bytes(v).zeros(n - v.length);
}

/** The signed region [0, 0x2A0) of a report. */
export function encodeSnpReportBody(f: SnpReportFields): Uint8Array {
  const w = new ByteWriter(SNP_REPORT_SIZE);
  w.u32le(f.version)
    .u32le(f.guest_svn ?? 0)
    .u64le(f.policy);
  fixed(w, f.family_id, 16);
  fixed(w, f.image_id, 16);
  w.u32le(f.vmpl ?? 0)
    .u32le(1)
    .u64le(f.current_tcb)
    .u64le(f.platform_info ?? 0n)
    .u32le(
      (f.author_key_en === true ? 1 : 0) |
        (f.mask_chip_key === true ? 2 : 0) |
        ((f.signing_key ?? 0) << 2),
    )
    .zeros(4);
  fixed(w, f.report_data, 64);
  fixed(w, f.measurement, 48);
  fixed(w, f.host_data, 32);
  fixed(w, f.id_key_digest, 48);
  fixed(w, f.author_key_digest, 48);
  fixed(w, f.report_id, 32);
  fixed(w, f.report_id_ma, 32);
  w.u64le(f.reported_tcb);
  if (f.version >= 3 && f.cpuid !== undefined) {
    w.u8(f.cpuid.family)
      .u8(f.cpuid.model)
      .u8(f.cpuid.stepping)
      .zeros(0x1a0 - 0x18b);
  } else {
    w.zeros(0x1a0 - 0x188);
  }
  fixed(w, f.chip_id, 64);
  const cur = f.current ?? { major: 1, minor: 55, build: 0 };
  const com = f.committed ?? cur;
  w.u64le(f.committed_tcb ?? f.current_tcb)
    .u8(cur.build)
    .u8(cur.minor)
    .u8(cur.major)
    .zeros(1)
    .u8(com.build)
    .u8(com.minor)
    .u8(com.major)
    .zeros(1)
    .u64le(f.launch_tcb ?? f.current_tcb);
  if (f.version >= 5) {
    w.u64le(f.launch_mit_vector ?? 0n).u64le(f.current_mit_vector ?? 0n);
  }
  w.zeros(SNP_SIGNED_SIZE - w.length);
  return w.finish();
}

/**
 * Appends the signature (r, s as big-endian, at most 48 bytes each) in the report's 72-byte
 * little-endian form, giving the 1184-byte report.
 */
export function attachSnpSignature(body: Uint8Array, r: Uint8Array, s: Uint8Array): Uint8Array {
  if (body.length !== SNP_SIGNED_SIZE) throw new RangeError('report body must be 0x2A0 bytes');
  const out = new Uint8Array(SNP_REPORT_SIZE);
  out.set(body, 0);
  const le = (be: Uint8Array, at: number): void => {
    for (let i = 0; i < be.length; i++) out[at + i] = be[be.length - 1 - i] ?? 0;
  };
  le(r, SNP_SIGNED_SIZE);
  le(s, SNP_SIGNED_SIZE + 72);
  return out;
}
