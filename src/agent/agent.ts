/**
 * The measurement agent's core (DESIGN §5): tenants append events; the agent writes each into
 * the tenant's vMR log, then — one group commit per batch — one `VMR` record into the physical
 * log, extends the physical register once, and acknowledges the batch. One queue per physical
 * register keeps log order = extend order.
 *
 * Opening the agent recovers: torn tails are truncated, durable-but-unextended physical
 * records are extended exactly once, tenant lines not covered by a VMR record are covered by a
 * new one, and a register that moved off-log gets a `SYNC` record and a warning. Invariant:
 * killed at any instant, the agent restarts with logs that replay exactly to the register and
 * every acknowledged event in them exactly once.
 *
 * @module
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { AgentError, MrstackError, UsageError } from '../errors.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import { toHex } from '../bytes/hex.js';
import { formatMrlogRecord, NAME_RE, type MrlogRecord } from '../formats/mrlog/record.js';
import { tenantEventLine, type TenantEventInput } from '../formats/mrlog/event.js';
import { evidenceBinding } from '../formats/bundle/binding.js';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type BundleFirmwareLog,
  type EvidenceBundle,
} from '../formats/bundle/bundle.js';
import type { Provider, RawReport } from '../providers/provider.js';
import type { Durability } from './append_file.js';
import { faultPoint } from './fault.js';
import { compressArchivedLogs, PhysicalLog, type PhysicalScan } from './physical_log.js';
import {
  PhysicalRegister,
  banksEqual,
  extendBanks,
  type Banks,
  type ExtendRetryPolicy,
} from './physical_register.js';
import { ReportBatcher } from './report_batcher.js';
import { REQUEST_ID_RE, TenantLog, type TenantLogOptions } from './tenant_log.js';
import {
  DEFAULT_TENANT_LIMITS,
  readAgentState,
  writeAgentState,
  type AgentState,
  type TenantConfig,
  type TenantLimits,
} from './tenant_config.js';

/** The logger the agent writes to (pino's shape). */
export interface AgentLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const SILENT: AgentLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** When the agent starts a new segment on its own. */
export interface CheckpointPolicy {
  /** Segment size that triggers a checkpoint (0: never). */
  readonly maxBytes: number;
  /** Segment age in ms that triggers one (0: never). */
  readonly maxAgeMs: number;
}

/** Options of {@link Agent.open}. */
export interface AgentOptions {
  readonly provider: Provider;
  /** The physical register to own (`rtmr3`, `pcr14` …). */
  readonly register: string;
  /** Where logs and `state.json` live. */
  readonly logDir: string;
  readonly durability?: Durability;
  /** This boot's id (default: `/proc/sys/kernel/random/boot_id`). */
  readonly bootId?: string;
  readonly now?: () => Date;
  /** Tenants declared in a tenants file (always present; admin-added ones persist in state). */
  readonly tenants?: readonly TenantConfig[];
  readonly defaultLimits?: Partial<TenantLimits>;
  readonly checkpoint?: Partial<CheckpointPolicy>;
  /** Most events per group commit. */
  readonly batchMax?: number;
  readonly logger?: AgentLogger;
  readonly retry?: Partial<ExtendRetryPolicy>;
  /** How long the first evidence request waits for others to share its report (default 25 ms). */
  readonly evidenceWindowMs?: number;
  /** Test and demo hook: delay every report by this many ms (a TDX quote takes ~1 s). */
  readonly reportDelayMs?: number;
  /** Reads the platform's firmware log for bundles, when it has one. */
  readonly firmwareLog?: () => Promise<BundleFirmwareLog | undefined>;
  /** gzip archived log segments (closed by a checkpoint, or of an earlier boot); default false. */
  readonly compressArchives?: boolean;
  /**
   * Request ids kept in memory per tenant (default `DEFAULT_LIMITS.maxRecentRequestIds`); older
   * ids are found in the on-disk id index, so a retry of any id of the boot is still recognized.
   */
  readonly recentRequestIds?: number;
}

/** The result of an acknowledged append (JSON-ready: hex strings). */
export interface AppendResult {
  readonly status: 'acknowledged';
  readonly tenant: string;
  readonly vmr: string;
  readonly id?: string;
  /** 1-based number of the event among the tenant log's extended records. */
  readonly record: number;
  /** The vMR right after the event (hex). */
  readonly value: string;
  readonly register: string;
  /** Chain index of the VMR record that carried it (absent for a retry after a restart). */
  readonly physicalRecord?: number;
  /** True when this is the first result of an earlier request with the same id. */
  readonly duplicate: boolean;
}

/** What {@link Agent.eventStatus} says of a request id. */
export interface EventStatus {
  readonly id: string;
  readonly status: 'acknowledged' | 'pending' | 'queued';
  readonly record?: number;
  readonly value?: string;
}

/** A register move the agent did not make. */
export interface OffLogEvent {
  readonly at: string;
  /** Chain index of the SYNC record that records it. */
  readonly record: number;
  readonly expected: Readonly<Record<string, string>>;
  readonly found: Readonly<Record<string, string>>;
  readonly when: 'recovery' | 'extend';
}

interface TenantState {
  config: TenantConfig;
  log: TenantLog;
  limits: TenantLimits;
  /** Records of the tenant log covered by a VMR record in the physical register. */
  covered: number;
  tokens: number;
  lastRefill: number;
  inflight: Map<string, Promise<AppendResult>>;
  removed: boolean;
}

type Job =
  | {
      readonly kind: 'event';
      readonly tenant: TenantState;
      readonly line: string;
      readonly id: string | undefined;
      readonly resolve: (r: AppendResult) => void;
      readonly reject: (e: unknown) => void;
    }
  | {
      readonly kind: 'op';
      readonly fn: () => Promise<void>;
      readonly resolve: () => void;
      readonly reject: (e: unknown) => void;
    };

interface ReportSnapshot {
  readonly raw: RawReport;
  readonly physBefore: number;
  readonly physAfter: number;
  readonly tenantBefore: ReadonlyMap<string, number>;
  readonly tenantAfter: ReadonlyMap<string, number>;
  readonly reportData: Uint8Array;
}

function readBootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown-boot';
  }
}

const hexBanks = (b: ReadonlyMap<HashAlg, Uint8Array>): Record<string, string> =>
  Object.fromEntries([...b].map(([a, v]) => [a, toHex(v)]));

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** The agent. Create with {@link Agent.open}. */
export class Agent {
  readonly register: PhysicalRegister;
  readonly logDir: string;
  readonly durability: Durability;
  readonly bootId: string;
  readonly #opts: AgentOptions;
  readonly #log: AgentLogger;
  readonly #now: () => Date;
  #plog!: PhysicalLog;
  #values: Banks = new Map();
  #extended = 0;
  readonly #tenants = new Map<string, TenantState>();
  #usedVmrs = new Set<string>();
  #lastCheckpoint: { seq: number; at: string } | undefined;
  readonly #queue: Job[] = [];
  #running = false;
  #inflightExtend: Promise<unknown> | undefined;
  #stopped: AgentError | undefined;
  #closed = false;
  #checkpointQueued = false;
  readonly #offLog: OffLogEvent[] = [];
  readonly #batcher: ReportBatcher<ReportSnapshot>;
  readonly #policy: CheckpointPolicy;
  #acked = 0;
  #batches = 0;

  private constructor(reg: PhysicalRegister, opts: AgentOptions) {
    this.register = reg;
    this.logDir = opts.logDir;
    this.durability = opts.durability ?? 'process';
    this.bootId = opts.bootId ?? readBootId();
    this.#opts = opts;
    this.#log = opts.logger ?? SILENT;
    this.#now = opts.now ?? (() => new Date());
    this.#policy = { maxBytes: 64 * 1024 * 1024, maxAgeMs: 0, ...opts.checkpoint };
    this.#batcher = new ReportBatcher(
      (rd) => this.#takeReport(rd),
      1024,
      opts.evidenceWindowMs ?? 25,
    );
  }

  /**
   * Opens the agent over a provider and recovers its logs (see the module doc).
   * @throws ProviderError for an unknown or non-extendable register; AgentError `ERR_IO`
   */
  static async open(opts: AgentOptions): Promise<Agent> {
    const reg = await PhysicalRegister.open(opts.provider, opts.register, opts.retry);
    const agent = new Agent(reg, opts);
    await agent.#start();
    return agent;
  }

  get #statePath(): string {
    return join(this.logDir, 'state.json');
  }
  get #physDir(): string {
    return join(this.logDir, 'physical');
  }
  get #tenantDir(): string {
    return join(this.logDir, 'tenants');
  }
  get #idDir(): string {
    return join(this.logDir, 'ids');
  }
  #tenantLogOptions(): TenantLogOptions {
    return {
      durability: this.durability,
      idDir: this.#idDir,
      ...(this.#opts.recentRequestIds === undefined
        ? {}
        : { recentIds: this.#opts.recentRequestIds }),
    };
  }

  #saveState(): void {
    const s: AgentState = {
      bootId: this.bootId,
      tenants: [...this.#tenants.values()].filter((t) => !t.removed).map((t) => t.config),
      usedVmrs: [...this.#usedVmrs],
      lastCheckpoint: this.#lastCheckpoint,
    };
    writeAgentState(this.#statePath, s);
  }

  async #start(): Promise<void> {
    fs.mkdirSync(this.logDir, { recursive: true, mode: 0o750 });
    const prev = readAgentState(this.#statePath);
    let opened = PhysicalLog.open(this.#physDir, this.register.name, this.durability, {
      compressArchives: this.#opts.compressArchives === true,
    });
    const oldBoot = opened.scan.bootId ?? prev?.bootId;
    if (opened.log.records > 0 && oldBoot !== undefined && oldBoot !== this.bootId) {
      opened.log.close();
      this.#archiveBoot(oldBoot);
      opened = PhysicalLog.open(this.#physDir, this.register.name, this.durability, {
        compressArchives: this.#opts.compressArchives === true,
      });
    }
    const same = prev?.bootId === this.bootId ? prev : undefined;
    this.#usedVmrs = new Set(same?.usedVmrs ?? []);
    this.#lastCheckpoint = same?.lastCheckpoint;
    this.#plog = opened.log;
    if (opened.scan.torn > 0)
      this.#log.warn({ torn: opened.scan.torn }, 'truncated a torn physical-log tail');
    await this.#recoverPhysical(opened.scan);
    // tenants: persisted ones, then declared ones not yet known
    fs.mkdirSync(this.#tenantDir, { recursive: true, mode: 0o750 });
    // the id indexes are derived from the tenant logs and rebuilt as each log is opened
    fs.rmSync(this.#idDir, { recursive: true, force: true });
    const configs = new Map<string, TenantConfig>();
    for (const t of prev?.tenants ?? []) configs.set(t.name, t);
    for (const t of this.#opts.tenants ?? []) configs.set(t.name, t);
    const stale: TenantState[] = [];
    for (const cfg of configs.values()) {
      const t = await this.#openTenant(cfg);
      const last = opened.scan.lastVmr.get(cfg.vmr);
      let covered: number | undefined = 0;
      if (last !== undefined) covered = t.log.recordOf(last.value);
      if (covered === undefined) {
        this.#log.error(
          { tenant: cfg.name, vmr: cfg.vmr },
          'the tenant log does not contain the value its last VMR record states',
        );
        covered = 0;
      }
      t.covered = covered;
      if (covered < t.log.records) stale.push(t);
    }
    this.#saveState();
    if (stale.length > 0) {
      this.#log.info(
        { tenants: stale.map((t) => t.config.name) },
        're-propagating tenant records not covered by a VMR record',
      );
      await this.#coverTenants(stale);
    }
    this.#log.info(
      {
        register: this.register.name,
        records: this.#plog.records,
        tenants: this.#tenants.size,
        boot_id: this.bootId,
      },
      'agent recovered',
    );
  }

  #archiveBoot(oldBoot: string): void {
    const dest = join(this.logDir, 'archive', `${oldBoot}-${Date.now()}`);
    fs.mkdirSync(dest, { recursive: true });
    for (const name of ['physical', 'tenants', 'removed']) {
      const src = join(this.logDir, name);
      if (fs.existsSync(src)) fs.renameSync(src, join(dest, name));
    }
    if (this.#opts.compressArchives === true)
      void compressArchivedLogs(dest).catch((e: unknown) =>
        this.#log.warn({ err: String(e), archive: dest }, 'could not compress archived logs'),
      );
    this.#log.info(
      { old_boot_id: oldBoot, archive: dest },
      "new boot: archived the previous boot's logs",
    );
  }

  async #openTenant(cfg: TenantConfig): Promise<TenantState> {
    const path = join(this.#tenantDir, `${cfg.vmr}.mrlog`);
    const alg = this.register.algs[0]!;
    let log: TenantLog;
    if (fs.existsSync(path) && fs.statSync(path).size > 0) {
      const o = await TenantLog.open(path, alg, this.#tenantLogOptions());
      log = o.log;
      if (o.torn > 0)
        this.#log.warn({ tenant: cfg.name, torn: o.torn }, 'truncated a torn tenant-log tail');
      if (log.name !== cfg.name || log.vmr !== cfg.vmr) {
        log.close();
        throw new AgentError(
          'ERR_CONFLICT',
          `${path} belongs to tenant ${log.name} (vMR ${log.vmr}), not ${cfg.name}`,
        );
      }
    } else {
      if (fs.existsSync(path)) fs.unlinkSync(path);
      log = await TenantLog.create(
        path,
        cfg.name,
        cfg.vmr,
        alg,
        this.#now(),
        this.#tenantLogOptions(),
      );
    }
    const limits = { ...DEFAULT_TENANT_LIMITS, ...this.#opts.defaultLimits, ...cfg.limits };
    const t: TenantState = {
      config: cfg,
      log,
      limits,
      covered: 0,
      tokens: limits.ratePerSecond,
      lastRefill: Date.now(),
      inflight: new Map(),
      removed: false,
    };
    this.#tenants.set(cfg.name, t);
    this.#usedVmrs.add(cfg.vmr);
    return t;
  }

  // ---- physical register: recovery, writes, extends ----

  async #recoverPhysical(scan: PhysicalScan): Promise<void> {
    const algs = this.register.algs;
    const live = await this.register.read();
    if (this.#plog.records === 0) {
      // a new log: BOOT and SYNC in one write, SYNC holding the value after BOOT
      if (this.#plog.currentSeq < 0) this.#plog.startSegment();
      const boot = formatMrlogRecord({
        kind: 'boot',
        bootId: this.bootId,
        epoch: Math.floor(this.#now().getTime() / 1000),
      });
      const afterBoot = extendBanks(algs, live, utf8(boot));
      const sync = formatMrlogRecord({
        kind: 'sync',
        values: algs.map((a) => ({ alg: a, value: afterBoot.get(a)! })),
      });
      this.#values = new Map(live);
      this.#extended = 0;
      await this.#appendPhysical([boot, sync]);
      return;
    }
    const tail = scan.tail;
    const s = tail.findIndex((r) => r.kind === 'sync');
    const extendable = (r: MrlogRecord): boolean => r.kind !== 'comment';
    let from: number | undefined; // index in tail of the first record to extend
    if (s >= 0) {
      const sync = tail[s]!;
      const vs: Banks = new Map(
        sync.kind === 'sync' ? sync.values.map((v) => [v.alg, v.value]) : [],
      );
      let cur: Banks = vs;
      const after: Banks[] = [];
      for (let k = s; k < tail.length; k++) {
        if (extendable(tail[k]!)) cur = extendBanks(algs, cur, utf8(tail[k]!.line));
        after[k] = cur;
      }
      for (let k = tail.length - 1; k >= s && from === undefined; k--) {
        if (banksEqual(algs, after[k]!, live)) from = k + 1;
      }
      if (from === undefined && banksEqual(algs, vs, live)) from = s;
      if (
        from === undefined &&
        s > 0 &&
        banksEqual(algs, extendBanks(algs, live, utf8(tail[s - 1]!.line)), vs)
      )
        from = s - 1;
    }
    this.#values = new Map(live);
    if (from === undefined) {
      this.#extended = this.#plog.records;
      const rec = this.#plog.records;
      this.#log.warn(
        { register: this.register.name, value: hexBanks(live) },
        'the register moved off-log: writing a SYNC record',
      );
      this.#offLog.push({
        at: this.#now().toISOString(),
        record: rec,
        expected: {},
        found: hexBanks(live),
        when: 'recovery',
      });
      await this.#appendPhysical([
        formatMrlogRecord({
          kind: 'sync',
          values: algs.map((a) => ({ alg: a, value: live.get(a)! })),
        }),
      ]);
      return;
    }
    this.#extended = scan.tailStart + from;
    const todo = tail.slice(from).filter(extendable);
    if (todo.length > 0) {
      this.#log.info(
        { records: todo.length },
        'extending durable records that were not extended before the restart',
      );
      await this.#extendRecords(todo.map((r) => r.line));
    }
    this.#extended = this.#plog.records;
  }

  /** Writes lines (one write), makes them durable, extends them in order. */
  async #appendPhysical(lines: readonly string[]): Promise<number> {
    const first = this.#plog.write(lines);
    faultPoint('vmr-written');
    await this.#plog.sync();
    faultPoint('physical-synced');
    await this.#extendRecords(lines);
    faultPoint('extended');
    return first;
  }

  async #extendRecords(lines: readonly string[]): Promise<void> {
    for (const line of lines) {
      const before = this.#values;
      const p = this.register.extendLine(utf8(line), before);
      this.#inflightExtend = p.catch(() => undefined);
      let res;
      try {
        res = await p;
      } catch (e) {
        throw this.#stop(e);
      } finally {
        this.#inflightExtend = undefined;
      }
      this.#extended++;
      const expected = extendBanks(this.register.algs, before, utf8(line));
      if (res.old !== undefined && !banksEqual(this.register.algs, res.old, before)) {
        // someone extended the register off-log before this record: record where it is now
        this.#values = new Map(res.new);
        const rec = this.#plog.records;
        this.#offLog.push({
          at: this.#now().toISOString(),
          record: rec,
          expected: hexBanks(expected),
          found: hexBanks(res.new),
          when: 'extend',
        });
        this.#log.warn(
          { register: this.register.name, record: rec },
          'the register moved off-log: writing a SYNC record',
        );
        const sync = formatMrlogRecord({
          kind: 'sync',
          values: this.register.algs.map((a) => ({ alg: a, value: res.new.get(a)! })),
        });
        this.#plog.write([sync]);
        await this.#plog.sync();
        await this.#extendRecords([sync]);
      } else {
        this.#values = expected;
      }
    }
  }

  #stop(e: unknown): AgentError {
    if (this.#stopped === undefined) {
      const why = e instanceof Error ? e.message : String(e);
      this.#stopped = new AgentError(
        'ERR_AGENT_STOPPED',
        `the ${this.register.name} queue stopped: ${why}`,
        {
          cause: e,
          details: {
            register: this.register.name,
            ...(e instanceof MrstackError ? { cause_code: e.code } : {}),
          },
        },
      );
      this.#log.error({ err: why, register: this.register.name }, 'extend queue stopped');
    }
    return this.#stopped;
  }

  // ---- the queue ----

  #enqueue(job: Job): void {
    this.#queue.push(job);
    if (this.#running) return;
    // start on the next turn of the event loop, so that every request read in this I/O phase
    // joins the same group commit
    this.#running = true;
    setImmediate(() => void this.#run());
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        if (this.#stopped !== undefined) {
          for (const j of this.#queue.splice(0)) j.reject(this.#stopped);
          break;
        }
        const head = this.#queue[0]!;
        if (head.kind === 'op') {
          this.#queue.shift();
          try {
            await head.fn();
            head.resolve();
          } catch (e) {
            head.reject(e);
          }
          continue;
        }
        const max = this.#opts.batchMax ?? 4096;
        let n = 0;
        while (n < this.#queue.length && n < max && this.#queue[n]!.kind === 'event') n++;
        const batch = this.#queue.splice(0, n) as (Job & { kind: 'event' })[];
        try {
          await this.#commit(batch);
        } catch (e) {
          const err = e instanceof AgentError && e.code === 'ERR_AGENT_STOPPED' ? e : this.#stop(e);
          for (const j of batch) j.reject(err);
        }
        this.#maybeCheckpoint();
      }
    } finally {
      this.#running = false;
    }
  }

  async #commit(batch: readonly (Job & { kind: 'event' })[]): Promise<void> {
    const groups = new Map<TenantState, (Job & { kind: 'event' })[]>();
    for (const j of batch) {
      if (j.tenant.removed) {
        j.reject(new AgentError('ERR_NOT_FOUND', `tenant ${j.tenant.config.name} was removed`));
        continue;
      }
      let g = groups.get(j.tenant);
      if (g === undefined) groups.set(j.tenant, (g = []));
      g.push(j);
    }
    if (groups.size === 0) return;
    const pos = new Map<Job, { record: number; value: Uint8Array }>();
    for (const [t, jobs] of groups) {
      const p = t.log.append(jobs.map((j) => ({ line: j.line, id: j.id })));
      jobs.forEach((j, i) => pos.set(j, p[i]!));
    }
    faultPoint('tenant-written');
    await Promise.all([...groups.keys()].map((t) => t.log.sync()));
    faultPoint('tenant-synced');
    const vmrLine = formatMrlogRecord({
      kind: 'vmr',
      values: [...groups.keys()].map((t) => ({
        name: t.config.vmr,
        alg: t.log.alg,
        value: t.log.value,
      })),
    });
    const rec = await this.#appendPhysical([vmrLine]);
    this.#batches++;
    for (const [t, jobs] of groups) {
      t.covered = t.log.records;
      for (const j of jobs) {
        const p = pos.get(j)!;
        this.#acked++;
        j.resolve({
          status: 'acknowledged',
          tenant: t.config.name,
          vmr: t.config.vmr,
          ...(j.id === undefined ? {} : { id: j.id }),
          record: p.record,
          value: toHex(p.value),
          register: this.register.name,
          physicalRecord: rec,
          duplicate: false,
        });
      }
    }
    faultPoint('acked');
  }

  /** Writes one VMR record covering the tenants' current values (recovery, new tenants). */
  async #coverTenants(ts: readonly TenantState[]): Promise<void> {
    const live = ts.filter((t) => !t.removed);
    if (live.length === 0) return;
    const line = formatMrlogRecord({
      kind: 'vmr',
      values: live.map((t) => ({ name: t.config.vmr, alg: t.log.alg, value: t.log.value })),
    });
    await this.#appendPhysical([line]);
    for (const t of live) t.covered = t.log.records;
  }

  #op(fn: () => Promise<void>): Promise<void> {
    this.#checkOpen();
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'op', fn, resolve, reject }));
  }

  #checkOpen(): void {
    if (this.#closed) throw new AgentError('ERR_AGENT_STOPPED', 'the agent is closed');
    if (this.#stopped !== undefined) throw this.#stopped;
  }

  // ---- public operations ----

  /**
   * Appends one event for a tenant; resolves once it is acknowledged (in the tenant log, covered
   * by a VMR record, extended). A retry with the same id returns the first result.
   * @throws ParseError `ERR_BAD_EVENT`, `ERR_RECORD_TOO_LARGE`; AgentError `ERR_NOT_FOUND`,
   *   `ERR_RATE_LIMITED`, `ERR_AGENT_STOPPED`; UsageError `ERR_USAGE` (a bad id)
   */
  async append(tenant: string, ev: TenantEventInput, id?: string): Promise<AppendResult> {
    const t = this.#tenant(tenant);
    if (id !== undefined && !REQUEST_ID_RE.test(id)) {
      throw new UsageError('ERR_USAGE', 'request id: expected 1-128 characters of [A-Za-z0-9_.:-]');
    }
    if (id !== undefined) {
      const again = this.#previous(t, id);
      if (again !== undefined) return again;
    }
    const line = tenantEventLine(ev, t.limits.maxRecordBytes);
    this.#checkOpen();
    this.#takeToken(t);
    faultPoint('validated');
    const p = new Promise<AppendResult>((resolve, reject) => {
      this.#enqueue({ kind: 'event', tenant: t, line, id, resolve, reject });
    });
    if (id === undefined) return p;
    t.inflight.set(id, p);
    try {
      return await p;
    } finally {
      t.inflight.delete(id);
    }
  }

  #previous(t: TenantState, id: string): Promise<AppendResult> | undefined {
    const fly = t.inflight.get(id);
    if (fly !== undefined) return fly.then((r) => ({ ...r, duplicate: true }));
    const pos = t.log.lookup(id);
    if (pos === undefined) return undefined;
    if (pos.record > t.covered) {
      // written before a failure and not yet covered: cover it now (through the queue)
      return this.#op(() => this.#coverTenants([t])).then(() => this.#resultOf(t, id, pos));
    }
    return Promise.resolve(this.#resultOf(t, id, pos));
  }

  #resultOf(t: TenantState, id: string, pos: { record: number; value: Uint8Array }): AppendResult {
    return {
      status: 'acknowledged',
      tenant: t.config.name,
      vmr: t.config.vmr,
      id,
      record: pos.record,
      value: toHex(pos.value),
      register: this.register.name,
      duplicate: true,
    };
  }

  #takeToken(t: TenantState): void {
    const rate = t.limits.ratePerSecond;
    if (rate <= 0) return;
    const now = Date.now();
    t.tokens = Math.min(rate, t.tokens + ((now - t.lastRefill) / 1000) * rate);
    t.lastRefill = now;
    if (t.tokens < 1) {
      throw new AgentError(
        'ERR_RATE_LIMITED',
        `tenant ${t.config.name} exceeded ${rate} events/s`,
        {
          details: { tenant: t.config.name, rate },
        },
      );
    }
    t.tokens -= 1;
  }

  #tenant(name: string): TenantState {
    const t = this.#tenants.get(name);
    if (t === undefined || t.removed)
      throw new AgentError('ERR_NOT_FOUND', `no tenant named ${JSON.stringify(name)}`);
    return t;
  }

  /**
   * What became of a request id.
   * @throws AgentError `ERR_NOT_FOUND` for an id this tenant never used (in this boot)
   */
  eventStatus(tenant: string, id: string): EventStatus {
    const t = this.#tenant(tenant);
    const pos = t.log.lookup(id);
    if (pos !== undefined) {
      return {
        id,
        status: pos.record <= t.covered ? 'acknowledged' : 'pending',
        record: pos.record,
        value: toHex(pos.value),
      };
    }
    if (t.inflight.has(id)) return { id, status: 'queued' };
    throw new AgentError('ERR_NOT_FOUND', `tenant ${tenant} has no request ${JSON.stringify(id)}`);
  }

  /** The tenant's own log lines. */
  tenantLog(tenant: string): string[] {
    return this.#tenant(tenant).log.readLines();
  }

  /** Tenants, in name order. */
  listTenants(): TenantConfig[] {
    return [...this.#tenants.values()]
      .filter((t) => !t.removed)
      .map((t) => t.config)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Adds a tenant and persists it; its vMR gets its first VMR record before this resolves.
   * @throws AgentError `ERR_CONFLICT` (name or vMR taken, or the vMR used earlier in this boot)
   */
  async addTenant(cfg: TenantConfig): Promise<TenantConfig> {
    this.#checkOpen();
    if (!NAME_RE.test(cfg.name) || !NAME_RE.test(cfg.vmr)) {
      throw new UsageError('ERR_USAGE', 'tenant and vMR names: [a-z0-9][a-z0-9_-]{0,63}');
    }
    let added: TenantState | undefined;
    await this.#op(async () => {
      const existing = this.#tenants.get(cfg.name);
      if (existing !== undefined && !existing.removed)
        throw new AgentError('ERR_CONFLICT', `tenant ${cfg.name} exists already`);
      if (this.#usedVmrs.has(cfg.vmr)) {
        throw new AgentError(
          'ERR_CONFLICT',
          `vMR ${cfg.vmr} is or was in use in this boot; vMR names are never reused`,
        );
      }
      added = await this.#openTenant(cfg);
      this.#saveState();
      await this.#coverTenants([added]);
    });
    this.#log.info({ tenant: cfg.name, vmr: cfg.vmr }, 'tenant added');
    return added!.config;
  }

  /** Removes a tenant: archives its log; its vMR name is never reused in this boot. */
  async removeTenant(name: string): Promise<void> {
    const t = this.#tenant(name);
    await this.#op(() => {
      t.removed = true;
      t.log.closeAndDropIndex();
      const dir = join(this.logDir, 'removed');
      fs.mkdirSync(dir, { recursive: true });
      fs.renameSync(t.log.path, join(dir, `${t.config.vmr}.${Date.now()}.mrlog`));
      this.#tenants.delete(name);
      this.#saveState();
      return Promise.resolve();
    });
    this.#log.info({ tenant: name }, 'tenant removed');
  }

  /** Closes the segment and starts a new one (`CHECKPOINT` + `SYNC`). */
  async checkpoint(): Promise<{ seq: number; at: string }> {
    let out: { seq: number; at: string } | undefined;
    await this.#op(async () => {
      out = await this.#doCheckpoint();
    });
    return out!;
  }

  async #doCheckpoint(): Promise<{ seq: number; at: string }> {
    const algs = this.register.algs;
    const prevAlg = algs[0]!;
    const prev = this.#plog.currentDigest(prevAlg);
    const seq = this.#plog.startSegment();
    const cp = formatMrlogRecord({ kind: 'checkpoint', seq, prev: { alg: prevAlg, value: prev } });
    const afterCp = extendBanks(algs, this.#values, utf8(cp));
    const sync = formatMrlogRecord({
      kind: 'sync',
      values: algs.map((a) => ({ alg: a, value: afterCp.get(a)! })),
    });
    await this.#appendPhysical([cp, sync]);
    this.#lastCheckpoint = { seq, at: this.#now().toISOString() };
    this.#saveState();
    this.#log.info({ seq }, 'checkpoint');
    return this.#lastCheckpoint;
  }

  #maybeCheckpoint(): void {
    if (this.#checkpointQueued || this.#stopped !== undefined) return;
    const big = this.#policy.maxBytes > 0 && this.#plog.currentSize >= this.#policy.maxBytes;
    const old =
      this.#policy.maxAgeMs > 0 && Date.now() - this.#plog.currentOpened >= this.#policy.maxAgeMs;
    if (!big && !old) return;
    this.#checkpointQueued = true;
    this.#enqueue({
      kind: 'op',
      fn: async () => {
        this.#checkpointQueued = false;
        await this.#doCheckpoint();
      },
      resolve: () => undefined,
      reject: (e) => this.#log.error({ err: String(e) }, 'policy checkpoint failed'),
    });
  }

  // ---- evidence ----

  async #takeReport(reportData: Uint8Array): Promise<ReportSnapshot> {
    const tenantLines = (): Map<string, number> =>
      new Map([...this.#tenants].map(([n, t]) => [n, t.log.lines]));
    const physBefore = this.#extended;
    const tenantBefore = tenantLines();
    const raw = await this.register.provider.report({ reportData });
    const delay = this.#opts.reportDelayMs ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    await this.#inflightExtend;
    return {
      raw,
      physBefore,
      physAfter: this.#extended,
      tenantBefore,
      tenantAfter: tenantLines(),
      reportData,
    };
  }

  /**
   * Evidence for a tenant, bound to a nonce (and user data): a report shared with concurrent
   * requests, the physical log from checkpoint `since` (default 0, the boot's first segment),
   * the tenant's log and the positions around the report.
   * @throws AgentError `ERR_NOT_FOUND` (tenant, checkpoint); provider errors
   */
  async evidence(
    tenant: string,
    nonce: Uint8Array,
    userData: Uint8Array = new Uint8Array(0),
    since = 0,
  ): Promise<EvidenceBundle> {
    const t = this.#tenant(tenant);
    if (nonce.length === 0 || nonce.length > 1024 || userData.length > 1024) {
      throw new UsageError('ERR_USAGE', 'nonce: 1-1024 bytes; user data: at most 1024 bytes');
    }
    if (!this.#plog.segments.some((s) => s.seq === since)) {
      throw new AgentError('ERR_NOT_FOUND', `no checkpoint ${since} in this boot's log`);
    }
    const binding = evidenceBinding(tenant, nonce, userData);
    const shared = await this.#batcher.request(binding);
    const snap = shared.shared;
    const phys = this.#plog.readLines(since, snap.physAfter);
    const tAfter = snap.tenantAfter.get(tenant) ?? t.log.lines;
    const tBefore = snap.tenantBefore.get(tenant) ?? 0;
    const tLines = t.log.readLines(tAfter);
    const firmwareLog =
      this.#opts.firmwareLog === undefined ? undefined : await this.#opts.firmwareLog();
    const r = snap.raw;
    const kind =
      r.format === 'tdx-quote'
        ? 'tdx'
        : r.format === 'snp-report'
          ? 'snp'
          : r.format === 'tpm-quote'
            ? 'tpm'
            : 'cca';
    const before = Math.max(0, snap.physBefore - phys.first);
    return {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      created: this.#now().toISOString(),
      binding: {
        tenant,
        nonce,
        userData,
        leafIndex: shared.leafIndex,
        treeSize: shared.treeSize,
        proof: shared.proof,
      },
      report: {
        kind,
        format: r.format,
        provider: r.provider,
        emulated: r.emulated,
        outblob: r.outblob,
        ...(r.auxblob === undefined ? {} : { auxblob: r.auxblob }),
        ...(r.manifestblob === undefined ? {} : { manifestblob: r.manifestblob }),
        ...(r.parts === undefined ? {} : { parts: r.parts }),
      },
      firmwareLog,
      physicalLog: {
        register: this.register.name,
        algs: this.register.algs,
        since,
        extendedBefore: before,
        before,
        after: phys.lines.length,
        lines: phys.lines,
      },
      tenantLog: {
        vmr: t.config.vmr,
        alg: t.log.alg,
        before: Math.min(tBefore, tLines.length),
        after: tLines.length,
        lines: tLines,
      },
    };
  }

  // ---- status ----

  /** Everything `agent status --json` shows. */
  status(): Record<string, unknown> {
    return {
      register: this.register.name,
      algs: this.register.algs,
      value: hexBanks(this.#values),
      boot_id: this.bootId,
      durability: this.durability,
      log_dir: this.logDir,
      physical_log: {
        records: this.#plog.records,
        extended: this.#extended,
        segments: this.#plog.segments.map((s) => s.seq),
        current_segment: this.#plog.currentSeq,
        current_bytes: this.#plog.currentSize,
        bytes: this.#plog.totalSize,
      },
      last_checkpoint: this.#lastCheckpoint ?? null,
      queue_depth: this.#queue.length,
      acknowledged: this.#acked,
      batches: this.#batches,
      stopped:
        this.#stopped === undefined
          ? null
          : { code: this.#stopped.code, message: this.#stopped.message },
      off_log: this.#offLog,
      tenants: [...this.#tenants.values()]
        .filter((t) => !t.removed)
        .map((t) => ({
          name: t.config.name,
          vmr: t.config.vmr,
          value: t.log.valueHex,
          records: t.log.records,
          pending: t.log.records - t.covered,
          bytes: t.log.size,
          request_ids: { total: t.log.ids, in_memory: t.log.idsInMemory },
        })),
    };
  }

  /** Waits for the queue to drain, then closes files (the provider is the caller's). */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#stopped === undefined) await this.#op(() => Promise.resolve()).catch(() => undefined);
    this.#closed = true;
    await this.#plog.flushArchives();
    this.#plog.close();
    for (const t of this.#tenants.values()) if (!t.removed) t.log.close();
  }
}
