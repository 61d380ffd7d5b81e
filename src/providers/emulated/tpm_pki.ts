/**
 * The emulated TPM's PKI (DESIGN §6.1): a self-signed "mrstack Emulated TPM CA" per TVM (P-256,
 * under `<state>/keys/tpm-ca/`, the TVM's TPM root that `--trust-emulated --tvm-state` trusts by
 * fingerprint), and the AK certificates it issues for the emulated AK — into each report's
 * envelope (`parts.ak_cert`) and on demand for a verification time (`emulatedCollateral`).
 *
 * @module
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { oid, seq } from '../../formats/x509/der_encode.js';
import { caExtension, name } from '../../formats/x509/certificate_encode.js';
import { toPem } from '../../formats/x509/pem_encode.js';
import { EMULATED_ROOT_ORGANIZATION } from '../../formats/x509/emulated_root.js';
import { certificateIssuer, issueCrl, pemToDer } from './emulated_pki.js';
import { loadOrCreateKeyDir } from './key_dir.js';
import { readTvmConfig, TVM_FILES } from './tvm_state.js';

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
 * The AK certificate of the emulated TPM, issued for `at` by the TVM's TPM CA (created on first
 * use, `created` as its notBefore): subject "mrstack Emulated TPM AK", keyUsage
 * digitalSignature, extendedKeyUsage tcg-kp-AIKCertificate (2.23.133.8.3), valid from an hour
 * before `at` for 30 days. Returns it and the CA certificate (DER).
 */
export function emulatedAkCertificate(
  stateDir: string,
  created: Date,
  akKey: KeyObject,
  at: Date,
  serial?: bigint,
): { ak: Uint8Array; ca: Uint8Array } {
  const ca = loadOrCreateTpmCa(path.join(stateDir, TVM_FILES.keys, 'tpm-ca'), created);
  const notBefore = new Date(Math.floor(at.getTime() / 1000) * 1000 - 3600 * 1000);
  const ak = issueTpm(
    EMULATED_TPM_NAMES.ca,
    EMULATED_TPM_NAMES.ak,
    akKey,
    ca.key,
    notBefore,
    (30 * DAY_MS + 3600 * 1000) / YEAR_MS,
    [keyUsage(0x80, 7), { oid: '2.5.29.37', value: seq(oid('2.23.133.8.3')) }],
    serial,
  );
  return { ak, ca: ca.der };
}

/**
 * The emulated TPM CA's CRL for the verification time `at` (7 days, as the other emulated
 * CRLs), listing `revoked` AK certificate serials — how a TVM initialized with
 * `--tcb-status Revoked` has its AK revoked (docs/emulated-pki.md).
 */
export function emulatedTpmCrl(
  stateDir: string,
  created: Date,
  at: Date,
  revoked: readonly bigint[],
): Uint8Array {
  const ca = loadOrCreateTpmCa(path.join(stateDir, TVM_FILES.keys, 'tpm-ca'), created);
  return issueCrl('ecdsa-sha256', tpmName(EMULATED_TPM_NAMES.ca), ca.key, at, revoked);
}

/**
 * The TPMS_ATTEST `firmwareVersion` the emulated TPM reports (TPM_PT_FIRMWARE_VERSION_1 in the
 * high 32 bits, _2 in the low): 1.2 for an up-to-date (or revoked) TVM, 1.1 for one initialized
 * with `--tcb-status OutOfDate` (docs/emulated-tvm.md).
 */
export const EMULATED_TPM_FIRMWARE = {
  current: 0x0001_0002_0000_0000n,
  outOfDate: 0x0001_0001_0000_0000n,
} as const;
