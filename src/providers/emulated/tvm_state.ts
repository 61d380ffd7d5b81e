/**
 * The emulated TVM's state directory: where it is, its `tvm.json`, and `init`.
 *
 * Layout of a state directory (see `docs/emulated-tvm.md`):
 *
 * ```
 * tvm.json        profile, static register values, per-profile options, creation time
 * trace.bin       append-only trace of extends (trace_record.ts): the source of truth
 * snapshot.json   optional replay cache, validated against the trace before use
 * keys/<profile>/ report signing keys, created lazily by the report modules
 * ```
 *
 * The directory is chosen by `--tvm-state DIR`, else `$MRSTACK_TVM_STATE`, else
 * `$XDG_STATE_HOME/mrstack/tvm`, else `~/.local/state/mrstack/tvm`.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../bytes/hex.js';
import { lookupHashAlg, type HashAlg } from '../../crypto/hash_alg.js';
import { fromErrno, ParseError, ProviderError, UsageError } from '../../errors.js';
import type { Profile } from '../provider.js';
import { installVtpmEkPublic, SVSM_VTPM_KEYS, vtpmEkPublicArea } from './report_svsm.js';
import {
  CCA_HASH_ALGS,
  PROFILES,
  staticDefs,
  TPM_STARTUP_LOCALITIES,
  type ProfileOptions,
} from './profiles.js';

/** File names inside a state directory. */
export const TVM_FILES = {
  config: 'tvm.json',
  trace: 'trace.bin',
  snapshot: 'snapshot.json',
  keys: 'keys',
} as const;

/** The `format` tag of `tvm.json`. */
export const TVM_CONFIG_FORMAT = 'mrstack-emulated-tvm';

/** `tvm.json`, decoded. */
export interface TvmConfig {
  readonly profile: Profile;
  /** When `init` ran. */
  readonly created: Date;
  /** CCA: the realm hash algorithm. */
  readonly hashAlg?: HashAlg;
  /** TPM: the StartupLocality (PCR0 = 00…0L). */
  readonly startupLocality?: number;
  /** Static register values by name. */
  readonly staticValues: ReadonlyMap<string, Uint8Array>;
  /** The TCB status the emulated PKI's collateral gives this TVM (default `UpToDate`). */
  readonly tcbStatus?: EmulatedTcbStatus;
  /**
   * A debuggable guest: TDX TD attribute DEBUG, SNP guest policy DEBUG, CCA platform lifecycle
   * "recoverable PSA RoT debug" (so appraisal's debug findings can be shown on emulated evidence).
   */
  readonly debug?: boolean;
  /**
   * SNP: the guest runs under an SVSM (at a VMPL above 0) with a vTPM, so configfs-tsm serves
   * the SVSM attestation attributes and `manifestblob` (`report_snp.ts`).
   */
  readonly svsm?: boolean;
}

/** The TCB statuses `emulate init --tcb-status` offers (Intel's names). */
export const EMULATED_TCB_STATUSES = ['UpToDate', 'OutOfDate', 'Revoked'] as const;

/** One of {@link EMULATED_TCB_STATUSES}. */
export type EmulatedTcbStatus = (typeof EMULATED_TCB_STATUSES)[number];

/** Options of {@link initEmulatedTvm}. */
export interface InitEmulatedTvmOptions {
  /** The state directory (default: {@link resolveTvmStateDir}). */
  readonly stateDir?: string;
  readonly profile: Profile;
  /** Static register values by name (`mrconfigid`, `mrtd`, `host_data`, `rim` …). */
  readonly staticValues?: Readonly<Record<string, Uint8Array>>;
  /** CCA only: sha256 (default) or sha512. */
  readonly hashAlg?: HashAlg;
  /** TPM only: 0 (default) or 3. */
  readonly startupLocality?: number;
  /** The TCB status its collateral reports (default `UpToDate`). */
  readonly tcbStatus?: EmulatedTcbStatus;
  /** A debuggable guest (TDX, SNP, CCA; {@link TvmConfig.debug}). */
  readonly debug?: boolean;
  /** SNP only: the guest runs under an SVSM with a vTPM ({@link TvmConfig.svsm}). */
  readonly svsm?: boolean;
  /**
   * With `svsm`: the public area of the EK of a TPM that stands for the SVSM's vTPM (a swtpm;
   * TPMT_PUBLIC or TPM2B_PUBLIC, as `tpm2_createek -u` writes it), listed in the services
   * manifest, so that credential activation against the manifest's EK works with that TPM.
   * Without it the emulated SVSM lists an EK whose private key no TPM holds.
   */
  readonly svsmVtpmEk?: Uint8Array;
  /** Replace an existing TVM (its trace, snapshot and keys are deleted). */
  readonly force?: boolean;
  /** Creation time (default: now). */
  readonly now?: Date;
}

/** The state directory to use: the given one, `$MRSTACK_TVM_STATE`, or the user's state dir. */
export function resolveTvmStateDir(
  dir?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  if (dir !== undefined && dir !== '') return dir;
  const fromEnv = env['MRSTACK_TVM_STATE'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const xdg = env['XDG_STATE_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.local', 'state');
  return join(base, 'mrstack', 'tvm');
}

/** Per-profile options of a config, for {@link staticDefs} and the runtime definitions. */
export function profileOptions(cfg: TvmConfig): ProfileOptions {
  return {
    ...(cfg.hashAlg === undefined ? {} : { hashAlg: cfg.hashAlg }),
    ...(cfg.startupLocality === undefined ? {} : { startupLocality: cfg.startupLocality }),
  };
}

/**
 * Creates an emulated TVM: writes `tvm.json` (atomically) and an empty trace.
 * @throws ProviderError `ERR_CONFLICT` when a TVM exists there and `force` is not set;
 *   UsageError `ERR_USAGE` for options that do not fit the profile or values of the wrong size.
 */
export function initEmulatedTvm(opts: InitEmulatedTvmOptions): Promise<TvmConfig> {
  return Promise.resolve().then(() => initSync(opts));
}

function initSync(opts: InitEmulatedTvmOptions): TvmConfig {
  const dir = resolveTvmStateDir(opts.stateDir);
  const { profile } = opts;
  if (!PROFILES.includes(profile)) {
    throw new UsageError(
      'ERR_USAGE',
      `unknown profile ${JSON.stringify(profile)} (tdx, snp, cca or tpm)`,
    );
  }
  if (opts.hashAlg !== undefined) {
    if (profile !== 'cca')
      throw new UsageError('ERR_USAGE', `a hash algorithm is chosen only for the cca profile`);
    if (!CCA_HASH_ALGS.includes(opts.hashAlg))
      throw new UsageError(
        'ERR_USAGE',
        `a CCA realm hash is sha256 or sha512, not ${opts.hashAlg}`,
      );
  }
  if (opts.startupLocality !== undefined) {
    if (profile !== 'tpm')
      throw new UsageError('ERR_USAGE', `a startup locality is set only for the tpm profile`);
    if (!TPM_STARTUP_LOCALITIES.includes(opts.startupLocality))
      throw new UsageError(
        'ERR_USAGE',
        `the TPM startup locality is 0 or 3, not ${String(opts.startupLocality)}`,
      );
  }
  if (opts.debug === true && profile === 'tpm')
    throw new UsageError(
      'ERR_USAGE',
      'a TPM has no debug attribute: --debug is for tdx, snp or cca',
    );
  if (opts.svsm === true && profile !== 'snp')
    throw new UsageError('ERR_USAGE', 'an SVSM runs under SEV-SNP guests only: --svsm is for snp');
  if (opts.svsmVtpmEk !== undefined && opts.svsm !== true)
    throw new UsageError('ERR_USAGE', "--svsm-ek is the SVSM vTPM's EK: it goes with --svsm");
  const vtpmEk = opts.svsmVtpmEk === undefined ? undefined : vtpmEkPublicArea(opts.svsmVtpmEk);
  if (opts.tcbStatus !== undefined && !EMULATED_TCB_STATUSES.includes(opts.tcbStatus))
    throw new UsageError(
      'ERR_USAGE',
      `--tcb-status ${opts.tcbStatus}: expected ${EMULATED_TCB_STATUSES.join(', ')}`,
    );
  const popts: ProfileOptions = {
    ...(profile === 'cca' ? { hashAlg: opts.hashAlg ?? 'sha256' } : {}),
    ...(profile === 'tpm' ? { startupLocality: opts.startupLocality ?? 0 } : {}),
  };
  const defs = staticDefs(profile, popts);
  const given = opts.staticValues ?? {};
  for (const name of Object.keys(given)) {
    if (!defs.some((d) => d.name === name)) {
      const known = defs.map((d) => d.name).join(', ') || 'none';
      throw new UsageError(
        'ERR_USAGE',
        `the ${profile} profile has no static register ${JSON.stringify(name)} (static: ${known})`,
      );
    }
  }
  const staticValues = new Map<string, Uint8Array>();
  for (const d of defs) {
    const v = given[d.name];
    if (v !== undefined && v.length !== d.size) {
      throw new UsageError('ERR_USAGE', `${d.name} takes ${d.size} bytes, got ${v.length}`, {
        details: { mr: d.name, expected: d.size, actual: v.length },
      });
    }
    staticValues.set(
      d.name,
      v !== undefined
        ? new Uint8Array(v)
        : d.randomByDefault
          ? new Uint8Array(randomBytes(d.size))
          : new Uint8Array(d.size),
    );
  }
  const cfg: TvmConfig = {
    profile,
    created: opts.now ?? new Date(),
    ...popts,
    staticValues,
    tcbStatus: opts.tcbStatus ?? 'UpToDate',
    ...(opts.debug === true ? { debug: true } : {}),
    ...(opts.svsm === true ? { svsm: true } : {}),
  };
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const cfgPath = join(dir, TVM_FILES.config);
    if (fs.existsSync(cfgPath) && opts.force !== true) {
      throw new ProviderError(
        'ERR_CONFLICT',
        `an emulated TVM exists already in ${dir} (use --force to replace it)`,
        { details: { path: dir } },
      );
    }
    for (const f of [TVM_FILES.trace, TVM_FILES.snapshot]) fs.rmSync(join(dir, f), { force: true });
    fs.rmSync(join(dir, TVM_FILES.keys), { recursive: true, force: true });
    // a new boot: IMA's list starts again with its boot_aggregate
    fs.rmSync(join(dir, 'ima'), { recursive: true, force: true });
    fs.writeFileSync(join(dir, TVM_FILES.trace), new Uint8Array(0), { mode: 0o600 });
    if (vtpmEk !== undefined)
      installVtpmEkPublic(join(dir, TVM_FILES.keys, SVSM_VTPM_KEYS), vtpmEk);
    writeFileAtomic(cfgPath, `${JSON.stringify(encodeTvmConfig(cfg), null, 2)}\n`);
  } catch (e) {
    if (e instanceof ProviderError) throw e;
    throw fromErrno(e, dir);
  }
  return cfg;
}

/** Writes a file by writing a temporary sibling and renaming it over the target. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${toHex(randomBytes(4))}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, path);
}

/** The JSON form of a config (`tvm.json`). */
export function encodeTvmConfig(cfg: TvmConfig): Record<string, unknown> {
  return {
    format: TVM_CONFIG_FORMAT,
    version: 1,
    profile: cfg.profile,
    created: cfg.created.toISOString(),
    ...(cfg.hashAlg === undefined ? {} : { hash_alg: cfg.hashAlg }),
    ...(cfg.startupLocality === undefined ? {} : { startup_locality: cfg.startupLocality }),
    ...(cfg.tcbStatus === undefined ? {} : { tcb_status: cfg.tcbStatus }),
    ...(cfg.debug === true ? { debug: true } : {}),
    ...(cfg.svsm === true ? { svsm: true } : {}),
    static: Object.fromEntries([...cfg.staticValues].map(([k, v]) => [k, toHex(v)])),
  };
}

function badConfig(path: string, field: string, expected: string, actual?: string): ParseError {
  return new ParseError({
    code: 'ERR_BAD_JSON',
    format: 'json',
    offset: 0,
    field: `${path}: ${field}`,
    expected,
    ...(actual === undefined ? {} : { actual }),
  });
}

/**
 * Reads and checks `tvm.json` of a state directory.
 * @throws ProviderError `ERR_NOT_FOUND` when no TVM was initialized there; ParseError
 *   `ERR_BAD_JSON` when the file is malformed.
 */
export function readTvmConfig(stateDir: string): TvmConfig {
  const path = join(stateDir, TVM_FILES.config);
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') {
      throw new ProviderError(
        'ERR_NOT_FOUND',
        `no emulated TVM in ${stateDir} (create one: mrstack emulate init --profile tdx|snp|cca|tpm --tvm-state ${stateDir})`,
        { details: { path: stateDir } },
      );
    }
    throw fromErrno(e, path);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw badConfig(path, '$', 'JSON', e instanceof Error ? e.message : String(e));
  }
  if (typeof raw !== 'object' || raw === null) throw badConfig(path, '$', 'an object');
  const o = raw as Record<string, unknown>;
  if (o['format'] !== TVM_CONFIG_FORMAT)
    throw badConfig(path, 'format', JSON.stringify(TVM_CONFIG_FORMAT), JSON.stringify(o['format']));
  if (o['version'] !== 1) throw badConfig(path, 'version', '1', JSON.stringify(o['version']));
  const profile = o['profile'];
  if (typeof profile !== 'string' || !PROFILES.includes(profile as Profile))
    throw badConfig(path, 'profile', 'tdx, snp, cca or tpm', JSON.stringify(profile));
  const created = new Date(typeof o['created'] === 'string' ? o['created'] : NaN);
  if (Number.isNaN(created.getTime()))
    throw badConfig(path, 'created', 'an ISO time', JSON.stringify(o['created']));
  let hashAlg: HashAlg | undefined;
  if (profile === 'cca') {
    const h = typeof o['hash_alg'] === 'string' ? lookupHashAlg(o['hash_alg']) : undefined;
    if (h === undefined || !CCA_HASH_ALGS.includes(h))
      throw badConfig(path, 'hash_alg', 'sha256 or sha512', JSON.stringify(o['hash_alg']));
    hashAlg = h;
  }
  let startupLocality: number | undefined;
  if (profile === 'tpm') {
    const l = o['startup_locality'];
    if (typeof l !== 'number' || !TPM_STARTUP_LOCALITIES.includes(l))
      throw badConfig(path, 'startup_locality', '0 or 3', JSON.stringify(l));
    startupLocality = l;
  }
  const ts = o['tcb_status'];
  if (ts !== undefined && !(EMULATED_TCB_STATUSES as readonly unknown[]).includes(ts))
    throw badConfig(path, 'tcb_status', EMULATED_TCB_STATUSES.join(', '), JSON.stringify(ts));
  const debug = o['debug'];
  if (debug !== undefined && typeof debug !== 'boolean')
    throw badConfig(path, 'debug', 'a boolean', JSON.stringify(debug));
  const svsm = o['svsm'];
  if (svsm !== undefined && (svsm !== true || profile !== 'snp'))
    throw badConfig(path, 'svsm', 'true, on an snp TVM', JSON.stringify(svsm));
  const popts: ProfileOptions = {
    ...(hashAlg === undefined ? {} : { hashAlg }),
    ...(startupLocality === undefined ? {} : { startupLocality }),
  };
  const st = o['static'];
  if (typeof st !== 'object' || st === null) throw badConfig(path, 'static', 'an object');
  const staticValues = new Map<string, Uint8Array>();
  for (const d of staticDefs(profile as Profile, popts)) {
    const hex = (st as Record<string, unknown>)[d.name];
    if (typeof hex !== 'string' || !/^[0-9a-f]*$/.test(hex) || hex.length !== 2 * d.size)
      throw badConfig(
        path,
        `static.${d.name}`,
        `${d.size} bytes of lowercase hex`,
        JSON.stringify(hex),
      );
    staticValues.set(d.name, fromHex(hex, `static.${d.name}`));
  }
  return {
    profile: profile as Profile,
    created,
    ...popts,
    staticValues,
    ...(ts === undefined ? {} : { tcbStatus: ts as EmulatedTcbStatus }),
    ...(debug === true ? { debug: true } : {}),
    ...(svsm === true ? { svsm: true } : {}),
  };
}
