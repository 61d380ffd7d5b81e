/**
 * Recovery planning (DESIGN §5 "Recovery"), a pure function: given what the logs hold after
 * their torn tails were truncated and what the register holds now, {@link planRecovery} says
 * what the agent must do, in order — start a new log, extend durable records that never reached
 * the register (exactly once), record an off-log move with a `SYNC`, cover tenant records that
 * no `VMR` record covers. The agent executes the plan; unit tests drive every case without a
 * provider or a file.
 *
 * @module
 */
import type { HashAlg } from '../crypto/hash_alg.js';
import type { MrlogRecord } from '../formats/mrlog/record.js';
import { banksEqual, extendBanks, type Banks } from './physical_register.js';

/** The physical log as its scan left it. */
export interface PhysicalTail {
  /** Records in the whole chain. */
  readonly records: number;
  /** Records from the record before the last SYNC on (empty for an empty log). */
  readonly tail: readonly MrlogRecord[];
  /** Chain index of `tail[0]`. */
  readonly tailStart: number;
  /** Torn bytes truncated from the last segment. */
  readonly torn: number;
}

/** A tenant log as it was opened. */
export interface TenantTail {
  readonly name: string;
  /** Extended records of its log (SALT and TENANT included). */
  readonly records: number;
  /** Torn bytes truncated from it. */
  readonly torn: number;
  /**
   * Records covered by the last VMR record naming its vMR: 0 when none does, undefined when
   * that record's value is not a running value of the log (the log lost acknowledged lines).
   */
  readonly covered: number | undefined;
}

/** What recovery does, in order. */
export type RecoveryAction =
  | {
      readonly kind: 'truncated';
      readonly log: 'physical' | 'tenant';
      readonly name: string;
      readonly bytes: number;
    }
  | { readonly kind: 'start-log' }
  | {
      readonly kind: 'extend';
      /** Chain index of the first line. */
      readonly first: number;
      /** Durable lines the register has not seen, in order. */
      readonly lines: readonly string[];
    }
  | { readonly kind: 'off-log'; readonly found: Banks }
  | { readonly kind: 'tenant-value-missing'; readonly tenant: string }
  | { readonly kind: 'cover'; readonly tenants: readonly string[] };

/** The plan. */
export interface RecoveryPlan {
  readonly actions: readonly RecoveryAction[];
  /**
   * Records of the chain already reflected in the register before any action (for an off-log
   * register: all of them, the SYNC then starts afresh).
   */
  readonly extended: number;
  /** Records of each tenant log covered once the plan ran. */
  readonly covered: ReadonlyMap<string, number>;
}

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const extendable = (r: MrlogRecord): boolean => r.kind !== 'comment';

/**
 * Where in `tail` the register stands: the index of the first record not yet extended, or
 * undefined when the register equals no prefix (it moved off-log).
 */
function registerPosition(
  algs: readonly HashAlg[],
  tail: readonly MrlogRecord[],
  live: ReadonlyMap<HashAlg, Uint8Array>,
): number | undefined {
  const s = tail.findIndex((r) => r.kind === 'sync');
  if (s < 0) return undefined;
  const sync = tail[s]!;
  const before: Banks = new Map(
    sync.kind === 'sync' ? sync.values.map((v) => [v.alg, v.value]) : [],
  );
  let cur: Banks = before;
  const after: Banks[] = [];
  for (let k = s; k < tail.length; k++) {
    if (extendable(tail[k]!)) cur = extendBanks(algs, cur, utf8(tail[k]!.line));
    after[k] = cur;
  }
  for (let k = tail.length - 1; k >= s; k--) if (banksEqual(algs, after[k]!, live)) return k + 1;
  if (banksEqual(algs, before, live)) return s;
  // the BOOT or CHECKPOINT written in the same write as the SYNC, not extended yet
  if (s > 0 && banksEqual(algs, extendBanks(algs, live, utf8(tail[s - 1]!.line)), before)) {
    return s - 1;
  }
  return undefined;
}

/**
 * Plans recovery from the logs' tails and the live register (see the module doc).
 * Pure: reads nothing, writes nothing.
 */
export function planRecovery(
  algs: readonly HashAlg[],
  log: PhysicalTail,
  live: ReadonlyMap<HashAlg, Uint8Array>,
  tenants: readonly TenantTail[] = [],
): RecoveryPlan {
  const actions: RecoveryAction[] = [];
  if (log.torn > 0)
    actions.push({ kind: 'truncated', log: 'physical', name: 'physical', bytes: log.torn });
  for (const t of tenants) {
    if (t.torn > 0) actions.push({ kind: 'truncated', log: 'tenant', name: t.name, bytes: t.torn });
  }
  let extended: number;
  if (log.records === 0) {
    actions.push({ kind: 'start-log' });
    extended = 0;
  } else {
    const from = registerPosition(algs, log.tail, live);
    if (from === undefined) {
      extended = log.records;
      actions.push({ kind: 'off-log', found: new Map(live) });
    } else {
      extended = log.tailStart + from;
      const todo = log.tail.slice(from).filter(extendable);
      if (todo.length > 0) {
        actions.push({ kind: 'extend', first: extended, lines: todo.map((r) => r.line) });
      }
    }
  }
  const covered = new Map<string, number>();
  const stale: string[] = [];
  for (const t of tenants) {
    if (t.covered === undefined) actions.push({ kind: 'tenant-value-missing', tenant: t.name });
    const c = t.covered ?? 0;
    if (c < t.records) stale.push(t.name);
    covered.set(t.name, t.records);
  }
  if (stale.length > 0) actions.push({ kind: 'cover', tenants: stale });
  return { actions, extended, covered };
}
