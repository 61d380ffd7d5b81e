/**
 * When the agent starts a new physical-log segment on its own (DESIGN §4 `CHECKPOINT`), and the
 * two records that start one: `CHECKPOINT <seq> prev=<H(previous segment)>` and a `SYNC` with
 * the register's value after it, written together.
 *
 * @module
 */
import type { HashAlg } from '../crypto/hash_alg.js';
import { formatMrlogRecord } from '../formats/mrlog/record.js';
import { extendBanks } from './physical_register.js';

/** When the agent starts a new segment on its own. */
export interface CheckpointPolicy {
  /** Segment size that triggers a checkpoint (0: never). */
  readonly maxBytes: number;
  /** Segment age in ms that triggers one (0: never). */
  readonly maxAgeMs: number;
}

/** The default: a new segment every 64 MiB, no age limit. */
export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = Object.freeze({
  maxBytes: 64 * 1024 * 1024,
  maxAgeMs: 0,
});

/** True when the current segment (`bytes` long, opened at `openedMs`) is due for a checkpoint. */
export function checkpointDue(
  policy: CheckpointPolicy,
  bytes: number,
  openedMs: number,
  nowMs: number,
): boolean {
  return (
    (policy.maxBytes > 0 && bytes >= policy.maxBytes) ||
    (policy.maxAgeMs > 0 && nowMs - openedMs >= policy.maxAgeMs)
  );
}

/** The `CHECKPOINT` and `SYNC` lines that start segment `seq`, the register being at `values`. */
export function checkpointLines(
  algs: readonly HashAlg[],
  values: ReadonlyMap<HashAlg, Uint8Array>,
  seq: number,
  prev: { readonly alg: HashAlg; readonly value: Uint8Array },
): [string, string] {
  const cp = formatMrlogRecord({ kind: 'checkpoint', seq, prev });
  const after = extendBanks(algs, values, Buffer.from(cp, 'utf8'));
  const sync = formatMrlogRecord({
    kind: 'sync',
    values: algs.map((a) => ({ alg: a, value: after.get(a)! })),
  });
  return [cp, sync];
}

/** The `BOOT` and `SYNC` lines that start a boot's log, the register being at `live`. */
export function bootLines(
  algs: readonly HashAlg[],
  live: ReadonlyMap<HashAlg, Uint8Array>,
  bootId: string,
  epoch: number,
): [string, string] {
  const boot = formatMrlogRecord({ kind: 'boot', bootId, epoch });
  const after = extendBanks(algs, live, Buffer.from(boot, 'utf8'));
  const sync = formatMrlogRecord({
    kind: 'sync',
    values: algs.map((a) => ({ alg: a, value: after.get(a)! })),
  });
  return [boot, sync];
}
