/**
 * The emulated TVM's profiles as data: which registers each platform has, their algorithms,
 * sizes, reset values and extend rules (DESIGN §2).
 *
 * - `tdx`: `mrtd` (SHA-384, static), `rtmr0..3` (SHA-384, extend takes exactly 48 bytes),
 *   `mrconfigid`, `mrowner`, `mrownerconfig` (48 bytes, no hash, static).
 * - `snp`: `measurement` (SHA-384, static), `host_data` (32), `id_key_digest` (48),
 *   `author_key_digest` (48), all static: SNP has no runtime registers (that is the vTPM's job).
 * - `cca`: `rim` (static) and `rem0..3` (extend takes 1..64 bytes, `REM ← H(REM ‖ data)`), in the
 *   realm hash algorithm (sha256 or sha512) chosen at init.
 * - `tpm`: `pcr0..23` in sha1, sha256 and sha384 banks with the PC Client reset values: PCR 17–22
 *   start at all-ones, the others at zero except PCR0, which is `00…0L` after a `TPM2_Startup` at
 *   locality L (0 or 3). PCR 17–22 are extendable only from localities 2–4 on a PC Client TPM;
 *   the emulated TPM runs at locality 0, so they are listed as not extendable.
 *
 * @module
 */
import { digestSize, type HashAlg } from '../../crypto/hash_alg.js';
import type { MrInfo, Profile } from '../provider.js';

/** The profiles, in a stable order. */
export const PROFILES: readonly Profile[] = Object.freeze(['tdx', 'snp', 'cca', 'tpm'] as const);

/** The banks the emulated TPM allocates. */
export const TPM_BANKS: readonly HashAlg[] = Object.freeze(['sha1', 'sha256', 'sha384'] as const);

/** The realm hash algorithms a CCA realm may use. */
export const CCA_HASH_ALGS: readonly HashAlg[] = Object.freeze(['sha256', 'sha512'] as const);

/** Localities the emulated TPM may start at (PCR0 = 00…0L). */
export const TPM_STARTUP_LOCALITIES: readonly number[] = Object.freeze([0, 3]);

/** A static register set at init. */
export interface StaticDef {
  readonly name: string;
  readonly alg: HashAlg | undefined;
  readonly size: number;
  /** True when init fills it with random bytes unless given (a launch digest); else zeros. */
  readonly randomByDefault: boolean;
}

/** A register one bank of which is described, with its value source. */
export interface RegisterDef extends MrInfo {
  /** Runtime registers: the number in trace records (`rtmr2` → 2). */
  readonly number?: number;
  /** Runtime registers: the value at reset. */
  readonly reset?: Uint8Array;
}

/** Per-profile options fixed at init. */
export interface ProfileOptions {
  /** CCA realm hash algorithm. */
  readonly hashAlg?: HashAlg;
  /** TPM StartupLocality (0 or 3). */
  readonly startupLocality?: number;
}

/** The static registers of a profile. */
export function staticDefs(profile: Profile, opts: ProfileOptions = {}): readonly StaticDef[] {
  switch (profile) {
    case 'tdx':
      return [
        { name: 'mrtd', alg: 'sha384', size: 48, randomByDefault: true },
        { name: 'mrconfigid', alg: undefined, size: 48, randomByDefault: false },
        { name: 'mrowner', alg: undefined, size: 48, randomByDefault: false },
        { name: 'mrownerconfig', alg: undefined, size: 48, randomByDefault: false },
      ];
    case 'snp':
      return [
        { name: 'measurement', alg: 'sha384', size: 48, randomByDefault: true },
        { name: 'host_data', alg: undefined, size: 32, randomByDefault: false },
        { name: 'id_key_digest', alg: undefined, size: 48, randomByDefault: false },
        { name: 'author_key_digest', alg: undefined, size: 48, randomByDefault: false },
      ];
    case 'cca': {
      const alg = opts.hashAlg ?? 'sha256';
      return [{ name: 'rim', alg, size: digestSize(alg), randomByDefault: true }];
    }
    case 'tpm':
      return [];
  }
}

function runtime(
  name: string,
  number: number,
  alg: HashAlg,
  reset: Uint8Array,
  extendable: boolean,
  input: { min: number; max: number },
): RegisterDef {
  return {
    name,
    alg,
    size: digestSize(alg),
    kind: 'runtime',
    extendable,
    ...(extendable ? { extendInput: input } : {}),
    number,
    reset,
  };
}

/** The reset value of a TPM PCR bank under the PC Client profile. */
export function tpmPcrReset(pcr: number, alg: HashAlg, startupLocality = 0): Uint8Array {
  const size = digestSize(alg);
  if (pcr >= 17 && pcr <= 22) return new Uint8Array(size).fill(0xff);
  const v = new Uint8Array(size);
  if (pcr === 0) v[size - 1] = startupLocality;
  return v;
}

/** The runtime (extendable) registers of a profile, one entry per bank, with reset values. */
export function runtimeDefs(profile: Profile, opts: ProfileOptions = {}): readonly RegisterDef[] {
  switch (profile) {
    case 'tdx':
      return [0, 1, 2, 3].map((i) =>
        runtime(`rtmr${i}`, i, 'sha384', new Uint8Array(48), true, { min: 48, max: 48 }),
      );
    case 'snp':
      return [];
    case 'cca': {
      const alg = opts.hashAlg ?? 'sha256';
      return [0, 1, 2, 3].map((i) =>
        runtime(`rem${i}`, i, alg, new Uint8Array(digestSize(alg)), true, { min: 1, max: 64 }),
      );
    }
    case 'tpm': {
      const out: RegisterDef[] = [];
      for (let i = 0; i < 24; i++) {
        for (const alg of TPM_BANKS) {
          const size = digestSize(alg);
          const extendable = !(i >= 17 && i <= 22);
          out.push(
            runtime(`pcr${i}`, i, alg, tpmPcrReset(i, alg, opts.startupLocality ?? 0), extendable, {
              min: size,
              max: size,
            }),
          );
        }
      }
      return out;
    }
  }
}
