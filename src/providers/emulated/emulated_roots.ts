/**
 * The roots of one emulated TVM's PKI: what `--trust-emulated --tvm-state DIR` trusts (by the
 * SHA-256 of each root's SubjectPublicKeyInfo) and what `mrstack emulate export-roots` writes
 * for `--trust-anchor` on another machine (DESIGN §6.1).
 *
 * Each TVM's keys are its own (created on first use under `<state>/keys/`), so another TVM's
 * roots never verify this TVM's evidence. The roots are loaded with the same creation times the
 * report paths use, so whichever runs first creates the one key set both then read.
 *
 * @module
 */
import * as path from 'node:path';
import type { Profile } from '../provider.js';
import { emulatedTpmCaCertificate } from './collateral.js';
import { loadOrCreateCcaKeys } from './report_cca.js';
import { loadOrCreateSnpKeys } from './report_snp.js';
import { loadOrCreateTdxKeys } from './tdx_pki.js';
import { readTvmConfig, TVM_FILES } from './tvm_state.js';
import { keySetNotBefore } from './emulated_pki.js';

/** One root certificate of an emulated TVM. */
export interface EmulatedRoot {
  /** A file-name-safe label (`tdx-root`, `snp-ark`, `cca-root`, `tpm-ca`). */
  readonly label: string;
  /** The self-signed certificate, DER. */
  readonly der: Uint8Array;
}

/** The roots of the emulated TVM in `stateDir`, by its profile. */
export interface EmulatedRoots {
  readonly profile: Profile;
  readonly roots: readonly EmulatedRoot[];
}

/**
 * The root certificates of the emulated TVM in `stateDir` (created on first use).
 * @throws ProviderError `ERR_NOT_FOUND` when no TVM lives there; file-system errors
 */
export function emulatedRoots(stateDir: string): EmulatedRoots {
  const cfg = readTvmConfig(stateDir);
  const keysDir = path.join(stateDir, TVM_FILES.keys, cfg.profile);
  // The notBefore each report path passes when it creates the key set.
  const notBefore = keySetNotBefore(cfg.created);
  switch (cfg.profile) {
    case 'tdx':
      return {
        profile: cfg.profile,
        roots: [{ label: 'tdx-root', der: loadOrCreateTdxKeys(keysDir, notBefore).rootDer }],
      };
    case 'snp':
      return {
        profile: cfg.profile,
        roots: [{ label: 'snp-ark', der: loadOrCreateSnpKeys(keysDir, notBefore).arkDer }],
      };
    case 'cca':
      return {
        profile: cfg.profile,
        roots: [{ label: 'cca-root', der: loadOrCreateCcaKeys(keysDir, notBefore).rootDer }],
      };
    case 'tpm':
      return {
        profile: cfg.profile,
        roots: [{ label: 'tpm-ca', der: emulatedTpmCaCertificate(stateDir) }],
      };
  }
}
