/**
 * EAR signing and verification keys: loading (PEM, JWK, JWKS, certificates), the JWS algorithm
 * a key signs with, the RFC 7638 thumbprint used as `kid`, key generation and JWKS export.
 *
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { MrstackError, UsageError } from '../../errors.js';
import { parseStrictJson } from '../../formats/json/json_strict.js';
import { parseCertificates, type Certificate } from '../verify/x509/certificate.js';

/** The algorithms mrstack signs EARs with (ES256 is the default). */
export type EarSignAlg = 'ES256' | 'ES384' | 'PS256' | 'EdDSA';

/** Every signing algorithm, default first. */
export const EAR_SIGN_ALGS: readonly EarSignAlg[] = Object.freeze([
  'ES256',
  'ES384',
  'PS256',
  'EdDSA',
]);

/**
 * Asymmetric algorithms accepted when verifying: the signing set plus the other ECDSA and RSA
 * ones deployed verifiers emit. `none` and HMAC (`HS*`) are never accepted — an HMAC "signature"
 * checked with a public key is the classic algorithm-confusion forgery.
 */
export const EAR_VERIFY_ALGS: readonly string[] = Object.freeze([
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
]);

/** A public key that may verify EARs, with its JWK form and RFC 7638 thumbprint. */
export interface EarPublicKey {
  readonly key: KeyObject;
  /** Public JWK members only (kty, crv, x, y / n, e). */
  readonly jwk: JsonWebKey;
  /** RFC 7638 SHA-256 thumbprint (base64url): the `kid` mrstack writes. */
  readonly thumbprint: string;
  /** The `kid` the key was published under (a JWKS entry), if any. */
  readonly kid?: string;
  /** The `alg` the key was published for, if any. */
  readonly alg?: string;
  /** The certificate (DER) the key came from, if it came from one. */
  readonly certificate?: Uint8Array;
}

/** A private key that signs EARs. */
export interface EarSigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: EarPublicKey;
  readonly alg: EarSignAlg;
}

function keyError(message: string, cause?: unknown): MrstackError {
  return new MrstackError('ERR_BAD_VALUE', message, cause === undefined ? {} : { cause });
}

/** The public members of a JWK, as RFC 7638 and JWKS export use them. */
function publicMembers(jwk: JsonWebKey): JsonWebKey {
  const k = jwk.kty;
  if (k === 'EC') return { kty: 'EC', crv: jwk.crv!, x: jwk.x!, y: jwk.y! };
  if (k === 'RSA') return { kty: 'RSA', n: jwk.n!, e: jwk.e! };
  if (k === 'OKP') return { kty: 'OKP', crv: jwk.crv!, x: jwk.x! };
  throw keyError(`key type ${String(k)} cannot sign EARs (EC, RSA or OKP expected)`);
}

/** Wraps a public KeyObject with its JWK and thumbprint. */
export async function publicKeyInfo(
  key: KeyObject,
  extra: { kid?: string; alg?: string; certificate?: Uint8Array } = {},
): Promise<EarPublicKey> {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicMembers(pub.export({ format: 'jwk' }));
  const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  return Object.freeze({
    key: pub,
    jwk,
    thumbprint,
    ...(extra.kid === undefined ? {} : { kid: extra.kid }),
    ...(extra.alg === undefined ? {} : { alg: extra.alg }),
    ...(extra.certificate === undefined ? {} : { certificate: extra.certificate }),
  });
}

/** The JWS algorithm a key signs with by default: P-256 ES256, P-384 ES384, RSA PS256, Ed25519 EdDSA. */
export function signAlgFor(key: KeyObject): EarSignAlg {
  const t = key.asymmetricKeyType;
  if (t === 'ec') {
    const c = key.asymmetricKeyDetails?.namedCurve;
    if (c === 'prime256v1') return 'ES256';
    if (c === 'secp384r1') return 'ES384';
    throw keyError(`EC curve ${String(c)} is not one mrstack signs EARs with (P-256, P-384)`);
  }
  if (t === 'rsa' || t === 'rsa-pss') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
      throw keyError('RSA keys for EARs must have at least 2048 bits');
    return 'PS256';
  }
  if (t === 'ed25519') return 'EdDSA';
  throw keyError(`key type ${String(t)} cannot sign EARs (P-256, P-384, RSA or Ed25519 expected)`);
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const looksJson = (s: string): boolean => s.trimStart().startsWith('{');

/**
 * Loads an EAR signing key: PEM (PKCS#8, SEC1 `EC PRIVATE KEY`, PKCS#1) or a private JWK.
 * @throws MrstackError `ERR_BAD_VALUE` for anything else, or a key of an unusable type
 */
export async function loadSigningKey(data: Uint8Array, alg?: EarSignAlg): Promise<EarSigningKey> {
  const s = text(data);
  let privateKey: KeyObject;
  try {
    if (looksJson(s)) {
      const jwk = parseStrictJson(s, 'signing key', { format: 'jwk' }).value as JsonWebKey | null;
      if (typeof jwk?.d !== 'string') throw keyError('the JWK has no private part ("d")');
      privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
    } else {
      privateKey = createPrivateKey(Buffer.from(data));
    }
  } catch (e) {
    if (e instanceof MrstackError) throw e;
    throw keyError('the EAR signing key is not a PEM or JWK private key', e);
  }
  const natural = signAlgFor(privateKey);
  if (alg !== undefined && alg !== natural)
    throw new UsageError('ERR_USAGE', `--alg ${alg} does not fit this key (it signs ${natural})`);
  return Object.freeze({ privateKey, publicKey: await publicKeyInfo(privateKey), alg: natural });
}

/**
 * Loads the keys an EAR may be verified with: a PEM public key or certificate(s), a JWK (its
 * public part), or a JWKS (`{"keys":[…]}`).
 * @throws MrstackError `ERR_BAD_VALUE` when nothing usable is found
 */
export async function loadVerificationKeys(data: Uint8Array): Promise<EarPublicKey[]> {
  const s = text(data);
  try {
    if (looksJson(s)) {
      const doc = parseStrictJson(s, 'verification key', { format: 'jwk' }).value as Record<
        string,
        unknown
      >;
      const entries = Array.isArray(doc['keys']) ? (doc['keys'] as unknown[]) : [doc];
      const out: EarPublicKey[] = [];
      for (const e of entries) {
        const jwk = e as JsonWebKey & { kid?: unknown; alg?: unknown; use?: unknown };
        if (jwk.kty === 'oct') throw keyError('a symmetric (oct) JWK cannot verify EARs');
        if (jwk.use !== undefined && jwk.use !== 'sig') continue;
        const pubJwk = publicMembers(jwk);
        out.push(
          await publicKeyInfo(createPublicKey({ key: pubJwk, format: 'jwk' }), {
            ...(typeof jwk.kid === 'string' ? { kid: jwk.kid } : {}),
            ...(typeof jwk.alg === 'string' ? { alg: jwk.alg } : {}),
          }),
        );
      }
      if (out.length === 0) throw keyError('the JWK set holds no signature key');
      return out;
    }
    if (s.includes('-----BEGIN CERTIFICATE-----')) {
      // The X.509 core's reader: the key is pinned as given, no chain is built here.
      let certs: Certificate[];
      try {
        certs = parseCertificates(data, 'verification_key');
      } catch (e) {
        throw keyError('the EAR verification certificate does not parse', e);
      }
      return await Promise.all(
        certs.map((c) => publicKeyInfo(c.publicKey, { certificate: c.der })),
      );
    }
    return [await publicKeyInfo(createPublicKey(Buffer.from(data)))];
  } catch (e) {
    if (e instanceof MrstackError) throw e;
    throw keyError('the EAR verification key is not a PEM key or certificate, a JWK or a JWKS', e);
  }
}

/** Generates a fresh EAR signing key for `alg` (ES256: P-256; ES384: P-384; PS256: RSA-3072; EdDSA: Ed25519). */
export function generateEarKey(alg: EarSignAlg = 'ES256'): KeyObject {
  switch (alg) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'ES384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    case 'PS256':
      return generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey;
    case 'EdDSA':
      return generateKeyPairSync('ed25519').privateKey;
  }
}

/** One JWKS entry: the public JWK, `kid` (RFC 7638 thumbprint unless published otherwise), `alg`, `use`, `x5c`. */
export interface EarJwk extends JsonWebKey {
  readonly kid: string;
  readonly alg: string;
  readonly use: 'sig';
  readonly x5c?: readonly string[];
}

/**
 * The JWKS a relying party fetches to verify EARs (`/.well-known/jwks.json`): each key's public
 * members with `kid` = its RFC 7638 thumbprint, `alg`, `use: "sig"`, and `x5c` (standard base64
 * DER, leaf first) when a certificate chain is given for it.
 */
export function jwksOf(
  keys: readonly {
    readonly publicKey: EarPublicKey;
    readonly alg: string;
    readonly chain?: readonly Uint8Array[];
  }[],
): { keys: EarJwk[] } {
  return {
    keys: keys.map((k) => ({
      ...k.publicKey.jwk,
      kid: k.publicKey.thumbprint,
      alg: k.alg,
      use: 'sig' as const,
      ...(k.chain === undefined || k.chain.length === 0
        ? {}
        : { x5c: k.chain.map((c) => Buffer.from(c).toString('base64')) }),
    })),
  };
}
