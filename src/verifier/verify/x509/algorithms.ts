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
 * The AlgorithmIdentifier and the RSASSA-PSS parameters are decoded by pkijs; the allowlist is
 * ours.
 *
 * @module
 */
import { constants, verify as nodeVerify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ParseError } from '../../../errors.js';

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

/** Parameters absent, or NULL (RFC 4055 §2.1 allows both for the hashes and PKCS#1 v1.5). */
function absentOrNull(params: unknown): boolean {
  return params === undefined || params instanceof asn1js.Null;
}

/** A hash AlgorithmIdentifier (parameters NULL or absent). */
function hashOf(id: pkijs.AlgorithmIdentifier, field: string): SigHash {
  const h = HASHES[id.algorithmId];
  if (h === undefined || !absentOrNull(id.algorithmParams)) throw unknown(field, id.algorithmId);
  return h;
}

/**
 * RSASSA-PSS-params (RFC 4055 §3.1), read by pkijs, that name one hash throughout and its length
 * as salt. pkijs fills absent fields with RFC 4055's defaults (SHA-1, salt 20), which the hash
 * allowlist then refuses.
 */
function pssHash(params: unknown, field: string): SigHash {
  if (params === undefined) throw unknown(field, 'RSASSA-PSS without parameters (SHA-1)');
  let p: pkijs.RSASSAPSSParams;
  let mgfHashId: pkijs.AlgorithmIdentifier;
  try {
    p = new pkijs.RSASSAPSSParams({ schema: params });
    if (p.maskGenAlgorithm.algorithmId !== MGF1)
      throw unknown(`${field}.maskGenAlgorithm`, 'not MGF1');
    mgfHashId =
      p.maskGenAlgorithm.algorithmParams === undefined
        ? new pkijs.AlgorithmIdentifier({ algorithmId: '1.3.14.3.2.26' })
        : new pkijs.AlgorithmIdentifier({ schema: p.maskGenAlgorithm.algorithmParams });
  } catch (e) {
    if (e instanceof ParseError) throw e;
    throw unknown(field, 'malformed RSASSA-PSS parameters');
  }
  const hash = hashOf(p.hashAlgorithm, `${field}.hashAlgorithm`);
  const mgfHash = hashOf(mgfHashId, `${field}.maskGenAlgorithm.hash`);
  if (mgfHash !== hash || p.saltLength !== HASH_LEN[hash] || p.trailerField !== 1) {
    throw unknown(
      field,
      `RSASSA-PSS hash ${hash} mgf1 ${mgfHash} salt ${p.saltLength} trailer ${p.trailerField}`,
    );
  }
  return hash;
}

/**
 * Reads a signature AlgorithmIdentifier (as pkijs parsed it) against the allowlist.
 * @throws ParseError `ERR_UNKNOWN_ALGORITHM` for anything not on it
 */
export function signatureAlgorithmOf(
  id: pkijs.AlgorithmIdentifier,
  field: string,
): SignatureAlgorithm {
  const oid = id.algorithmId;
  const params: unknown = id.algorithmParams;
  const e = ECDSA[oid];
  if (e !== undefined) {
    if (params !== undefined) throw unknown(field, `${oid} with parameters`);
    return { name: `ecdsa-${e}`, hash: e };
  }
  const r = RSA[oid];
  if (r !== undefined) {
    if (!absentOrNull(params)) throw unknown(field, `${oid} with parameters`);
    return { name: `rsa-${r}`, hash: r };
  }
  if (oid === RSASSA_PSS) {
    const h = pssHash(params, field);
    return { name: `rsa-pss-${h}`, hash: h };
  }
  throw unknown(field, oid === '' ? 'absent' : oid);
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
