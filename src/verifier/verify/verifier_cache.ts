/**
 * A cache of verifier instances (and what they validated) that a long-lived caller — the
 * verifier service — creates once and passes to every verification. It is injected, never a
 * module global (DESIGN §6.1), and its keys name the trust anchors the cached work was done
 * under (`trust_policy.ts` `anchorsKey`): a chain validated against one set of anchors is never
 * reused by a verification under another.
 *
 * @module
 */

/** A bounded map from a key (kind and anchors) to a verifier instance. */
export class VerifierCache {
  readonly #entries = new Map<string, unknown>();
  readonly #max: number;

  /** @param maxEntries most entries kept; the oldest goes first (default 16) */
  constructor(maxEntries = 16) {
    this.#max = Math.max(1, maxEntries);
  }

  /** The entry under `key`, made by `make` (and kept) when absent. */
  getOrCreate<T>(key: string, make: () => T): T {
    if (this.#entries.has(key)) return this.#entries.get(key) as T;
    const v = make();
    if (this.#entries.size >= this.#max) {
      const first = this.#entries.keys().next().value;
      if (first !== undefined) this.#entries.delete(first);
    }
    this.#entries.set(key, v);
    return v;
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
  }
}
