/**
 * Certificate chains, CRLs and raw ECDSA signatures for evidence verifiers, on node:crypto
 * (synchronous, so verified chains and keys can be cached and reused).
 *
 * Time is an input everywhere: validity is judged at the caller's `at`.
 *
 * Emulated roots: mrstack's emulated PKI names its roots with the organisation
 * {@link EMULATED_ROOT_ORGANIZATION} (docs/emulated-pki.md). A chain ending in such a root is
 * accepted only when the caller trusts emulated roots, and the result says `emulated: true`.
 *
 * @module
 */
import {
  X509Certificate,
  createPublicKey,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { ByteReader } from '../../bytes/reader.js';
import { ParseError, VerifyError, type ErrorCode } from '../../errors.js';

/** The subject organisation (O=) that marks an mrstack emulated root. */
export const EMULATED_ROOT_ORGANIZATION = 'mrstack emulated root - not hardware backed';

/**
 * Parses one certificate (DER or PEM bytes).
 * @throws ParseError (`x509`) `ERR_BAD_ENCODING`
 */
export function parseCertificate(data: Uint8Array, field = 'certificate'): X509Certificate {
  try {
    return new X509Certificate(data);
  } catch (cause) {
    throw new ParseError({
      code: 'ERR_BAD_ENCODING',
      format: 'x509',
      offset: 0,
      field,
      expected: 'an X.509 certificate (DER or PEM)',
      cause,
    });
  }
}

/** True when a certificate's subject carries the emulated-root organisation. */
export function isEmulatedRoot(cert: X509Certificate): boolean {
  return cert.subject.split('\n').some((l) => l === `O=${EMULATED_ROOT_ORGANIZATION}`);
}

/** The subject's common name, or the whole subject. */
export function subjectName(cert: X509Certificate): string {
  const cn = cert.subject.split('\n').find((l) => l.startsWith('CN='));
  return cn === undefined ? cert.subject.replace(/\n/g, ', ') : cn.slice(3);
}

/** Serial number as lowercase hex without leading zeros (for CRL comparisons). */
export function normalizeSerial(hex: string): string {
  const s = hex.toLowerCase().replace(/^0+/, '');
  return s === '' ? '0' : s;
}

/**
 * Checks a validity window at `at`.
 * @throws VerifyError `ERR_CERT_EXPIRED` / `ERR_CERT_NOT_YET_VALID`
 */
export function checkWindow(
  what: string,
  notBefore: Date,
  notAfter: Date | undefined,
  at: Date,
): void {
  if (at.getTime() < notBefore.getTime()) {
    throw new VerifyError(
      'ERR_CERT_NOT_YET_VALID',
      `${what} is not valid before ${notBefore.toISOString()} (time ${at.toISOString()})`,
      { details: { subject: what, not_before: notBefore.toISOString(), at: at.toISOString() } },
    );
  }
  if (notAfter !== undefined && at.getTime() > notAfter.getTime()) {
    throw new VerifyError(
      'ERR_CERT_EXPIRED',
      `${what} expired at ${notAfter.toISOString()} (time ${at.toISOString()})`,
      { details: { subject: what, not_after: notAfter.toISOString(), at: at.toISOString() } },
    );
  }
}

/** Checks a certificate's validity at `at`. */
export function checkCertValidity(cert: X509Certificate, at: Date): void {
  checkWindow(
    `certificate "${subjectName(cert)}"`,
    new Date(cert.validFrom),
    new Date(cert.validTo),
    at,
  );
}

/** A chain that verified, and the root it ended in. */
export interface VerifiedChain {
  readonly certificates: readonly X509Certificate[];
  readonly root: X509Certificate;
  readonly emulated: boolean;
}

/** Options of {@link verifyCertChain}. */
export interface ChainOptions {
  readonly at: Date;
  /** Trusted roots (built-in or the user's `--trust-anchor`). */
  readonly anchors: readonly X509Certificate[];
  readonly trustEmulated?: boolean;
  /** Names the chain in messages (`PCK chain`). */
  readonly what: string;
}

function sameCert(a: X509Certificate, b: X509Certificate): boolean {
  return a.raw.equals(b.raw);
}

function chainError(
  code: ErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): VerifyError {
  return new VerifyError(code, message, { details });
}

/**
 * Verifies a chain (leaf first) up to a trusted root: each certificate signed by the next,
 * every certificate valid at `at`, the last one a trusted anchor, issued by one, or (with
 * `trustEmulated`) an emulated root.
 * @throws VerifyError `ERR_CHAIN_INVALID`, `ERR_CERT_EXPIRED`, `ERR_CERT_NOT_YET_VALID`,
 *   `ERR_UNTRUSTED_ROOT`
 */
export function verifyCertChain(
  chain: readonly X509Certificate[],
  opts: ChainOptions,
): VerifiedChain {
  if (chain.length === 0) throw chainError('ERR_CHAIN_INVALID', `${opts.what} is empty`);
  for (let i = 0; i + 1 < chain.length; i++) {
    const c = chain[i]!;
    const issuer = chain[i + 1]!;
    if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey)) {
      throw chainError(
        'ERR_CHAIN_INVALID',
        `${opts.what}: "${subjectName(c)}" is not signed by "${subjectName(issuer)}"`,
        { position: i },
      );
    }
  }
  const last = chain[chain.length - 1]!;
  const selfSigned = last.checkIssued(last);
  if (selfSigned && !last.verify(last.publicKey)) {
    throw chainError(
      'ERR_CHAIN_INVALID',
      `${opts.what}: root "${subjectName(last)}" has a bad self-signature`,
      {
        position: chain.length - 1,
      },
    );
  }
  let root: X509Certificate | undefined;
  let certs = chain;
  const anchor = opts.anchors.find((a) => sameCert(a, last));
  if (anchor !== undefined) {
    root = anchor;
  } else if (!selfSigned) {
    const issuer = opts.anchors.find((a) => last.checkIssued(a) && last.verify(a.publicKey));
    if (issuer !== undefined) {
      root = issuer;
      certs = [...chain, issuer];
    }
  }
  let emulated = false;
  if (root === undefined) {
    const top = selfSigned ? last : undefined;
    if (top !== undefined && isEmulatedRoot(top)) {
      if (opts.trustEmulated !== true) {
        throw chainError(
          'ERR_UNTRUSTED_ROOT',
          `${opts.what} ends in the mrstack emulated root "${subjectName(top)}"; pass --trust-emulated (or it as --trust-anchor) to accept it`,
          { root: subjectName(top), emulated: true },
        );
      }
      root = top;
      emulated = true;
    } else {
      throw chainError(
        'ERR_UNTRUSTED_ROOT',
        `${opts.what} does not end in a trusted root (top: "${subjectName(last)}")`,
        { root: subjectName(last) },
      );
    }
  } else if (isEmulatedRoot(root)) {
    emulated = true;
  }
  for (const c of certs) checkCertValidity(c, opts.at);
  return { certificates: certs, root, emulated };
}

/** A parsed CRL: enough to check signature, window and entries. */
export interface Crl {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly signatureHash: 'sha256' | 'sha384' | 'sha512';
  readonly signature: Uint8Array;
  readonly issuerRaw: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** Revoked serials, normalised (see {@link normalizeSerial}). */
  readonly revoked: ReadonlySet<string>;
}

interface Der {
  readonly tag: number;
  /** Whole TLV. */
  readonly raw: Uint8Array;
  readonly body: ByteReader;
}

function der(r: ByteReader, field: string): Der {
  const start = r.position;
  const whole = r.peek(r.remaining);
  const tag = r.u8(`${field}.tag`);
  let len = r.u8(`${field}.length`);
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4)
      throw r.error('ERR_BAD_ENCODING', `${field}.length`, { expected: 'DER length' });
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + r.u8(`${field}.length`);
  }
  const body = r.take(len, field);
  return { tag, raw: whole.subarray(0, r.position - start), body };
}

const SIG_OIDS: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  '2a8648ce3d040302': 'sha256',
  '2a8648ce3d040303': 'sha384',
  '2a8648ce3d040304': 'sha512',
};

function derTime(d: Der): Date {
  const s = Buffer.from(d.body.rest()).toString('latin1');
  // UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ
  const full = d.tag === 0x17 ? `${Number(s.slice(0, 2)) >= 50 ? '19' : '20'}${s}` : s;
  return new Date(
    `${full.slice(0, 4)}-${full.slice(4, 6)}-${full.slice(6, 8)}T${full.slice(8, 10)}:${full.slice(10, 12)}:${full.slice(12, 14)}Z`,
  );
}

/**
 * Parses a DER CRL (ECDSA-signed, as Intel's and mrstack's emulated CRLs are).
 * @throws ParseError (`x509`)
 */
export function parseCrl(data: Uint8Array, field = 'crl'): Crl {
  const r = new ByteReader(data, { format: 'x509' });
  const outer = der(r, field);
  if (outer.tag !== 0x30) throw r.errorAt(0, 'ERR_BAD_ENCODING', field, { expected: 'SEQUENCE' });
  const tbsD = der(outer.body, `${field}.tbs`);
  const alg = der(outer.body, `${field}.signature_algorithm`);
  const algOid = der(alg.body, `${field}.signature_algorithm.oid`);
  const oidHex = Buffer.from(algOid.body.rest()).toString('hex');
  const signatureHash = SIG_OIDS[oidHex];
  if (signatureHash === undefined) {
    throw new ParseError({
      code: 'ERR_UNKNOWN_ALGORITHM',
      format: 'x509',
      offset: 0,
      field: `${field}.signature_algorithm`,
      expected: 'ecdsa-with-SHA256/384/512',
      actual: oidHex,
    });
  }
  const bits = der(outer.body, `${field}.signature`);
  bits.body.u8(`${field}.signature.unused_bits`);
  const signature = new Uint8Array(bits.body.rest());
  const t = tbsD.body;
  let item = der(t, `${field}.tbs.item`);
  if (item.tag === 0x02) item = der(t, `${field}.tbs.signature`); // version
  const issuer = der(t, `${field}.tbs.issuer`);
  const thisUpdate = derTime(der(t, `${field}.tbs.this_update`));
  let nextUpdate: Date | undefined;
  const revoked = new Set<string>();
  while (t.remaining > 0) {
    const d = der(t, `${field}.tbs.item`);
    if (d.tag === 0x17 || d.tag === 0x18) nextUpdate = derTime(d);
    else if (d.tag === 0x30) {
      while (d.body.remaining > 0) {
        const entry = der(d.body, `${field}.revoked`);
        const serial = der(entry.body, `${field}.revoked.serial`);
        revoked.add(normalizeSerial(Buffer.from(serial.body.rest()).toString('hex')));
      }
    }
  }
  return {
    der: data,
    tbs: tbsD.raw,
    signatureHash,
    signature,
    issuerRaw: issuer.raw,
    thisUpdate,
    nextUpdate,
    revoked,
  };
}

/**
 * Verifies a CRL's signature by its issuer and its window at `at`.
 * @throws VerifyError `ERR_SIGNATURE_INVALID`, `ERR_CERT_EXPIRED`, `ERR_CERT_NOT_YET_VALID`
 */
export function verifyCrl(crl: Crl, issuer: X509Certificate, at: Date, what: string): void {
  if (!nodeVerify(crl.signatureHash, crl.tbs, issuer.publicKey, crl.signature)) {
    throw new VerifyError(
      'ERR_SIGNATURE_INVALID',
      `${what} is not signed by "${subjectName(issuer)}"`,
    );
  }
  checkWindow(what, crl.thisUpdate, crl.nextUpdate, at);
}

/** True when the CRL lists the certificate. */
export function isRevoked(crl: Crl, cert: X509Certificate): boolean {
  return crl.revoked.has(normalizeSerial(cert.serialNumber));
}

/**
 * A P-256 public key from raw X‖Y (64 bytes). Imported as a JWK: with OpenSSL 3 that is about
 * twice as fast as decoding the equivalent SubjectPublicKeyInfo DER.
 */
export function p256KeyFromRaw(xy: Uint8Array): KeyObject {
  const b = Buffer.from(xy.buffer, xy.byteOffset, xy.byteLength);
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: b.subarray(0, 32).toString('base64url'),
      y: b.subarray(32, 64).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** The window in which every certificate of a chain is valid: [latest notBefore, earliest notAfter]. */
export function chainWindow(certs: readonly X509Certificate[]): {
  notBefore: number;
  notAfter: number;
} {
  let notBefore = -Infinity;
  let notAfter = Infinity;
  for (const c of certs) {
    notBefore = Math.max(notBefore, Date.parse(c.validFrom));
    notAfter = Math.min(notAfter, Date.parse(c.validTo));
  }
  return { notBefore, notAfter };
}

/** Verifies a raw r‖s ECDSA signature (SHA-256) over data. */
export function verifyRawEcdsa(
  key: KeyObject,
  data: Uint8Array,
  rs: Uint8Array,
  hashName: 'sha256' | 'sha384' = 'sha256',
): boolean {
  try {
    return nodeVerify(hashName, data, { key, dsaEncoding: 'ieee-p1363' }, rs);
  } catch {
    return false;
  }
}
