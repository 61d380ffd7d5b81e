/**
 * IMA's `boot_aggregate` from a firmware (TCG PC Client) event log: the log is replayed and the
 * kernel's rule applied to the replayed PCRs, as `evmctl ima_boot_aggregate` does from a log.
 *
 * @module
 */
import { UsageError } from '../errors.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import { computeBootAggregate } from '../formats/ima/boot_aggregate.js';
import type { ReplayResult } from './replay.js';

/** A boot_aggregate and the PCR values it was computed from. */
export interface BootAggregate {
  readonly alg: HashAlg;
  readonly digest: Uint8Array;
  /** The PCRs the log extended among those hashed (0–7 for sha1, 0–9 otherwise); the others are zero. */
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
}

/**
 * The boot_aggregate of bank `alg` over a replay of a TCG log (PCR-indexed, no `--pcr-map`): the
 * hash of PCR0–7 (sha1) or PCR0–9 (other banks, kernels since 5.8) in that bank.
 * @throws UsageError `ERR_USAGE` when the log carries no digest in `alg`.
 */
export function bootAggregateOfReplay(r: ReplayResult, alg: HashAlg): BootAggregate {
  const banks = new Set<HashAlg>();
  for (const m of r.registers.values()) for (const a of m.keys()) banks.add(a);
  if (!banks.has(alg)) {
    throw new UsageError(
      'ERR_USAGE',
      `the log has no ${alg} bank (banks: ${[...banks].join(', ') || 'none'}): choose one with --alg`,
    );
  }
  const last = alg === 'sha1' ? 7 : 9;
  const pcrs = new Map<number, Uint8Array>();
  for (let i = 0; i <= last; i++) {
    const v = r.registers.get(`pcr${String(i)}`)?.get(alg);
    if (v !== undefined) pcrs.set(i, v);
  }
  return { alg, digest: computeBootAggregate(alg, pcrs), pcrs };
}
