/**
 * IMA's `boot_aggregate` entry: the digest the kernel logs first, over the boot PCRs.
 *
 * @module
 */
import { hash } from '../../crypto/hash.js';
import { hashInfo, type HashAlg } from '../../crypto/hash_alg.js';

/**
 * `boot_aggregate` as the kernel computes it (`ima_calc_boot_aggregate`): the hash, in the
 * bank's algorithm, of PCR0…PCR7 of that bank, plus PCR8 and PCR9 for banks other than SHA-1
 * (kernels since 5.8). Missing PCRs count as zeros. Without a TPM the kernel logs all zeros
 * instead ({@link bootAggregateWithoutTpm}).
 */
export function computeBootAggregate(
  bank: HashAlg,
  pcrs: ReadonlyMap<number, Uint8Array> | Readonly<Record<number, Uint8Array>>,
  opts: { includePcr8And9?: boolean } = {},
): Uint8Array {
  const size = hashInfo(bank).size;
  const get = (i: number): Uint8Array | undefined =>
    pcrs instanceof Map
      ? (pcrs as ReadonlyMap<number, Uint8Array>).get(i)
      : (pcrs as Readonly<Record<number, Uint8Array>>)[i];
  const last = (opts.includePcr8And9 ?? bank !== 'sha1') ? 9 : 7;
  const buf = new Uint8Array(size * (last + 1));
  for (let i = 0; i <= last; i++) {
    const v = get(i);
    if (v !== undefined) buf.set(v.subarray(0, size), i * size);
  }
  return hash(bank, buf);
}

/** The boot_aggregate digest logged when no TPM was found at boot: zeros. */
export function bootAggregateWithoutTpm(bank: HashAlg): Uint8Array {
  return new Uint8Array(hashInfo(bank).size);
}
