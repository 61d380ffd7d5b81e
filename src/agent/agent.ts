/**
 * The measurement agent (DESIGN §5): tenants append events; the agent writes each into the
 * tenant's vMR log, then — one group commit per batch — one `VMR` record into the physical log,
 * extends the physical register once, and acknowledges the batch. This module ties the parts
 * together: ownership ({@link OwnerLock}), recovery ({@link planRecovery}), the extend queue and
 * group commit ({@link ExtendQueue}), tenants and rate limits ({@link Tenants}), the checkpoint
 * policy and evidence assembly.
 *
 * Invariant: killed at any instant, the agent restarts with logs that replay exactly to the
 * register and every acknowledged event in them exactly once.
 *
 * @module
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AgentError, MrstackError, UsageError } from '../errors.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import { toHex } from '../bytes/hex.js';
import {
  formatMrlogRecord,
  IMA_TENANT,
  MR_IMA_VMR,
  NAME_RE,
  type MrlogVmrValue,
} from '../formats/mrlog/record.js';
import { tenantEventLine, type TenantEventInput } from '../formats/mrlog/event.js';
import { evidenceBinding } from '../formats/envelope/binding.js';
import type { BundleFirmwareLog, EvidenceBundle } from '../formats/bundle/bundle.js';
import type { Provider, ReportRequest } from '../providers/provider.js';
import type { Durability } from './append_file.js';
import {
  bootLines,
  checkpointDue,
  checkpointLines,
  DEFAULT_CHECKPOINT_POLICY,
  type CheckpointPolicy,
} from './checkpoint_policy.js';
import {
  assembleBundle,
  assembleImaBundle,
  takeReportSnapshot,
  type ImaBundleParts,
  type ReportSnapshot,
} from './evidence.js';
import { ImaBridge, type ImaBridgeOptions } from './ima_bridge.js';
import { ExtendQueue, type Committed, type QueuedEvent } from './extend_queue.js';
import type { AgentHooks } from './hooks.js';
import { acquireAll, logDirLockName, registerLockName, type OwnerLock } from './owner_lock.js';
import { compressArchivedLogs, PhysicalLog } from './physical_log.js';
import { PhysicalRegister, type ExtendRetryPolicy } from './physical_register.js';
import { hexBanks, PhysicalWriter, type AgentLogger } from './physical_writer.js';
import { planRecovery } from './recovery.js';
import { ReportBatcher } from './report_batcher.js';
import { REQUEST_ID_RE, type TenantLogOptions, type TenantPosition } from './tenant_log.js';
import { Tenants, type TenantState } from './tenants.js';
import {
  checkTenantConfig,
  readAgentState,
  writeAgentState,
  type TenantConfig,
  type TenantLimits,
} from './tenant_config.js';

export type { AgentLogger, OffLogEvent } from './physical_writer.js';
export type { CheckpointPolicy } from './checkpoint_policy.js';

const SILENT: AgentLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Most events in one {@link Agent.appendMany} call (and one `POST /v1/events` array). */
export const MAX_BATCH_EVENTS = 4096;

/** Options of {@link Agent.open}. */
export interface AgentOptions {
  readonly provider: Provider;
  /** The physical register to own (`rtmr3`, `pcr14` …). */
  readonly register: string;
  /**
   * Identity of the register's device for the one-owner lock (`\0mrstack/reg/<device>/<mr>`):
   * default `emulated-<hash of the TVM state directory>` for the emulated provider, the tsm-mr
   * device name for linux, the provider kind otherwise.
   */
  readonly registerDevice?: string;
  /** Where logs and `state.json` live. */
  readonly logDir: string;
  readonly durability?: Durability;
  /** This boot's id (default: `/proc/sys/kernel/random/boot_id`). */
  readonly bootId?: string;
  readonly now?: () => Date;
  /** Tenants declared in a tenants file (always present; admin-added ones persist in state). */
  readonly tenants?: readonly TenantConfig[];
  readonly defaultLimits?: Partial<TenantLimits>;
  /**
   * The hash of the vMR chains of tenants created from now on: one of the register's banks
   * (default: its strongest — SHA-384 of a TPM's SHA-1/SHA-256/SHA-384 banks). A tenant log that
   * exists keeps the bank it started with (the physical log's VMR records name it).
   */
  readonly vmrAlg?: HashAlg;
  readonly checkpoint?: Partial<CheckpointPolicy>;
  /** Most events per group commit (a batch from one request is never split). */
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
  /**
   * Mirror the kernel's IMA list into the reserved vMR `mr_ima` of the system tenant `ima`
   * (`agent start --ima`, `docs/mr-ima.md`); absent: no bridge.
   */
  readonly ima?: ImaBridgeOptions;
  /** Test hooks (fault injection); production passes none. */
  readonly hooks?: AgentHooks;
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

/** An event of a batch that was refused; the others are unaffected. */
export interface RejectedEvent {
  readonly status: 'rejected';
  /** 0-based index of the event in its batch. */
  readonly index: number;
  readonly id?: string;
  readonly error: MrstackError;
}

/** One event of a batch given to {@link Agent.appendMany}. */
export interface BatchEvent {
  readonly event: TenantEventInput;
  readonly id?: string;
}

/** What {@link Agent.eventStatus} says of a request id. */
export interface EventStatus {
  readonly id: string;
  readonly status: 'acknowledged' | 'pending' | 'queued';
  readonly record?: number;
  readonly value?: string;
}

function readBootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown-boot';
  }
}

/** The register's device identity for the lock (see {@link AgentOptions.registerDevice}). */
function defaultDevice(p: Provider): string {
  const any = p as unknown as { stateDir?: unknown; device?: unknown };
  if (p.kind === 'emulated' && typeof any.stateDir === 'string') {
    let real = any.stateDir;
    try {
      real = fs.realpathSync(real);
    } catch {
      // not there: the provider would have failed to open
    }
    return `emulated-${createHash('sha256').update(real).digest('hex').slice(0, 32)}`;
  }
  if (typeof any.device === 'string') return any.device;
  return p.kind;
}

const asError = (e: unknown): MrstackError =>
  e instanceof MrstackError
    ? e
    : new AgentError('ERR_INTERNAL', e instanceof Error ? e.message : String(e));

/** The agent. Create with {@link Agent.open}. */
export class Agent {
  readonly register: PhysicalRegister;
  readonly logDir: string;
  readonly durability: Durability;
  readonly bootId: string;
  readonly #opts: AgentOptions;
  readonly #log: AgentLogger;
  readonly #now: () => Date;
  readonly #locks: OwnerLock[];
  readonly #hook: AgentHooks['step'];
  #writer!: PhysicalWriter;
  #queue!: ExtendQueue;
  #tenants!: Tenants;
  #usedVmrs = new Set<string>();
  #lastCheckpoint: { seq: number; at: string } | undefined;
  #closed = false;
  /** What {@link Agent.open} closes when recovery fails half-way. */
  readonly #opened: (() => void)[] = [];
  #checkpointQueued = false;
  readonly #batcher: ReportBatcher<ReportSnapshot>;
  readonly #policy: CheckpointPolicy;
  #ima: ImaBridge | undefined;

  private constructor(reg: PhysicalRegister, opts: AgentOptions, locks: OwnerLock[]) {
    this.register = reg;
    this.logDir = opts.logDir;
    this.durability = opts.durability ?? 'process';
    this.bootId = opts.bootId ?? readBootId();
    this.#opts = opts;
    this.#locks = locks;
    this.#hook = opts.hooks?.step;
    this.#log = opts.logger ?? SILENT;
    this.#now = opts.now ?? (() => new Date());
    this.#policy = { ...DEFAULT_CHECKPOINT_POLICY, ...opts.checkpoint };
    this.#batcher = new ReportBatcher(
      async (rd) => {
        // the whole IMA list is mirrored before each report (docs/mr-ima.md)
        await this.#ima?.catchUp();
        return takeReportSnapshot(
          {
            extended: () => this.#writer.extended,
            tenantLines: () =>
              new Map(this.#tenants.live().map((t) => [t.config.name, t.log.lines])),
            report: (reportData) => this.register.provider.report(reportRequest(reg, reportData)),
            settled: () => this.#writer.inflight ?? Promise.resolve(),
            delayMs: opts.reportDelayMs ?? 0,
          },
          rd,
        );
      },
      1024,
      opts.evidenceWindowMs ?? 25,
    );
  }

  /**
   * Takes ownership of the log directory and the register, then opens the agent over a provider
   * and recovers its logs.
   * @throws AgentError `ERR_AGENT_RUNNING` (another live agent owns the log directory or the
   *   register; details name its `pid`), `ERR_IO`; UsageError `ERR_USAGE` (a bad tenant
   *   declaration); ProviderError for an unknown or non-extendable register
   */
  static async open(opts: AgentOptions): Promise<Agent> {
    const declared = (opts.tenants ?? []).map((t, i) => checkTenantConfig(t, `tenants[${i}]`));
    const reg = await PhysicalRegister.open(opts.provider, opts.register, opts.retry);
    const device = opts.registerDevice ?? defaultDevice(opts.provider);
    const info = { log_dir: opts.logDir, register: reg.name, device };
    const locks = await acquireAll([
      { name: logDirLockName(opts.logDir), what: `log directory ${opts.logDir}`, info },
      { name: registerLockName(device, reg.name), what: `register ${device}/${reg.name}`, info },
    ]);
    const agent = new Agent(reg, { ...opts, tenants: declared }, locks);
    try {
      await agent.#start();
    } catch (e) {
      for (const c of agent.#opened) c();
      for (const l of locks) await l.release();
      throw e;
    }
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

  #saveState(): void {
    writeAgentState(
      this.#statePath,
      {
        bootId: this.bootId,
        tenants: this.#tenants.live().map((t) => t.config),
        usedVmrs: [...this.#usedVmrs],
        lastCheckpoint: this.#lastCheckpoint,
      },
      this.durability,
    );
  }

  #openPhysical(): ReturnType<typeof PhysicalLog.open> {
    return PhysicalLog.open(this.#physDir, this.register.name, this.durability, {
      compressArchives: this.#opts.compressArchives === true,
    });
  }

  async #start(): Promise<void> {
    // logs are private to the agent: owner-only directories
    fs.mkdirSync(this.logDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.logDir, 0o700);
    const prev = readAgentState(this.#statePath);
    let opened = this.#openPhysical();
    const oldBoot = opened.scan.bootId ?? prev?.bootId;
    if (opened.log.records > 0 && oldBoot !== undefined && oldBoot !== this.bootId) {
      opened.log.close();
      this.#archiveBoot(oldBoot);
      opened = this.#openPhysical();
    }
    const same = prev?.bootId === this.bootId ? prev : undefined;
    this.#usedVmrs = new Set(same?.usedVmrs ?? []);
    this.#lastCheckpoint = same?.lastCheckpoint;
    const plog = opened.log;
    this.#opened.push(() => plog.close());
    this.#writer = new PhysicalWriter(
      this.register,
      opened.log,
      this.#log,
      this.#now,
      this.#opts.hooks,
    );
    this.#queue = new ExtendQueue(this.#writer, this.#opts.hooks, this.#opts.batchMax ?? 4096, () =>
      this.#maybeCheckpoint(),
    );
    // tenants: persisted ones, then declared ones not yet known
    fs.mkdirSync(this.#tenantDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.#tenantDir, 0o700);
    // the id indexes are derived from the tenant logs and rebuilt as each log is opened
    fs.rmSync(this.#idDir, { recursive: true, force: true });
    const logOptions: TenantLogOptions = {
      durability: this.durability,
      idDir: this.#idDir,
      ...(this.#opts.recentRequestIds === undefined
        ? {}
        : { recentIds: this.#opts.recentRequestIds }),
    };
    const vmrAlg = this.#opts.vmrAlg ?? strongestAlg(this.register.algs);
    if (!this.register.algs.includes(vmrAlg))
      throw new UsageError(
        'ERR_USAGE',
        `--vmr-alg ${vmrAlg}: ${this.register.name} has the banks ${this.register.algs.join(', ')}`,
      );
    this.#tenants = new Tenants(
      this.#tenantDir,
      vmrAlg,
      logOptions,
      this.#opts.defaultLimits ?? {},
      this.#now,
      this.#log,
    );
    const tenants = this.#tenants;
    this.#opened.push(() => tenants.close());
    const configs = new Map<string, TenantConfig>();
    for (const [i, t] of (prev?.tenants ?? []).entries())
      configs.set(t.name, checkTenantConfig(t, `state.tenants[${i}]`));
    for (const t of this.#opts.tenants ?? []) configs.set(t.name, t);
    const tails = [];
    for (const cfg of configs.values()) {
      const last = opened.scan.lastVmr.get(cfg.vmr);
      // an existing log keeps its bank: the one its last VMR token names, else (no token yet)
      // the register's first bank, which every log before --vmr-alg used
      const t = await this.#tenants.open(cfg, last?.alg ?? this.register.algs[0]!);
      this.#usedVmrs.add(cfg.vmr);
      tails.push({
        name: cfg.name,
        records: t.log.records,
        torn: t.torn,
        covered: last === undefined ? 0 : t.log.recordOf(last.value),
      });
    }
    const live = await this.register.read();
    const plan = planRecovery(
      this.register.algs,
      {
        records: opened.log.records,
        tail: opened.scan.tail,
        tailStart: opened.scan.tailStart,
        torn: opened.scan.torn,
      },
      live,
      tails,
    );
    this.#writer.reset(live, plan.extended);
    for (const a of plan.actions) {
      switch (a.kind) {
        case 'truncated':
          this.#log.warn({ log: a.name, torn: a.bytes }, `truncated a torn ${a.log}-log tail`);
          break;
        case 'start-log': {
          if (opened.log.currentSeq < 0) opened.log.startSegment();
          const epoch = Math.floor(this.#now().getTime() / 1000);
          await this.#writer.append(bootLines(this.register.algs, live, this.bootId, epoch));
          break;
        }
        case 'extend':
          this.#log.info(
            { records: a.lines.length },
            'extending durable records that were not extended before the restart',
          );
          await this.#writer.extend(a.lines);
          break;
        case 'off-log':
          await this.#writer.syncOffLog(a.found);
          break;
        case 'tenant-value-missing':
          this.#log.error(
            { tenant: a.tenant },
            'the tenant log does not contain the value its last VMR record states',
          );
          break;
        case 'cover':
          this.#log.info(
            { tenants: a.tenants },
            're-propagating tenant records not covered by a VMR record',
          );
          await this.#queue.cover(a.tenants.map((n) => this.#tenants.get(n)));
          break;
      }
    }
    for (const t of this.#tenants.live()) t.covered = plan.covered.get(t.config.name) ?? t.covered;
    if (this.#opts.ima !== undefined)
      await this.#startIma(this.#opts.ima, opened.scan.lastVmr, vmrAlg);
    this.#saveState();
    this.#log.info(
      {
        register: this.register.name,
        records: this.#writer.log.records,
        tenants: this.#tenants.live().length,
        boot_id: this.bootId,
        pid: process.pid,
      },
      'agent recovered',
    );
  }

  /**
   * Opens the IMA bridge after recovery; a changed list is recorded with a SYNC. `mr_ima` chains
   * in `vmrAlg` (the strongest bank, or `--vmr-alg`) when this boot has no `mr_ima` token yet;
   * otherwise in the bank its last token names, so a restart never re-hashes the chain (a token
   * in a bank the register lacks stops the bridge: the log is not this register's).
   */
  async #startIma(
    opts: ImaBridgeOptions,
    lastVmr: ReadonlyMap<string, MrlogVmrValue>,
    vmrAlg: HashAlg,
  ): Promise<void> {
    const last = lastVmr.get(MR_IMA_VMR);
    const alg = last !== undefined && this.register.algs.includes(last.alg) ? last.alg : vmrAlg;
    const bridge = await ImaBridge.open(
      opts,
      alg,
      join(this.#tenantDir, `${MR_IMA_VMR}.mrlog`),
      last,
      this.#now(),
      this.#log,
    );
    this.#ima = bridge;
    this.#opened.push(() => void bridge.close());
    if (bridge.failed !== undefined) {
      // never re-mirrored silently: the log says where the agent found the list changed
      await this.#syncIma();
      return;
    }
    bridge.start(this.#queue, () =>
      this.#queue.background(
        () => this.#syncIma(),
        (e) => this.#log.error({ err: String(e) }, 'could not record the IMA list change'),
      ),
    );
    this.#log.info(
      { list: bridge.listPath, mirrored: bridge.mirrored, folded: bridge.folded },
      'IMA bridge following',
    );
  }

  /** A SYNC record at the running value: where the agent found the IMA list changed. */
  async #syncIma(): Promise<void> {
    const values = this.#writer.values;
    await this.#writer.append([
      formatMrlogRecord({
        kind: 'sync',
        values: this.register.algs.map((a) => ({ alg: a, value: values.get(a)! })),
      }),
    ]);
  }

  /** The IMA bridge's state (`undefined` without `--ima`). */
  get ima(): ImaBridge | undefined {
    return this.#ima;
  }

  #archiveBoot(oldBoot: string): void {
    const dest = join(this.logDir, 'archive', `${oldBoot}-${Date.now()}`);
    fs.mkdirSync(dest, { recursive: true, mode: 0o700 });
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

  #checkOpen(): void {
    if (this.#closed) throw new AgentError('ERR_AGENT_STOPPED', 'the agent is closed');
    const stopped = this.#writer.stopped;
    if (stopped !== undefined) throw stopped;
  }

  #op(fn: () => Promise<void>): Promise<void> {
    this.#checkOpen();
    return this.#queue.op(fn);
  }

  // ---- appends ----

  /**
   * Appends one event for a tenant; resolves once it is acknowledged (in the tenant log, covered
   * by a VMR record, extended). A retry with the same id returns the first result.
   * @throws ParseError `ERR_BAD_EVENT`, `ERR_RECORD_TOO_LARGE`; AgentError `ERR_NOT_FOUND`,
   *   `ERR_RATE_LIMITED`, `ERR_AGENT_STOPPED`; UsageError `ERR_USAGE` (a bad id)
   */
  async append(tenant: string, ev: TenantEventInput, id?: string): Promise<AppendResult> {
    const [r] = await this.appendMany(tenant, [
      id === undefined ? { event: ev } : { event: ev, id },
    ]);
    if (r === undefined) throw new AgentError('ERR_INTERNAL', 'no result for the event');
    if (r.status === 'rejected') throw r.error;
    return r;
  }

  /**
   * Appends a batch of one tenant's events; resolves once every accepted event is acknowledged
   * (they share group commits), with one result per event in order. An event that is invalid,
   * over the rate limit or carries a bad id is rejected alone, with its index; exactly-once per
   * request id holds for every event (a repeated id — earlier, in flight, or earlier in the same
   * batch — returns the first result). This is also the entry point of in-process producers.
   * @throws AgentError `ERR_NOT_FOUND` (tenant), `ERR_AGENT_STOPPED`; UsageError `ERR_USAGE`
   *   (more than {@link MAX_BATCH_EVENTS} events)
   */
  async appendMany(
    tenant: string,
    events: readonly BatchEvent[],
  ): Promise<(AppendResult | RejectedEvent)[]> {
    const t = this.#tenants.get(tenant);
    if (events.length > MAX_BATCH_EVENTS) {
      throw new UsageError(
        'ERR_USAGE',
        `a batch holds at most ${MAX_BATCH_EVENTS} events (got ${events.length})`,
      );
    }
    this.#checkOpen();
    const out: (AppendResult | RejectedEvent | Promise<AppendResult> | undefined)[] = [];
    out.length = events.length;
    const queued: QueuedEvent[] = [];
    const queuedAt: number[] = [];
    /** Repeats of an id earlier in this batch: [index, queued position of the first]. */
    const repeats: [number, number][] = [];
    const inBatch = new Map<string, number>();
    const tokens = Tenants.takeTokens(t, events.length);
    let used = 0;
    for (let i = 0; i < events.length; i++) {
      const { event, id } = events[i]!;
      try {
        if (id !== undefined) {
          if (typeof id !== 'string' || !REQUEST_ID_RE.test(id))
            throw new UsageError(
              'ERR_USAGE',
              'request id: expected 1-128 characters of [A-Za-z0-9_.:-]',
            );
          const k = inBatch.get(id);
          if (k !== undefined) {
            repeats.push([i, k]);
            continue;
          }
          const again = this.#previous(t, id);
          if (again !== undefined) {
            out[i] = again;
            continue;
          }
        }
        const line = tenantEventLine(event, t.limits.maxRecordBytes);
        if (used >= tokens) throw Tenants.rateLimited(t);
        used++;
        if (id !== undefined) inBatch.set(id, queued.length);
        queued.push({ line, id });
        queuedAt.push(i);
      } catch (e) {
        out[i] = {
          status: 'rejected',
          index: i,
          ...(id === undefined ? {} : { id }),
          error: asError(e),
        };
      }
    }
    if (t.limits.ratePerSecond > 0) t.tokens += tokens - used; // unused tokens go back
    if (queued.length > 0) {
      if (this.#hook !== undefined) await this.#hook('validated');
      const committed = this.#queue.events(t, queued);
      // no promise per event: results are built once the batch's commit settles; a request id
      // in flight is answered from the shared commit (a retry while the first is queued)
      for (const [k, q] of queued.entries()) {
        if (q.id !== undefined) t.inflight.set(q.id, { committed, k });
      }
      let c: Committed | undefined;
      let failed: MrstackError | undefined;
      try {
        c = await committed;
      } catch (e) {
        failed = asError(e);
      } finally {
        for (const q of queued) if (q.id !== undefined) t.inflight.delete(q.id);
      }
      for (const [k, q] of queued.entries()) {
        const i = queuedAt[k]!;
        out[i] =
          c === undefined
            ? {
                status: 'rejected',
                index: i,
                ...(q.id === undefined ? {} : { id: q.id }),
                error: failed!,
              }
            : this.#resultOf(t, q.id, c.positions[k]!, c.physicalRecord, false);
      }
      for (const [i, k] of repeats) {
        const first = out[queuedAt[k]!] as AppendResult | RejectedEvent;
        out[i] =
          first.status === 'acknowledged' ? { ...first, duplicate: true } : { ...first, index: i };
      }
    }
    const settled: (AppendResult | RejectedEvent)[] = [];
    for (let i = 0; i < out.length; i++) {
      const v = out[i]!;
      if (!(v instanceof Promise)) {
        settled.push(v);
        continue;
      }
      try {
        settled.push(await v);
      } catch (e) {
        const id = events[i]!.id;
        settled.push({
          status: 'rejected',
          index: i,
          ...(id === undefined ? {} : { id }),
          error: asError(e),
        });
      }
    }
    return settled;
  }

  #previous(t: TenantState, id: string): Promise<AppendResult> | undefined {
    const fly = t.inflight.get(id);
    if (fly !== undefined) {
      return fly.committed.then((c) =>
        this.#resultOf(t, id, c.positions[fly.k]!, c.physicalRecord, true),
      );
    }
    const pos = t.log.lookup(id);
    if (pos === undefined) return undefined;
    if (pos.record > t.covered) {
      // written before a failure and not yet covered: cover it now (through the queue)
      return this.#op(() => this.#queue.cover([t])).then(() =>
        this.#resultOf(t, id, pos, undefined, true),
      );
    }
    return Promise.resolve(this.#resultOf(t, id, pos, undefined, true));
  }

  #resultOf(
    t: TenantState,
    id: string | undefined,
    pos: TenantPosition,
    physicalRecord: number | undefined,
    duplicate: boolean,
  ): AppendResult {
    return {
      status: 'acknowledged',
      tenant: t.config.name,
      vmr: t.config.vmr,
      ...(id === undefined ? {} : { id }),
      record: pos.record,
      value: toHex(pos.value),
      register: this.register.name,
      ...(physicalRecord === undefined ? {} : { physicalRecord }),
      duplicate,
    };
  }

  /**
   * What became of a request id.
   * @throws AgentError `ERR_NOT_FOUND` for an id this tenant never used (in this boot)
   */
  eventStatus(tenant: string, id: string): EventStatus {
    const t = this.#tenants.get(tenant);
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
    return this.#tenants.get(tenant).log.readLines();
  }

  // ---- tenants ----

  /** Tenants, in name order. */
  listTenants(): TenantConfig[] {
    return this.#tenants
      .live()
      .map((t) => t.config)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Adds a tenant and persists it; its vMR gets its first VMR record before this resolves.
   * @throws AgentError `ERR_CONFLICT` (name or vMR taken, or the vMR used earlier in this boot);
   *   UsageError `ERR_USAGE` (a bad declaration)
   */
  async addTenant(cfg: TenantConfig): Promise<TenantConfig> {
    this.#checkOpen();
    checkTenantConfig(cfg);
    if (!NAME_RE.test(cfg.name) || !NAME_RE.test(cfg.vmr)) {
      throw new UsageError('ERR_USAGE', 'tenant and vMR names: [a-z0-9][a-z0-9_-]{0,63}');
    }
    let added: TenantState | undefined;
    await this.#op(async () => {
      if (this.#tenants.has(cfg.name))
        throw new AgentError('ERR_CONFLICT', `tenant ${cfg.name} exists already`);
      if (this.#usedVmrs.has(cfg.vmr)) {
        throw new AgentError(
          'ERR_CONFLICT',
          `vMR ${cfg.vmr} is or was in use in this boot; vMR names are never reused`,
        );
      }
      added = await this.#tenants.open(cfg);
      this.#usedVmrs.add(cfg.vmr);
      this.#saveState();
      await this.#queue.cover([added]);
    });
    this.#log.info({ tenant: cfg.name, vmr: cfg.vmr }, 'tenant added');
    return added!.config;
  }

  /** Removes a tenant: archives its log; its vMR name is never reused in this boot. */
  async removeTenant(name: string): Promise<void> {
    const t = this.#tenants.get(name);
    await this.#op(() => {
      this.#tenants.remove(t, join(this.logDir, 'removed'));
      this.#saveState();
      return Promise.resolve();
    });
  }

  // ---- checkpoints ----

  /** Closes the segment and starts a new one (`CHECKPOINT` + `SYNC`). */
  async checkpoint(): Promise<{ seq: number; at: string }> {
    let out: { seq: number; at: string } | undefined;
    await this.#op(async () => {
      out = await this.#doCheckpoint();
    });
    return out!;
  }

  async #doCheckpoint(): Promise<{ seq: number; at: string }> {
    const plog = this.#writer.log;
    const alg = this.register.algs[0]!;
    const prev = plog.currentDigest(alg);
    const seq = plog.startSegment();
    await this.#writer.append(
      checkpointLines(this.register.algs, this.#writer.values, seq, { alg, value: prev }),
    );
    this.#lastCheckpoint = { seq, at: this.#now().toISOString() };
    this.#saveState();
    this.#log.info({ seq }, 'checkpoint');
    return this.#lastCheckpoint;
  }

  #maybeCheckpoint(): void {
    if (this.#checkpointQueued || this.#writer.stopped !== undefined) return;
    const plog = this.#writer.log;
    if (!checkpointDue(this.#policy, plog.currentSize, plog.currentOpened, Date.now())) return;
    this.#checkpointQueued = true;
    this.#queue.background(
      async () => {
        this.#checkpointQueued = false;
        await this.#doCheckpoint();
      },
      (e) => this.#log.error({ err: String(e) }, 'policy checkpoint failed'),
    );
  }

  // ---- evidence ----

  /**
   * The checks every evidence request shares — nonce 1–1024 bytes, user data at most 1024, a
   * checkpoint `since` of this boot's log — and the physical log to serve it from.
   * @throws UsageError `ERR_USAGE`; AgentError `ERR_NOT_FOUND` (checkpoint)
   */
  #physicalLogFor(nonce: Uint8Array, userData: Uint8Array, since: number): PhysicalLog {
    if (nonce.length === 0 || nonce.length > 1024 || userData.length > 1024) {
      throw new UsageError('ERR_USAGE', 'nonce: 1-1024 bytes; user data: at most 1024 bytes');
    }
    const plog = this.#writer.log;
    if (!plog.segments.some((s) => s.seq === since)) {
      throw new AgentError('ERR_NOT_FOUND', `no checkpoint ${since} in this boot's log`);
    }
    return plog;
  }

  /**
   * Evidence for a tenant, bound to a nonce (and user data): a report shared with concurrent
   * requests, the physical log from checkpoint `since` (default 0, the boot's first segment),
   * the tenant's log and the positions around the report. `tenantSince`: the tenant's log only
   * after extended record `record` (a verifier's trusted tenant checkpoint; `tenant_log.since`)
   * — unless `boot` names another boot than this one (the whole log is sent then).
   * @throws AgentError `ERR_NOT_FOUND` (tenant, checkpoint, a tenant record it does not have);
   *   provider errors
   */
  async evidence(
    tenant: string,
    nonce: Uint8Array,
    userData: Uint8Array = new Uint8Array(0),
    since = 0,
    tenantSince?: { readonly record: number; readonly boot?: string | undefined },
  ): Promise<EvidenceBundle> {
    if (tenant === IMA_TENANT && this.#ima !== undefined) {
      return this.imaEvidence(nonce, userData, since);
    }
    const t = this.#tenants.get(tenant);
    const plog = this.#physicalLogFor(nonce, userData, since);
    const shared = await this.#batcher.request(evidenceBinding(tenant, nonce, userData));
    const snap = shared.shared;
    const tAfter = snap.tenantAfter.get(tenant) ?? t.log.lines;
    const physical = plog.readLines(since, snap.physAfter);
    const tail =
      tenantSince === undefined ||
      tenantSince.record === 0 ||
      (tenantSince.boot !== undefined && tenantSince.boot !== this.bootId)
        ? undefined
        : t.log.tail(tenantSince.record, tAfter);
    return assembleBundle({
      ...(await this.#bundleParts(tenant, nonce, userData, since, shared, physical)),
      vmr: t.config.vmr,
      vmrAlg: t.log.alg,
      tenantLines: tail?.lines ?? t.log.readLines(tAfter),
      ...(tail === undefined ? {} : { tenantSince: tail.since }),
    });
  }

  /** What every bundle carries besides its own log (a tenant's, or the `ima` list). */
  async #bundleParts(
    tenant: string,
    nonce: Uint8Array,
    userData: Uint8Array,
    since: number,
    shared: ImaBundleParts['shared'],
    physical: ImaBundleParts['physical'],
  ): Promise<Omit<ImaBundleParts, 'ima'>> {
    return {
      tenant,
      nonce,
      userData,
      shared,
      created: this.#now(),
      // Only a log from BOOT is anchored at the firmware log's replay; one served since a
      // checkpoint starts at that checkpoint's SYNC and its verifier never reads the firmware
      // log (`use: not-needed`): 64 KiB of CCEL (87 KB of base64) per bundle for nothing.
      firmwareLog:
        since > 0 || this.#opts.firmwareLog === undefined
          ? undefined
          : await this.#opts.firmwareLog(),
      register: this.register.name,
      algs: this.register.algs,
      since,
      physical,
    };
  }

  /**
   * Evidence of the system tenant `ima`: the bundle carries `ima_log` (the list cut to the
   * count of the last `mr_ima` token before the report, the salt and the banks) instead of a
   * tenant log. `imaSince`: only the entries from that one on (a verifier's trusted IMA
   * checkpoint; `ima_log.since`) — unless `imaBoot` names another boot than this one (the
   * checkpoint is of an earlier boot: the whole list is sent).
   * @throws AgentError `ERR_NOT_FOUND` (no bridge, no checkpoint, `imaSince` past the entries
   *   covered), the bridge's failure (`ERR_IMA_LIST_CHANGED`); provider errors
   */
  async imaEvidence(
    nonce: Uint8Array,
    userData: Uint8Array = new Uint8Array(0),
    since = 0,
    imaSince = 0,
    imaBoot?: string,
  ): Promise<EvidenceBundle> {
    const bridge = this.#ima;
    if (bridge === undefined) throw new AgentError('ERR_NOT_FOUND', 'the agent runs without --ima');
    const plog = this.#physicalLogFor(nonce, userData, since);
    if (bridge.failed !== undefined) throw bridge.failed;
    const shared = await this.#batcher.request(evidenceBinding(IMA_TENANT, nonce, userData));
    const physical = plog.readLines(since, shared.shared.physAfter);
    return assembleImaBundle({
      ...(await this.#bundleParts(IMA_TENANT, nonce, userData, since, shared, physical)),
      ima: bridge.evidence(
        physical.lines,
        imaBoot !== undefined && imaBoot !== this.bootId ? 0 : imaSince,
      ),
    });
  }

  // ---- status ----

  /** Everything `agent status --json` shows. */
  status(): Record<string, unknown> {
    const plog = this.#writer.log;
    const stopped = this.#writer.stopped;
    return {
      pid: process.pid,
      register: this.register.name,
      algs: this.register.algs,
      value: hexBanks(this.#writer.values),
      boot_id: this.bootId,
      durability: this.durability,
      log_dir: this.logDir,
      physical_log: {
        records: plog.records,
        extended: this.#writer.extended,
        segments: plog.segments.map((s) => s.seq),
        current_segment: plog.currentSeq,
        current_bytes: plog.currentSize,
        bytes: plog.totalSize,
      },
      last_checkpoint: this.#lastCheckpoint ?? null,
      queue_depth: this.#queue.depth,
      acknowledged: this.#queue.acknowledged,
      batches: this.#queue.batches,
      stopped: stopped === undefined ? null : { code: stopped.code, message: stopped.message },
      off_log: this.#writer.offLog,
      ima: this.#ima === undefined ? null : this.#ima.status(),
      tenants: this.#tenants.live().map((t) => ({
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

  /** Waits for the queue to drain, closes files and releases ownership (the provider is the caller's). */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#ima?.close();
    if (this.#writer.stopped === undefined)
      await this.#op(() => Promise.resolve()).catch(() => undefined);
    this.#closed = true;
    await this.#writer.log.flushArchives();
    this.#writer.log.close();
    this.#tenants.close();
    for (const l of this.#locks) await l.release();
  }
}

/**
 * The report request for a snapshot: on a TPM the quote must select the owned PCR in every bank
 * the log records, or a verifier cannot compare the register it replays with the quote.
 */
function reportRequest(reg: PhysicalRegister, reportData: Uint8Array): ReportRequest {
  const pcr = /^pcr(\d+)$/.exec(reg.name);
  if (pcr === null) return { reportData };
  return { reportData, pcrs: new Map(reg.algs.map((a) => [a, [Number(pcr[1])]])) };
}

/** The strongest of a register's banks, for new vMR chains (SHA-512 > SHA-384 > SHA-256 > SM3 > SHA-1). */
export function strongestAlg(algs: readonly HashAlg[]): HashAlg {
  const rank: Readonly<Record<HashAlg, number>> = {
    sha512: 5,
    sha384: 4,
    sha256: 3,
    sm3: 2,
    sha1: 1,
  };
  return [...algs].sort((a, b) => rank[b] - rank[a])[0]!;
}
