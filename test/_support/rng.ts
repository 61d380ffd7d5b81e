/**
 * Seeded randomness for the bad-input sweeps: the same seed gives the same mutations on every
 * run, so a failure names a case that can be replayed.
 */

/** A uniform number in [0, 1) on each call. */
export type Rng = () => number;

/** Deterministic PRNG (mulberry32): 32 bits of state, good enough to spread test mutations. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number in [0, n). */
export function randomIndex(rnd: Rng, n: number): number {
  return Math.floor(rnd() * n);
}

/** One element of a non-empty list, chosen by `rnd`. */
export function pick<T>(rnd: Rng, items: readonly T[]): T {
  return items[randomIndex(rnd, items.length)]!;
}

/** Flips one random bit of one random byte of `buf` in place. */
export function flipRandomBit(rnd: Rng, buf: Uint8Array): void {
  const at = randomIndex(rnd, buf.length);
  buf[at] = buf[at]! ^ (1 << randomIndex(rnd, 8));
}
