/**
 * SNP test PKIs built in the test: AMD-style certificates (RSA-PSS SHA-384, as the ARK and ASK
 * sign) and attestation reports signed with ECDSA P-384, for cases the captures do not cover
 * (Turin, VLEK, CRLs). Subjects carry the emulated-root organisation, so they verify only with
 * `trustEmulated`.
 */
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { ia5, int } from '../../src/formats/x509/der_encode.js';
import {
  caExtension,
  encodeCertificate,
  encodeTbs,
  name,
  type Extension,
} from '../../src/formats/x509/certificate_encode.js';
import { attachSnpSignature } from '../../src/formats/snp/report_encode.js';

/** The organisation of emulated roots (docs/emulated-pki.md). */
export const EMULATED_ORG = 'mrstack emulated root - not hardware backed';

/** A key pair as `generateKeyPairSync` returns it. */
export interface TestKeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

/** A fresh RSA-2048 key pair (ARK, ASK, ASVK). */
export function rsaKeyPair(): TestKeyPair {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/** A fresh ECDSA P-384 key pair (VCEK, VLEK). */
export function p384KeyPair(): TestKeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'P-384' });
}

/** RSASSA-PSS with SHA-384 and a 48-byte salt: how AMD's ARK and ASK sign. */
export function pssSha384(key: KeyObject, data: Uint8Array): Uint8Array {
  return sign('sha384', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
}

/** The OID of an AMD certificate extension, `1.3.6.1.4.1.3704.1.<suffix>`. */
export function amdOid(suffix: string): string {
  return `1.3.6.1.4.1.3704.1.${suffix}`;
}

/** The distinguished name `O=<emulated org>, CN=<cn>`. */
export function emulatedName(cn: string): Uint8Array {
  return name([
    ['O', EMULATED_ORG],
    ['CN', cn],
  ]);
}

/** What {@link snpTestCert} certifies. */
export interface SnpTestCertSpec {
  /** The issuer's CN (under {@link EMULATED_ORG}). */
  readonly issuer: string;
  /** The subject's CN (under {@link EMULATED_ORG}). */
  readonly subject: string;
  readonly serial: number;
  readonly subjectKey: KeyObject;
  readonly issuerKey: KeyObject;
  readonly extensions: Extension[];
}

/** A DER certificate valid 2025-01-01 to 2030-01-01, signed RSA-PSS SHA-384 by the issuer. */
export function snpTestCert(spec: SnpTestCertSpec): Uint8Array {
  const tbs = encodeTbs({
    serial: spec.serial,
    sigAlg: 'rsa-pss-sha384',
    issuer: emulatedName(spec.issuer),
    subject: emulatedName(spec.subject),
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2030-01-01T00:00:00Z'),
    spki: new Uint8Array(spec.subjectKey.export({ format: 'der', type: 'spki' })),
    extensions: spec.extensions,
  });
  return encodeCertificate(tbs, 'rsa-pss-sha384', pssSha384(spec.issuerKey, tbs));
}

/** A certificate's subject CN and serial number. */
export interface TestCertName {
  readonly cn: string;
  readonly serial: number;
}

/** What {@link amdTestChain} builds. */
export interface AmdTestChainSpec {
  /** The self-signed root. */
  readonly ark: TestCertName;
  /** The intermediate the ARK signs (ASK, or ASVK for VLEKs). */
  readonly ask: TestCertName;
  /** The P-384 leaf the intermediate signs (VCEK or VLEK), with its AMD extensions. */
  readonly leaf: TestCertName & { readonly extensions: Extension[] };
}

/** Fresh keys and certificates of a three-level AMD-style chain. */
export interface AmdTestChain {
  readonly ark: TestKeyPair;
  readonly ask: TestKeyPair;
  readonly leaf: TestKeyPair;
  readonly arkDer: Uint8Array;
  readonly askDer: Uint8Array;
  readonly leafDer: Uint8Array;
  /** Leaf first, as `verifySnpReport`'s `certs` takes them. */
  readonly certs: Uint8Array[];
}

/** ARK (self-signed CA) → ASK (CA) → leaf, as AMD's KDS serves them. */
export function amdTestChain(spec: AmdTestChainSpec): AmdTestChain {
  const ark = rsaKeyPair();
  const ask = rsaKeyPair();
  const leaf = p384KeyPair();
  const issue = (
    subject: TestCertName,
    subjectKey: KeyObject,
    issuer: TestCertName,
    issuerKey: KeyObject,
    extensions: Extension[],
  ): Uint8Array =>
    snpTestCert({
      issuer: issuer.cn,
      subject: subject.cn,
      serial: subject.serial,
      subjectKey,
      issuerKey,
      extensions,
    });
  const arkDer = issue(spec.ark, ark.publicKey, spec.ark, ark.privateKey, [caExtension()]);
  const askDer = issue(spec.ask, ask.publicKey, spec.ark, ark.privateKey, [caExtension()]);
  const leafDer = issue(spec.leaf, leaf.publicKey, spec.ask, ask.privateKey, spec.leaf.extensions);
  return { ark, ask, leaf, arkDer, askDer, leafDer, certs: [leafDer, askDer, arkDer] };
}

/** Signs an encoded report body with ECDSA P-384 (r ‖ s, 48 bytes each) and attaches it. */
export function signSnpReport(body: Uint8Array, key: KeyObject): Uint8Array {
  const sig = sign('sha384', body, { key, dsaEncoding: 'ieee-p1363' });
  return attachSnpSignature(body, sig.subarray(0, 48), sig.subarray(48));
}

/**
 * The extensions of a Milan VLEK (AMD VCEK/VLEK specification): productName Milan, blSPL 3,
 * teeSPL 0, snpSPL 8, ucodeSPL 115, and a CSP id where a VCEK carries its hwID.
 */
export const MILAN_VLEK_EXTENSIONS: readonly Extension[] = [
  { oid: amdOid('2'), value: ia5('Milan') },
  { oid: amdOid('3.1'), value: int(3) },
  { oid: amdOid('3.2'), value: int(0) },
  { oid: amdOid('3.3'), value: int(8) },
  { oid: amdOid('3.8'), value: int(115) },
  { oid: amdOid('5'), value: ia5('example-csp') },
];

/** ARK-Milan → ASVK (`SEV-VLEK-Milan`) → VLEK with {@link MILAN_VLEK_EXTENSIONS}, fresh keys. */
export function milanVlekTestChain(): AmdTestChain {
  return amdTestChain({
    ark: { cn: 'ARK-Milan', serial: 1 },
    ask: { cn: 'SEV-VLEK-Milan', serial: 1 },
    leaf: { cn: 'SEV-VLEK', serial: 1, extensions: [...MILAN_VLEK_EXTENSIONS] },
  });
}
