/**
 * The signature algorithms the X.509 core accepts (an allowlist), read from an
 * AlgorithmIdentifier, and the one function that checks a signature with them (node:crypto).
 *
 * | name | OID | parameters |
 * |---|---|---|
 * | ecdsa-sha256/384/512 | 1.2.840.10045.4.3.2/3/4 | absent (RFC 5758 §3.2) |
 * | rsa-sha256/384/512 | 1.2.840.113549.1.1.11/12/13 | NULL or absent |
 * | rsa-pss-sha256/384/512 | 1.2.840.113549.1.1.10 | hash = MGF1 hash, salt = hash length, trailer 1 (RFC 4055) |
 *
 * Anything else (SHA-1, MD5, DSA, a PSS with mismatched hashes …) is `ERR_UNKNOWN_ALGORITHM`.
 *
 * @module
 */
import { constants, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { ParseError } from '../../../errors.js';
import {
  childrenOf,
  hasTag,
  oidOf,
  smallIntOf,
  type DerNode,
} from '../../../formats/x509/der_decode.js';

/** A hash the allowlist uses. */
export type SigHash = 'sha256' | 'sha384' | 'sha512';

/** An allowed signature algorithm. */
export type SignatureAlgorithmName =
  | 'ecdsa-sha256'
  | 'ecdsa-sha384'
  | 'ecdsa-sha512'
  | 'rsa-sha256'
  | 'rsa-sha384'
  | 'rsa-sha512'
  | 'rsa-pss-sha256'
  | 'rsa-pss-sha384'
  | 'rsa-pss-sha512';

/** A signature algorithm as read from an AlgorithmIdentifier. */
export interface SignatureAlgorithm {
  readonly name: SignatureAlgorithmName;
  readonly hash: SigHash;
}

const ECDSA: Readonly<Record<string, SigHash>> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const RSA: Readonly<Record<string, SigHash>> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const HASHES: Readonly<Record<string, SigHash>> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const HASH_LEN: Readonly<Record<SigHash, number>> = { sha256: 32, sha384: 48, sha512: 64 };
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const MGF1 = '1.2.840.113549.1.1.8';

function unknown(field: string, actual: string): ParseError {
  return new ParseError({
    code: 'ERR_UNKNOWN_ALGORITHM',
    format: 'x509',
    offset: 0,
    field,
    expected: 'ECDSA, RSA PKCS#1 v1.5 or RSASSA-PSS with SHA-256/384/512',
    actual,
  });
}

/** A hash AlgorithmIdentifier (parameters NULL or absent). */
function hashOf(n: DerNode | undefined, field: string): SigHash {
  if (n === undefined) throw unknown(field, 'no hash (SHA-1 default)');
  const [id, params] = childrenOf(n, field);
  const h = HASHES[oidOf(id, field)];
  if (h === undefined || (params !== undefined && !hasTag(params, 5)))
    throw unknown(field, oidOf(id, field));
  return h;
}

/** RSASSA-PSS-params (RFC 4055 §3.1) that name one hash throughout and its length as salt. */
function pssHash(params: DerNode | undefined, field: string): SigHash {
  if (params === undefined) throw unknown(field, 'RSASSA-PSS without parameters (SHA-1)');
  let hash: SigHash | undefined;
  let mgfHash: SigHash | undefined;
  let salt = 20;
  let trailer = 1;
  for (const p of childrenOf(params, field)) {
    const inner = childrenOf(p, field)[0];
    if (hasTag(p, 0, 3)) hash = hashOf(inner, `${field}.hashAlgorithm`);
    else if (hasTag(p, 1, 3)) {
      const [mgf, mgfParams] = childrenOf(inner!, `${field}.maskGenAlgorithm`);
      if (oidOf(mgf, `${field}.maskGenAlgorithm`) !== MGF1)
        throw unknown(`${field}.maskGenAlgorithm`, 'not MGF1');
      mgfHash = hashOf(mgfParams, `${field}.maskGenAlgorithm.hash`);
    } else if (hasTag(p, 2, 3)) salt = smallIntOf(inner, `${field}.saltLength`);
    else if (hasTag(p, 3, 3)) trailer = smallIntOf(inner, `${field}.trailerField`);
  }
  if (hash === undefined || mgfHash !== hash || salt !== HASH_LEN[hash] || trailer !== 1) {
    throw unknown(
      field,
      `RSASSA-PSS hash ${hash ?? 'sha1'} mgf1 ${mgfHash ?? 'sha1'} salt ${salt} trailer ${trailer}`,
    );
  }
  return hash;
}

/**
 * Reads a signature AlgorithmIdentifier against the allowlist.
 * @throws ParseError `ERR_UNKNOWN_ALGORITHM` for anything not on it
 */
export function signatureAlgorithmOf(n: DerNode | undefined, field: string): SignatureAlgorithm {
  if (n === undefined) throw unknown(field, 'absent');
  const [id, params] = childrenOf(n, field);
  const oid = oidOf(id, field);
  const e = ECDSA[oid];
  if (e !== undefined) {
    if (params !== undefined) throw unknown(field, `${oid} with parameters`);
    return { name: `ecdsa-${e}`, hash: e };
  }
  const r = RSA[oid];
  if (r !== undefined) {
    if (params !== undefined && !hasTag(params, 5)) throw unknown(field, `${oid} with parameters`);
    return { name: `rsa-${r}`, hash: r };
  }
  if (oid === RSASSA_PSS) {
    const h = pssHash(params, field);
    return { name: `rsa-pss-${h}`, hash: h };
  }
  throw unknown(field, oid);
}

/**
 * Checks a signature (DER-encoded for ECDSA, as X.509 carries it) over `data` with `key`; a key
 * of the wrong type for the algorithm does not verify.
 */
export function verifySignature(
  alg: SignatureAlgorithm,
  data: Uint8Array,
  signature: Uint8Array,
  key: KeyObject,
): boolean {
  const type = key.asymmetricKeyType;
  try {
    if (alg.name.startsWith('ecdsa-')) {
      return type === 'ec' && nodeVerify(alg.hash, data, key, signature);
    }
    if (type !== 'rsa' && type !== 'rsa-pss') return false;
    if (alg.name.startsWith('rsa-pss-')) {
      return nodeVerify(
        alg.hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_LEN[alg.hash] },
        signature,
      );
    }
    return nodeVerify(alg.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
}
