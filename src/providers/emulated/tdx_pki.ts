/**
 * The emulated TDX PKI: an mrstack emulated root ("mrstack Emulated SGX Root CA", organisation
 * `mrstack emulated root - not hardware backed`, see docs/emulated-pki.md) that issues a PCK
 * Platform CA and a TCB signing certificate; the PCK CA issues the platform's PCK leaf (with the
 * Intel SGX extension); and the Quoting Enclave's attestation key. All keys are ECDSA P-256 as
 * Intel's are.
 *
 * Kept under `<state>/keys/tdx/`, created on first use: the whole set is written to a temporary
 * sibling directory and renamed into place, so concurrent first reports agree on one set (the
 * loser of the rename race discards its own and reads the winner's).
 *
 * Collateral (TCB info, QE identity, both CRLs) is signed fresh per report, valid from an hour
 * before the report for 30 days, in the QuoteCollateralV3 JSON layout.
 *
 * @module
 */
import { loadOrCreateKeyDir } from './key_dir.js';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodePckExtension } from '../../formats/tdx/pck_extension.js';
import { bits, int, seq, time } from '../../formats/x509/der_encode.js';
import {
  caExtension,
  name,
  sigAlgId,
  type Extension,
} from '../../formats/x509/certificate_encode.js';
import { toPem } from '../../formats/x509/pem_encode.js';
import { EMULATED_ROOT_ORGANIZATION } from '../../formats/x509/emulated_root.js';
import { certificateIssuer, pemToDer } from './emulated_pki.js';

/** The emulated platform's identity and TCB, shared by the PCK certificate and collateral. */
export const EMULATED_TDX_PLATFORM = {
  fmspc: 'ee0000ee0000',
  pceId: '0000',
  pceSvn: 13,
  sgxTcbComponents: [3, 3, 2, 2, 4, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0],
  /** TEE_TCB_SVN: module ISV SVN 3, module major version 1 (→ identity TDX_01), then TDX SVNs. */
  teeTcbSvn: [3, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  qeSvn: 8,
  qeIsvProdId: 2,
  qeAttributes: '11000000000000000000000000000000',
} as const;

/** The emulated PKI as loaded from disk. */
export interface EmulatedTdxKeys {
  readonly rootDer: Uint8Array;
  readonly rootKey: KeyObject;
  readonly pckCaDer: Uint8Array;
  readonly pckCaKey: KeyObject;
  readonly pckLeafDer: Uint8Array;
  readonly pckLeafKey: KeyObject;
  readonly tcbSignerDer: Uint8Array;
  readonly tcbSignerKey: KeyObject;
  readonly attestationKey: KeyObject;
  /** Raw X‖Y of the attestation key. */
  readonly attestationPublic: Uint8Array;
  /** The QE's MRSIGNER (fixed per key set). */
  readonly qeMrSigner: Uint8Array;
}

const FILES = {
  root: 'root',
  pckCa: 'pck_ca',
  pckLeaf: 'pck_leaf',
  tcbSigner: 'tcb_signing',
  ak: 'attestation_key',
  done: 'complete',
} as const;

const DAY_MS = 24 * 3600 * 1000;

function intelName(cn: string): Uint8Array {
  return name([
    ['CN', cn],
    ['O', EMULATED_ROOT_ORGANIZATION],
    ['C', 'US'],
  ]);
}

/** Names of the emulated certificates (they contain Intel's role words so tools recognise them). */
export const EMULATED_TDX_NAMES = {
  root: 'mrstack Emulated SGX Root CA',
  pckCa: 'mrstack Emulated SGX PCK Platform CA',
  pckLeaf: 'mrstack Emulated SGX PCK Certificate',
  tcbSigner: 'mrstack Emulated SGX TCB Signing',
} as const;

function p256(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

// Random positive 127-bit serials, as a CA would assign them.
const makeCert = certificateIssuer(
  'ecdsa-sha256',
  intelName,
  () => BigInt(`0x${randomBytes(16).toString('hex')}`) >> 1n,
);

function keyUsage(cert: boolean): Extension {
  // keyUsage: keyCertSign + cRLSign (CA) or digitalSignature + nonRepudiation (leaf).
  const v = cert ? Uint8Array.of(0x03, 0x02, 0x01, 0x06) : Uint8Array.of(0x03, 0x02, 0x06, 0xc0);
  return { oid: '2.5.29.15', critical: true, value: v };
}

function writeKeySet(dir: string, notBefore: Date): void {
  const N = EMULATED_TDX_NAMES;
  const root = p256();
  const pckCa = p256();
  const leaf = p256();
  const tcb = p256();
  const ak = p256();
  const rootDer = makeCert(N.root, N.root, root.publicKey, root.privateKey, notBefore, 25, [
    caExtension(),
    keyUsage(true),
  ]);
  const pckCaDer = makeCert(N.root, N.pckCa, pckCa.publicKey, root.privateKey, notBefore, 25, [
    caExtension(),
    keyUsage(true),
  ]);
  const tcbDer = makeCert(N.root, N.tcbSigner, tcb.publicKey, root.privateKey, notBefore, 7, [
    keyUsage(false),
  ]);
  const P = EMULATED_TDX_PLATFORM;
  const ppid = new Uint8Array(
    createHash('sha256')
      .update(leaf.publicKey.export({ format: 'der', type: 'spki' }))
      .digest()
      .subarray(0, 16),
  );
  const sgxExt = encodePckExtension({
    ppid,
    sgxTcbComponents: [...P.sgxTcbComponents],
    pceSvn: P.pceSvn,
    cpuSvn: Uint8Array.from(P.sgxTcbComponents),
    pceId: new Uint8Array(Buffer.from(P.pceId, 'hex')),
    fmspc: new Uint8Array(Buffer.from(P.fmspc, 'hex')),
    sgxType: 1,
  });
  const leafDer = makeCert(N.pckCa, N.pckLeaf, leaf.publicKey, pckCa.privateKey, notBefore, 7, [
    keyUsage(false),
    { oid: '1.2.840.113741.1.13.1', value: sgxExt },
  ]);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const put = (base: string, der: Uint8Array | undefined, key: KeyObject): void => {
    if (der !== undefined)
      fs.writeFileSync(path.join(dir, `${base}.pem`), toPem(der), { mode: 0o600 });
    fs.writeFileSync(
      path.join(dir, `${base}.key.pem`),
      key.export({ format: 'pem', type: 'pkcs8' }).toString(),
      {
        mode: 0o600,
      },
    );
  };
  put(FILES.root, rootDer, root.privateKey);
  put(FILES.pckCa, pckCaDer, pckCa.privateKey);
  put(FILES.pckLeaf, leafDer, leaf.privateKey);
  put(FILES.tcbSigner, tcbDer, tcb.privateKey);
  put(FILES.ak, undefined, ak.privateKey);
  fs.writeFileSync(path.join(dir, FILES.done), 'ok\n', { mode: 0o600 });
}

const rawPublics = new WeakMap<KeyObject, Uint8Array>();

function rawPublic(key: KeyObject): Uint8Array {
  let raw = rawPublics.get(key);
  if (raw === undefined) {
    const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
    raw = new Uint8Array(spki.subarray(spki.length - 64));
    rawPublics.set(key, raw);
  }
  return raw.slice();
}

// Parsed private keys by their PEM text: every emulated quote reads the key set again (so a
// replaced set is picked up), and parsing five PKCS#8 keys was ~1.4 ms of each quote's CPU
// (bench/verifier, session 7). Keyed by the file's content, so a changed file parses afresh.
const parsedKeys = new Map<string, KeyObject>();

function privateKeyOf(pem: string): KeyObject {
  let k = parsedKeys.get(pem);
  if (k === undefined) {
    if (parsedKeys.size >= 64) parsedKeys.clear();
    k = createPrivateKey(pem);
    parsedKeys.set(pem, k);
  }
  return k;
}

function readKeySet(dir: string): EmulatedTdxKeys {
  const cert = (b: string): Uint8Array =>
    pemToDer(fs.readFileSync(path.join(dir, `${b}.pem`), 'utf8'));
  const key = (b: string): KeyObject =>
    privateKeyOf(fs.readFileSync(path.join(dir, `${b}.key.pem`), 'utf8'));
  const attestationKey = key(FILES.ak);
  const rootDer = cert(FILES.root);
  return {
    rootDer,
    rootKey: key(FILES.root),
    pckCaDer: cert(FILES.pckCa),
    pckCaKey: key(FILES.pckCa),
    pckLeafDer: cert(FILES.pckLeaf),
    pckLeafKey: key(FILES.pckLeaf),
    tcbSignerDer: cert(FILES.tcbSigner),
    tcbSignerKey: key(FILES.tcbSigner),
    attestationKey,
    attestationPublic: rawPublic(attestationKey),
    qeMrSigner: new Uint8Array(
      createHash('sha256').update('mrstack emulated TD quoting enclave').update(rootDer).digest(),
    ),
  };
}

/**
 * The emulated TDX PKI under `keysDir`, created on first use (atomically, as a set).
 * @throws ProviderError for file-system failures
 */
export function loadOrCreateTdxKeys(keysDir: string, notBefore: Date): EmulatedTdxKeys {
  return loadOrCreateKeyDir(keysDir, FILES.done, (tmp) => writeKeySet(tmp, notBefore), readKeySet);
}

function crl(
  issuerCn: string,
  issuerKey: KeyObject,
  thisUpdate: Date,
  nextUpdate: Date,
): Uint8Array {
  const tbs = seq(
    int(1),
    sigAlgId('ecdsa-sha256'),
    intelName(issuerCn),
    time(thisUpdate),
    time(nextUpdate),
  );
  return seq(tbs, sigAlgId('ecdsa-sha256'), bits(sign('sha256', tbs, issuerKey)));
}

const hexUp = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

/**
 * Emulated collateral in dcap-qvl's QuoteCollateralV3 JSON layout, issued for the time `now`:
 * TCB info and QE identity from an hour before it until 30 days after it, the CRLs until 7
 * days after it, the platform's TCB level with `tcbStatus`.
 */
export function makeEmulatedTdxCollateral(
  keys: EmulatedTdxKeys,
  now: Date,
  tcbStatus = 'UpToDate',
): Record<string, string> {
  const P = EMULATED_TDX_PLATFORM;
  const issue = new Date(Math.floor((now.getTime() - 3600 * 1000) / 1000) * 1000);
  const next = new Date(Math.floor(now.getTime() / 1000) * 1000 + 30 * DAY_MS);
  const crlNext = new Date(Math.floor(now.getTime() / 1000) * 1000 + 7 * DAY_MS);
  const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const tcbDate = '2025-01-01T00:00:00Z';
  const tcbInfo = JSON.stringify({
    id: 'TDX',
    version: 3,
    issueDate: iso(issue),
    nextUpdate: iso(next),
    fmspc: P.fmspc.toUpperCase(),
    pceId: P.pceId,
    tcbType: 0,
    tcbEvaluationDataNumber: 1,
    tdxModule: {
      mrsigner: '00'.repeat(48),
      attributes: '0000000000000000',
      attributesMask: 'FFFFFFFFFFFFFFFF',
    },
    tdxModuleIdentities: [
      {
        id: 'TDX_01',
        mrsigner: '00'.repeat(48),
        attributes: '0000000000000000',
        attributesMask: 'FFFFFFFFFFFFFFFF',
        tcbLevels: [{ tcb: { isvsvn: P.teeTcbSvn[0] }, tcbDate, tcbStatus: 'UpToDate' }],
      },
    ],
    tcbLevels: [
      {
        tcb: {
          sgxtcbcomponents: P.sgxTcbComponents.map((svn) => ({ svn })),
          pcesvn: P.pceSvn,
          tdxtcbcomponents: P.teeTcbSvn.map((svn) => ({ svn })),
        },
        tcbDate,
        tcbStatus,
      },
    ],
  });
  const qeIdentity = JSON.stringify({
    id: 'TD_QE',
    version: 2,
    issueDate: iso(issue),
    nextUpdate: iso(next),
    tcbEvaluationDataNumber: 1,
    miscselect: '00000000',
    miscselectMask: 'FFFFFFFF',
    attributes: P.qeAttributes,
    attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
    mrsigner: hexUp(keys.qeMrSigner),
    isvprodid: P.qeIsvProdId,
    tcbLevels: [{ tcb: { isvsvn: P.qeSvn }, tcbDate, tcbStatus: 'UpToDate' }],
  });
  const sig = (text: string): string =>
    Buffer.from(
      sign('sha256', Buffer.from(text, 'utf8'), {
        key: keys.tcbSignerKey,
        dsaEncoding: 'ieee-p1363',
      }),
    ).toString('hex');
  const tcbChain = toPem(keys.tcbSignerDer) + toPem(keys.rootDer);
  return {
    tcb_info: tcbInfo,
    tcb_info_signature: sig(tcbInfo),
    tcb_info_issuer_chain: tcbChain,
    qe_identity: qeIdentity,
    qe_identity_signature: sig(qeIdentity),
    qe_identity_issuer_chain: tcbChain,
    pck_crl: Buffer.from(crl(EMULATED_TDX_NAMES.pckCa, keys.pckCaKey, issue, crlNext)).toString(
      'hex',
    ),
    pck_crl_issuer_chain: toPem(keys.pckCaDer) + toPem(keys.rootDer),
    root_ca_crl: Buffer.from(crl(EMULATED_TDX_NAMES.root, keys.rootKey, issue, crlNext)).toString(
      'hex',
    ),
  };
}
