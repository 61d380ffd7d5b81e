/**
 * TPMT_SIGNATURE (Part 2, 11.3.4): RSASSA and RSAPSS (hash + TPM2B signature), ECDSA and the
 * other ECC schemes (hash + r + s), HMAC (a TPMT_HA), NULL.
 *
 * @module
 */
import { ByteReader } from '../../../bytes/reader.js';
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_ALG, TPM2_LIMITS } from '../constants.js';
import { readTaggedDigest, writeTaggedDigest } from './digests.js';
import { readTpm2b, writeTpm2b } from './tpm2b.js';

/** A TPMT_SIGNATURE mrstack can read. */
export type TpmtSignature =
  | {
      readonly kind: 'rsa';
      /** TPM_ALG_RSASSA or TPM_ALG_RSAPSS. */
      readonly sigAlg: number;
      readonly hashAlg: number;
      readonly sig: Uint8Array;
    }
  | {
      readonly kind: 'ecc';
      /** TPM_ALG_ECDSA, ECDAA, SM2 or ECSCHNORR. */
      readonly sigAlg: number;
      readonly hashAlg: number;
      readonly r: Uint8Array;
      readonly s: Uint8Array;
    }
  | { readonly kind: 'hmac'; readonly hashAlg: number; readonly digest: Uint8Array }
  | { readonly kind: 'null' };

const ECC_SCHEMES: ReadonlySet<number> = new Set([
  TPM_ALG.ECDSA,
  TPM_ALG.ECDAA,
  TPM_ALG.SM2,
  TPM_ALG.ECSCHNORR,
]);

/**
 * Reads a TPMT_SIGNATURE.
 * @throws ParseError `ERR_UNKNOWN_ALGORITHM` for a signature algorithm not listed above
 */
export function readSignature(r: ByteReader, field: string): TpmtSignature {
  const at = r.offset;
  const sigAlg = r.u16be(`${field}.sigAlg`);
  if (sigAlg === TPM_ALG.NULL) return { kind: 'null' };
  if (sigAlg === TPM_ALG.RSASSA || sigAlg === TPM_ALG.RSAPSS) {
    const hashAlg = r.u16be(`${field}.signature.hash`);
    const sig = readTpm2b(r, `${field}.signature.sig`, TPM2_LIMITS.maxRsaKeyBytes);
    return { kind: 'rsa', sigAlg, hashAlg, sig };
  }
  if (ECC_SCHEMES.has(sigAlg)) {
    const hashAlg = r.u16be(`${field}.signature.hash`);
    const sr = readTpm2b(r, `${field}.signature.signatureR`, TPM2_LIMITS.maxEccKeyBytes);
    const ss = readTpm2b(r, `${field}.signature.signatureS`, TPM2_LIMITS.maxEccKeyBytes);
    return { kind: 'ecc', sigAlg, hashAlg, r: sr, s: ss };
  }
  if (sigAlg === TPM_ALG.HMAC) {
    const d = readTaggedDigest(r, `${field}.signature.hmac`);
    return { kind: 'hmac', hashAlg: d.hashAlg, digest: d.digest };
  }
  throw r.errorAt(at, 'ERR_UNKNOWN_ALGORITHM', `${field}.sigAlg`, {
    expected: 'RSASSA, RSAPSS, ECDSA, ECDAA, SM2, ECSCHNORR, HMAC or NULL',
    actual: `0x${sigAlg.toString(16).padStart(4, '0')}`,
  });
}

/** Writes a TPMT_SIGNATURE. */
export function writeSignature(w: ByteWriter, s: TpmtSignature): void {
  switch (s.kind) {
    case 'null':
      w.u16be(TPM_ALG.NULL);
      return;
    case 'rsa':
      w.u16be(s.sigAlg).u16be(s.hashAlg);
      writeTpm2b(w, s.sig, TPM2_LIMITS.maxRsaKeyBytes);
      return;
    case 'ecc':
      w.u16be(s.sigAlg).u16be(s.hashAlg);
      writeTpm2b(w, s.r, TPM2_LIMITS.maxEccKeyBytes);
      writeTpm2b(w, s.s, TPM2_LIMITS.maxEccKeyBytes);
      return;
    case 'hmac':
      w.u16be(TPM_ALG.HMAC);
      writeTaggedDigest(w, { hashAlg: s.hashAlg, digest: s.digest });
      return;
  }
}

/** A TPMT_SIGNATURE as bytes. */
export function encodeSignature(s: TpmtSignature): Uint8Array {
  const w = new ByteWriter(300);
  writeSignature(w, s);
  return w.finish();
}

/** Parses a whole TPMT_SIGNATURE blob (as `tpm2_quote -s` writes it). */
export function parseSignature(bytes: Uint8Array, origin = 0): TpmtSignature {
  const r = new ByteReader(bytes, { format: 'tpm2', origin });
  const s = readSignature(r, 'signature');
  r.expectEnd('signature');
  return s;
}
