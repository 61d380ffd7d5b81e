/**
 * TPMS_ATTEST (Part 2, 10.12.12): what a TPM signs for Quote, Certify and the other attestation
 * commands. Quote and Certify bodies are decoded; other kinds keep their body as bytes.
 *
 * @module
 */
import { ByteReader } from '../../../bytes/reader.js';
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_GENERATED_VALUE, TPM_ST, TPM2_LIMITS } from '../constants.js';
import { readPcrSelectionList, writePcrSelectionList, type PcrSelection } from './pcr_selection.js';
import { readTpm2b, writeTpm2b } from './tpm2b.js';

/** TPMS_CLOCK_INFO. */
export interface ClockInfo {
  readonly clock: bigint;
  readonly resetCount: number;
  readonly restartCount: number;
  readonly safe: boolean;
}

/** The attested body, by TPMI_ST_ATTEST. */
export type Attested =
  | {
      readonly kind: 'quote';
      readonly pcrSelect: readonly PcrSelection[];
      readonly pcrDigest: Uint8Array;
    }
  | { readonly kind: 'certify'; readonly name: Uint8Array; readonly qualifiedName: Uint8Array }
  | { readonly kind: 'other'; readonly body: Uint8Array };

/** A TPMS_ATTEST. */
export interface TpmsAttest {
  /** TPM_GENERATED_VALUE for anything the TPM produced. */
  readonly magic: number;
  /** TPMI_ST_ATTEST (`TPM_ST.ATTEST_QUOTE` …). */
  readonly type: number;
  readonly qualifiedSigner: Uint8Array;
  /** The caller's qualifying data (the nonce). */
  readonly extraData: Uint8Array;
  readonly clockInfo: ClockInfo;
  readonly firmwareVersion: bigint;
  readonly attested: Attested;
}

/**
 * Reads a TPMS_ATTEST. The magic must be TPM_GENERATED_VALUE (a structure not made by a TPM
 * must never verify as one).
 * @throws ParseError `ERR_BAD_MAGIC`, `ERR_TRUNCATED`, `ERR_LENGTH_LIMIT`
 */
export function readAttest(r: ByteReader, field: string): TpmsAttest {
  const at = r.offset;
  const magic = r.u32be(`${field}.magic`);
  if (magic !== TPM_GENERATED_VALUE) {
    throw r.errorAt(at, 'ERR_BAD_MAGIC', `${field}.magic`, {
      expected: '0xff544347 (TPM_GENERATED_VALUE)',
      actual: `0x${magic.toString(16).padStart(8, '0')}`,
    });
  }
  const type = r.u16be(`${field}.type`);
  const qualifiedSigner = readTpm2b(r, `${field}.qualifiedSigner`, TPM2_LIMITS.maxName);
  const extraData = readTpm2b(r, `${field}.extraData`, TPM2_LIMITS.maxData);
  const clock = r.u64be(`${field}.clockInfo.clock`);
  const resetCount = r.u32be(`${field}.clockInfo.resetCount`);
  const restartCount = r.u32be(`${field}.clockInfo.restartCount`);
  const safe = r.u8(`${field}.clockInfo.safe`) !== 0;
  const firmwareVersion = r.u64be(`${field}.firmwareVersion`);
  let attested: Attested;
  if (type === TPM_ST.ATTEST_QUOTE) {
    const pcrSelect = readPcrSelectionList(r, `${field}.attested.quote.pcrSelect`);
    const pcrDigest = readTpm2b(r, `${field}.attested.quote.pcrDigest`, TPM2_LIMITS.maxDigest);
    attested = { kind: 'quote', pcrSelect, pcrDigest };
  } else if (type === TPM_ST.ATTEST_CERTIFY) {
    const name = readTpm2b(r, `${field}.attested.certify.name`, TPM2_LIMITS.maxName);
    const qualifiedName = readTpm2b(
      r,
      `${field}.attested.certify.qualifiedName`,
      TPM2_LIMITS.maxName,
    );
    attested = { kind: 'certify', name, qualifiedName };
  } else {
    attested = { kind: 'other', body: new Uint8Array(r.rest()) };
  }
  return {
    magic,
    type,
    qualifiedSigner,
    extraData,
    clockInfo: { clock, resetCount, restartCount, safe },
    firmwareVersion,
    attested,
  };
}

/** Writes a TPMS_ATTEST. */
export function writeAttest(w: ByteWriter, a: TpmsAttest): void {
  w.u32be(a.magic).u16be(a.type);
  writeTpm2b(w, a.qualifiedSigner, TPM2_LIMITS.maxName);
  writeTpm2b(w, a.extraData, TPM2_LIMITS.maxData);
  w.u64be(a.clockInfo.clock)
    .u32be(a.clockInfo.resetCount)
    .u32be(a.clockInfo.restartCount)
    .u8(a.clockInfo.safe ? 1 : 0)
    .u64be(a.firmwareVersion);
  const t = a.attested;
  if (t.kind === 'quote') {
    writePcrSelectionList(w, t.pcrSelect);
    writeTpm2b(w, t.pcrDigest, TPM2_LIMITS.maxDigest);
  } else if (t.kind === 'certify') {
    writeTpm2b(w, t.name, TPM2_LIMITS.maxName);
    writeTpm2b(w, t.qualifiedName, TPM2_LIMITS.maxName);
  } else {
    w.bytes(t.body);
  }
}

/** A TPMS_ATTEST as bytes. */
export function encodeAttest(a: TpmsAttest): Uint8Array {
  const w = new ByteWriter(160);
  writeAttest(w, a);
  return w.finish();
}

/**
 * Parses a whole TPMS_ATTEST blob (as `tpm2_quote -m` writes it); trailing bytes are an error.
 * @param origin - absolute offset of the blob in a larger input.
 */
export function parseAttest(bytes: Uint8Array, origin = 0): TpmsAttest {
  const r = new ByteReader(bytes, { format: 'tpm2', origin });
  const a = readAttest(r, 'attest');
  r.expectEnd('attest');
  return a;
}
