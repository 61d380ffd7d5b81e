/**
 * The salted commitment the physical log carries for the IMA vMR (`docs/mr-ima.md`,
 * `/MR_IMA_SPEC`): every tenant's bundle holds the physical log, so the `mr_ima` token must not
 * reveal IMA's bank values (which would let a tenant confirm guesses about which binaries ran);
 * it commits to (banks, count) under a per-boot salt that only the `ima` bundle carries.
 *
 * ```
 * C = H_A("mrstack-mr-ima-v1" ‖ salt(32) ‖ u64be(count) ‖ bank_B[0] ‖ bank_B[1] ‖ …)
 * ```
 *
 * Pure: no I/O.
 *
 * @module
 */
import { UsageError } from '../../errors.js';
import { digestSize, type HashAlg } from '../../crypto/hash_alg.js';
import { hashParts } from '../../crypto/hash.js';

/** The domain-separation label, 17 ASCII bytes, no terminator. */
export const MR_IMA_COMMITMENT_LABEL = 'mrstack-mr-ima-v1';
/** Salt size in bytes. */
export const MR_IMA_SALT_SIZE = 32;

/**
 * The banks the IMA vMR keeps, in commitment order: sha1 and sha256 (the banks IMA tools read),
 * then A (`alg`, the bank of the physical register `mr_ima` chains in) unless it is one of them.
 */
export function mrImaBankAlgs(alg: HashAlg): readonly HashAlg[] {
  const out: HashAlg[] = ['sha1', 'sha256'];
  if (!out.includes(alg)) out.push(alg);
  return out;
}

/** Inputs of {@link mrImaCommitment}. */
export interface MrImaCommitmentInput {
  /** A: the vMR algorithm (a bank of the physical register; the tokens name it). */
  readonly alg: HashAlg;
  /** 32 bytes, per boot. */
  readonly salt: Uint8Array;
  /** IMA entries folded into `banks`. */
  readonly count: number;
  /** The bank values in the order of {@link mrImaBankAlgs}(alg). */
  readonly banks: readonly Uint8Array[];
}

/**
 * C for (banks, count) under salt, in algorithm A.
 * @throws UsageError `ERR_BAD_VALUE` for a salt, count or bank of the wrong size or number.
 */
export function mrImaCommitment(input: MrImaCommitmentInput): Uint8Array {
  const algs = mrImaBankAlgs(input.alg);
  const bad = (what: string): never => {
    throw new UsageError('ERR_BAD_VALUE', `mr_ima commitment: ${what}`);
  };
  if (input.salt.length !== MR_IMA_SALT_SIZE)
    bad(`salt must be 32 bytes, got ${input.salt.length}`);
  if (!Number.isSafeInteger(input.count) || input.count < 0) bad(`bad count ${input.count}`);
  if (input.banks.length !== algs.length) {
    bad(`${algs.length} banks (${algs.join(', ')}) expected, got ${input.banks.length}`);
  }
  input.banks.forEach((b, i) => {
    const size = digestSize(algs[i]!);
    if (b.length !== size) bad(`bank ${algs[i]!} must be ${size} bytes, got ${b.length}`);
  });
  const count = new Uint8Array(8);
  new DataView(count.buffer).setBigUint64(0, BigInt(input.count));
  return hashParts(input.alg, [
    new TextEncoder().encode(MR_IMA_COMMITMENT_LABEL),
    input.salt,
    count,
    ...input.banks,
  ]);
}
