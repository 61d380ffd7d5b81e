/**
 * Replay workarounds: known firmware bugs that leave events out of the log, and the events that
 * repair them. A workaround is never applied silently: replay applies one only when asked
 * (`log replay --workaround ebs`), only to a register that otherwise misses its expected value,
 * and only when it makes that register match; the result names it.
 *
 * `ebs` — some UEFI firmware extends PCR5 with the ExitBootServices EV_EFI_ACTION events but does
 * not log them (PC Client PFP §10.4.4 requires both the extend and the log entry). The three
 * variants and their action strings are those google/go-attestation tolerates
 * (`attest/eventlog_workarounds.go`): Invocation + Success, Invocation + Failure, and Invocation
 * + Failure + Success. An EV_EFI_ACTION digest is the hash of the action string without a NUL.
 *
 * @module
 */
import { bytesEqual } from '../bytes/hex.js';
import { extend, hash } from '../crypto/hash.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import type { ExpectedValues, Replay } from './replay.js';

/** Families of workarounds a user can allow. */
export const WORKAROUND_FAMILIES = ['ebs'] as const;

/** A family of workarounds (`--workaround NAME`). */
export type WorkaroundFamily = (typeof WORKAROUND_FAMILIES)[number];

/** One workaround: the events a buggy firmware extended into a register without logging them. */
export interface ReplayWorkaround {
  readonly id: string;
  readonly family: WorkaroundFamily;
  readonly register: string;
  /** EV_EFI_ACTION strings, in the order they were extended. */
  readonly actions: readonly string[];
}

const EBS_INVOCATION = 'Exit Boot Services Invocation';
const EBS_SUCCESS = 'Exit Boot Services Returned with Success';
const EBS_FAILURE = 'Exit Boot Services Returned with Failure';

/** Every known workaround, in the order they are tried. */
export const REPLAY_WORKAROUNDS: readonly ReplayWorkaround[] = Object.freeze([
  {
    id: 'ebs-invocation-success',
    family: 'ebs',
    register: 'pcr5',
    actions: [EBS_INVOCATION, EBS_SUCCESS],
  },
  {
    id: 'ebs-invocation-failure',
    family: 'ebs',
    register: 'pcr5',
    actions: [EBS_INVOCATION, EBS_FAILURE],
  },
  {
    id: 'ebs-invocation-failure-success',
    family: 'ebs',
    register: 'pcr5',
    actions: [EBS_INVOCATION, EBS_FAILURE, EBS_SUCCESS],
  },
]);

/** The digest per bank of each of a workaround's events. */
export function workaroundDigests(
  w: ReplayWorkaround,
  banks: readonly HashAlg[],
): ReadonlyMap<HashAlg, Uint8Array>[] {
  const text = new TextEncoder();
  return w.actions.map((a) => new Map(banks.map((b) => [b, hash(b, text.encode(a))])));
}

/**
 * The first workaround of the allowed families that makes `register` reach every expected bank
 * value, from the replay's current values; undefined when none does (or none applies to it).
 */
export function findWorkaround(
  replay: Replay,
  register: string,
  expect: ExpectedValues,
  families: readonly WorkaroundFamily[],
): ReplayWorkaround | undefined {
  const expected = expect.get(register);
  if (expected === undefined) return undefined;
  const banks = [...expected.keys()];
  for (const w of REPLAY_WORKAROUNDS) {
    if (w.register !== register || !families.includes(w.family)) continue;
    const events = workaroundDigests(w, banks);
    const reaches = banks.every((alg) => {
      let v = replay.value(register, alg);
      for (const d of events) v = extend(alg, v, d.get(alg)!);
      return bytesEqual(v, expected.get(alg)!);
    });
    if (reaches) return w;
  }
  return undefined;
}

/**
 * While some expected register is missed, applies the first allowed workaround that makes that
 * register match (its events extended as unlogged), at most one per register. Returns what was
 * applied, in order; registers no workaround repairs are left as replayed (`check` then reports
 * them).
 */
export function applyWorkarounds(
  replay: Replay,
  expect: ExpectedValues,
  families: readonly WorkaroundFamily[],
): ReplayWorkaround[] {
  const applied: ReplayWorkaround[] = [];
  const done = new Set<string>();
  for (;;) {
    const m = replay.firstMismatch(expect);
    if (m === undefined || done.has(m.register)) return applied;
    done.add(m.register);
    const w = findWorkaround(replay, m.register, expect, families);
    if (w === undefined) return applied;
    const banks = [...(replay.result().registers.get(w.register)?.keys() ?? [])];
    for (const d of workaroundDigests(w, banks)) replay.extendUnlogged(w.register, d);
    applied.push(w);
  }
}
