/**
 * One parsed X.509 certificate (RFC 5280 §4.1) for the chain validator: the exact TBS bytes and
 * signature, names as DER (for byte-exact issuer/subject chaining) and as text, strict validity
 * times, the SubjectPublicKeyInfo and its SHA-256 (how anchors are pinned), and the extensions
 * the profiles check — basicConstraints, keyUsage, extendedKeyUsage — decoded; the others kept
 * as raw values by OID. A certificate that repeats an extension, or whose outer signature
 * algorithm differs from the one inside the TBS, is malformed.
 *
 * @module
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { ParseError } from '../../../errors.js';
import {
  bitStringOf,
  childrenOf,
  contentsOf,
  derError,
  hasTag,
  oidOf,
  parseDer,
  rawOf,
  serialHexOf,
  smallIntOf,
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

function nameText(n: DerNode, field: string): { text: string; cn: string } {
  const parts: string[] = [];
  let cn = '';
  for (const rdn of childrenOf(n, field)) {
    for (const atv of childrenOf(rdn, field)) {
      const [type, value] = childrenOf(atv, field);
      const oid = oidOf(type, field);
      const v =
        value !== undefined && 'value' in value.valueBlock
          ? String((value.valueBlock as { value: unknown }).value)
          : '';
      if (oid === '2.5.4.3' && cn === '') cn = v;
      parts.push(`${NAME_SHORT[oid] ?? oid}=${v}`);
    }
  }
  return { text: parts.join(', '), cn };
}

function bitStringBits(n: DerNode, field: string): boolean[] {
  const { bytes: b, unusedBits: unused } = bitStringOf(n, field);
  const out: boolean[] = [];
  for (const byte of b) for (let j = 7; j >= 0; j--) out.push(((byte >> j) & 1) === 1);
  return out.slice(0, Math.max(0, out.length - unused));
}

function decodeBasicConstraints(v: Uint8Array): { ca: boolean; pathLen?: number } {
  const items = childrenOf(parseDer(v, 'basicConstraints'), 'basicConstraints');
  let ca = false;
  let pathLen: number | undefined;
  for (const it of items) {
    if (it instanceof asn1js.Boolean) ca = it.getValue();
    else if (hasTag(it, 2)) pathLen = smallIntOf(it, 'basicConstraints.pathLenConstraint');
    else throw derError('x509', 'basicConstraints', 'BOOLEAN, INTEGER');
  }
  return pathLen === undefined ? { ca } : { ca, pathLen };
}

function decodeKeyUsage(v: Uint8Array): Set<KeyUsageName> {
  const bits = bitStringBits(parseDer(v, 'keyUsage'), 'keyUsage');
  const out = new Set<KeyUsageName>();
  bits.forEach((on, i) => {
    const name = KEY_USAGE_BITS[i];
    if (on && name !== undefined) out.add(name);
  });
  return out;
}

function decodeEku(v: Uint8Array): string[] {
  return childrenOf(parseDer(v, 'extendedKeyUsage'), 'extendedKeyUsage').map((n) =>
    oidOf(n, 'extendedKeyUsage'),
  );
}

/**
 * Parses one DER certificate.
 * @throws ParseError (`x509`) `ERR_BAD_ENCODING`, `ERR_TRAILING_BYTES`, `ERR_UNKNOWN_ALGORITHM`
 */
export function parseCertificate(der: Uint8Array, field = 'certificate'): Certificate {
  const top = childrenOf(parseDer(der, field), field);
  const [tbsNode, outerAlg, sigNode] = top;
  if (tbsNode === undefined || sigNode === undefined || top.length !== 3)
    throw derError('x509', field, 'Certificate ::= SEQUENCE {tbs, algorithm, signature}');
  const t = childrenOf(tbsNode, `${field}.tbsCertificate`);
  let i = 0;
  let version = 1;
  if (t[0] !== undefined && hasTag(t[0], 0, 3)) {
    version = smallIntOf(childrenOf(t[0], `${field}.version`)[0], `${field}.version`) + 1;
    i = 1;
  }
  const [serialN, algN, issuerN, validityN, subjectN, spkiN] = t.slice(i, i + 6);
  if (serialN === undefined || !hasTag(serialN, 2) || spkiN === undefined)
    throw derError('x509', `${field}.tbsCertificate`, 'the TBSCertificate fields');
  const signatureAlgorithm = signatureAlgorithmOf(outerAlg, `${field}.signatureAlgorithm`);
  const [nb, na] = childrenOf(validityN!, `${field}.validity`);
  const notBefore = strictTime(nb, `${field}.validity.notBefore`);
  const notAfter = strictTime(na, `${field}.validity.notAfter`);
  const extensions = new Map<string, RawExtension>();
  for (const rest of t.slice(i + 6)) {
    if (!hasTag(rest, 3, 3)) continue; // issuer/subject unique IDs
    if (version !== 3) throw derError('x509', `${field}.extensions`, 'extensions only in v3');
    for (const ext of childrenOf(childrenOf(rest, field)[0]!, `${field}.extensions`)) {
      const parts = childrenOf(ext, `${field}.extension`);
      const oid = oidOf(parts[0], `${field}.extension.extnID`);
      const critical =
        parts.length === 3 && parts[1] instanceof asn1js.Boolean && parts[1].getValue();
      const value = parts[parts.length - 1]!;
      if (!hasTag(value, 4)) throw derError('x509', `${field}.extension[${oid}]`, 'OCTET STRING');
      if (extensions.has(oid)) {
        throw new ParseError({
          code: 'ERR_BAD_VALUE',
          format: 'x509',
          offset: 0,
          field: `${field}.extension[${oid}]`,
          expected: 'each extension at most once (RFC 5280 §4.2)',
          actual: 'repeated',
        });
      }
      extensions.set(oid, { critical, value: contentsOf(value) });
    }
  }
  const spki = rawOf(spkiN);
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
  const sub = nameText(subjectN!, `${field}.subject`);
  const iss = nameText(issuerN!, `${field}.issuer`);
  const bc = extensions.get('2.5.29.19');
  const ku = extensions.get('2.5.29.15');
  const eku = extensions.get('2.5.29.37');
  const sigBits = bitStringOf(sigNode, `${field}.signatureValue`);
  if (sigBits.unusedBits !== 0)
    throw derError('x509', `${field}.signatureValue`, 'BIT STRING without unused bits');
  return {
    der,
    sha256: createHash('sha256').update(der).digest('hex'),
    tbs: rawOf(tbsNode),
    signatureAlgorithm,
    algorithmsAgree: Buffer.compare(rawOf(algN!), rawOf(outerAlg!)) === 0,
    signature: sigBits.bytes,
    serial: serialHexOf(contentsOf(serialN)),
    issuerDer: rawOf(issuerN!),
    subjectDer: rawOf(subjectN!),
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
    basicConstraints: bc === undefined ? undefined : decodeBasicConstraints(bc.value),
    keyUsage: ku === undefined ? undefined : decodeKeyUsage(ku.value),
    extendedKeyUsage: eku === undefined ? undefined : decodeEku(eku.value),
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
