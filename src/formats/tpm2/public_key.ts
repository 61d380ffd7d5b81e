/**
 * Between TPM public areas and ordinary public keys: TPMT_PUBLIC → node:crypto KeyObject (PEM,
 * JWK), PEM/JWK → KeyObject, and an object's name (nameAlg ‖ H(TPMT_PUBLIC)).
 *
 * @module
 */
import { createPublicKey, type KeyObject, type JsonWebKey } from 'node:crypto';
import { ParseError } from '../../errors.js';
import { hash } from '../../crypto/hash.js';
import { hashAlgFromId } from '../../crypto/hash_alg.js';
import { ByteWriter } from '../../bytes/writer.js';
import { TPM_ECC } from './constants.js';
import { encodePublic, type TpmPublic } from './marshal/public.js';

const CURVES: Readonly<Record<number, { crv: string; size: number }>> = {
  [TPM_ECC.NIST_P256]: { crv: 'P-256', size: 32 },
  [TPM_ECC.NIST_P384]: { crv: 'P-384', size: 48 },
  [TPM_ECC.NIST_P521]: { crv: 'P-521', size: 66 },
};

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

function pad(b: Uint8Array, size: number): Uint8Array {
  if (b.length >= size) return b;
  const out = new Uint8Array(size);
  out.set(b, size - b.length);
  return out;
}

/** The JWK of a TPM public key. @throws ParseError `ERR_UNSUPPORTED_VERSION` for other curves */
export function publicToJwk(p: TpmPublic): JsonWebKey {
  if (p.type === 'rsa') {
    const e = p.exponent === 0 ? 65537 : p.exponent;
    const eb = new ByteWriter(4).u32be(e).finish();
    let i = 0;
    while (i < 3 && eb[i] === 0) i++;
    return { kty: 'RSA', n: b64u(p.modulus), e: b64u(eb.subarray(i)) };
  }
  const c = CURVES[p.curveId];
  if (c === undefined) {
    throw new ParseError({
      code: 'ERR_UNKNOWN_ALGORITHM',
      format: 'tpm2',
      offset: 0,
      field: 'public.parameters.curveID',
      expected: 'NIST P-256, P-384 or P-521',
      actual: `0x${p.curveId.toString(16)}`,
    });
  }
  return { kty: 'EC', crv: c.crv, x: b64u(pad(p.x, c.size)), y: b64u(pad(p.y, c.size)) };
}

/** A node:crypto public key for a TPM public area. */
export function publicToKeyObject(p: TpmPublic): KeyObject {
  return createPublicKey({ key: publicToJwk(p), format: 'jwk' });
}

/** SubjectPublicKeyInfo PEM of a TPM public area (what `tpm2_readpublic -f pem` prints). */
export function publicToPem(p: TpmPublic): string {
  return publicToKeyObject(p).export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * An object's name: nameAlg (u16) ‖ H_nameAlg(TPMT_PUBLIC bytes).
 * @param publicBytes - the TPMT_PUBLIC exactly as marshalled; pass a TpmPublic to marshal it.
 */
export function objectName(pub: TpmPublic | Uint8Array, nameAlgId?: number): Uint8Array {
  const bytes = pub instanceof Uint8Array ? pub : encodePublic(pub);
  const algId =
    nameAlgId ?? (pub instanceof Uint8Array ? (bytes[2]! << 8) | bytes[3]! : pub.nameAlg);
  return nameDigest(algId, bytes, 'public.nameAlg', 2);
}

/** nameAlg (u16) ‖ H_nameAlg(data): the shape of Names and qualified names. */
function nameDigest(algId: number, data: Uint8Array, field: string, offset: number): Uint8Array {
  const alg = hashAlgFromId(algId);
  if (alg === undefined) {
    throw new ParseError({
      code: 'ERR_UNKNOWN_ALGORITHM',
      format: 'tpm2',
      offset,
      field,
      expected: 'a known hash algorithm',
      actual: `0x${algId.toString(16)}`,
    });
  }
  const digest = hash(alg, data);
  return new ByteWriter(2 + digest.length).u16be(algId).bytes(digest).finish();
}

/** The qualified name of a hierarchy (TPM 2.0 Part 1 §16): its handle, 4 bytes big-endian. */
export function hierarchyQualifiedName(handle: number): Uint8Array {
  return new ByteWriter(4).u32be(handle).finish();
}

/**
 * The qualified name of an object (TPM 2.0 Part 1 §16, "Names"): QN = nameAlg ‖
 * H_nameAlg(QN of its parent ‖ its Name), with the object's own name algorithm (the first two
 * bytes of its Name). A primary object's parent QN is its hierarchy's handle
 * ({@link hierarchyQualifiedName}). A quote's `qualifiedSigner` is the signing key's QN.
 * @throws ParseError `ERR_UNKNOWN_ALGORITHM` when the Name's algorithm is not a known hash
 */
export function qualifiedName(parentQualifiedName: Uint8Array, name: Uint8Array): Uint8Array {
  const algId = name.length >= 2 ? (name[0]! << 8) | name[1]! : 0;
  return nameDigest(algId, Buffer.concat([parentQualifiedName, name]), 'name.nameAlg', 0);
}

/**
 * A TPM public area for an ordinary public key, filling `template`'s unique field (the EK
 * template gives the EK's parameters; the key gives the modulus or point).
 */
export function publicFromKeyObject(key: KeyObject, template: TpmPublic): TpmPublic {
  const jwk = key.export({ format: 'jwk' });
  const b = (s: string | undefined): Uint8Array =>
    new Uint8Array(Buffer.from(s ?? '', 'base64url'));
  if (template.type === 'rsa') {
    if (jwk.kty !== 'RSA')
      throw new ParseError({
        code: 'ERR_BAD_VALUE',
        format: 'tpm2',
        offset: 0,
        field: 'key',
        expected: 'an RSA key',
      });
    const n = b(jwk.n);
    return { ...template, keyBits: n.length * 8, modulus: n };
  }
  if (jwk.kty !== 'EC')
    throw new ParseError({
      code: 'ERR_BAD_VALUE',
      format: 'tpm2',
      offset: 0,
      field: 'key',
      expected: 'an EC key',
    });
  return { ...template, x: b(jwk.x), y: b(jwk.y) };
}
