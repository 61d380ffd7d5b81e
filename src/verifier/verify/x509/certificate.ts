/**
 * One parsed X.509 certificate (RFC 5280 §4.1) for the chain validator: the exact TBS bytes and
 * signature, names as DER (for byte-exact issuer/subject chaining) and as text, strict validity
 * times, the SubjectPublicKeyInfo and its SHA-256 (how anchors are pinned), and the extensions
 * the profiles check — basicConstraints, keyUsage, extendedKeyUsage — decoded; the others kept
 * as raw values by OID. A certificate that repeats an extension is malformed; one whose outer
 * signature algorithm differs from the one inside the TBS never verifies.
 *
 * The structure is read by pkijs (`Certificate`, `BasicConstraints`, `ExtKeyUsage`, names,
 * AlgorithmIdentifiers). What pkijs reads leniently is read again strictly from the same DER tree
 * (formats/x509/der_decode.ts), and docs/trust.md says why: the input must be exactly one element
 * (pkijs ignores trailing bytes), validity times must name a real instant (pkijs turns 30
 * February into 2 March and accepts times without `Z`), and the SubjectPublicKeyInfo and
 * AlgorithmIdentifiers are compared and pinned as the exact bytes that were signed (pkijs keeps
 * decoded values, not their encoding). Extensions are decoded by calling pkijs's classes
 * directly, which throw on a mismatch, not through `Extension.parsedValue`, which swallows a
 * decoding error and returns defaults (a malformed basicConstraints would read as "not a CA").
 *
 * @module
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ParseError } from '../../../errors.js';
import {
  childrenOf,
  contentsOf,
  derError,
  hasTag,
  parseDer,
  rawOf,
  serialHexOf,
  strictTime,
  type DerNode,
} from '../../../formats/x509/der_decode.js';
import { signatureAlgorithmOf, type SignatureAlgorithm } from './algorithms.js';

/** keyUsage bits by name (RFC 5280 §4.2.1.3). */
export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

/** One keyUsage bit. */
export type KeyUsageName = (typeof KEY_USAGE_BITS)[number];

/** One extension as carried. */
export interface RawExtension {
  readonly critical: boolean;
  /** The extnValue contents (the extension's own DER). */
  readonly value: Uint8Array;
}

/** A parsed certificate. */
export interface Certificate {
  readonly der: Uint8Array;
  /** SHA-256 of the whole certificate (hex). */
  readonly sha256: string;
  /** The TBSCertificate exactly as signed. */
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: SignatureAlgorithm;
  /**
   * The TBS's own signature AlgorithmIdentifier equals the outer one (RFC 5280 §4.1.1.2); a
   * certificate where they differ never verifies (the chain validator refuses it).
   */
  readonly algorithmsAgree: boolean;
  readonly signature: Uint8Array;
  /** Serial number, lowercase hex without leading zeros. */
  readonly serial: string;
  readonly issuerDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  /** `CN=…, O=…` text of the subject and issuer, for messages and results. */
  readonly subject: string;
  readonly issuer: string;
  /** The subject's common name ('' when absent). */
  readonly cn: string;
  readonly issuerCn: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spki: Uint8Array;
  /** SHA-256 of the SubjectPublicKeyInfo DER (hex): how trust anchors are pinned. */
  readonly spkiSha256: string;
  readonly publicKey: KeyObject;
  /** Extensions by OID. */
  readonly extensions: ReadonlyMap<string, RawExtension>;
  /** basicConstraints, when present. */
  readonly basicConstraints: { readonly ca: boolean; readonly pathLen?: number } | undefined;
  /** keyUsage bits, when the extension is present. */
  readonly keyUsage: ReadonlySet<KeyUsageName> | undefined;
  /** extendedKeyUsage purposes, when present. */
  readonly extendedKeyUsage: readonly string[] | undefined;
}

const NAME_SHORT: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** `CN=…, O=…` text and the first common name of a Name pkijs read. */
export function nameText(n: pkijs.RelativeDistinguishedNames): { text: string; cn: string } {
  const parts: string[] = [];
  let cn = '';
  for (const atv of n.typesAndValues) {
    const vb = (atv.value as asn1js.AsnType | undefined)?.valueBlock as
      { value?: unknown } | undefined;
    const v = typeof vb?.value === 'string' ? vb.value : '';
    if (atv.type === '2.5.4.3' && cn === '') cn = v;
    parts.push(`${NAME_SHORT[atv.type] ?? atv.type}=${v}`);
  }
  return { text: parts.join(', '), cn };
}

/** Runs a pkijs decoder; its schema mismatch becomes a typed error naming the field. */
export function pkiDecode<T>(field: string, expected: string, decode: () => T): T {
  try {
    return decode();
  } catch (cause) {
    if (cause instanceof ParseError) throw cause;
    throw derError('x509', field, expected, cause instanceof Error ? cause.message : undefined);
  }
}

function bitStringBits(b: asn1js.BitString): boolean[] {
  const bytes = b.valueBlock.valueHexView;
  const out: boolean[] = [];
  for (const byte of bytes) for (let j = 7; j >= 0; j--) out.push(((byte >> j) & 1) === 1);
  return out.slice(0, Math.max(0, out.length - b.valueBlock.unusedBits));
}

function decodeBasicConstraints(v: Uint8Array, field: string): { ca: boolean; pathLen?: number } {
  const bc = pkiDecode(
    field,
    'BasicConstraints',
    () => new pkijs.BasicConstraints({ schema: parseDer(v, field) }),
  );
  const ca = bc.cA;
  if (bc.pathLenConstraint === undefined) return { ca };
  const pathLen = bc.pathLenConstraint;
  // pkijs hands a large INTEGER back as an element, not a number.
  if (typeof pathLen !== 'number' || !Number.isSafeInteger(pathLen) || pathLen < 0)
    throw derError('x509', `${field}.pathLenConstraint`, 'a small non-negative INTEGER');
  return { ca, pathLen };
}

function decodeKeyUsage(v: Uint8Array, field: string): Set<KeyUsageName> {
  const n = parseDer(v, field);
  if (!(n instanceof asn1js.BitString)) throw derError('x509', field, 'BIT STRING');
  const out = new Set<KeyUsageName>();
  bitStringBits(n).forEach((on, i) => {
    const name = KEY_USAGE_BITS[i];
    if (on && name !== undefined) out.add(name);
  });
  return out;
}

function decodeEku(v: Uint8Array, field: string): string[] {
  const eku = pkiDecode(
    field,
    'ExtKeyUsageSyntax',
    () => new pkijs.ExtKeyUsage({ schema: parseDer(v, field) }),
  );
  return [...eku.keyPurposes];
}

/**
 * The raw elements pkijs does not keep, from the TBSCertificate pkijs has already matched
 * against its schema: the inner signature AlgorithmIdentifier, the two validity times and the
 * SubjectPublicKeyInfo.
 */
function tbsRaw(tbs: DerNode, field: string): { alg: DerNode; validity: DerNode[]; spki: DerNode } {
  const t = childrenOf(tbs, `${field}.tbsCertificate`);
  const i = t[0] !== undefined && hasTag(t[0], 0, 3) ? 1 : 0;
  const [, alg, , validity, , spki] = t.slice(i, i + 6);
  if (alg === undefined || validity === undefined || spki === undefined)
    throw derError('x509', `${field}.tbsCertificate`, 'the TBSCertificate fields');
  return { alg, validity: childrenOf(validity, `${field}.validity`), spki };
}

/**
 * Parses one DER certificate.
 * @throws ParseError (`x509`) `ERR_BAD_ENCODING`, `ERR_TRUNCATED`, `ERR_TRAILING_BYTES`,
 *   `ERR_UNKNOWN_ALGORITHM`, `ERR_BAD_VALUE` (a repeated extension)
 */
export function parseCertificate(der: Uint8Array, field = 'certificate'): Certificate {
  const node = parseDer(der, field);
  const pc = pkiDecode(
    field,
    'Certificate (RFC 5280 §4.1)',
    () => new pkijs.Certificate({ schema: node }),
  );
  const [tbsNode, outerAlg] = childrenOf(node, field);
  const raw = tbsRaw(tbsNode!, field);
  const signatureAlgorithm = signatureAlgorithmOf(
    pc.signatureAlgorithm,
    `${field}.signatureAlgorithm`,
  );
  const notBefore = strictTime(raw.validity[0], `${field}.validity.notBefore`);
  const notAfter = strictTime(raw.validity[1], `${field}.validity.notAfter`);
  const extensions = new Map<string, RawExtension>();
  if (pc.extensions !== undefined && pc.extensions.length > 0 && pc.version !== 2)
    throw derError('x509', `${field}.extensions`, 'extensions only in v3');
  for (const ext of pc.extensions ?? []) {
    if (extensions.has(ext.extnID)) {
      throw new ParseError({
        code: 'ERR_BAD_VALUE',
        format: 'x509',
        offset: 0,
        field: `${field}.extension[${ext.extnID}]`,
        expected: 'each extension at most once (RFC 5280 §4.2)',
        actual: 'repeated',
      });
    }
    extensions.set(ext.extnID, {
      critical: ext.critical,
      value: new Uint8Array(ext.extnValue.valueBlock.valueHexView),
    });
  }
  const spki = rawOf(raw.spki);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (cause) {
    throw derError(
      'x509',
      `${field}.subjectPublicKeyInfo`,
      'a usable public key',
      undefined,
      cause,
    );
  }
  const sub = nameText(pc.subject);
  const iss = nameText(pc.issuer);
  const bc = extensions.get('2.5.29.19');
  const ku = extensions.get('2.5.29.15');
  const eku = extensions.get('2.5.29.37');
  if (pc.signatureValue.valueBlock.unusedBits !== 0)
    throw derError('x509', `${field}.signatureValue`, 'BIT STRING without unused bits');
  return {
    der,
    sha256: createHash('sha256').update(der).digest('hex'),
    tbs: new Uint8Array(pc.tbsView),
    signatureAlgorithm,
    algorithmsAgree: Buffer.compare(rawOf(raw.alg), rawOf(outerAlg!)) === 0,
    signature: new Uint8Array(pc.signatureValue.valueBlock.valueHexView),
    serial: serialHexOf(contentsOf(pc.serialNumber)),
    issuerDer: new Uint8Array(pc.issuer.valueBeforeDecode),
    subjectDer: new Uint8Array(pc.subject.valueBeforeDecode),
    subject: sub.text,
    issuer: iss.text,
    cn: sub.cn,
    issuerCn: iss.cn,
    notBefore,
    notAfter,
    spki,
    spkiSha256: createHash('sha256').update(spki).digest('hex'),
    publicKey,
    extensions,
    basicConstraints:
      bc === undefined ? undefined : decodeBasicConstraints(bc.value, `${field}.basicConstraints`),
    keyUsage: ku === undefined ? undefined : decodeKeyUsage(ku.value, `${field}.keyUsage`),
    extendedKeyUsage:
      eku === undefined ? undefined : decodeEku(eku.value, `${field}.extendedKeyUsage`),
  };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/**
 * Certificates from PEM text (any number of blocks) or one DER certificate.
 * @throws ParseError when the bytes are neither
 */
export function parseCertificates(bytes: Uint8Array, field = 'certificate'): Certificate[] {
  const text = Buffer.from(bytes.subarray(0, Math.min(bytes.length, 1 << 20))).toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const out: Certificate[] = [];
    for (const m of Buffer.from(bytes).toString('latin1').matchAll(PEM_CERT)) {
      const body = m[1]!.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body))
        throw derError('x509', `${field}[${out.length}]`, 'base64 in a PEM block');
      out.push(
        parseCertificate(new Uint8Array(Buffer.from(body, 'base64')), `${field}[${out.length}]`),
      );
    }
    return out;
  }
  return [parseCertificate(bytes, field)];
}

/** The public key of a certificate, or a certificate-less key, as the SPKI SHA-256 pin. */
export function spkiSha256Of(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}
