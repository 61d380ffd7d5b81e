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
 * inblob and CCA 32–64 (zero-padded), else reading `outblob` is EINVAL.
 *
 * @module
 */
import type { Profile, Provider, RawReport, ReportRequest } from '../providers/provider.js';
import { FsErrno, toFsErrno } from './fs_errno.js';
import { snapshotReader, type VDir, type VFile, type VHandle, type VNode } from './vfs.js';

/** configfs caps binary attribute writes here (`TSM_REPORT_INBLOB_MAX`). */
export const TSM_INBLOB_MAX = 64;
/** configfs-tsm's highest privlevel (`TSM_REPORT_PRIVLEVEL_MAX`). */
export const TSM_PRIVLEVEL_MAX = 3;

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
  if (!Number.isSafeInteger(v) || v > 0xffffffff) throw new FsErrno('EINVAL');
  return v;
}

/** One report instance: its stored attributes, generation and cached report. */
class ReportInstance {
  generation = 0;
  inblob: Uint8Array | undefined;
  privlevel: number | undefined;
  serviceProvider: string | undefined;
  serviceGuid: string | undefined;
  serviceManifestVersion: number | undefined;
  #cache: { readonly generation: number; readonly report: Promise<RawReport> } | undefined;
  readonly #provider: Provider;
  readonly #profile: TsmReportProfile;

  constructor(provider: Provider, profile: TsmReportProfile) {
    this.#provider = provider;
    this.#profile = profile;
  }

  /** The report for the current generation, generated on first need. */
  report(): Promise<RawReport> {
    if (this.#cache?.generation !== this.generation) {
      this.#cache = { generation: this.generation, report: this.#generate() };
    }
    return this.#cache.report;
  }

  async #generate(): Promise<RawReport> {
    const inblob = this.inblob;
    const rule = this.#profile.inblob;
    if (inblob === undefined || inblob.length < rule.min || inblob.length > rule.max) {
      throw new FsErrno('EINVAL', 'inblob not written, or the wrong size for this provider');
    }
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
  }

  /** A text attribute store (one per write(2)). */
  storeText(attr: TsmReportAttribute, data: Uint8Array): void {
    switch (attr) {
      case 'privlevel': {
        const v = parseUint(data);
        if (v > TSM_PRIVLEVEL_MAX) throw new FsErrno('EINVAL');
        this.generation++;
        this.privlevel = v;
        return;
      }
      case 'service_provider': {
        this.generation++;
        let s = Buffer.from(data).toString('utf8');
        if (s.endsWith('\n')) s = s.slice(0, -1);
        this.serviceProvider = s;
        return;
      }
      case 'service_guid': {
        // The kernel advances the generation before parsing: a rejected GUID still counts.
        this.generation++;
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
        this.generation++;
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
                inst.generation++;
                inst.inblob = new Uint8Array(buf);
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
          return { read: snapshotReader(() => Promise.resolve(text(`${inst.generation}\n`))) };
        case 'privlevel_floor':
          return { read: snapshotReader(() => Promise.resolve(text('0\n'))) };
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
function instanceDir(provider: Provider, profile: TsmReportProfile): VDir {
  const inst = new ReportInstance(provider, profile);
  const files = new Map<string, VNode>(
    profile.attributes.map((a) => [a, attributeFile(inst, profile, a)] as const),
  );
  return {
    type: 'dir',
    mode: 0o755,
    lookup: (name) => files.get(name),
    names: () => [...files.keys()],
  };
}

/** The `report/` group: instances come and go with mkdir/rmdir. */
export function tsmReportGroup(provider: Provider, profile: TsmReportProfile): VDir {
  const instances = new Map<string, VDir>();
  return {
    type: 'dir',
    mode: 0o755,
    lookup: (name) => instances.get(name),
    names: () => [...instances.keys()],
    mkdir(name) {
      if (instances.has(name)) throw new FsErrno('EEXIST');
      instances.set(name, instanceDir(provider, profile));
    },
    rmdir(name) {
      if (!instances.delete(name)) throw new FsErrno('ENOENT');
    },
  };
}
