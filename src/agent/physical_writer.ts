/**
 * The physical side of the append path (DESIGN §5): every line goes to the physical log first
 * (one write, made durable per the policy), then into the register, in log order. It tracks the
 * register's expected value and how many records it has seen, records off-log moves (a `SYNC`
 * with the value found follows the record), and stops for good on an extend error the register
 * policy cannot resolve: every later append then fails with `ERR_AGENT_STOPPED`.
 *
 * @module
 */
import { AgentError, MrstackError } from '../errors.js';
import { toHex } from '../bytes/hex.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import { formatMrlogRecord } from '../formats/mrlog/record.js';
import type { AgentHooks, AgentStep } from './hooks.js';
import type { PhysicalLog } from './physical_log.js';
import { banksEqual, extendBanks, type Banks, type PhysicalRegister } from './physical_register.js';

/** The logger the agent writes to (pino's shape). */
export interface AgentLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
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

/** Hex per bank. */
export const hexBanks = (b: ReadonlyMap<HashAlg, Uint8Array>): Record<string, string> =>
  Object.fromEntries([...b].map(([a, v]) => [a, toHex(v)]));

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** Log-then-extend for one physical register. */
export class PhysicalWriter {
  readonly register: PhysicalRegister;
  readonly log: PhysicalLog;
  readonly offLog: OffLogEvent[] = [];
  readonly #hook: ((s: AgentStep) => void | Promise<void>) | undefined;
  readonly #logger: AgentLogger;
  readonly #now: () => Date;
  #values: Banks = new Map();
  #extended = 0;
  #inflight: Promise<unknown> | undefined;
  #stopped: AgentError | undefined;

  constructor(
    register: PhysicalRegister,
    log: PhysicalLog,
    logger: AgentLogger,
    now: () => Date,
    hooks: AgentHooks | undefined,
  ) {
    this.register = register;
    this.log = log;
    this.#logger = logger;
    this.#now = now;
    this.#hook = hooks?.step;
  }

  /** Where recovery found the register: its value and how many chain records it reflects. */
  reset(values: ReadonlyMap<HashAlg, Uint8Array>, extended: number): void {
    this.#values = new Map(values);
    this.#extended = extended;
  }

  /** The register's expected value. */
  get values(): ReadonlyMap<HashAlg, Uint8Array> {
    return this.#values;
  }

  /** Chain records extended into the register. */
  get extended(): number {
    return this.#extended;
  }

  /** The error that stopped the queue, if any. */
  get stopped(): AgentError | undefined {
    return this.#stopped;
  }

  /** Settles when the extend in flight (if any) is done. */
  get inflight(): Promise<unknown> | undefined {
    return this.#inflight;
  }

  /** Writes lines (one write), makes them durable, extends them in order; returns the first's index. */
  async append(lines: readonly string[]): Promise<number> {
    const first = this.log.write(lines);
    if (this.#hook !== undefined) await this.#hook('vmr-written');
    await this.log.sync();
    if (this.#hook !== undefined) await this.#hook('physical-synced');
    await this.extend(lines);
    if (this.#hook !== undefined) await this.#hook('extended');
    return first;
  }

  /** A SYNC record holding the live value: the register moved off-log (recovery). */
  async syncOffLog(live: ReadonlyMap<HashAlg, Uint8Array>): Promise<void> {
    const algs = this.register.algs;
    this.#logger.warn(
      { register: this.register.name, value: hexBanks(live) },
      'the register moved off-log: writing a SYNC record',
    );
    this.offLog.push({
      at: this.#now().toISOString(),
      record: this.log.records,
      expected: {},
      found: hexBanks(live),
      when: 'recovery',
    });
    await this.append([
      formatMrlogRecord({
        kind: 'sync',
        values: algs.map((a) => ({ alg: a, value: live.get(a)! })),
      }),
    ]);
  }

  /** Extends durable lines in order (recovery and {@link append}). */
  async extend(lines: readonly string[]): Promise<void> {
    const algs = this.register.algs;
    for (const line of lines) {
      const before = this.#values;
      const p = this.register.extendLine(utf8(line), before);
      this.#inflight = p.catch(() => undefined);
      let res;
      try {
        res = await p;
      } catch (e) {
        throw this.stop(e);
      } finally {
        this.#inflight = undefined;
      }
      this.#extended++;
      const expected = extendBanks(algs, before, utf8(line));
      if (res.old !== undefined && !banksEqual(algs, res.old, before)) {
        // someone extended the register off-log before this record: record where it is now
        this.#values = new Map(res.new);
        const rec = this.log.records;
        this.offLog.push({
          at: this.#now().toISOString(),
          record: rec,
          expected: hexBanks(expected),
          found: hexBanks(res.new),
          when: 'extend',
        });
        this.#logger.warn(
          { register: this.register.name, record: rec },
          'the register moved off-log: writing a SYNC record',
        );
        const sync = formatMrlogRecord({
          kind: 'sync',
          values: algs.map((a) => ({ alg: a, value: res.new.get(a)! })),
        });
        this.log.write([sync]);
        await this.log.sync();
        await this.extend([sync]);
      } else {
        this.#values = expected;
      }
    }
  }

  /** Stops the queue for good (the first error wins); returns the error to reject with. */
  stop(e: unknown): AgentError {
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
      this.#logger.error({ err: why, register: this.register.name }, 'extend queue stopped');
    }
    return this.#stopped;
  }
}
