/**
 * The extend queue of one physical register and its group commit (DESIGN §5 "Append path"):
 * producers enqueue batches of validated event lines (one HTTP request, one `appendMany`, an
 * in-process producer such as a log mirror); the queue drains them in order, and each group
 * commit writes every tenant's lines with one write per tenant, makes them durable, appends one
 * `VMR` record, extends the register once and then resolves every batch it holds. Operations
 * (checkpoints, tenant changes) run between commits, so log order = extend order.
 *
 * @module
 */
import { AgentError } from '../errors.js';
import { formatMrlogRecord, type MrlogVmrValue } from '../formats/mrlog/record.js';
import type { AgentHooks, AgentStep } from './hooks.js';
import type { PhysicalWriter } from './physical_writer.js';
import type { TenantPosition } from './tenant_log.js';
import type { TenantState } from './tenants.js';

/** One validated event line (and its request id). */
export interface QueuedEvent {
  readonly line: string;
  readonly id: string | undefined;
}

/** What a committed batch learns. */
export interface Committed {
  /** Where each event landed, in the batch's order. */
  readonly positions: readonly TenantPosition[];
  /** Chain index of the VMR record that covers them. */
  readonly physicalRecord: number;
}

interface EventJob {
  readonly kind: 'events';
  readonly tenant: TenantState;
  readonly events: readonly QueuedEvent[];
  readonly resolve: (c: Committed) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * An in-process source of one vMR's token whose events are not lines of a tenant log (the IMA
 * bridge: the kernel's list is the log). It is asked for its token when the group commit builds
 * its VMR record, so one commit carries everything the source took in up to then.
 */
export interface VmrTokenSource {
  /** The token to write now, or undefined when nothing is new since the last commit. */
  take(): MrlogVmrValue | undefined;
  /** The token is in the physical log and the register, at chain index `record`. */
  committed(token: MrlogVmrValue, record: number): void;
}

interface MirrorJob {
  readonly kind: 'mirror';
  readonly source: VmrTokenSource;
  readonly resolve: (record: number | undefined) => void;
  readonly reject: (e: unknown) => void;
}

interface OpJob {
  readonly kind: 'op';
  readonly fn: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

type Job = EventJob | MirrorJob | OpJob;
type CommitJob = EventJob | MirrorJob;

/** The queue. */
export class ExtendQueue {
  readonly #writer: PhysicalWriter;
  readonly #hook: ((s: AgentStep) => void | Promise<void>) | undefined;
  readonly #batchMax: number;
  readonly #afterCommit: () => void;
  readonly #jobs: Job[] = [];
  #head = 0;
  #running = false;
  #events = 0;
  /** Events acknowledged and group commits made. */
  acknowledged = 0;
  batches = 0;

  /**
   * @param batchMax most events per group commit (a batch is never split)
   * @param afterCommit runs after each commit (the checkpoint policy)
   */
  constructor(
    writer: PhysicalWriter,
    hooks: AgentHooks | undefined,
    batchMax: number,
    afterCommit: () => void,
  ) {
    this.#writer = writer;
    this.#hook = hooks?.step;
    this.#batchMax = batchMax;
    this.#afterCommit = afterCommit;
  }

  /** Events waiting. */
  get depth(): number {
    return this.#events;
  }

  /** Enqueues a batch of one tenant's events; resolves once all are acknowledged. */
  events(tenant: TenantState, events: readonly QueuedEvent[]): Promise<Committed> {
    return new Promise((resolve, reject) => {
      this.#events += events.length;
      this.#push({ kind: 'events', tenant, events, resolve, reject });
    });
  }

  /**
   * Asks for a group commit carrying `source`'s token (with any tenant events queued with it);
   * resolves with the VMR record's chain index, or undefined when the source had nothing new.
   */
  mirror(source: VmrTokenSource): Promise<number | undefined> {
    return new Promise((resolve, reject) =>
      this.#push({ kind: 'mirror', source, resolve, reject }),
    );
  }

  /** Runs `fn` between group commits. */
  op(fn: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => this.#push({ kind: 'op', fn, resolve, reject }));
  }

  /** Queues an operation nobody waits for (errors go to `onError`). */
  background(fn: () => Promise<void>, onError: (e: unknown) => void): void {
    this.#push({ kind: 'op', fn, resolve: () => undefined, reject: onError });
  }

  #push(job: Job): void {
    this.#jobs.push(job);
    if (this.#running) return;
    // start on the next turn of the event loop, so that every request read in this I/O phase
    // joins the same group commit
    this.#running = true;
    setImmediate(() => void this.#run());
  }

  #take(): Job[] {
    const first = this.#jobs[this.#head]!;
    if (first.kind === 'op') {
      this.#head++;
      return [first];
    }
    const out: Job[] = [first];
    const size = (j: CommitJob): number => (j.kind === 'events' ? j.events.length : 0);
    let n = size(first);
    let i = this.#head + 1;
    for (; i < this.#jobs.length; i++) {
      const j = this.#jobs[i]!;
      if (j.kind === 'op' || n + size(j) > this.#batchMax) break;
      out.push(j);
      n += size(j);
    }
    this.#head = i;
    return out;
  }

  async #run(): Promise<void> {
    try {
      while (this.#head < this.#jobs.length) {
        const stopped = this.#writer.stopped;
        if (stopped !== undefined) {
          for (const j of this.#jobs.slice(this.#head)) j.reject(stopped);
          this.#jobs.length = 0;
          this.#head = 0;
          this.#events = 0;
          break;
        }
        const taken = this.#take();
        if (this.#head > 1024 && this.#head * 2 > this.#jobs.length) {
          this.#jobs.splice(0, this.#head);
          this.#head = 0;
        }
        const head = taken[0]!;
        if (head.kind === 'op') {
          try {
            await head.fn();
            head.resolve();
          } catch (e) {
            head.reject(e);
          }
          continue;
        }
        const batch = taken as CommitJob[];
        for (const j of batch) if (j.kind === 'events') this.#events -= j.events.length;
        try {
          await this.#commit(batch);
        } catch (e) {
          const err =
            e instanceof AgentError && e.code === 'ERR_AGENT_STOPPED' ? e : this.#writer.stop(e);
          for (const j of batch) j.reject(err);
        }
        this.#afterCommit();
      }
      if (this.#head >= this.#jobs.length) {
        this.#jobs.length = 0;
        this.#head = 0;
      }
    } finally {
      this.#running = false;
    }
  }

  async #commit(batch: readonly CommitJob[]): Promise<void> {
    const groups = new Map<TenantState, EventJob[]>();
    const mirrors: MirrorJob[] = [];
    for (const j of batch) {
      if (j.kind === 'mirror') {
        mirrors.push(j);
        continue;
      }
      if (j.tenant.removed) {
        j.reject(new AgentError('ERR_NOT_FOUND', `tenant ${j.tenant.config.name} was removed`));
        continue;
      }
      let g = groups.get(j.tenant);
      if (g === undefined) groups.set(j.tenant, (g = []));
      g.push(j);
    }
    // each source's token once, taken now: the latest value it has
    const tokens = new Map<VmrTokenSource, MrlogVmrValue>();
    for (const m of mirrors) {
      if (tokens.has(m.source)) continue;
      const tok = m.source.take();
      if (tok !== undefined) tokens.set(m.source, tok);
    }
    if (groups.size === 0 && tokens.size === 0) {
      for (const m of mirrors) m.resolve(undefined);
      return;
    }
    const positions = new Map<EventJob, TenantPosition[]>();
    for (const [t, jobs] of groups) {
      const all = t.log.append(jobs.length === 1 ? jobs[0]!.events : jobs.flatMap((j) => j.events));
      let k = 0;
      for (const j of jobs) {
        positions.set(j, all.slice(k, k + j.events.length));
        k += j.events.length;
      }
    }
    if (this.#hook !== undefined) await this.#hook('tenant-written');
    await Promise.all([...groups.keys()].map((t) => t.log.sync()));
    if (this.#hook !== undefined) await this.#hook('tenant-synced');
    const vmrLine = formatMrlogRecord({
      kind: 'vmr',
      values: [
        ...[...groups.keys()].map((t) => ({
          name: t.config.vmr,
          alg: t.log.alg,
          value: t.log.value,
        })),
        ...tokens.values(),
      ],
    });
    const physicalRecord = await this.#writer.append([vmrLine]);
    this.batches++;
    for (const [src, tok] of tokens) src.committed(tok, physicalRecord);
    for (const m of mirrors) m.resolve(physicalRecord);
    for (const [t, jobs] of groups) {
      t.covered = t.log.records;
      for (const j of jobs) {
        const p = positions.get(j)!;
        this.acknowledged += p.length;
        j.resolve({ positions: p, physicalRecord });
      }
    }
    if (this.#hook !== undefined) await this.#hook('acked');
  }

  /** Writes one VMR record covering the tenants' current values (recovery, new tenants). */
  async cover(ts: readonly TenantState[]): Promise<void> {
    const live = ts.filter((t) => !t.removed);
    if (live.length === 0) return;
    const line = formatMrlogRecord({
      kind: 'vmr',
      values: live.map((t) => ({ name: t.config.vmr, alg: t.log.alg, value: t.log.value })),
    });
    await this.#writer.append([line]);
    for (const t of live) t.covered = t.log.records;
  }
}
