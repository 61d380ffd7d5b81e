/**
 * What real evidence has beside it, issued by the emulated PKIs on demand for a verification
 * time (DESIGN §6.1), so emulated evidence runs the verifier's full path — TCB status and
 * revocation included — and a saved TVM never silently expires:
 *
 * | profile | collateral | validity from `at` |
 * |---|---|---|
 * | tdx | TCB info + QE identity (signed by the emulated "SGX TCB Signing" certificate), PCK CRL, root CA CRL, in the QuoteCollateralV3 layout | TCB info / QE identity 30 days, CRLs 7 days |
 * | snp | VCEK (with its TCB extensions), ASK and ARK; the ARK's KDS-style CRL | CRL 7 days |
 * | tpm | an AK certificate (EKU tcg-kp-AIKCertificate, digitalSignature) from an emulated TPM CA | 30 days |
 * | cca | nothing: the token carries its x5chain | — |
 *
 * The TVM's TCB status (`emulate init --tcb-status`) is the TDX platform level's `tcbStatus`;
 * `Revoked` also lists the SNP ASK in the ARK's CRL.
 *
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { oid, seq } from '../../formats/x509/der_encode.js';
import { caExtension, name } from '../../formats/x509/certificate_encode.js';
import { toPem } from '../../formats/x509/pem_encode.js';
import type { Profile } from '../provider.js';
import { EMULATED_ROOT_ORGANIZATION } from '../../formats/x509/emulated_root.js';
import { certificateIssuer, pemToDer } from './emulated_pki.js';
import { loadOrCreateKeyDir } from './key_dir.js';
import { EMULATED_ASK_SERIAL, loadOrCreateSnpKeys, makeEmulatedSnpCrl } from './report_snp.js';
import { loadEmulatedAk } from './report_tpm.js';
import { loadOrCreateTdxKeys, makeEmulatedTdxCollateral } from './tdx_pki.js';
import { readTvmConfig, TVM_FILES, type EmulatedTcbStatus } from './tvm_state.js';

/** Collateral for one emulated TVM at one time, in the shapes `evidence verify` takes. */
export interface EmulatedCollateral {
  readonly profile: Profile;
  readonly tcbStatus: EmulatedTcbStatus;
  /** As `--collateral` files (name → bytes): TDX collateral JSON, the SNP CRL. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** As `--cert` inputs (PEM): SNP VCEK/ASK/ARK; the TPM AK certificate and its CA. */
  readonly certs: readonly Uint8Array[];
  /**
   * The TVM's own roots (DER): what `--trust-emulated --tvm-state DIR` trusts, by the SHA-256 of
   * their SubjectPublicKeyInfo — the TDX root CA, the SNP ARK, the TPM CA (CCA: none yet).
   */
  readonly anchors: readonly Uint8Array[];
}

/** Options of {@link emulatedCollateral}. */
export interface EmulatedCollateralOptions {
  /** The verification time the collateral is issued for. */
  readonly at: Date;
}

const DAY_MS = 24 * 3600 * 1000;
const YEAR_MS = 365.25 * DAY_MS;

/** The emulated TPM CA (self-signed, P-256) under `<state>/keys/tpm-ca/`. */
interface TpmCa {
  readonly der: Uint8Array;
  readonly key: KeyObject;
}

/** Subject CNs of the emulated TPM PKI. */
export const EMULATED_TPM_NAMES = {
  ca: 'mrstack Emulated TPM CA',
  ak: 'mrstack Emulated TPM AK',
} as const;

const tpmName = (cn: string): Uint8Array =>
  name([
    ['CN', cn],
    ['O', EMULATED_ROOT_ORGANIZATION],
  ]);

const issueTpm = certificateIssuer('ecdsa-sha256', tpmName, () => BigInt(Date.now()));

function keyUsage(
  bitsByte: number,
  unused: number,
): { oid: string; critical: true; value: Uint8Array } {
  return { oid: '2.5.29.15', critical: true, value: Uint8Array.of(0x03, 0x02, unused, bitsByte) };
}

function loadOrCreateTpmCa(dir: string, notBefore: Date): TpmCa {
  return loadOrCreateKeyDir(
    dir,
    'ca.pem',
    (tmp) => {
      const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const der = issueTpm(
        EMULATED_TPM_NAMES.ca,
        EMULATED_TPM_NAMES.ca,
        k.publicKey,
        k.privateKey,
        notBefore,
        25,
        [caExtension(), keyUsage(0x06, 1)],
        1,
      );
      fs.writeFileSync(
        path.join(tmp, 'ca.key.pem'),
        k.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        { mode: 0o600 },
      );
      fs.writeFileSync(path.join(tmp, 'ca.pem'), toPem(der), { mode: 0o600 });
    },
    (d) => ({
      der: pemToDer(fs.readFileSync(path.join(d, 'ca.pem'), 'utf8')),
      key: createPrivateKey(fs.readFileSync(path.join(d, 'ca.key.pem'), 'utf8')),
    }),
  );
}

/** The emulated TPM CA certificate of a TVM (created on first use), for anchors and exports. */
export function emulatedTpmCaCertificate(stateDir: string): Uint8Array {
  const cfg = readTvmConfig(stateDir);
  return loadOrCreateTpmCa(path.join(stateDir, TVM_FILES.keys, 'tpm-ca'), cfg.created).der;
}

/**
 * The AK certificate of the emulated TPM, issued for `at`: subject "mrstack Emulated TPM AK",
 * keyUsage digitalSignature, extendedKeyUsage tcg-kp-AIKCertificate (2.23.133.8.3), valid from
 * an hour before `at` for 30 days.
 */
function tpmAkCertificate(
  stateDir: string,
  created: Date,
  at: Date,
): { ak: Uint8Array; ca: Uint8Array } {
  const keys = path.join(stateDir, TVM_FILES.keys);
  const ca = loadOrCreateTpmCa(path.join(keys, 'tpm-ca'), created);
  const akKey = loadEmulatedAk(path.join(keys, 'tpm'));
  const notBefore = new Date(Math.floor(at.getTime() / 1000) * 1000 - 3600 * 1000);
  const ak = issueTpm(
    EMULATED_TPM_NAMES.ca,
    EMULATED_TPM_NAMES.ak,
    createPublicKey(akKey),
    ca.key,
    notBefore,
    (30 * DAY_MS + 3600 * 1000) / YEAR_MS,
    [keyUsage(0x80, 7), { oid: '2.5.29.37', value: seq(oid('2.23.133.8.3')) }],
  );
  return { ak, ca: ca.der };
}

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/**
 * Collateral for the emulated TVM in `stateDir`, issued for the verification time `opts.at`
 * with the TCB status the TVM was given.
 * @throws ProviderError `ERR_NOT_FOUND` when there is no TVM there; file-system errors
 */
export function emulatedCollateral(
  stateDir: string,
  opts: EmulatedCollateralOptions,
): EmulatedCollateral {
  const cfg = readTvmConfig(stateDir);
  const tcbStatus = cfg.tcbStatus ?? 'UpToDate';
  const keysDir = path.join(stateDir, TVM_FILES.keys, cfg.profile);
  const base = { profile: cfg.profile, tcbStatus };
  switch (cfg.profile) {
    case 'tdx': {
      // The same notBefore the report path uses, so both create the same key set.
      const keys = loadOrCreateTdxKeys(keysDir, new Date(cfg.created.getTime() - DAY_MS));
      const json = makeEmulatedTdxCollateral(keys, opts.at, tcbStatus);
      return {
        ...base,
        files: new Map([['collateral.json', utf8(JSON.stringify(json))]]),
        certs: [],
        anchors: [keys.rootDer],
      };
    }
    case 'snp': {
      const keys = loadOrCreateSnpKeys(keysDir, new Date(cfg.created.getTime() - DAY_MS));
      const crl = makeEmulatedSnpCrl(
        keys,
        opts.at,
        tcbStatus === 'Revoked' ? [EMULATED_ASK_SERIAL] : [],
      );
      return {
        ...base,
        files: crl === undefined ? new Map() : new Map([['ark.crl', crl]]),
        certs: [utf8(toPem(keys.vcekDer) + toPem(keys.askDer) + toPem(keys.arkDer))],
        anchors: [keys.arkDer],
      };
    }
    case 'tpm': {
      const { ak, ca } = tpmAkCertificate(stateDir, cfg.created, opts.at);
      return { ...base, files: new Map(), certs: [utf8(toPem(ak) + toPem(ca))], anchors: [ca] };
    }
    case 'cca':
      return { ...base, files: new Map(), certs: [], anchors: [] };
  }
}
