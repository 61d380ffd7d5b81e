/**
 * The agent's tenants (DESIGN §5 "Tenants"): each tenant's vMR log, its limits and its rate
 * bucket, and which of its records a `VMR` record already covers. Declarations are checked here,
 * in the library, whatever path they came by (tenants file, admin socket, `Agent.open`), so a
 * name never reaches a file path unchecked.
 *
 * @module
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { AgentError } from '../errors.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import type { Committed } from './extend_queue.js';
import type { AgentLogger } from './physical_writer.js';
import { TenantLog, type TenantLogOptions } from './tenant_log.js';
import {
  checkTenantConfig,
  DEFAULT_TENANT_LIMITS,
  type TenantConfig,
  type TenantLimits,
} from './tenant_config.js';

/** One open tenant. */
export interface TenantState {
  readonly config: TenantConfig;
  readonly log: TenantLog;
  readonly limits: TenantLimits;
  /** Records of the tenant log covered by a VMR record in the physical register. */
  covered: number;
  /** Torn bytes truncated from its log when it was opened. */
  readonly torn: number;
  tokens: number;
  lastRefill: number;
  /** Request ids still in the queue: their batch's commit and their place in it. */
  readonly inflight: Map<string, { readonly committed: Promise<Committed>; readonly k: number }>;
  removed: boolean;
}

/** The open tenants of one agent. */
export class Tenants {
  readonly dir: string;
  readonly #alg: HashAlg;
  readonly #logOptions: TenantLogOptions;
  readonly #defaults: Partial<TenantLimits>;
  readonly #now: () => Date;
  readonly #logger: AgentLogger;
  readonly #byName = new Map<string, TenantState>();

  constructor(
    dir: string,
    alg: HashAlg,
    logOptions: TenantLogOptions,
    defaults: Partial<TenantLimits>,
    now: () => Date,
    logger: AgentLogger,
  ) {
    this.dir = dir;
    this.#alg = alg;
    this.#logOptions = logOptions;
    this.#defaults = defaults;
    this.#now = now;
    this.#logger = logger;
  }

  /**
   * Opens (or creates) a tenant's log.
   * @throws UsageError `ERR_USAGE` (a bad declaration); AgentError `ERR_CONFLICT` (the log
   *   belongs to another tenant); `ERR_IO`
   */
  async open(cfg: TenantConfig, existingAlg?: HashAlg): Promise<TenantState> {
    checkTenantConfig(cfg);
    const path = join(this.dir, `${cfg.vmr}.mrlog`);
    let log: TenantLog;
    let torn = 0;
    if (fs.existsSync(path) && fs.statSync(path).size > 0) {
      // an existing log keeps the bank it was created with
      const o = await TenantLog.open(path, existingAlg ?? this.#alg, this.#logOptions);
      log = o.log;
      torn = o.torn;
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
        this.#alg,
        this.#now(),
        this.#logOptions,
      );
    }
    const limits = { ...DEFAULT_TENANT_LIMITS, ...this.#defaults, ...cfg.limits };
    const t: TenantState = {
      config: cfg,
      log,
      limits,
      covered: 0,
      torn,
      tokens: limits.ratePerSecond,
      lastRefill: Date.now(),
      inflight: new Map(),
      removed: false,
    };
    this.#byName.set(cfg.name, t);
    return t;
  }

  /**
   * A live tenant.
   * @throws AgentError `ERR_NOT_FOUND`
   */
  get(name: string): TenantState {
    const t = this.#byName.get(name);
    if (t === undefined || t.removed)
      throw new AgentError('ERR_NOT_FOUND', `no tenant named ${JSON.stringify(name)}`);
    return t;
  }

  /** True when a live tenant has this name. */
  has(name: string): boolean {
    const t = this.#byName.get(name);
    return t !== undefined && !t.removed;
  }

  /** Live tenants, in insertion order. */
  live(): TenantState[] {
    return [...this.#byName.values()].filter((t) => !t.removed);
  }

  /** Removes a tenant: its log goes to `removedDir`, its id index is deleted. */
  remove(t: TenantState, removedDir: string): void {
    t.removed = true;
    t.log.closeAndDropIndex();
    fs.mkdirSync(removedDir, { recursive: true, mode: 0o700 });
    fs.renameSync(t.log.path, join(removedDir, `${t.config.vmr}.${Date.now()}.mrlog`));
    this.#byName.delete(t.config.name);
    this.#logger.info({ tenant: t.config.name }, 'tenant removed');
  }

  /**
   * Takes up to `n` rate tokens; returns how many the tenant may append now (all `n` without a
   * rate limit). A sustained rate with bursts up to one second's worth.
   */
  static takeTokens(t: TenantState, n: number): number {
    const rate = t.limits.ratePerSecond;
    if (rate <= 0) return n;
    const now = Date.now();
    t.tokens = Math.min(rate, t.tokens + ((now - t.lastRefill) / 1000) * rate);
    t.lastRefill = now;
    const k = Math.min(n, Math.floor(t.tokens));
    t.tokens -= k;
    return k;
  }

  /** The error of an event over the tenant's rate. */
  static rateLimited(t: TenantState): AgentError {
    return new AgentError(
      'ERR_RATE_LIMITED',
      `tenant ${t.config.name} exceeded ${t.limits.ratePerSecond} events/s`,
      { details: { tenant: t.config.name, rate: t.limits.ratePerSecond } },
    );
  }

  /** Closes every log. */
  close(): void {
    for (const t of this.#byName.values()) if (!t.removed) t.log.close();
  }
}
