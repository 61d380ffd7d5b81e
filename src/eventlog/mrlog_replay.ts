/**
 * Replay of a physical mrlog (DESIGN §4): every non-comment line is extended as
 * `MR ← H(MR ‖ H(line))` in each bank; `SYNC` records assert the value just before them and
 * either confirm the running value or mark an off-log extend (a gap, after which the anchor is
 * `unverified`). `VMR` records are collected per vMR for the tenant layer.
 *
 * @module
 */
import { ReplayError } from '../errors.js';
import { hash, extend } from '../crypto/hash.js';
import { digestSize, type HashAlg } from '../crypto/hash_alg.js';
import { bytesEqual, toHex } from '../bytes/hex.js';
import type { MrlogRecord } from '../formats/mrlog/record.js';
import type { AnchorKind } from './event.js';

/** Per-bank register values. */
export type BankValues = ReadonlyMap<HashAlg, Uint8Array>;

/** Where replay starts. */
export interface MrlogStart {
  readonly values: BankValues;
  /** How that value is known: the platform reset, a firmware-log replay, a trusted checkpoint. */
  readonly anchor: 'reset' | 'firmware-log' | 'trusted-checkpoint';
}

/** An off-log move found at a SYNC. */
export interface MrlogGap {
  /** 0-based index of the SYNC among the records given. */
  readonly record: number;
  readonly lineNo: number;
  readonly expected: Readonly<Record<string, string>>;
  readonly found: Readonly<Record<string, string>>;
}

/** One VMR record's value for one vMR. */
export interface VmrObservation {
  readonly alg: HashAlg;
  readonly value: Uint8Array;
  /** 0-based index of the VMR record among the records given. */
  readonly record: number;
  /** The token's `@<count>` (`mr_ima` only: IMA entries its commitment covers). */
  readonly count?: number;
}

/** Options of {@link MrlogReplayer}. */
export interface MrlogReplayOptions {
  /** The register's banks (one for an RTMR, every allocated bank for a PCR). */
  readonly algs: readonly HashAlg[];
  /** Start value; without it the first SYNC sets the value and the anchor is `unverified`. */
  readonly start?: MrlogStart;
  /**
   * A checkpoint the verifier already trusts: its sequence number and the register value just
   * before its CHECKPOINT record. A log that starts with it anchors as `trusted-checkpoint`.
   */
  readonly trustedCheckpoint?: { readonly seq: number; readonly values: BankValues };
  /** Throw `ERR_LOG_GAP` at the first gap instead of recording it. */
  readonly strict?: boolean;
}

function hexMap(m: BankValues): Record<string, string> {
  return Object.fromEntries([...m].map(([a, v]) => [a, toHex(v)]));
}

/** Incremental replay of one physical register's mrlog. */
export class MrlogReplayer {
  readonly #algs: readonly HashAlg[];
  readonly #opts: MrlogReplayOptions;
  #values: Map<HashAlg, Uint8Array> | undefined;
  #anchor: AnchorKind;
  #count = 0;
  #unanchored = 0;
  #pendingCheckpoint: MrlogRecord | undefined;
  /** Gaps found so far. */
  readonly gaps: MrlogGap[] = [];
  /** VMR observations per vMR name, in log order. */
  readonly vmrs: Map<string, VmrObservation[]> = new Map<string, VmrObservation[]>();

  constructor(opts: MrlogReplayOptions) {
    this.#algs = opts.algs;
    this.#opts = opts;
    this.#values = opts.start === undefined ? undefined : new Map(opts.start.values);
    this.#anchor = opts.start?.anchor ?? 'unverified';
    if (this.#values !== undefined) {
      for (const a of this.#algs) {
        const v = this.#values.get(a);
        if (v?.length !== digestSize(a)) {
          throw new ReplayError(
            'ERR_BAD_VALUE',
            `replay start value for ${a} is missing or has the wrong size`,
          );
        }
      }
    }
  }

  /** Current per-bank values, or undefined before the first SYNC of an unanchored log. */
  get values(): BankValues | undefined {
    return this.#values;
  }

  /** How the current value is anchored. */
  get anchor(): AnchorKind {
    return this.#anchor;
  }

  /** Records pushed (comments included). */
  get count(): number {
    return this.#count;
  }

  /** Records that could not be applied because no value was known yet. */
  get unanchored(): number {
    return this.#unanchored;
  }

  /** Applies one record. */
  push(r: MrlogRecord): void {
    const index = this.#count++;
    if (r.kind === 'comment') return;
    if (r.kind === 'sync') this.#sync(r, index);
    if (r.kind === 'vmr') {
      for (const v of r.values) {
        let list = this.vmrs.get(v.name);
        if (list === undefined) this.vmrs.set(v.name, (list = []));
        list.push(
          v.count === undefined
            ? { alg: v.alg, value: v.value, record: index }
            : { alg: v.alg, value: v.value, record: index, count: v.count },
        );
      }
    }
    if (this.#values === undefined) {
      this.#unanchored++;
      if (r.kind === 'checkpoint') this.#pendingCheckpoint = r;
      return;
    }
    const data = new TextEncoder().encode(r.line);
    for (const a of this.#algs) this.#values.set(a, extend(a, this.#values.get(a)!, hash(a, data)));
  }

  #sync(r: MrlogRecord & { kind: 'sync' }, index: number): void {
    const found = new Map<HashAlg, Uint8Array>();
    for (const a of this.#algs) {
      const v = r.values.find((x) => x.alg === a);
      if (v === undefined) {
        throw new ReplayError('ERR_BAD_VALUE', `mrlog line ${r.lineNo}: SYNC has no ${a} value`, {
          details: { line: r.lineNo },
        });
      }
      found.set(a, v.value);
    }
    if (this.#values === undefined) {
      const cp = this.#pendingCheckpoint;
      const t = this.#opts.trustedCheckpoint;
      this.#anchor = 'unverified';
      if (cp?.kind === 'checkpoint' && t?.seq === cp.seq) {
        const data = new TextEncoder().encode(cp.line);
        const ok = this.#algs.every((a) => {
          const before = t.values.get(a);
          return (
            before !== undefined && bytesEqual(extend(a, before, hash(a, data)), found.get(a)!)
          );
        });
        if (ok) this.#anchor = 'trusted-checkpoint';
      }
      this.#values = found;
      return;
    }
    const same = this.#algs.every((a) => bytesEqual(this.#values!.get(a)!, found.get(a)!));
    if (same) return;
    const gap: MrlogGap = {
      record: index,
      lineNo: r.lineNo,
      expected: hexMap(this.#values),
      found: hexMap(found),
    };
    if (this.#opts.strict === true) {
      throw new ReplayError(
        'ERR_LOG_GAP',
        `mrlog line ${r.lineNo}: the register moved off-log (SYNC differs from the replayed value)`,
        { details: { ...gap } },
      );
    }
    this.gaps.push(gap);
    this.#anchor = 'unverified';
    this.#values = found;
  }
}

/** The result of {@link replayMrlog}. */
export interface MrlogReplayResult {
  readonly values: BankValues | undefined;
  readonly anchor: AnchorKind;
  readonly gaps: readonly MrlogGap[];
  readonly vmrs: ReadonlyMap<string, readonly VmrObservation[]>;
  readonly records: number;
}

/** Replays a whole physical log. */
export function replayMrlog(
  records: readonly MrlogRecord[],
  opts: MrlogReplayOptions,
): MrlogReplayResult {
  const r = new MrlogReplayer(opts);
  for (const rec of records) r.push(rec);
  return { values: r.values, anchor: r.anchor, gaps: r.gaps, vmrs: r.vmrs, records: r.count };
}
