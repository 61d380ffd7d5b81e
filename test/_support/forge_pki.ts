/**
 * A test PKI that mirrors Intel's and AMD's names, extensions and algorithms (for the forgery
 * suite): certificates are trusted only through `trustAnchors` (the test root's certificate),
 * never by name, so the attacks are decided by the rules under test and nothing else.
 */
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  caExtension,
  encodeCertificate,
  encodeTbs,
  name,
  sigAlgId,
  type Extension,
  type SigAlg,
} from '../../src/formats/x509/certificate_encode.js';
import {
  bits,
  bool,
  int,
  oid,
  seq,
  tlv,
  time,
  type Der,
} from '../../src/formats/x509/der_encode.js';
import { toPem } from '../../src/formats/x509/pem_encode.js';
import { encodePckExtension } from '../../src/formats/tdx/pck_extension.js';
import { EMULATED_TDX_PLATFORM } from '../../src/providers/emulated/tdx_pki.js';

/** A key pair. */
export interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

export const p256 = (): KeyPair => generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const p384 = (): KeyPair => generateKeyPairSync('ec', { namedCurve: 'P-384' });
export const rsa = (): KeyPair => generateKeyPairSync('rsa', { modulusLength: 2048 });

/** Intel's Name layout: CN, O=Intel Corporation, L, ST, C. */
export function intelName(cn: string): Der {
  return name([
    ['CN', cn],
    ['O', 'Intel Corporation'],
    ['L', 'Santa Clara'],
    ['ST', 'CA'],
    ['C', 'US'],
  ]);
}

/** AMD's Name layout: OU=Engineering, C, L, ST, O=Advanced Micro Devices, CN. */
export function amdName(cn: string): Der {
  return name([
    ['OU', 'Engineering'],
    ['C', 'US'],
    ['L', 'Santa Clara'],
    ['ST', 'CA'],
    ['O', 'Advanced Micro Devices'],
    ['CN', cn],
  ]);
}

function signWith(alg: SigAlg, key: KeyObject, tbs: Uint8Array): Uint8Array {
  if (alg === 'rsa-pss-sha384')
    return sign('sha384', tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
  return sign(alg === 'ecdsa-sha384' ? 'sha384' : 'sha256', tbs, key);
}

/** What {@link issue} certifies. */
export interface IssueSpec {
  readonly subject: Der;
  readonly issuer: Der;
  readonly subjectKey: KeyObject;
  readonly issuerKey: KeyObject;
  readonly alg: SigAlg;
  readonly serial?: number | bigint;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly extensions?: readonly Extension[];
}

/** One DER certificate (valid 2020–2040 unless said otherwise). */
export function issue(s: IssueSpec): Uint8Array {
  const tbs = encodeTbs({
    serial: s.serial ?? 1,
    sigAlg: s.alg,
    issuer: s.issuer,
    subject: s.subject,
    notBefore: s.notBefore ?? new Date('2020-01-01T00:00:00Z'),
    notAfter: s.notAfter ?? new Date('2040-01-01T00:00:00Z'),
    spki: new Uint8Array(s.subjectKey.export({ format: 'der', type: 'spki' })),
    extensions: s.extensions ?? [],
  });
  return encodeCertificate(tbs, s.alg, signWith(s.alg, s.issuerKey, tbs));
}

/** basicConstraints cA with a pathLenConstraint. */
export function caPathLen(n: number): Extension {
  return { oid: '2.5.29.19', critical: true, value: seq(bool(true), int(n)) };
}

/** keyUsage from bit numbers (0 digitalSignature, 1 nonRepudiation, 5 keyCertSign, 6 cRLSign). */
export function keyUsage(...bitNumbers: number[]): Extension {
  let v = 0;
  for (const b of bitNumbers) v |= 0x80 >> b;
  const last = Math.max(...bitNumbers);
  return { oid: '2.5.29.15', critical: true, value: tlv(0x03, Uint8Array.of(7 - last, v)) };
}

/** extendedKeyUsage with the given purposes. */
export function eku(...purposes: string[]): Extension {
  return { oid: '2.5.29.37', value: seq(...purposes.map((p) => oid(p))) };
}

export { caExtension };

/** An Intel-like TDX PKI: root → PCK Platform CA → PCK leaf; root → TCB Signing. */
export interface IntelTestPki {
  readonly root: KeyPair;
  readonly pckCa: KeyPair;
  readonly pckLeaf: KeyPair;
  readonly tcbSigner: KeyPair;
  readonly rootDer: Uint8Array;
  readonly pckCaDer: Uint8Array;
  readonly pckLeafDer: Uint8Array;
  readonly tcbSignerDer: Uint8Array;
}

/** The SGX extension of the emulated platform (the emulated TDX quote's TCB). */
export function sgxExtension(leafKey: KeyObject): Extension {
  const P = EMULATED_TDX_PLATFORM;
  const ppid = new Uint8Array(
    Buffer.from(leafKey.export({ format: 'der', type: 'spki' })).subarray(-16),
  );
  return {
    oid: '1.2.840.113741.1.13.1',
    value: encodePckExtension({
      ppid,
      sgxTcbComponents: [...P.sgxTcbComponents],
      pceSvn: P.pceSvn,
      cpuSvn: Uint8Array.from(P.sgxTcbComponents),
      pceId: new Uint8Array(Buffer.from(P.pceId, 'hex')),
      fmspc: new Uint8Array(Buffer.from(P.fmspc, 'hex')),
      sgxType: 1,
    }),
  };
}

/** Fresh keys and Intel-named certificates, shaped as Intel's (pathLen, keyUsage, SGX ext). */
export function intelTestPki(): IntelTestPki {
  const root = p256();
  const pckCa = p256();
  const pckLeaf = p256();
  const tcbSigner = p256();
  const rootName = intelName('Intel SGX Root CA');
  const caName = intelName('Intel SGX PCK Platform CA');
  const alg = 'ecdsa-sha256';
  return {
    root,
    pckCa,
    pckLeaf,
    tcbSigner,
    rootDer: issue({
      subject: rootName,
      issuer: rootName,
      subjectKey: root.publicKey,
      issuerKey: root.privateKey,
      alg,
      extensions: [caPathLen(1), keyUsage(5, 6)],
    }),
    pckCaDer: issue({
      subject: caName,
      issuer: rootName,
      subjectKey: pckCa.publicKey,
      issuerKey: root.privateKey,
      alg,
      serial: 2,
      extensions: [caPathLen(0), keyUsage(5, 6)],
    }),
    pckLeafDer: issue({
      subject: intelName('Intel SGX PCK Certificate'),
      issuer: caName,
      subjectKey: pckLeaf.publicKey,
      issuerKey: pckCa.privateKey,
      alg,
      serial: 3,
      extensions: [keyUsage(0, 1), sgxExtension(pckLeaf.publicKey)],
    }),
    tcbSignerDer: issue({
      subject: intelName('Intel SGX TCB Signing'),
      issuer: rootName,
      subjectKey: tcbSigner.publicKey,
      issuerKey: root.privateKey,
      alg,
      serial: 4,
      extensions: [keyUsage(0, 1)],
    }),
  };
}

/**
 * Writes the PKI where the emulated TDX provider keeps its key set (`<state>/keys/tdx/`), so the
 * emulated TVM's quotes carry this PKI's PCK chain and are signed through its PCK leaf.
 */
export function installTdxKeySet(stateDir: string, pki: IntelTestPki): void {
  const dir = join(stateDir, 'keys', 'tdx');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const put = (base: string, der: Uint8Array | undefined, key: KeyObject): void => {
    if (der !== undefined) fs.writeFileSync(join(dir, `${base}.pem`), toPem(der));
    fs.writeFileSync(
      join(dir, `${base}.key.pem`),
      key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    );
  };
  put('root', pki.rootDer, pki.root.privateKey);
  put('pck_ca', pki.pckCaDer, pki.pckCa.privateKey);
  put('pck_leaf', pki.pckLeafDer, pki.pckLeaf.privateKey);
  put('tcb_signing', pki.tcbSignerDer, pki.tcbSigner.privateKey);
  put('attestation_key', undefined, p256().privateKey);
  fs.writeFileSync(join(dir, 'complete'), 'ok\n');
}

/** What {@link testCrl} builds. */
export interface CrlSpec {
  readonly issuer: Der;
  readonly key: KeyObject;
  readonly alg: SigAlg;
  readonly thisUpdate: Date;
  /** null: no nextUpdate at all. */
  readonly nextUpdate: Date | null;
  readonly revoked?: readonly (number | bigint)[];
  /** Replaces the encoded thisUpdate (to forge a malformed time). */
  readonly rawThisUpdate?: Der;
}

/** A DER CRL (v2), signed by `key`. */
export function testCrl(s: CrlSpec): Uint8Array {
  const revoked = s.revoked ?? [];
  const tbs = seq(
    int(1),
    sigAlgId(s.alg),
    s.issuer,
    s.rawThisUpdate ?? time(s.thisUpdate),
    ...(s.nextUpdate === null ? [] : [time(s.nextUpdate)]),
    ...(revoked.length === 0 ? [] : [seq(...revoked.map((n) => seq(int(n), time(s.thisUpdate))))]),
  );
  return seq(tbs, sigAlgId(s.alg), bits(signWith(s.alg, s.key, tbs)));
}

/** UTCTime with arbitrary text (for malformed-time attacks). */
export function utcTimeText(text: string): Der {
  return tlv(0x17, new Uint8Array(Buffer.from(text, 'latin1')));
}
