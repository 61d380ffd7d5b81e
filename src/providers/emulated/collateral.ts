/**
 * What real evidence has beside it, issued by the emulated PKIs on demand for a verification
 * time (DESIGN §6.1), so emulated evidence runs the verifier's full path — TCB status and
 * revocation included — and a saved TVM never silently expires:
 *
 * | profile | collateral | validity from `at` |
 * |---|---|---|
 * | tdx | TCB info + QE identity (signed by the emulated "SGX TCB Signing" certificate), PCK CRL, root CA CRL, in the QuoteCollateralV3 layout | TCB info / QE identity 30 days, CRLs 7 days |
 * | snp | VCEK (with its TCB extensions), ASK and ARK; the ARK's KDS-style CRL | CRL 7 days |
 * | tpm | an AK certificate (EKU tcg-kp-AIKCertificate, digitalSignature) from an emulated TPM CA, and the CA's CRL | 30 days, CRL 7 days |
 * | cca | the emulated root's CRL (the token carries its x5chain) | CRL 7 days |
 *
 * The TVM's TCB status (`emulate init --tcb-status`) is the TDX platform level's `tcbStatus`;
 * `Revoked` also lists the SNP ASK in the ARK's CRL, the TPM AK certificate in the TPM CA's CRL
 * and the CCA CPAK certificate in the root's CRL. (`OutOfDate` on TPM and CCA lowers the signed
 * firmware / RMM version the evidence itself reports: no vendor issues TCB status for them.)
 *
 * @module
 */
import { createPublicKey } from 'node:crypto';
import * as path from 'node:path';
import { toPem } from '../../formats/x509/pem_encode.js';
import type { Profile } from '../provider.js';
import { EMULATED_ASK_SERIAL, loadOrCreateSnpKeys, makeEmulatedSnpCrl } from './report_snp.js';
import { EMULATED_CPAK_SERIAL, loadOrCreateCcaKeys, makeEmulatedCcaCrl } from './report_cca.js';
import { loadEmulatedAk } from './report_tpm.js';
import { emulatedAkCertificate, emulatedTpmCrl } from './tpm_pki.js';
import { loadOrCreateTdxKeys, makeEmulatedTdxCollateral } from './tdx_pki.js';
import { readTvmConfig, TVM_FILES, type EmulatedTcbStatus } from './tvm_state.js';
import { keySetNotBefore } from './emulated_pki.js';

/** Collateral for one emulated TVM at one time, in the shapes `evidence verify` takes. */
export interface EmulatedCollateral {
  readonly profile: Profile;
  readonly tcbStatus: EmulatedTcbStatus;
  /** As `--collateral` files (name → bytes): TDX collateral JSON, the SNP CRL. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** As `--cert` inputs (PEM): SNP VCEK/ASK/ARK; the TPM AK certificate and its CA. */
  readonly certs: readonly Uint8Array[];
}

/** Options of {@link emulatedCollateral}. */
export interface EmulatedCollateralOptions {
  /** The verification time the collateral is issued for. */
  readonly at: Date;
}

export { EMULATED_TPM_NAMES, emulatedTpmCaCertificate } from './tpm_pki.js';

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
      const keys = loadOrCreateTdxKeys(keysDir, keySetNotBefore(cfg.created));
      const json = makeEmulatedTdxCollateral(keys, opts.at, tcbStatus);
      return {
        ...base,
        files: new Map([['collateral.json', utf8(JSON.stringify(json))]]),
        certs: [],
      };
    }
    case 'snp': {
      const keys = loadOrCreateSnpKeys(keysDir, keySetNotBefore(cfg.created));
      const crl = makeEmulatedSnpCrl(
        keys,
        opts.at,
        tcbStatus === 'Revoked' ? [EMULATED_ASK_SERIAL] : [],
      );
      return {
        ...base,
        files: crl === undefined ? new Map() : new Map([['ark.crl', crl]]),
        certs: [utf8(toPem(keys.vcekDer) + toPem(keys.askDer) + toPem(keys.arkDer))],
      };
    }
    case 'tpm': {
      const akKey = createPublicKey(loadEmulatedAk(path.join(stateDir, TVM_FILES.keys, 'tpm')));
      // One serial per issuance (the time in ms), so that the CRL issued beside it can list it.
      const serial = BigInt(opts.at.getTime());
      const { ak, ca } = emulatedAkCertificate(stateDir, cfg.created, akKey, opts.at, serial);
      const crl = emulatedTpmCrl(
        stateDir,
        cfg.created,
        opts.at,
        tcbStatus === 'Revoked' ? [serial] : [],
      );
      return {
        ...base,
        files: new Map([['tpm-ca.crl', crl]]),
        certs: [utf8(toPem(ak) + toPem(ca))],
      };
    }
    case 'cca': {
      const keys = loadOrCreateCcaKeys(keysDir, keySetNotBefore(cfg.created));
      const crl = makeEmulatedCcaCrl(
        keys,
        opts.at,
        tcbStatus === 'Revoked' ? [EMULATED_CPAK_SERIAL] : [],
      );
      return {
        ...base,
        files: crl === undefined ? new Map() : new Map([['cca-root.crl', crl]]),
        certs: [],
      };
    }
  }
}
