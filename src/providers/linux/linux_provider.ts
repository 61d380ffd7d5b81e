/**
 * The linux provider: the real kernel files under a configurable root (DESIGN §2) — tsm-mr
 * registers, configfs-tsm reports, the TPM's sysfs PCRs (read-only) and the event-log locations.
 *
 * An extend is one write of exactly the register size at offset 0 through one
 * open-write-close; anything other than a full write is an error, and kernel errors become
 * typed errors (exit code 3).
 *
 * @module
 */
import { ProviderError } from '../../errors.js';
import { hash } from '../../crypto/hash.js';
import {
  selectMrs,
  type ExtendInput,
  type ExtendResult,
  type IoOptions,
  type MrInfo,
  type MrSelector,
  type MrValue,
  type Profile,
  type Provider,
  type RawReport,
  type ReportRequest,
} from '../provider.js';
import { requestTsmReport, hasTsmReport } from './configfs_report.js';
import { KNOWN_TSM_MR_DEVICES, PLATFORM_MISC_DEVICES } from './devices.js';
import { MISC_DEVICES_DIR } from './kernel_paths.js';
import { findKernelLogs, type KernelLog } from './log_locations.js';
import { decodeSysfsPcr, listSysfsPcrs, type SysfsPcr } from './tpm_pcrs.js';
import { findTsmMrDevices, listTsmMrs, type TsmMrFile } from './tsm_mr.js';
import { nodeTsmFs, type TsmFs } from './tsm_fs.js';

/** Options of {@link openLinuxProvider}. */
export interface LinuxProviderOptions {
  /** Root directory (default `/`); ignored when `fs` is given. */
  readonly root?: string;
  /** The filesystem port (default: the real file system under `root`). */
  readonly fs?: TsmFs;
  /** The tsm-mr device to use when several exist (default: the first known one). */
  readonly device?: string;
}

type Entry = (TsmMrFile & { readonly source: 'tsm-mr' }) | (SysfsPcr & { readonly source: 'pcr' });

/** The linux provider; also lists the kernel's event logs. */
export interface LinuxProvider extends Provider {
  readonly kind: 'linux';
  /** The filesystem port it reads through. */
  readonly fs: TsmFs;
  /** The tsm-mr device in use, if any. */
  readonly device: string | undefined;
  /** The kernel's event logs present under the root. */
  logs(): Promise<readonly KernelLog[]>;
}

/**
 * True when the kernel's measurement files exist under `root` (a tsm-mr group or configfs-tsm):
 * what `--provider auto` asks.
 */
export async function probeLinux(root = '/', fs: TsmFs = nodeTsmFs(root)): Promise<boolean> {
  return (await findTsmMrDevices(fs)).length > 0 || (await hasTsmReport(fs));
}

/**
 * Opens the linux provider: finds the tsm-mr group and the platform.
 * @throws ProviderError `ERR_NOT_FOUND` when a requested device has no tsm-mr group
 */
export async function openLinuxProvider(opts: LinuxProviderOptions = {}): Promise<LinuxProvider> {
  const fs = opts.fs ?? nodeTsmFs(opts.root ?? '/');
  const devices = await findTsmMrDevices(fs);
  let device: string | undefined;
  if (opts.device !== undefined) {
    if (!devices.includes(opts.device)) {
      throw new ProviderError(
        'ERR_NOT_FOUND',
        `no tsm-mr group for device ${JSON.stringify(opts.device)} under ${fs.resolve(MISC_DEVICES_DIR)} (found: ${devices.join(', ') || 'none'})`,
      );
    }
    device = opts.device;
  } else {
    device = devices[0];
  }
  let profile: Profile | undefined =
    device === undefined ? undefined : KNOWN_TSM_MR_DEVICES[device]?.profile;
  if (profile === undefined) {
    for (const [dev, p] of Object.entries(PLATFORM_MISC_DEVICES)) {
      if ((await fs.stat(`${MISC_DEVICES_DIR}/${dev}`))?.isDirectory === true) {
        profile = p;
        break;
      }
    }
  }
  return new LinuxProviderImpl(fs, device, profile);
}

class LinuxProviderImpl implements LinuxProvider {
  readonly kind = 'linux' as const;
  readonly fs: TsmFs;
  readonly device: string | undefined;
  readonly profile: Profile | undefined;

  constructor(fs: TsmFs, device: string | undefined, profile: Profile | undefined) {
    this.fs = fs;
    this.device = device;
    this.profile = profile;
  }

  // The register files of a running kernel do not come and go: list them once.
  #listing: Promise<readonly Entry[]> | undefined;

  #entries(): Promise<readonly Entry[]> {
    this.#listing ??= this.#list();
    // A failed listing is not cached.
    this.#listing.catch(() => (this.#listing = undefined));
    return this.#listing;
  }

  async #list(): Promise<readonly Entry[]> {
    const mrs = this.device === undefined ? [] : await listTsmMrs(this.fs, this.device);
    const pcrs = await listSysfsPcrs(this.fs);
    return [
      ...mrs.map((m) => ({ ...m, source: 'tsm-mr' as const })),
      ...pcrs.map((p) => ({ ...p, source: 'pcr' as const })),
    ];
  }

  async describe(opts: IoOptions = {}): Promise<readonly MrInfo[]> {
    opts.signal?.throwIfAborted();
    return (await this.#entries()).map(toInfo);
  }

  async #readEntry(e: Entry): Promise<Uint8Array> {
    if (e.source === 'pcr') {
      return decodeSysfsPcr(await this.fs.readAll(e.path, 1024), e.alg!, this.fs.resolve(e.path));
    }
    const v = await this.fs.readAll(e.path, e.size + 1);
    if (v.length !== e.size) {
      throw new ProviderError(
        'ERR_DEVICE',
        `${this.fs.resolve(e.path)}: read ${v.length} bytes from a ${e.size}-byte register`,
        { details: { path: this.fs.resolve(e.path), expected: e.size, actual: v.length } },
      );
    }
    return v;
  }

  async read(sel: MrSelector, opts: IoOptions = {}): Promise<readonly MrValue[]> {
    const all = await this.#entries();
    const chosen = selectMrs(all, sel) as readonly Entry[];
    const out: MrValue[] = [];
    for (const e of chosen) {
      opts.signal?.throwIfAborted();
      out.push({ name: e.name, alg: e.alg, value: await this.#readEntry(e) });
    }
    return out;
  }

  async extend(
    sel: MrSelector,
    input: ExtendInput,
    opts: IoOptions = {},
  ): Promise<readonly ExtendResult[]> {
    const all = await this.#entries();
    const chosen = selectMrs(all, sel) as readonly Entry[];
    for (const e of chosen) {
      if (!e.extendable || e.source !== 'tsm-mr') {
        throw new ProviderError(
          'ERR_NOT_EXTENDABLE',
          e.source === 'pcr'
            ? `${e.name}:${e.alg}: sysfs PCRs are read-only (use --provider tpm to extend)`
            : `${e.name}${e.alg === undefined ? '' : `:${e.alg}`} on ${e.device} cannot be extended`,
          { details: { mr: e.name } },
        );
      }
    }
    if (input.kind === 'digest' && chosen.length > 1) {
      throw new ProviderError(
        'ERR_EVENT_DATA_REQUIRED',
        `${sel.name} has ${chosen.length} banks: name one (${sel.name}:ALG) or extend with event data`,
        { details: { mr: sel.name } },
      );
    }
    const results: ExtendResult[] = [];
    for (const e of chosen as readonly (TsmMrFile & { source: 'tsm-mr' })[]) {
      opts.signal?.throwIfAborted();
      let digest: Uint8Array;
      if (input.kind === 'digest') {
        digest = input.digest;
      } else {
        if (e.alg === undefined) {
          throw new ProviderError(
            'ERR_NOT_EXTENDABLE',
            `${e.name} has no hash algorithm to hash event data with`,
          );
        }
        digest = hash(e.alg, input.data);
      }
      if (digest.length !== e.size) {
        throw new ProviderError(
          'ERR_DIGEST_SIZE',
          `${e.name}${e.alg === undefined ? '' : `:${e.alg}`} takes exactly ${e.size} bytes, got ${digest.length}`,
          { details: { mr: e.name, expected: e.size, actual: digest.length } },
        );
      }
      const old = await this.#readEntry(e);
      const n = await this.fs.writeOnce(e.path, digest);
      if (n !== e.size) {
        throw new ProviderError(
          'ERR_DEVICE',
          `${this.fs.resolve(e.path)}: write returned ${n}, expected ${e.size}: the extend may not have happened`,
          { details: { path: this.fs.resolve(e.path), expected: e.size, actual: n } },
        );
      }
      const now = await this.#readEntry(e);
      results.push({ name: e.name, alg: e.alg, old, new: now });
    }
    return results;
  }

  async report(req: ReportRequest, opts: IoOptions = {}): Promise<RawReport> {
    if (req.pcrs !== undefined) {
      throw new ProviderError(
        'ERR_UNSUPPORTED',
        'the linux provider has no TPM quotes (use --provider tpm)',
      );
    }
    return requestTsmReport(this.fs, req, opts.signal === undefined ? {} : { signal: opts.signal });
  }

  logs(): Promise<readonly KernelLog[]> {
    return findKernelLogs(this.fs);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function toInfo(e: Entry): MrInfo {
  return {
    name: e.name,
    alg: e.alg,
    size: e.size,
    kind: e.kind,
    extendable: e.extendable,
    ...(e.extendInput === undefined ? {} : { extendInput: e.extendInput }),
  };
}
