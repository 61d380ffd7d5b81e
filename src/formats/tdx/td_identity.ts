/**
 * The two runs of TD identity fields that a TDX quote's TD report body and the TDREPORT share,
 * in the same order and sizes (Intel TDX module ABI, TEE_TCB_INFO and TDINFO; quote body in
 * the DCAP Quote Generation Library API, appendix "Quote format"):
 *
 * | run        | fields (size)                                                        |
 * |------------|----------------------------------------------------------------------|
 * | SEAM       | TEE_TCB_SVN 16, MRSEAM 48, MRSIGNERSEAM 48, SEAM ATTRIBUTES 8        |
 * | TD         | TD ATTRIBUTES 8, XFAM 8, MRTD 48, MRCONFIGID 48, MROWNER 48, MROWNERCONFIG 48, RTMR0..3 4×48 |
 *
 * In the quote body the two runs are adjacent; in the TDREPORT the SEAM run sits in
 * TEE_TCB_INFO after its 8-byte VALID mask and the TD run opens TDINFO.
 *
 * @module
 */
import type { ByteReader } from '../../bytes/reader.js';
import type { ByteWriter } from '../../bytes/writer.js';
import { fixed } from './enclave_report.js';

/** The TDX module's identity and TCB (SEAM run). */
export interface TdSeamFields {
  readonly teeTcbSvn: Uint8Array;
  readonly mrSeam: Uint8Array;
  readonly mrSignerSeam: Uint8Array;
  readonly seamAttributes: Uint8Array;
}

/** The TD's attributes and measurement registers (TD run). */
export interface TdMeasurementFields {
  readonly tdAttributes: Uint8Array;
  readonly xfam: Uint8Array;
  readonly mrTd: Uint8Array;
  readonly mrConfigId: Uint8Array;
  readonly mrOwner: Uint8Array;
  readonly mrOwnerConfig: Uint8Array;
  readonly rtmr: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
}

/** The TD run as an encoder takes it: fewer than four RTMRs are padded with zeros. */
export type TdMeasurementInit = Omit<TdMeasurementFields, 'rtmr'> & {
  readonly rtmr: readonly Uint8Array[];
};

/** Reads the SEAM run; errors name `<prefix>.<field>`. */
export function readTdSeamFields(r: ByteReader, prefix: string): TdSeamFields {
  return {
    teeTcbSvn: r.copy(16, `${prefix}.tee_tcb_svn`),
    mrSeam: r.copy(48, `${prefix}.mrseam`),
    mrSignerSeam: r.copy(48, `${prefix}.mrsignerseam`),
    seamAttributes: r.copy(8, `${prefix}.seam_attributes`),
  };
}

/** Reads the TD run; errors name `<prefix>.<field>`. */
export function readTdMeasurementFields(r: ByteReader, prefix: string): TdMeasurementFields {
  const f = (n: number, name: string): Uint8Array => r.copy(n, `${prefix}.${name}`);
  return {
    tdAttributes: f(8, 'td_attributes'),
    xfam: f(8, 'xfam'),
    mrTd: f(48, 'mrtd'),
    mrConfigId: f(48, 'mrconfigid'),
    mrOwner: f(48, 'mrowner'),
    mrOwnerConfig: f(48, 'mrownerconfig'),
    rtmr: [f(48, 'rtmr0'), f(48, 'rtmr1'), f(48, 'rtmr2'), f(48, 'rtmr3')],
  };
}

/** Writes the SEAM run (each field zero-padded to its size). */
export function writeTdSeamFields(w: ByteWriter, s: TdSeamFields): ByteWriter {
  return w
    .bytes(fixed(s.teeTcbSvn, 16))
    .bytes(fixed(s.mrSeam, 48))
    .bytes(fixed(s.mrSignerSeam, 48))
    .bytes(fixed(s.seamAttributes, 8));
}

/** Writes the TD run; missing RTMRs are written as zeros. */
export function writeTdMeasurementFields(w: ByteWriter, m: TdMeasurementInit): ByteWriter {
  w.bytes(fixed(m.tdAttributes, 8))
    .bytes(fixed(m.xfam, 8))
    .bytes(fixed(m.mrTd, 48))
    .bytes(fixed(m.mrConfigId, 48))
    .bytes(fixed(m.mrOwner, 48))
    .bytes(fixed(m.mrOwnerConfig, 48));
  for (let i = 0; i < 4; i++) w.bytes(fixed(m.rtmr[i] ?? new Uint8Array(48), 48));
  return w;
}
