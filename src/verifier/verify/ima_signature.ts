/**
 * IMA file signatures (`ima-sig` templates) checked as `evmctl ima_measurement --verify-sig`
 * does: the signature v2 header (`03 02 <hash_algo> <keyid:4> <sig_size:2 BE> <sig>`) names the
 * key by its 4-byte key id and the hash algorithm; the signature is over the file digest the entry
 * logs (PKCS#1 v1.5 for RSA: DigestInfo ‖ digest after the public-key operation; ECDSA on the NIST
 * curves: a DER (r, s) over the digest itself, as the kernel and evmctl's EVP_PKEY_verify check
 * it). A key id that no given key has is a failure ("unknown keyid"), as in evmctl: no other key
 * is tried.
 *
 * @module
 */
import { constants, createHash, createPublicKey, publicDecrypt, type KeyObject } from 'node:crypto';
import { toHex } from '../../bytes/hex.js';
import type { AnyIterable, LogEvent } from '../../eventlog/event.js';
import type { ImaEvent } from '../../eventlog/ima_format.js';
import { imaFileFields } from '../../formats/ima/ima_file_fields.js';
import { childrenOf, contentsOf, parseDer } from '../../formats/x509/der_decode.js';
import { parseCertificates } from './x509/certificate.js';

/** A key that may have signed IMA entries, with the key id signature headers name it by. */
export interface ImaSigningKey {
  /** 8 hex digits: the last 4 bytes of the certificate's subjectKeyIdentifier, else of SHA-1 of the key. */
  readonly keyid: string;
  readonly key: KeyObject;
  /** Where it came from (file name), for messages. */
  readonly label: string;
}

// linux/hash_info.h HASH_ALGO_* numbers of the algorithms node:crypto has.
const HASH_ALGO: Readonly<Record<number, string>> = {
  2: 'sha1',
  4: 'sha256',
  5: 'sha384',
  6: 'sha512',
  7: 'sha224',
};

// DER DigestInfo prefixes (RFC 8017 §9.2 note 1) that PKCS#1 v1.5 puts before the digest.
const DIGEST_INFO: Readonly<Record<string, string>> = {
  sha1: '3021300906052b0e03021a05000414',
  sha224: '302d300d06096086480165030402040500041c',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

/**
 * The key id evmctl gives a key without a subjectKeyIdentifier (libimaevm `calc_keyid_v2`): the
 * last 4 bytes of SHA-1 of the key's subjectPublicKey BIT STRING contents, as 8 hex digits — for
 * RSA the PKCS#1 RSAPublicKey DER, for EC the point (`04‖X‖Y`), never the whole
 * SubjectPublicKeyInfo. (A certificate's subjectKeyIdentifier made by RFC 5280 method 1 is the
 * same SHA-1.)
 */
export function imaKeyidOfKey(key: KeyObject): string {
  const spki = new Uint8Array(key.export({ format: 'der', type: 'spki' }));
  const bits = childrenOf(parseDer(spki, 'spki'), 'spki')[1];
  const der = bits === undefined ? spki : contentsOf(bits);
  return createHash('sha1').update(der).digest('hex').slice(-8);
}

/**
 * The keys in a file: X.509 certificates (DER, or PEM with any number) or a PEM public key.
 * @throws ParseError for bytes that are neither
 */
export function imaSigningKeysOf(bytes: Uint8Array, label: string): ImaSigningKey[] {
  const text = Buffer.from(bytes.subarray(0, 4096)).toString('latin1');
  if (text.includes('-----BEGIN PUBLIC KEY-----') || text.includes('-----BEGIN RSA PUBLIC KEY')) {
    const key = createPublicKey(Buffer.from(bytes));
    return [{ keyid: imaKeyidOfKey(key), key, label }];
  }
  return parseCertificates(bytes, label).map((c) => {
    // subjectKeyIdentifier: an OCTET STRING whose last 4 bytes are the IMA key id.
    const skid = c.extensions.get('2.5.29.14')?.value;
    const keyid =
      skid !== undefined && skid.length >= 6
        ? toHex(skid.subarray(-4))
        : imaKeyidOfKey(c.publicKey);
    return { keyid, key: c.publicKey, label };
  });
}

/** How one signature fared. */
export type ImaSignatureStatus = 'verified' | 'failed' | 'unknown-key' | 'unsupported';

/** The verdict on one entry's signature. */
export interface ImaSignatureCheck {
  readonly status: ImaSignatureStatus;
  /** The key id the header names (absent when the header is too short to hold one). */
  readonly keyid?: string;
  /** The header's hash algorithm. */
  readonly alg?: string;
  /** Why it is not `verified`. */
  readonly reason?: string;
}

/**
 * Checks one `sig` field over the entry's file digest.
 * @param digestAlg the file digest's algorithm as the `d-ng` field names it
 */
export function checkImaSignature(
  sig: Uint8Array,
  digestAlg: string,
  digest: Uint8Array,
  keys: readonly ImaSigningKey[],
): ImaSignatureCheck {
  if (sig.length < 9 || sig[0] !== 3) {
    return { status: 'failed', reason: 'not an IMA digital signature (type 3) header' };
  }
  if (sig[1] !== 2) return { status: 'unsupported', reason: `signature version ${sig[1]!}` };
  const keyid = toHex(sig.subarray(3, 7));
  const alg = HASH_ALGO[sig[2]!];
  if (alg === undefined) return { status: 'unsupported', keyid, reason: `hash_algo ${sig[2]!}` };
  const size = (sig[7]! << 8) | sig[8]!;
  if (size !== sig.length - 9) {
    return {
      status: 'failed',
      keyid,
      alg,
      reason: `sig_size ${size}, ${sig.length - 9} bytes follow the header`,
    };
  }
  const key = keys.find((k) => k.keyid === keyid);
  if (key === undefined)
    return { status: 'unknown-key', keyid, alg, reason: `unknown keyid ${keyid}` };
  const type = key.key.asymmetricKeyType;
  if (type !== 'rsa' && !(type === 'ec' && ecCurve(key.key) !== undefined)) {
    const curve = type === 'ec' ? ` on ${String(key.key.asymmetricKeyDetails?.namedCurve)}` : '';
    return { status: 'unsupported', keyid, alg, reason: `${String(type)} key${curve}` };
  }
  if (alg !== digestAlg) {
    return { status: 'failed', keyid, alg, reason: `header hash ${alg}, file digest ${digestAlg}` };
  }
  if (type === 'ec') {
    return ecdsaVerifies(key.key, digest, sig.subarray(9))
      ? { status: 'verified', keyid, alg }
      : { status: 'failed', keyid, alg, reason: 'ECDSA signature does not verify' };
  }
  let out: Buffer;
  try {
    out = publicDecrypt({ key: key.key, padding: constants.RSA_PKCS1_PADDING }, sig.subarray(9));
  } catch {
    return { status: 'failed', keyid, alg, reason: 'invalid padding' };
  }
  return out.toString('hex') === DIGEST_INFO[alg]! + toHex(digest)
    ? { status: 'verified', keyid, alg }
    : { status: 'failed', keyid, alg, reason: 'signed digest differs from the file digest' };
}

/** The NIST curves of @noble/curves, loaded on first need (not at every CLI start). */
let nist: typeof import('@noble/curves/nist.js') | undefined;

/**
 * Loads what checking these keys needs (the ECDSA curves for EC keys). {@link checkImaSignature}
 * reports an EC key as `unsupported` until this has run; {@link checkImaListSignatures} runs it.
 */
export async function prepareImaSigningKeys(keys: readonly ImaSigningKey[]): Promise<void> {
  if (nist === undefined && keys.some((k) => k.key.asymmetricKeyType === 'ec')) {
    nist = await import('@noble/curves/nist.js');
  }
}

/**
 * Loads the ECDSA curves whatever the keys given so far: for a list whose keyring entries
 * (`ima-buf` on `.ima`, `_ima`) may bring EC certificates that vouch for later signatures.
 */
export async function prepareEcdsaCurves(): Promise<void> {
  nist ??= await import('@noble/curves/nist.js');
}

/** The curve of an EC key among those the kernel verifies IMA signatures with, once loaded. */
function ecCurve(key: KeyObject): (typeof nist & object)['p256'] | undefined {
  const c = nist;
  if (c === undefined) return undefined;
  const curves: Readonly<Record<string, typeof c.p256>> = {
    prime256v1: c.p256,
    secp384r1: c.p384,
    secp521r1: c.p521,
  };
  return curves[key.asymmetricKeyDetails?.namedCurve ?? ''];
}

/** ECDSA over the digest as given (no second hash): a DER signature, high S allowed. */
function ecdsaVerifies(key: KeyObject, digest: Uint8Array, der: Uint8Array): boolean {
  const jwk = key.export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
  try {
    return ecCurve(key)!.verify(der, digest, point, { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false; // not DER, or a point off the curve
  }
}

/** One signed entry that did not verify. */
export interface ImaSignatureFailure extends ImaSignatureCheck {
  readonly index: number;
  readonly path: string;
  readonly log: string;
  readonly offset: number;
}

/** Signature counts over a list, and the entries that did not verify. */
export interface ImaSignatureReport {
  /** Entries whose template carries a signature field that is not empty. */
  readonly signed: number;
  readonly verified: number;
  /** IMA entries without a signature (ima-ng, an empty `sig`, boot_aggregate). */
  readonly unsigned: number;
  readonly failures: ImaSignatureFailure[];
}

/** Checks the signature of every IMA entry among `events` (other events are ignored). */
export async function checkImaListSignatures(
  events: AnyIterable<LogEvent>,
  keys: readonly ImaSigningKey[],
): Promise<ImaSignatureReport> {
  let signed = 0;
  let verified = 0;
  let unsigned = 0;
  const failures: ImaSignatureFailure[] = [];
  await prepareImaSigningKeys(keys);
  for await (const e of events) {
    if (e.kind !== 'ima') continue;
    const ima: ImaEvent = e;
    const f = imaFileFields(
      ima.entry,
      ima.source.format === 'ima-ascii' ? 'ima-ascii' : 'ima-binary',
    );
    if (f.signature === undefined) {
      unsigned++;
      continue;
    }
    signed++;
    const c = checkImaSignature(f.signature, f.digestAlg, Buffer.from(f.digest, 'hex'), keys);
    if (c.status === 'verified') verified++;
    else {
      failures.push({
        index: e.index,
        path: f.path,
        log: e.source.log,
        offset: e.source.offset,
        ...c,
      });
    }
  }
  return { signed, verified, unsigned, failures };
}
