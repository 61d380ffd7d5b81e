/**
 * The emulated TVM's Arm CCA attestation token: a CMW collection (tag 907) with a platform token
 * signed (ES384) by an emulated CPAK and a realm token signed (ES384) by an emulated RAK, the
 * RAK bound to the platform by the platform challenge = H(RAK COSE_Key bytes) with H named by
 * claim 44240. The realm token carries the TVM's RIM and REM0–3 and the request's challenge
 * (zero-padded to 64 bytes).
 *
 * Real CCA verifiers take the CPAK from an endorsement; the emulated platform token carries the
 * CPAK certificate and the emulated root in its `x5chain` header (label 33), so a verifier
 * given `--trust-emulated` (or the emulated root as `--trust-anchor`) can check it. Keys live
 * under `<state>/keys/cca/`, made on first use and renamed into place as a set.
 *
 * @module
 */
import { loadOrCreateKeyDir } from './key_dir.js';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tag } from 'cbor-x';
import { UsageError } from '../../errors.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import { hash } from '../../crypto/hash.js';
import {
  cborEncoder,
  encodeCoseSign1,
  sigStructure,
  COSE_ALGS,
} from '../../formats/cca/cose_sign1.js';
import {
  CCA_KEYS,
  CCA_PLATFORM_CLAIMS as P,
  CCA_REALM_CLAIMS as R,
} from '../../formats/cca/token.js';
import { caExtension, name } from '../../formats/x509/certificate_encode.js';
import { toPem } from '../../formats/x509/pem_encode.js';
import { certificateIssuer, issueCrl, keySetNotBefore, pemToDer } from './emulated_pki.js';
import type { RawReport } from '../provider.js';
import type { EmulatedReportContext, EmulatedReportFn } from './report_context.js';
import { EMULATED_ROOT_ORGANIZATION } from '../../formats/x509/emulated_root.js';

/** The emulated CCA PKI as loaded from `<state>/keys/cca/`. */
export interface EmulatedCcaKeys {
  /** The root's private key (absent in key sets made before the root issued CRLs). */
  readonly rootKey?: KeyObject;
  readonly cpakKey: KeyObject;
  readonly rakKey: KeyObject;
  readonly cpakCertDer: Uint8Array;
  readonly rootDer: Uint8Array;
}

const FILES = {
  cpak: 'cpak.key.pem',
  rak: 'rak.key.pem',
  cpakCert: 'cpak.pem',
  root: 'root.pem',
  rootKey: 'root.key.pem',
} as const;

/** The CPAK certificate's serial (what a `--tcb-status Revoked` TVM's root CRL lists). */
export const EMULATED_CPAK_SERIAL = 2;

/**
 * The emulated RMM software component of the platform token, by the TVM's TCB status: 0.1.0,
 * or 0.0.9 (another measurement) for a TVM initialized with `--tcb-status OutOfDate`
 * (docs/emulated-tvm.md).
 */
export const EMULATED_CCA_RMM = {
  type: 'MRSTACK_EMULATED_RMM',
  current: { version: '0.1.0', measured: 'mrstack emulated RMM' },
  outOfDate: { version: '0.0.9', measured: 'mrstack emulated RMM 0.0.9' },
} as const;

const ccaName = (cn: string): Uint8Array =>
  name([
    ['O', EMULATED_ROOT_ORGANIZATION],
    ['CN', cn],
  ]);

const cert = certificateIssuer('ecdsa-sha384', ccaName);

function readKeys(dir: string): EmulatedCcaKeys {
  const r = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
  const rootKeyFile = path.join(dir, FILES.rootKey);
  return {
    ...(fs.existsSync(rootKeyFile)
      ? { rootKey: createPrivateKey(fs.readFileSync(rootKeyFile, 'utf8')) }
      : {}),
    cpakKey: createPrivateKey(r(FILES.cpak)),
    rakKey: createPrivateKey(r(FILES.rak)),
    cpakCertDer: pemToDer(r(FILES.cpakCert)),
    rootDer: pemToDer(r(FILES.root)),
  };
}

/**
 * The emulated CCA keys under `keysDir`, created on first use (atomically, as a set).
 * @throws ProviderError for file-system failures
 */
export function loadOrCreateCcaKeys(keysDir: string, notBefore: Date): EmulatedCcaKeys {
  return loadOrCreateKeyDir(keysDir, FILES.root, (tmp) => writeKeySet(tmp, notBefore), readKeys);
}

/** Writes a fresh emulated CCA key set (root, CPAK, RAK and certificates) into `tmp`. */
function writeKeySet(tmp: string, notBefore: Date): void {
  const ec = (): { publicKey: KeyObject; privateKey: KeyObject } =>
    generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const root = ec();
  const cpak = ec();
  const rak = ec();
  const rootDer = cert(
    'CCA-Root-Emulated',
    'CCA-Root-Emulated',
    root.publicKey,
    root.privateKey,
    notBefore,
    25,
    [caExtension()],
    1,
  );
  const cpakDer = cert(
    'CCA-Root-Emulated',
    'CCA-CPAK-Emulated',
    cpak.publicKey,
    root.privateKey,
    notBefore,
    25,
    [],
    EMULATED_CPAK_SERIAL,
  );
  const w = (f: string, t: string): void => fs.writeFileSync(path.join(tmp, f), t, { mode: 0o600 });
  w(FILES.rootKey, root.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  w(FILES.cpak, cpak.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  w(FILES.rak, rak.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  w(FILES.cpakCert, toPem(cpakDer));
  w(FILES.root, toPem(rootDer));
}

/**
 * The emulated CCA root's CRL for the verification time `at`, listing `revoked` serials; undefined
 * for a key set made before the root kept its key.
 */
export function makeEmulatedCcaCrl(
  keys: EmulatedCcaKeys,
  at: Date,
  revoked: readonly number[],
): Uint8Array | undefined {
  if (keys.rootKey === undefined) return undefined;
  return issueCrl('ecdsa-sha384', ccaName('CCA-Root-Emulated'), keys.rootKey, at, revoked);
}

/** The token's name of a hash algorithm (`sha-256`). */
function tokenAlgName(a: HashAlg): string {
  return a.replace('sha', 'sha-');
}

/** An EC2 COSE_Key for a P-384 public key. */
function coseKey(pub: KeyObject): Uint8Array {
  const jwk = pub.export({ format: 'jwk' });
  const b = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64url');
  return cborEncoder().encode(
    new Map<number, unknown>([
      [1, 2],
      [-1, 2],
      [-2, b(jwk.x)],
      [-3, b(jwk.y)],
    ]),
  );
}

function coseSign(
  claims: Map<number, unknown>,
  key: KeyObject,
  unprotected: Map<number, unknown>,
): Uint8Array {
  const protectedBytes = cborEncoder().encode(new Map([[1, COSE_ALGS.ES384]]));
  const payload = cborEncoder().encode(claims);
  const sig = sign('sha384', sigStructure(protectedBytes, payload), {
    key,
    dsaEncoding: 'ieee-p1363',
  });
  return encodeCoseSign1(protectedBytes, unprotected, payload, sig);
}

/**
 * Builds the emulated CCA token, synchronously.
 * @throws UsageError `ERR_USAGE` for a challenge over 64 bytes
 */
export function makeEmulatedCcaToken(ctx: EmulatedReportContext): RawReport {
  const rd = ctx.reportData;
  if (rd.length > 64) {
    throw new UsageError('ERR_USAGE', `CCA challenge is at most 64 bytes, got ${rd.length}`);
  }
  const keys = loadOrCreateCcaKeys(ctx.keysDir, keySetNotBefore(ctx.config.created));
  const realmAlg: HashAlg = ctx.config.hashAlg ?? 'sha256';
  const size = realmAlg === 'sha512' ? 64 : 32;
  const rak = coseKey(createPublicKey(keys.rakKey));
  const rakHashAlg: HashAlg = 'sha256';
  const challenge = new Uint8Array(64);
  challenge.set(rd);
  const mr = (n: string): Buffer =>
    Buffer.from(ctx.values.get(n) ?? ctx.config.staticValues.get(n) ?? new Uint8Array(size));
  const realm = new Map<number, unknown>([
    [R.profile, 'tag:arm.com,2023:realm#1.0.0'],
    [R.challenge, Buffer.from(challenge)],
    [R.personalization_value, Buffer.alloc(64)],
    [R.hash_algo_id, tokenAlgName(realmAlg)],
    [R.public_key, Buffer.from(rak)],
    [R.rim, mr('rim')],
    [R.rem, [mr('rem0'), mr('rem1'), mr('rem2'), mr('rem3')]],
    [R.public_key_hash_algo_id, tokenAlgName(rakHashAlg)],
  ]);
  const rmm =
    ctx.config.tcbStatus === 'OutOfDate' ? EMULATED_CCA_RMM.outOfDate : EMULATED_CCA_RMM.current;
  const cpakPub = createPublicKey(keys.cpakKey).export({ format: 'der', type: 'spki' });
  const platform = new Map<number, unknown>([
    [P.profile, 'tag:arm.com,2023:cca_platform#1.0.0'],
    [P.challenge, Buffer.from(hash(rakHashAlg, rak))],
    [P.implementation_id, createHash('sha256').update('mrstack emulated CCA platform').digest()],
    [P.instance_id, Buffer.concat([Buffer.of(1), createHash('sha256').update(cpakPub).digest()])],
    [P.config, Buffer.alloc(0)],
    // secured (0x3000), or recoverable PSA RoT debug (0x5000) for a TVM initialized with --debug
    [P.lifecycle, ctx.config.debug === true ? 0x5000 : 0x3000],
    [P.hash_algo_id, 'sha-256'],
    [
      P.sw_components,
      [
        new Map<number, unknown>([
          [1, EMULATED_CCA_RMM.type],
          [2, createHash('sha256').update(rmm.measured).digest()],
          [4, rmm.version],
          [5, createHash('sha256').update('mrstack emulated signer').digest()],
          [6, 'sha-256'],
        ]),
      ],
    ],
    [P.verification_service, 'https://mrstack.invalid/emulated'],
  ]);
  const realmToken = coseSign(realm, keys.rakKey, new Map());
  const platformToken = coseSign(
    platform,
    keys.cpakKey,
    new Map<number, unknown>([[33, [Buffer.from(keys.cpakCertDer), Buffer.from(keys.rootDer)]]]),
  );
  const outblob = cborEncoder().encode(
    new Tag(
      new Map<number, unknown>([
        [CCA_KEYS.platform, [263, Buffer.from(platformToken)]],
        [CCA_KEYS.realm, [263, Buffer.from(realmToken)]],
      ]),
      907,
    ),
  );
  return {
    provider: 'arm_cca_guest',
    format: 'cca-token',
    outblob: new Uint8Array(outblob),
    emulated: true,
  };
}

/** The CCA entry of the emulated provider's report table. */
export const ccaEmulatedReport: EmulatedReportFn = (ctx) => {
  try {
    return Promise.resolve(makeEmulatedCcaToken(ctx));
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
};
