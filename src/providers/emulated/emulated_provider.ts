/**
 * The emulated provider: a software TVM whose registers are the replay of its trace.
 *
 * Every extend appends its record(s) to `<state>/trace.bin` with one `O_APPEND` write, then
 * replays the trace up to and including its own records (found again by their random nonce) to
 * learn the old and new values: concurrent extends from any number of processes serialize in
 * the order the kernel appended them, with no lock. Reads replay the trace from the reset values
 * (or from a snapshot in `snapshot.json`, used only after checking that the trace record it ends
 * at is still there) and cache the result per provider object, so later calls read only new
 * records.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { bytesEqual, concatBytes, fromHex, toHex } from '../../bytes/hex.js';
import { digestSize, type HashAlg } from '../../crypto/hash_alg.js';
import { extend as extendValue, hash } from '../../crypto/hash.js';
import { ParseError, ProviderError } from '../../errors.js';
import {
  formatMrSelector,
  selectMrs,
  type ExtendInput,
  type ExtendResult,
  type IoOptions,
  type MrInfo,
  type MrSelector,
  type MrValue,
  type Profile,
  type Provider,
  type ProviderKind,
  type RawReport,
  type ReportRequest,
} from '../provider.js';
import { runtimeDefs, staticDefs, type RegisterDef } from './profiles.js';
import { EMULATED_REPORTS } from './report.js';
import {
  registerKey,
  type EmulatedRegister,
  type EmulatedReportContext,
} from './report_context.js';
import {
  appendTraceRecordsFd,
  openTrace,
  readTraceRecordAt,
  scanTraceFd,
  type TraceEntry,
} from './trace_file.js';
import { encodeTraceRecord, TRACE_NONCE_SIZE, TRACE_RECORD_SIZE } from './trace_record.js';
import {
  profileOptions,
  readTvmConfig,
  resolveTvmStateDir,
  TVM_FILES,
  writeFileAtomic,
  type TvmConfig,
} from './tvm_state.js';

/** A snapshot is written after this many records past the previous one. */
export const SNAPSHOT_EVERY_RECORDS = 4096;
const SNAPSHOT_FORMAT = 'mrstack-emulated-tvm-snapshot';

/** Random bytes drawn at once for the nonces of 256 extends (one system call, not 256). */
const NONCE_POOL_SIZE = 256 * TRACE_NONCE_SIZE;
let noncePool = new Uint8Array(0);
let noncePos = 0;

/** A fresh random nonce for an extend's records (a copy: it is kept by the caller). */
function freshNonce(): Uint8Array {
  if (noncePos + TRACE_NONCE_SIZE > noncePool.length) {
    noncePool = new Uint8Array(randomBytes(NONCE_POOL_SIZE));
    noncePos = 0;
  }
  const n = noncePool.slice(noncePos, noncePos + TRACE_NONCE_SIZE);
  noncePos += TRACE_NONCE_SIZE;
  return n;
}

/** Options of {@link openEmulatedProvider}. */
export interface OpenEmulatedProviderOptions {
  /** The state directory (default: `$MRSTACK_TVM_STATE` or the user's state dir). */
  readonly stateDir?: string;
  /** The clock reports use (default: the system clock). */
  readonly now?: () => Date;
  /** Records between snapshots (default {@link SNAPSHOT_EVERY_RECORDS}; 0 disables them). */
  readonly snapshotEvery?: number;
}

/**
 * Opens the emulated TVM in a state directory made by `initEmulatedTvm`.
 * @throws ProviderError `ERR_NOT_FOUND` when none was initialized there; ParseError
 *   `ERR_BAD_JSON` for a malformed `tvm.json`.
 */
export function openEmulatedProvider(
  opts: OpenEmulatedProviderOptions = {},
): Promise<EmulatedProvider> {
  return Promise.resolve().then(() => {
    const dir = resolveTvmStateDir(opts.stateDir);
    return new EmulatedProvider(
      dir,
      readTvmConfig(dir),
      opts.now ?? (() => new Date()),
      opts.snapshotEvery ?? SNAPSHOT_EVERY_RECORDS,
    );
  });
}

/** The emulated TVM as a {@link Provider}. Construct it with {@link openEmulatedProvider}. */
export class EmulatedProvider implements Provider {
  readonly kind: ProviderKind = 'emulated';
  readonly profile: Profile;
  /** The state directory. */
  readonly stateDir: string;
  /** The decoded `tvm.json`. */
  readonly config: TvmConfig;
  readonly #now: () => Date;
  readonly #tracePath: string;
  readonly #statics: readonly MrInfo[];
  readonly #runtime: readonly RegisterDef[];
  readonly #byRecord = new Map<string, RegisterDef>();
  readonly #values = new Map<string, Uint8Array>();
  #offset = 0;
  #lastNonce: Uint8Array | undefined;
  #snapshotOffset = 0;
  readonly #snapshotEvery: number;

  /** Use {@link openEmulatedProvider}. */
  constructor(stateDir: string, config: TvmConfig, now: () => Date, snapshotEvery: number) {
    this.stateDir = stateDir;
    this.#snapshotEvery = snapshotEvery;
    this.config = config;
    this.profile = config.profile;
    this.#now = now;
    this.#tracePath = join(stateDir, TVM_FILES.trace);
    const popts = profileOptions(config);
    this.#statics = staticDefs(config.profile, popts).map((d) => ({
      name: d.name,
      alg: d.alg,
      size: d.size,
      kind: 'static',
      extendable: false,
    }));
    this.#runtime = runtimeDefs(config.profile, popts);
    for (const d of this.#runtime) {
      this.#byRecord.set(`${String(d.number)}:${String(d.alg)}`, d);
      this.#values.set(registerKey(d.name, d.alg), d.reset!);
    }
    this.#loadSnapshot();
  }

  /** Every register bank: the static ones, then the runtime ones. */
  describe(opts?: IoOptions): Promise<readonly MrInfo[]> {
    opts?.signal?.throwIfAborted();
    return Promise.resolve(this.#infos());
  }

  /** Current values of the selected register (one per bank). */
  read(sel: MrSelector, opts?: IoOptions): Promise<readonly MrValue[]> {
    return Promise.resolve().then(() => {
      opts?.signal?.throwIfAborted();
      const picked = selectMrs(this.#infos(), sel);
      this.#sync();
      return picked.map((m) => ({ name: m.name, alg: m.alg, value: this.#valueOf(m) }));
    });
  }

  /** Every register bank with its current value, in `describe()` order. */
  readAll(opts?: IoOptions): Promise<readonly EmulatedRegister[]> {
    return Promise.resolve().then(() => {
      opts?.signal?.throwIfAborted();
      this.#sync();
      return this.#infos().map((m) => ({ ...m, value: this.#valueOf(m) }));
    });
  }

  /** Extends a register: one trace append, then a replay up to that append. */
  extend(sel: MrSelector, input: ExtendInput, opts?: IoOptions): Promise<readonly ExtendResult[]> {
    return Promise.resolve().then(() => {
      opts?.signal?.throwIfAborted();
      return this.#extend(sel, input);
    });
  }

  /** A signed report in the profile's real format (see `report.ts`). */
  async report(req: ReportRequest, opts: IoOptions = {}): Promise<RawReport> {
    opts.signal?.throwIfAborted();
    const registers = await this.readAll(opts);
    const values = new Map<string, Uint8Array>();
    for (const r of registers) {
      if (r.alg !== undefined) values.set(registerKey(r.name, r.alg), r.value);
      if (registers.filter((x) => x.name === r.name).length === 1) values.set(r.name, r.value);
    }
    const ctx: EmulatedReportContext = {
      stateDir: this.stateDir,
      keysDir: join(this.stateDir, TVM_FILES.keys, this.profile),
      profile: this.profile,
      config: this.config,
      registers,
      values,
      request: req,
      reportData: req.reportData,
      now: this.#now(),
    };
    return EMULATED_REPORTS[this.profile](ctx, opts);
  }

  /** Nothing to release: files are opened per operation. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #infos(): readonly MrInfo[] {
    const rt: MrInfo[] = this.#runtime.map((d) => ({
      name: d.name,
      alg: d.alg,
      size: d.size,
      kind: d.kind,
      extendable: d.extendable,
      ...(d.extendInput === undefined ? {} : { extendInput: d.extendInput }),
    }));
    return [...this.#statics, ...rt];
  }

  #valueOf(m: MrInfo): Uint8Array {
    if (m.kind === 'static') return this.config.staticValues.get(m.name)!;
    return this.#values.get(registerKey(m.name, m.alg))!;
  }

  #extend(sel: MrSelector, input: ExtendInput): readonly ExtendResult[] {
    const picked = selectMrs(this.#infos(), sel);
    const label = formatMrSelector(sel);
    if (this.profile === 'snp') {
      throw new ProviderError(
        'ERR_UNSUPPORTED',
        `${label}: SEV-SNP has no runtime measurement registers (runtime measurements go to a vTPM: use --provider tpm)`,
        { details: { mr: label } },
      );
    }
    const fixed = picked.find((m) => !m.extendable);
    if (fixed !== undefined) {
      throw new ProviderError(
        'ERR_NOT_EXTENDABLE',
        fixed.kind === 'static'
          ? `${label} is a static register, fixed at launch: it cannot be extended`
          : `${label} can be extended only from localities 2-4 (PC Client); the emulated TPM runs at locality 0`,
        { details: { mr: label } },
      );
    }
    let items: { def: MrInfo; alg: HashAlg; data: Uint8Array }[];
    if (input.kind === 'digest') {
      if (picked.length > 1) {
        const banks = picked.map((m) => m.alg ?? 'none').join(', ');
        throw new ProviderError(
          'ERR_EVENT_DATA_REQUIRED',
          `${label} has several banks (${banks}): extend one bank with a digest (${label}:${picked[0]!.alg ?? ''}), or give event data (--event FILE or --text STR) to extend every bank`,
          { details: { mr: label, banks: picked.map((m) => m.alg) } },
        );
      }
      const def = picked[0]!;
      const lim = def.extendInput!;
      const n = input.digest.length;
      if (n < lim.min || n > lim.max) {
        const want =
          lim.min === lim.max
            ? `a ${lim.min}-byte ${def.alg ?? ''} digest`
            : `${lim.min}..${lim.max} bytes of data`;
        throw new ProviderError('ERR_DIGEST_SIZE', `${label} takes ${want}, got ${n} bytes`, {
          details: {
            mr: label,
            expected: lim.min === lim.max ? lim.min : `${lim.min}..${lim.max}`,
            actual: n,
          },
        });
      }
      items = [{ def, alg: def.alg!, data: input.digest }];
    } else {
      items = picked.map((def) => ({ def, alg: def.alg!, data: hash(def.alg!, input.data) }));
    }
    const nonce = freshNonce();
    const records = items.map((it) =>
      encodeTraceRecord({
        profile: this.profile,
        register: this.#numberOf(it.def),
        alg: it.alg,
        data: it.data,
        nonce,
      }),
    );
    // One descriptor for the whole extend. Replay what is there first (usually nothing: one
    // fstat): a corrupt trace refuses the extend before anything is added. Then append, and
    // replay only the tail from the last known size up to and past our own records, which are
    // recognized by their nonce.
    const found = new Map<string, { old: Uint8Array; new: Uint8Array }>();
    const fd = openTrace(this.#tracePath, true);
    try {
      this.#sync(fd);
      appendTraceRecordsFd(fd, this.#tracePath, concatBytes(...records));
      this.#sync(fd, (e, key, old, now) => {
        if (bytesEqual(e.record.nonce, nonce)) found.set(key, { old, new: now });
      });
    } finally {
      fs.closeSync(fd);
    }
    return items.map((it) => {
      const key = registerKey(it.def.name, it.alg);
      const r = found.get(key);
      if (r === undefined) {
        throw new ProviderError(
          'ERR_INTERNAL',
          `${label}: the extend was appended to ${this.#tracePath} but not found on replay`,
        );
      }
      return { name: it.def.name, alg: it.alg, old: r.old, new: r.new };
    });
  }

  #numberOf(def: MrInfo): number {
    const d = this.#runtime.find((r) => r.name === def.name && r.alg === def.alg);
    return d!.number!;
  }

  /** Replays the records appended since the last sync (on `fd`, or on a descriptor of its own). */
  #sync(
    fd?: number,
    onRecord?: (e: TraceEntry, key: string, old: Uint8Array, now: Uint8Array) => void,
  ): void {
    if (fd === undefined) {
      const own = openTrace(this.#tracePath);
      try {
        this.#sync(own);
      } finally {
        fs.closeSync(own);
      }
      return;
    }
    const start = this.#offset;
    this.#offset = scanTraceFd(fd, this.#tracePath, this.#offset, (e) => {
      const { record } = e;
      const where = (field: string, off: number): ParseError =>
        new ParseError({
          code: 'ERR_TRACE_CORRUPT',
          format: 'trace',
          offset: e.offset + off,
          record: e.offset / TRACE_RECORD_SIZE,
          field: `${this.#tracePath}: record[${e.offset / TRACE_RECORD_SIZE}].${field}`,
          expected: field === 'profile' ? this.profile : 'a register of this profile',
          actual:
            field === 'profile' ? record.profile : `register ${record.register} bank ${record.alg}`,
        });
      if (record.profile !== this.profile) throw where('profile', 5);
      const def = this.#byRecord.get(`${record.register}:${record.alg}`);
      if (!def?.extendable) throw where('register', 6);
      const lim = def.extendInput!;
      if (record.data.length < lim.min || record.data.length > lim.max) {
        throw new ParseError({
          code: 'ERR_TRACE_CORRUPT',
          format: 'trace',
          offset: e.offset + 7,
          record: e.offset / TRACE_RECORD_SIZE,
          field: `${this.#tracePath}: record[${e.offset / TRACE_RECORD_SIZE}].length`,
          expected: `${lim.min}..${lim.max} for ${def.name}:${String(def.alg)}`,
          actual: String(record.data.length),
        });
      }
      const key = registerKey(def.name, def.alg);
      const old = this.#values.get(key)!;
      const now = extendValue(record.alg, old, record.data);
      this.#values.set(key, now);
      this.#lastNonce = record.nonce;
      // advance per record: a scan that throws later leaves the values and offset consistent
      this.#offset = e.offset + TRACE_RECORD_SIZE;
      onRecord?.(e, key, old, now);
    });
    if (this.#offset !== start) this.#maybeSnapshot();
  }

  #loadSnapshot(): void {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(fs.readFileSync(join(this.stateDir, TVM_FILES.snapshot), 'utf8')) as Record<
        string,
        unknown
      >;
    } catch {
      return; // none, or unreadable: replay from reset
    }
    try {
      const offset = o['offset'];
      if (
        o['format'] !== SNAPSHOT_FORMAT ||
        o['created'] !== this.config.created.toISOString() ||
        typeof offset !== 'number' ||
        !Number.isSafeInteger(offset) ||
        offset <= 0 ||
        offset % TRACE_RECORD_SIZE !== 0 ||
        typeof o['last_nonce'] !== 'string'
      )
        return;
      const lastNonce = fromHex(o['last_nonce']);
      const last = readTraceRecordAt(this.#tracePath, offset - TRACE_RECORD_SIZE);
      if (last === undefined || !bytesEqual(last.nonce, lastNonce)) return;
      const vals: unknown = o['values'];
      if (typeof vals !== 'object' || vals === null) return;
      const next = new Map<string, Uint8Array>();
      for (const d of this.#runtime) {
        const key = registerKey(d.name, d.alg);
        const hex = (vals as Record<string, unknown>)[key];
        if (typeof hex !== 'string') return;
        const v = fromHex(hex);
        if (v.length !== digestSize(d.alg!)) return;
        next.set(key, v);
      }
      for (const [k, v] of next) this.#values.set(k, v);
      this.#offset = offset;
      this.#snapshotOffset = offset;
      this.#lastNonce = lastNonce;
    } catch {
      // A snapshot that does not check out is ignored: the trace is the source of truth.
    }
  }

  #maybeSnapshot(): void {
    if (this.#snapshotEvery <= 0) return;
    if (this.#offset - this.#snapshotOffset < this.#snapshotEvery * TRACE_RECORD_SIZE) return;
    if (this.#lastNonce === undefined) return;
    const body = {
      format: SNAPSHOT_FORMAT,
      version: 1,
      created: this.config.created.toISOString(),
      offset: this.#offset,
      last_nonce: toHex(this.#lastNonce),
      values: Object.fromEntries([...this.#values].map(([k, v]) => [k, toHex(v)])),
    };
    try {
      writeFileAtomic(join(this.stateDir, TVM_FILES.snapshot), `${JSON.stringify(body)}\n`);
      this.#snapshotOffset = this.#offset;
    } catch {
      // Best effort (a read-only state directory still reads).
    }
  }
}
