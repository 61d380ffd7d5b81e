/**
 * The physical register the agent owns, over a {@link Provider}: read every bank, and extend one
 * mrlog line as `MR ← H(MR ‖ H(line))` in every bank (a digest for a one-bank register, event
 * data for a multi-bank PCR, which the provider hashes per bank). Extend errors follow DESIGN §5:
 * EBUSY is retried; after EIO or EINTR the register is re-read and compared with the values
 * before and after; anything else is returned to the caller, which stops its queue.
 *
 * @module
 */
import { AgentError, MrstackError, UsageError } from '../errors.js';
import { hash, extend } from '../crypto/hash.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import { bytesEqual } from '../bytes/hex.js';
import { parseMrSelector, type MrInfo, type Provider } from '../providers/provider.js';

/** Per-bank values. */
export type Banks = Map<HashAlg, Uint8Array>;

/** What an extend found. */
export interface LineExtendResult {
  /** The register's value before the extend, when the provider reported it. */
  readonly old: Banks | undefined;
  /** The register's value after the extend. */
  readonly new: Banks;
}

/** Retry policy for EBUSY and uncertain (EIO/EINTR) extends. */
export interface ExtendRetryPolicy {
  readonly busyRetries: number;
  readonly busyDelayMs: number;
  readonly uncertainRetries: number;
}

const DEFAULT_RETRY: ExtendRetryPolicy = { busyRetries: 50, busyDelayMs: 2, uncertainRetries: 5 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Expected per-bank values after extending `line` onto `before`. */
export function extendBanks(
  algs: readonly HashAlg[],
  before: ReadonlyMap<HashAlg, Uint8Array>,
  line: Uint8Array,
): Banks {
  const out: Banks = new Map();
  for (const a of algs) out.set(a, extend(a, before.get(a)!, hash(a, line)));
  return out;
}

/** True when both hold the same value in every bank of `algs`. */
export function banksEqual(
  algs: readonly HashAlg[],
  a: ReadonlyMap<HashAlg, Uint8Array>,
  b: ReadonlyMap<HashAlg, Uint8Array>,
): boolean {
  return algs.every((x) => {
    const va = a.get(x);
    const vb = b.get(x);
    return va !== undefined && vb !== undefined && bytesEqual(va, vb);
  });
}

/** One physical register. */
export class PhysicalRegister {
  readonly provider: Provider;
  readonly name: string;
  readonly algs: readonly HashAlg[];
  readonly #retry: ExtendRetryPolicy;

  private constructor(
    provider: Provider,
    name: string,
    algs: readonly HashAlg[],
    retry: ExtendRetryPolicy,
  ) {
    this.provider = provider;
    this.name = name;
    this.algs = algs;
    this.#retry = retry;
  }

  /**
   * Resolves a register name against the provider: it must exist, be extendable and hashed.
   * @throws UsageError `ERR_USAGE` (PCR 16/23: resettable), ProviderError `ERR_UNKNOWN_MR`,
   *   `ERR_NOT_EXTENDABLE`
   */
  static async open(
    provider: Provider,
    name: string,
    retry: Partial<ExtendRetryPolicy> = {},
  ): Promise<PhysicalRegister> {
    const sel = parseMrSelector(name);
    if (sel.alg !== undefined)
      throw new UsageError(
        'ERR_USAGE',
        `--register ${name}: name the register without :ALG (the agent extends every bank)`,
      );
    if (sel.name === 'pcr16' || sel.name === 'pcr23') {
      throw new UsageError(
        'ERR_USAGE',
        `--register ${sel.name}: resettable PCRs cannot anchor a log (DESIGN §5)`,
      );
    }
    const all = await provider.describe();
    const mine: MrInfo[] = all.filter((m) => m.name === sel.name);
    if (mine.length === 0) {
      throw new MrstackError(
        'ERR_UNKNOWN_MR',
        `no register named ${sel.name} (known: ${[...new Set(all.map((m) => m.name))].join(', ')})`,
      );
    }
    if (mine.some((m) => !m.extendable || m.alg === undefined)) {
      throw new MrstackError(
        'ERR_NOT_EXTENDABLE',
        `${sel.name} cannot be extended by this provider`,
      );
    }
    return new PhysicalRegister(
      provider,
      sel.name,
      mine.map((m) => m.alg!),
      { ...DEFAULT_RETRY, ...retry },
    );
  }

  /** Reads every bank. */
  async read(): Promise<Banks> {
    const vals = await this.provider.read({ name: this.name });
    const out: Banks = new Map();
    for (const v of vals) if (v.alg !== undefined) out.set(v.alg, v.value);
    return out;
  }

  async #rawExtend(line: Uint8Array): Promise<LineExtendResult> {
    const res =
      this.algs.length === 1
        ? await this.provider.extend(
            { name: this.name, alg: this.algs[0]! },
            { kind: 'digest', digest: hash(this.algs[0]!, line) },
          )
        : await this.provider.extend({ name: this.name }, { kind: 'event', data: line });
    const oldV: Banks = new Map();
    const newV: Banks = new Map();
    for (const r of res) {
      if (r.alg === undefined) continue;
      oldV.set(r.alg, r.old);
      newV.set(r.alg, r.new);
    }
    return { old: oldV, new: newV };
  }

  /**
   * Extends one line, expecting the register at `before`.
   * @throws the provider's error when it is neither EBUSY nor resolvable by a re-read;
   *   AgentError `ERR_DEVICE_BUSY` after the EBUSY retries
   */
  async extendLine(
    line: Uint8Array,
    before: ReadonlyMap<HashAlg, Uint8Array>,
  ): Promise<LineExtendResult> {
    const after = extendBanks(this.algs, before, line);
    let busy = 0;
    let uncertain = 0;
    for (;;) {
      try {
        return await this.#rawExtend(line);
      } catch (e) {
        const code = e instanceof MrstackError ? e.code : undefined;
        if (code === 'ERR_DEVICE_BUSY' && busy < this.#retry.busyRetries) {
          busy++;
          await sleep(Math.min(100, this.#retry.busyDelayMs * busy));
          continue;
        }
        if (
          (code === 'ERR_DEVICE_IO' || code === 'ERR_DEVICE_INTERRUPTED') &&
          uncertain < this.#retry.uncertainRetries
        ) {
          uncertain++;
          const now = await this.read();
          if (banksEqual(this.algs, now, after)) return { old: new Map(before), new: now };
          if (banksEqual(this.algs, now, before)) continue;
          throw new AgentError(
            'ERR_AGENT_STOPPED',
            `${this.name}: after ${code} the register holds neither the value before nor after the extend`,
            { cause: e },
          );
        }
        throw e;
      }
    }
  }
}
