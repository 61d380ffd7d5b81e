/**
 * The virtual-MR layer of mrlog (DESIGN §4): a tenant log is replayed into its vMR
 * (`vMR ← H(vMR ‖ H(line))` from all-zero, SALT and TENANT included), and the values the
 * physical log's VMR records state for that vMR must be, in order, running values of it.
 * Tenant records after the last covering VMR record are `pending`.
 *
 * @module
 */
import { ReplayError } from '../errors.js';
import { extendWithTextHash } from '../crypto/hash.js';
import { digestSize, type HashAlg } from '../crypto/hash_alg.js';
import { bytesEqual, toHex } from '../bytes/hex.js';
import type { MrlogRecord } from '../formats/mrlog/record.js';
import type { VmrObservation } from './mrlog_replay.js';

/** The value a vMR starts from: all zero bytes. */
export function vmrInitial(alg: HashAlg): Uint8Array {
  return new Uint8Array(digestSize(alg));
}

/** `vMR ← H(vMR ‖ H(line))`. */
export function vmrExtend(alg: HashAlg, value: Uint8Array, line: string): Uint8Array {
  return extendWithTextHash(alg, value, line);
}

/** The result of {@link replayVmr}. */
export interface VmrReplayResult {
  /** The vMR after every record of the tenant log. */
  readonly value: Uint8Array;
  /** Extended (non-comment) tenant records. */
  readonly records: number;
  /** How many of them the last matching VMR observation covers. */
  readonly covered: number;
  /** Records after the last covering observation (not yet in the physical register). */
  readonly pending: number;
  /** Observations matched, in order. */
  readonly matched: number;
  /** For each observation matched, in order: how many records its value covers. */
  readonly marks: readonly number[];
}

/** Where a replay of a log's tail starts: the records left out and the vMR after them. */
export interface VmrStart {
  readonly records: number;
  readonly value: Uint8Array;
}

/**
 * Replays a tenant log — or its tail from `start` (a trusted tenant checkpoint: record numbers
 * stay the whole log's) — and checks the physical log's observations of its vMR.
 * @param observations - the VMR values for this vMR, in physical-log order.
 * @throws ReplayError `ERR_REPLAY_MISMATCH` when an observation is not a later running value
 */
export function replayVmr(
  records: readonly MrlogRecord[],
  alg: HashAlg,
  observations: readonly VmrObservation[],
  start?: VmrStart,
): VmrReplayResult {
  let value = start?.value ?? vmrInitial(alg);
  let n = start?.records ?? 0;
  let obs = 0;
  let covered = n;
  const marks: number[] = [];
  const atObservation = (): void => {
    while (obs < observations.length && bytesEqual(observations[obs]!.value, value)) {
      if (observations[obs]!.alg !== alg) break;
      obs++;
      covered = n;
      marks.push(n);
    }
  };
  atObservation();
  for (const r of records) {
    if (r.kind === 'comment') continue;
    value = vmrExtend(alg, value, r.line);
    n++;
    atObservation();
  }
  if (obs < observations.length) {
    const o = observations[obs]!;
    throw new ReplayError(
      'ERR_REPLAY_MISMATCH',
      `vMR value in physical record ${o.record} is not a running value of the tenant log (${obs} of ${observations.length} observations matched)`,
      { details: { record: o.record, value: toHex(o.value), matched: obs } },
    );
  }
  return { value, records: n, covered, pending: n - covered, matched: obs, marks };
}
