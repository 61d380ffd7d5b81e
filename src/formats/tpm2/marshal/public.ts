/**
 * TPMT_PUBLIC for RSA and ECC keys (Part 2, 12.2.4), with TPMT_SYM_DEF_OBJECT, the RSA/ECC
 * schemes, TPMT_KDF_SCHEME and the unique field, and TPM2B_PUBLIC around it.
 *
 * @module
 */
import { ByteReader } from '../../../bytes/reader.js';
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_ALG, TPM2_LIMITS } from '../constants.js';
import { readTpm2b, readTpm2bReader, writeTpm2b, writeTpm2bOf } from './tpm2b.js';

/** TPMT_SYM_DEF_OBJECT: `algorithm` TPM_ALG_NULL has no key size or mode. */
export interface SymDef {
  readonly algorithm: number;
  readonly keyBits?: number;
  readonly mode?: number;
}

/** A signing or decryption scheme (TPMT_RSA_SCHEME, TPMT_ECC_SCHEME, TPMT_KDF_SCHEME). */
export interface Scheme {
  /** TPM_ALG_ID of the scheme; TPM_ALG_NULL for none. */
  readonly scheme: number;
  /** Hash of the scheme (absent for TPM_ALG_NULL and RSAES). */
  readonly hashAlg?: number;
  /** ECDAA's count. */
  readonly count?: number;
}

interface PublicCommon {
  /** TPM_ALG_ID of the name algorithm. */
  readonly nameAlg: number;
  /** TPMA_OBJECT bits. */
  readonly objectAttributes: number;
  readonly authPolicy: Uint8Array;
  readonly symmetric: SymDef;
  readonly scheme: Scheme;
}

/** An RSA TPMT_PUBLIC. */
export interface RsaPublic extends PublicCommon {
  readonly type: 'rsa';
  readonly keyBits: number;
  /** The exponent as stored: 0 means 65537. */
  readonly exponent: number;
  /** unique: the modulus (or the template's unique bytes). */
  readonly modulus: Uint8Array;
}

/** An ECC TPMT_PUBLIC. */
export interface EccPublic extends PublicCommon {
  readonly type: 'ecc';
  /** TPM_ECC_CURVE. */
  readonly curveId: number;
  readonly kdf: Scheme;
  readonly x: Uint8Array;
  readonly y: Uint8Array;
}

/** A TPMT_PUBLIC mrstack can read: RSA or ECC. */
export type TpmPublic = RsaPublic | EccPublic;

function readSymDef(r: ByteReader, field: string): SymDef {
  const algorithm = r.u16be(`${field}.algorithm`);
  if (algorithm === TPM_ALG.NULL) return { algorithm };
  const keyBits = r.u16be(`${field}.keyBits`);
  const mode = r.u16be(`${field}.mode`);
  return { algorithm, keyBits, mode };
}

function writeSymDef(w: ByteWriter, s: SymDef): void {
  w.u16be(s.algorithm);
  if (s.algorithm === TPM_ALG.NULL) return;
  w.u16be(s.keyBits ?? 128).u16be(s.mode ?? TPM_ALG.CFB);
}

function readScheme(r: ByteReader, field: string): Scheme {
  const scheme = r.u16be(`${field}.scheme`);
  if (scheme === TPM_ALG.NULL || scheme === TPM_ALG.RSAES) return { scheme };
  const hashAlg = r.u16be(`${field}.details.hashAlg`);
  if (scheme === TPM_ALG.ECDAA)
    return { scheme, hashAlg, count: r.u16be(`${field}.details.count`) };
  return { scheme, hashAlg };
}

function writeScheme(w: ByteWriter, s: Scheme): void {
  w.u16be(s.scheme);
  if (s.scheme === TPM_ALG.NULL || s.scheme === TPM_ALG.RSAES) return;
  w.u16be(s.hashAlg ?? TPM_ALG.SHA256);
  if (s.scheme === TPM_ALG.ECDAA) w.u16be(s.count ?? 0);
}

/**
 * Reads a TPMT_PUBLIC of type RSA or ECC.
 * @throws ParseError `ERR_BAD_VALUE` for other key types, `ERR_TRUNCATED`, `ERR_LENGTH_LIMIT`
 */
export function readPublic(r: ByteReader, field: string): TpmPublic {
  const at = r.offset;
  const type = r.u16be(`${field}.type`);
  if (type !== TPM_ALG.RSA && type !== TPM_ALG.ECC) {
    throw r.errorAt(at, 'ERR_BAD_VALUE', `${field}.type`, {
      expected: 'TPM_ALG_RSA (0x0001) or TPM_ALG_ECC (0x0023)',
      actual: `0x${type.toString(16).padStart(4, '0')}`,
    });
  }
  const nameAlg = r.u16be(`${field}.nameAlg`);
  const objectAttributes = r.u32be(`${field}.objectAttributes`);
  const authPolicy = readTpm2b(r, `${field}.authPolicy`, TPM2_LIMITS.maxDigest);
  const symmetric = readSymDef(r, `${field}.parameters.symmetric`);
  const scheme = readScheme(r, `${field}.parameters.scheme`);
  if (type === TPM_ALG.RSA) {
    const keyBits = r.u16be(`${field}.parameters.keyBits`);
    const exponent = r.u32be(`${field}.parameters.exponent`);
    const modulus = readTpm2b(r, `${field}.unique.rsa`, TPM2_LIMITS.maxRsaKeyBytes);
    return {
      type: 'rsa',
      nameAlg,
      objectAttributes,
      authPolicy,
      symmetric,
      scheme,
      keyBits,
      exponent,
      modulus,
    };
  }
  const curveId = r.u16be(`${field}.parameters.curveID`);
  const kdf = readScheme(r, `${field}.parameters.kdf`);
  const x = readTpm2b(r, `${field}.unique.ecc.x`, TPM2_LIMITS.maxEccKeyBytes);
  const y = readTpm2b(r, `${field}.unique.ecc.y`, TPM2_LIMITS.maxEccKeyBytes);
  return {
    type: 'ecc',
    nameAlg,
    objectAttributes,
    authPolicy,
    symmetric,
    scheme,
    curveId,
    kdf,
    x,
    y,
  };
}

/** Writes a TPMT_PUBLIC. */
export function writePublic(w: ByteWriter, p: TpmPublic): void {
  w.u16be(p.type === 'rsa' ? TPM_ALG.RSA : TPM_ALG.ECC)
    .u16be(p.nameAlg)
    .u32be(p.objectAttributes >>> 0);
  writeTpm2b(w, p.authPolicy, TPM2_LIMITS.maxDigest);
  writeSymDef(w, p.symmetric);
  writeScheme(w, p.scheme);
  if (p.type === 'rsa') {
    w.u16be(p.keyBits).u32be(p.exponent);
    writeTpm2b(w, p.modulus, TPM2_LIMITS.maxRsaKeyBytes);
  } else {
    w.u16be(p.curveId);
    writeScheme(w, p.kdf);
    writeTpm2b(w, p.x, TPM2_LIMITS.maxEccKeyBytes);
    writeTpm2b(w, p.y, TPM2_LIMITS.maxEccKeyBytes);
  }
}

/** A TPMT_PUBLIC as bytes (what an object's name hashes). */
export function encodePublic(p: TpmPublic): Uint8Array {
  const w = new ByteWriter(360);
  writePublic(w, p);
  return w.finish();
}

/** A public area as read from a TPM2B_PUBLIC, with the exact bytes it was read from. */
export interface PublicArea {
  readonly public: TpmPublic;
  /** The TPMT_PUBLIC bytes exactly as the TPM sent them (the name is their hash). */
  readonly bytes: Uint8Array;
}

/** Reads a TPM2B_PUBLIC; the body must be exactly one TPMT_PUBLIC. */
export function readPublic2b(r: ByteReader, field: string): PublicArea {
  const body = readTpm2bReader(r, field, TPM2_LIMITS.maxPublic);
  const bytes = new Uint8Array(body.peek(body.remaining));
  const pub = readPublic(body, `${field}.publicArea`);
  body.expectEnd(`${field}.publicArea`);
  return { public: pub, bytes };
}

/**
 * A public area given as a file's bytes: the bare TPMT_PUBLIC, or a TPM2B_PUBLIC around it (what
 * `tpm2_createek -u` and `tpm2_createak -u` write). The exact TPMT_PUBLIC bytes are kept, since
 * a name hashes them.
 * @throws ParseError (`tpm2`) for anything else, or trailing bytes
 */
export function readPublicArea(bytes: Uint8Array, field: string): PublicArea {
  const sized = bytes.length >= 2 && ((bytes[0]! << 8) | bytes[1]!) === bytes.length - 2 ? 2 : 0;
  const body = bytes.subarray(sized);
  const r = new ByteReader(body, { format: 'tpm2', origin: sized });
  const pub = readPublic(r, field);
  r.expectEnd(field);
  return { public: pub, bytes: body.slice() };
}

/** Writes a TPM2B_PUBLIC. */
export function writePublic2b(w: ByteWriter, p: TpmPublic): void {
  writeTpm2bOf(w, (inner) => writePublic(inner, p));
}
