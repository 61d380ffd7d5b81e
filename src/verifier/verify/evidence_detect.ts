/**
 * Recognising a kind of evidence from its bytes: magic numbers, versions and sizes only, so that
 * the front door ({@link ./evidence_dispatch.js}) can pick a kind before it loads that kind's
 * verifier and its dependencies. One exception: a go-tpm-tools attestation is a protobuf
 * message, recognised by decoding it (`gotpm_attestation.ts`, which loads protobufjs) — only
 * bytes that start as one (field 1, length-delimited: `0x0a`) are decoded.
 *
 * @module
 */
import { MrstackError, ParseError } from '../../errors.js';
import { looksLikeHclReport } from '../../formats/azure/hcl_report.js';
import { TDREPORT_SIZE } from '../../formats/tdx/tdreport.js';
import type { EvidenceKind } from './evidence_result.js';

const u32be = (d: Uint8Array, o: number): number =>
  d.length >= o + 4 ? new DataView(d.buffer, d.byteOffset + o, 4).getUint32(0, false) : -1;
const u32le = (d: Uint8Array, o: number): number =>
  d.length >= o + 4 ? new DataView(d.buffer, d.byteOffset + o, 4).getUint32(0, true) : -1;

/**
 * True when the bytes start like a TDX quote: TEE type 0x81 at offset 4 and a small version.
 * (Lenient on purpose: an unsupported version or key type is then reported by the parser with
 * its offset instead of as an unknown format.)
 */
export function looksLikeTdxQuote(d: Uint8Array): boolean {
  if (d.length < 8) return false;
  const v = d[0]! | (d[1]! << 8);
  return v >= 1 && v <= 16 && d[3] === 0 && d[4] === 0x81 && d[5] === 0 && d[6] === 0 && d[7] === 0;
}

/** True when the bytes are an HCL report holding a TDX TDREPORT. */
export function looksLikeHclTdx(d: Uint8Array): boolean {
  if (!looksLikeHclReport(d) || d.length < 0x4cc) return false;
  // runtime.report_type (u32 LE at 0x4C8): 4 = TDX
  return new DataView(d.buffer, d.byteOffset + 0x4c8, 4).getUint32(0, true) === 4;
}

/** SNP: an HCL report, or a 1184-byte report of version 2..5 signed with ECDSA P-384 (1). */
export function looksLikeSnpReport(d: Uint8Array): boolean {
  if (looksLikeHclReport(d)) return true;
  const v = u32le(d, 0);
  return d.length >= 1184 && v >= 2 && v <= 5 && u32le(d, 0x34) === 1;
}

/** TPMS_ATTEST: TPM_GENERATED magic. */
export function looksLikeTpmAttest(d: Uint8Array): boolean {
  return u32be(d, 0) === 0xff544347;
}

/** Bytes a go-tpm-tools attestation may start with (decoded to tell: {@link detectEvidenceKindOf}). */
export function mayBeGoTpmAttestation(d: Uint8Array): boolean {
  return d[0] === 0x0a;
}

/** CCA: CBOR tag 399 (`d9 01 8f`) or 907 (`d9 03 8b`). */
export function looksLikeCca(d: Uint8Array): boolean {
  return d[0] === 0xd9 && ((d[1] === 0x01 && d[2] === 0x8f) || (d[1] === 0x03 && d[2] === 0x8b));
}

/** Bundle: a JSON object. */
export function looksLikeJsonObject(d: Uint8Array): boolean {
  let i = 0;
  while (i < d.length && (d[i] === 0x20 || d[i] === 0x0a || d[i] === 0x0d || d[i] === 0x09)) i++;
  return d[i] === 0x7b;
}

/**
 * The byte-level detection of each kind, in {@link EVIDENCE_KINDS}' order; `tpm` also needs the
 * go-tpm-tools decode for bytes {@link mayBeGoTpmAttestation}, given by the caller.
 */
export function detectEvidenceKindOf(
  data: Uint8Array,
  goTpm: (d: Uint8Array) => boolean,
): EvidenceKind {
  if (looksLikeTdxQuote(data) || looksLikeHclTdx(data)) return 'tdx';
  if (looksLikeSnpReport(data)) return 'snp';
  if (looksLikeTpmAttest(data) || (mayBeGoTpmAttestation(data) && goTpm(data))) return 'tpm';
  if (looksLikeCca(data)) return 'cca';
  if (looksLikeJsonObject(data)) return 'bundle';
  throw unknownEvidence(data);
}

/** Every binary format detection tries, in its order, for the message when none matches. */
const TRIED_FORMATS: readonly string[] = [
  'TDX quote v4/v5 (TEE type 0x81 at offset 4)',
  'SNP report (1184 bytes, version 2-5, signature algorithm 1)',
  'Azure HCL report (SNP, or TDX with its TD quote)',
  'TPM quote (TPMS_ATTEST, TPM_GENERATED)',
  'go-tpm-tools attestation',
  'CCA token (CBOR tag 399/907)',
  'JSON: mrstack report envelope or evidence bundle, trustee TDX/SNP evidence',
  'hex or base64 text of any of these',
];

/** A raw TDREPORT: 1024 bytes whose REPORTTYPE is TDX (0x81). */
export function looksTdReport(d: Uint8Array): boolean {
  return d.length === TDREPORT_SIZE && d[0] === 0x81;
}

/** The error for bytes no kind recognised (a TDREPORT is named as such). */
function unknownEvidence(data: Uint8Array): Error {
  if (looksTdReport(data)) {
    return new MrstackError(
      'ERR_UNSUPPORTED',
      'this is a TDREPORT (TDG.MR.REPORT): it is MACed with a key only the CPU that made it holds, so it cannot be verified elsewhere; ask the quoting service for a TD quote of it (mrstack report --provider linux does), or decode it with mrstack evidence show',
      { details: { format: 'tdreport', size: data.length } },
    );
  }
  return new ParseError({
    code: 'ERR_UNKNOWN_FORMAT',
    format: 'evidence',
    offset: 0,
    field: 'evidence',
    expected: `one of the formats tried: ${TRIED_FORMATS.join('; ')}`,
    actual: `${data.length} bytes starting ${Buffer.from(data.subarray(0, 8)).toString('hex')}`,
  });
}
