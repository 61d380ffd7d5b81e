/**
 * configfs-tsm's `report/` group served from a provider (FIELD §A.3, DESIGN §2): `mkdir` makes
 * an instance showing the profile's attributes; binary attributes (`inblob`) are buffered per
 * open and stored when the file is closed — here in FLUSH, which close(2) waits for, so
 * `generation` has moved when close returns; text attributes are stored per write(2). Every
 * store advances `generation`. `outblob`/`auxblob`/`manifestblob` are generated lazily on read
 * from the provider's report and regenerated after a store.
 *
 * Kernel details mirrored: an `inblob` write past 64 bytes is EFBIG, and the open still stores
 * (an empty blob) on close, as configfs marks the write in progress before checking the size;
 * `service_guid` advances `generation` before parsing; TDX and SNP need exactly 64 bytes of
 * inblob and CCA 32–64 (zero-padded), else reading `outblob` is EINVAL. `privlevel` must lie in
 * `privlevel_floor..3`; the write counter refuses (EBUSY) to wrap onto the read counter; the TDX
 * driver gives up on a quote after its timeout (ETIMEDOUT) and answers EBUSY until the host
 * finishes the abandoned one ({@link EmulatedKernelOptions}).
 *
 * @module
 */
import type { Profile, Provider, RawReport, ReportRequest } from '../providers/provider.js';
import { UsageError } from '../errors.js';
import { FsErrno, toFsErrno } from './fs_errno.js';
import { snapshotReader, type VDir, type VFile, type VHandle, type VNode } from './vfs.js';

/** configfs caps binary attribute writes here (`TSM_REPORT_INBLOB_MAX`). */
export const TSM_INBLOB_MAX = 64;
/** configfs-tsm's highest privlevel (`TSM_REPORT_PRIVLEVEL_MAX`). */
export const TSM_PRIVLEVEL_MAX = 3;

/** The TDX guest driver's default `getquote_timeout` (a module parameter, in seconds: 30). */
export const TDX_GETQUOTE_TIMEOUT_MS = 30_000;

/**
 * Platform facts of the emulated kernel that a real guest fixes and tests want to vary.
 */
export interface EmulatedKernelOptions {
  /**
   * What `privlevel_floor` shows and the least `privlevel` accepted (0..3, default 0). On an SEV
   * guest it is the VMPL whose VMPCK the driver uses.
   */
  readonly privlevelFloor?: number;
  /**
   * Width in bits of the report instance's generation counters (the kernel's `unsigned long`:
   * 64, or 32 on a 32-bit kernel; default 64). A smaller width only makes the wrap guard
   * reachable in a test.
   */
  readonly generationBits?: number;
  /**
   * SNP: the guest runs under an SVSM (the kernel's `snp_vmpl` is non-zero), so the report
   * instances also show `service_provider`, `service_guid`, `service_manifest_version` and
   * `manifestblob`, as the sev-guest driver's visibility callbacks do then (default false).
   */
  readonly svsm?: boolean;
  /** TDX: how long the emulated host takes to answer a GetQuote (default 0 ms). */
  readonly quoteDelayMs?: number;
  /**
   * TDX: how long the guest driver waits for the host before failing with ETIMEDOUT (the
   * `getquote_timeout` module parameter; default {@link TDX_GETQUOTE_TIMEOUT_MS}).
   */
  readonly quoteTimeoutMs?: number;
}

/** The options with their defaults, checked. */
interface KernelFacts {
  readonly privlevelFloor: number;
  readonly generationMask: bigint;
  readonly quoteDelayMs: number;
  readonly quoteTimeoutMs: number;
}

/**
 * Checks and completes {@link EmulatedKernelOptions}.
 * @throws UsageError `ERR_USAGE` for a value out of range
 */
export function kernelFacts(opts: EmulatedKernelOptions = {}): KernelFacts {
  const floor = opts.privlevelFloor ?? 0;
  const bits = opts.generationBits ?? 64;
  const delay = opts.quoteDelayMs ?? 0;
  const timeout = opts.quoteTimeoutMs ?? TDX_GETQUOTE_TIMEOUT_MS;
  const bad = (what: string, v: number, range: string): never => {
    throw new UsageError('ERR_USAGE', `emulated kernel ${what} ${v}: expected ${range}`);
  };
  if (!Number.isInteger(floor) || floor < 0 || floor > TSM_PRIVLEVEL_MAX) {
    bad('privlevelFloor', floor, `an integer 0..${TSM_PRIVLEVEL_MAX}`);
  }
  if (!Number.isInteger(bits) || bits < 1 || bits > 64) bad('generationBits', bits, '1..64');
  if (!Number.isFinite(delay) || delay < 0) bad('quoteDelayMs', delay, 'a duration >= 0');
  if (!Number.isFinite(timeout) || timeout <= 0) bad('quoteTimeoutMs', timeout, 'a duration > 0');
  return {
    privlevelFloor: floor,
    generationMask: (1n << BigInt(bits)) - 1n,
    quoteDelayMs: delay,
    quoteTimeoutMs: timeout,
  };
}

/**
 * The TDX driver's single shared quote buffer: requests take turns (its `quote_lock`), and one
 * the driver gave up on stays the host's (status IN_FLIGHT) until the host answers, refusing
 * later requests with EBUSY.
 */
class TdxQuoteChannel {
  #inFlight = false;
  #turn: Promise<unknown> = Promise.resolve();
  readonly #facts: KernelFacts;
  constructor(facts: KernelFacts) {
    this.#facts = facts;
  }

  /** One request, after the ones before it. */
  quote(validate: () => void, produce: () => Promise<RawReport>): Promise<RawReport> {
    const mine = this.#turn.then(() => this.#quote(validate, produce));
    this.#turn = mine.catch(() => undefined);
    return mine;
  }

  /** `validate` runs after the busy check and before the GetQuote, as in tdx_report_new. */
  async #quote(validate: () => void, produce: () => Promise<RawReport>): Promise<RawReport> {
    if (this.#inFlight) {
      throw new FsErrno('EBUSY', 'a previous GetQuote is still in flight');
    }
    validate();
    const { quoteDelayMs: delay, quoteTimeoutMs: timeout } = this.#facts;
    // A host that answers at once leaves nothing in flight.
    if (delay === 0) return produce();
    this.#inFlight = true;
    const answered = new Promise<void>((r) => setTimeout(r, delay));
    void answered.then(() => (this.#inFlight = false));
    if (delay >= timeout) {
      await new Promise((r) => setTimeout(r, timeout));
      throw new FsErrno('ETIMEDOUT', `no quote from the host within ${timeout} ms`);
    }
    await answered;
    return produce();
  }
}

/** Every configfs-tsm report attribute. */
export type TsmReportAttribute =
  | 'inblob'
  | 'outblob'
  | 'auxblob'
  | 'manifestblob'
  | 'provider'
  | 'generation'
  | 'privlevel'
  | 'privlevel_floor'
  | 'service_provider'
  | 'service_guid'
  | 'service_manifest_version';

/** What a profile's provider driver shows. */
export interface TsmReportProfile {
  /** The `provider` attribute's value. */
  readonly provider: string;
  readonly attributes: readonly TsmReportAttribute[];
  /** Accepted inblob lengths at report time. */
  readonly inblob: { readonly min: number; readonly max: number };
}

const ALL: readonly TsmReportAttribute[] = [
  'inblob',
  'outblob',
  'auxblob',
  'manifestblob',
  'provider',
  'generation',
  'privlevel',
  'privlevel_floor',
  'service_provider',
  'service_guid',
  'service_manifest_version',
];

/**
 * The report attributes per profile: TDX hides all but four (its visibility callbacks); the
 * SEV guest without an SVSM hides the service attributes; the CCA guest shows everything.
 */
export const TSM_REPORT_PROFILES: Readonly<Partial<Record<Profile, TsmReportProfile>>> = {
  tdx: {
    provider: 'tdx_guest',
    attributes: ['inblob', 'outblob', 'generation', 'provider'],
    inblob: { min: 64, max: 64 },
  },
  snp: {
    provider: 'sev_guest',
    attributes: [
      'inblob',
      'outblob',
      'auxblob',
      'provider',
      'generation',
      'privlevel',
      'privlevel_floor',
    ],
    inblob: { min: 64, max: 64 },
  },
  cca: { provider: 'arm_cca_guest', attributes: ALL, inblob: { min: 32, max: 64 } },
};

/** The SEV guest under an SVSM: every attribute (the service ones and `manifestblob` too). */
export const TSM_REPORT_SNP_SVSM: TsmReportProfile = {
  provider: 'sev_guest',
  attributes: ALL,
  inblob: { min: 64, max: 64 },
};

/** The report attributes a profile's driver shows on this (emulated) kernel. */
export function tsmReportProfile(
  profile: Profile,
  kernel: EmulatedKernelOptions = {},
): TsmReportProfile | undefined {
  return profile === 'snp' && kernel.svsm === true
    ? TSM_REPORT_SNP_SVSM
    : TSM_REPORT_PROFILES[profile];
}

const MODES: Readonly<Record<TsmReportAttribute, number>> = {
  inblob: 0o200,
  outblob: 0o444,
  auxblob: 0o444,
  manifestblob: 0o444,
  provider: 0o444,
  generation: 0o444,
  privlevel: 0o200,
  privlevel_floor: 0o444,
  service_provider: 0o200,
  service_guid: 0o200,
  service_manifest_version: 0o200,
};

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/** Parses an unsigned integer as the kernel's kstrtouint(…, 0, …) does (one trailing newline). */
function parseUint(data: Uint8Array): number {
  let s = Buffer.from(data).toString('latin1');
  if (s.endsWith('\n')) s = s.slice(0, -1);
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[0-7]*$/.test(s)) v = parseInt(s, 8);
  else if (/^\+?[1-9][0-9]*$/.test(s)) v = parseInt(s, 10);
  else throw new FsErrno('EINVAL');
  // kstrtouint: syntax errors are EINVAL, values past UINT_MAX ERANGE.
  if (!Number.isSafeInteger(v) || v > 0xffffffff) throw new FsErrno('ERANGE');
  return v;
}

/**
 * One report instance: its stored attributes, its write and read generations (as the kernel's
 * `tsm_report_state`) and the report made for the read generation.
 */
class ReportInstance {
  /** Stores so far, modulo the counter width (the `generation` file). */
  writeGeneration = 0n;
  /** The write generation the cached report was made for. */
  #readGeneration = 0n;
  inblob: Uint8Array | undefined;
  privlevel: number | undefined;
  serviceProvider: string | undefined;
  serviceGuid: string | undefined;
  serviceManifestVersion: number | undefined;
  #report: RawReport | undefined;
  #pending: { readonly generation: bigint; readonly report: Promise<RawReport> } | undefined;
  readonly #provider: Provider;
  readonly #profile: TsmReportProfile;
  readonly #facts: KernelFacts;
  readonly #quotes: TdxQuoteChannel | undefined;

  constructor(
    provider: Provider,
    profile: TsmReportProfile,
    facts: KernelFacts,
    quotes: TdxQuoteChannel | undefined,
  ) {
    this.#provider = provider;
    this.#profile = profile;
    this.#facts = facts;
    this.#quotes = quotes;
  }

  /**
   * Counts one store, unless it would make the write generation equal the read generation
   * modulo the counter width without a read in between: then EBUSY until a blob is read.
   */
  advance(): void {
    const mask = this.#facts.generationMask;
    if (this.writeGeneration === ((this.#readGeneration - 1n) & mask)) {
      throw new FsErrno('EBUSY', 'generation would wrap onto the last read: read a blob first');
    }
    this.writeGeneration = (this.writeGeneration + 1n) & mask;
  }

  /**
   * The report for the current generation: the cached one when nothing was stored since it
   * was made, else a new one. A failed attempt caches nothing, so a retry asks again.
   */
  report(): Promise<RawReport> {
    if (this.inblob === undefined || this.inblob.length === 0) {
      return Promise.reject(new FsErrno('EINVAL', 'inblob not written'));
    }
    if (this.#report !== undefined && this.#readGeneration === this.writeGeneration) {
      return Promise.resolve(this.#report);
    }
    const pending = this.#pending;
    if (pending !== undefined) {
      // The kernel generates under its write lock, so a store made meanwhile waits for it and
      // the next read regenerates: a read after that store must not take the older report.
      if (pending.generation === this.writeGeneration) return pending.report;
      return pending.report.then(
        () => this.report(),
        () => this.report(),
      );
    }
    const generation = this.writeGeneration;
    const report = (async () => {
      this.#report = undefined;
      try {
        const r = await this.#generate();
        this.#report = r;
        this.#readGeneration = generation;
        return r;
      } finally {
        this.#pending = undefined;
      }
    })();
    this.#pending = { generation, report };
    return report;
  }

  async #generate(): Promise<RawReport> {
    const inblob = this.inblob ?? new Uint8Array(0);
    const rule = this.#profile.inblob;
    const validate = (): void => {
      if (inblob.length < rule.min || inblob.length > rule.max) {
        throw new FsErrno('EINVAL', 'inblob is the wrong size for this provider');
      }
    };
    const produce = async (): Promise<RawReport> => {
      const reportData = new Uint8Array(TSM_INBLOB_MAX);
      reportData.set(inblob);
      const req: ReportRequest = {
        reportData: rule.min === rule.max ? inblob : reportData,
        ...(this.privlevel === undefined ? {} : { privlevel: this.privlevel }),
        ...(this.serviceProvider === undefined ? {} : { serviceProvider: this.serviceProvider }),
        ...(this.serviceGuid === undefined ? {} : { serviceGuid: this.serviceGuid }),
        ...(this.serviceManifestVersion === undefined
          ? {}
          : { serviceManifestVersion: this.serviceManifestVersion }),
      };
      try {
        return await this.#provider.report(req);
      } catch (e) {
        throw toFsErrno(e);
      }
    };
    if (this.#quotes === undefined) {
      validate();
      return produce();
    }
    return this.#quotes.quote(validate, produce);
  }

  /** A text attribute store (one per write(2)), in the kernel's order of checks. */
  storeText(attr: TsmReportAttribute, data: Uint8Array): void {
    switch (attr) {
      case 'privlevel': {
        const v = parseUint(data);
        if (v < this.#facts.privlevelFloor || v > TSM_PRIVLEVEL_MAX) {
          throw new FsErrno(
            'EINVAL',
            `privlevel ${v} outside ${this.#facts.privlevelFloor}..${TSM_PRIVLEVEL_MAX}`,
          );
        }
        this.advance();
        this.privlevel = v;
        return;
      }
      case 'service_provider': {
        this.advance();
        let s = Buffer.from(data).toString('utf8');
        if (s.endsWith('\n')) s = s.slice(0, -1);
        this.serviceProvider = s;
        return;
      }
      case 'service_guid': {
        // The kernel advances the generation before parsing: a rejected GUID still counts.
        this.advance();
        this.serviceGuid = '00000000-0000-0000-0000-000000000000';
        let s = Buffer.from(data).toString('latin1');
        if (s.endsWith('\n')) s = s.slice(0, -1);
        if (
          !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)
        ) {
          throw new FsErrno('EINVAL');
        }
        this.serviceGuid = s.toLowerCase();
        return;
      }
      case 'service_manifest_version': {
        const v = parseUint(data);
        this.advance();
        this.serviceManifestVersion = v;
        return;
      }
      case 'inblob':
      case 'outblob':
      case 'auxblob':
      case 'manifestblob':
      case 'provider':
      case 'generation':
      case 'privlevel_floor':
        throw new FsErrno('EACCES');
    }
  }
}

function attributeFile(
  inst: ReportInstance,
  profile: TsmReportProfile,
  facts: KernelFacts,
  attr: TsmReportAttribute,
): VFile {
  const mode = MODES[attr];
  const blob = (pick: (r: RawReport) => Uint8Array | undefined) =>
    snapshotReader(async () => pick(await inst.report()) ?? new Uint8Array(0));
  return {
    type: 'file',
    mode,
    size: 4096,
    open(): VHandle {
      switch (attr) {
        case 'inblob': {
          let buf = new Uint8Array(0);
          let inProgress = false;
          return {
            write(pos, data) {
              // configfs marks the write in progress before checking the size.
              inProgress = true;
              const end = pos + data.length;
              if (end > TSM_INBLOB_MAX) return Promise.reject(new FsErrno('EFBIG'));
              if (end > buf.length) {
                const grown = new Uint8Array(end);
                grown.set(buf);
                buf = grown;
              }
              buf.set(data, pos);
              return Promise.resolve(data.length);
            },
            flush() {
              if (inProgress) {
                inProgress = false;
                try {
                  inst.advance();
                  inst.inblob = new Uint8Array(buf);
                } catch {
                  // configfs ignores what the store returns at release: a refused (EBUSY)
                  // inblob is dropped and close(2) still succeeds.
                }
              }
              return Promise.resolve();
            },
          };
        }
        case 'outblob':
          return { read: blob((r) => r.outblob) };
        case 'auxblob':
          return { read: blob((r) => r.auxblob) };
        case 'manifestblob':
          return { read: blob((r) => r.manifestblob) };
        case 'provider':
          return { read: snapshotReader(() => Promise.resolve(text(`${profile.provider}\n`))) };
        case 'generation':
          return { read: snapshotReader(() => Promise.resolve(text(`${inst.writeGeneration}\n`))) };
        case 'privlevel_floor':
          return {
            read: snapshotReader(() => Promise.resolve(text(`${facts.privlevelFloor}\n`))),
          };
        case 'privlevel':
        case 'service_provider':
        case 'service_guid':
        case 'service_manifest_version':
          return {
            write(_pos, data) {
              try {
                inst.storeText(attr, data);
              } catch (e) {
                return Promise.reject(toFsErrno(e));
              }
              return Promise.resolve(data.length);
            },
          };
      }
    },
  };
}

/** An instance directory: the profile's attributes, no subdirectories. */
function instanceDir(
  provider: Provider,
  profile: TsmReportProfile,
  facts: KernelFacts,
  quotes: TdxQuoteChannel | undefined,
): VDir {
  const inst = new ReportInstance(provider, profile, facts, quotes);
  const files = new Map<string, VNode>(
    profile.attributes.map((a) => [a, attributeFile(inst, profile, facts, a)] as const),
  );
  return {
    type: 'dir',
    mode: 0o755,
    lookup: (name) => files.get(name),
    names: () => [...files.keys()],
  };
}

/**
 * The `report/` group: instances come and go with mkdir/rmdir.
 * @throws UsageError `ERR_USAGE` for kernel options out of range
 */
export function tsmReportGroup(
  provider: Provider,
  profile: TsmReportProfile,
  kernel: EmulatedKernelOptions = {},
): VDir {
  const facts = kernelFacts(kernel);
  // The TDX driver has one quote buffer for every instance.
  const quotes = profile.provider === 'tdx_guest' ? new TdxQuoteChannel(facts) : undefined;
  const instances = new Map<string, VDir>();
  return {
    type: 'dir',
    mode: 0o755,
    lookup: (name) => instances.get(name),
    names: () => [...instances.keys()],
    mkdir(name) {
      if (instances.has(name)) throw new FsErrno('EEXIST');
      instances.set(name, instanceDir(provider, profile, facts, quotes));
    },
    rmdir(name) {
      if (!instances.delete(name)) throw new FsErrno('ENOENT');
    },
  };
}
