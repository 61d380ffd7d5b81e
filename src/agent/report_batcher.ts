/**
 * Shares one report among evidence requests that arrive while a report is in flight (DESIGN §5):
 * the first request starts a report after a short gathering window (default 25 ms, so that a
 * burst of requests shares the first report too); requests arriving meanwhile wait and are
 * served together by the next report, whose report data is the Merkle root of their bindings
 * (`formats/bundle/merkle.ts`); each receives its leaf index and inclusion proof.
 *
 * @module
 */
import { merkleProof, merkleRoot } from '../formats/bundle/merkle.js';

/** What one request receives. */
export interface SharedReport<T> {
  /** What the report function returned for the batch. */
  readonly shared: T;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly proof: readonly Uint8Array[];
}

interface Waiter<T> {
  readonly binding: Uint8Array;
  readonly resolve: (r: SharedReport<T>) => void;
  readonly reject: (e: unknown) => void;
}

/** The batcher; `take` produces one report for a 64-byte report data. */
export class ReportBatcher<T> {
  readonly #take: (reportData: Uint8Array) => Promise<T>;
  readonly #maxBatch: number;
  readonly #windowMs: number;
  readonly #waiting: Waiter<T>[] = [];
  #busy = false;

  constructor(take: (reportData: Uint8Array) => Promise<T>, maxBatch = 1024, windowMs = 25) {
    this.#take = take;
    this.#maxBatch = maxBatch;
    this.#windowMs = windowMs;
  }

  /** Requests evidence for one binding. */
  request(binding: Uint8Array): Promise<SharedReport<T>> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ binding, resolve, reject });
      if (!this.#busy) {
        this.#busy = true;
        setTimeout(() => void this.#next(), this.#windowMs);
      }
    });
  }

  async #next(): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#maxBatch);
      const bindings = batch.map((w) => w.binding);
      try {
        const shared = await this.#take(merkleRoot(bindings));
        batch.forEach((w, i) => {
          w.resolve({
            shared,
            leafIndex: i,
            treeSize: batch.length,
            proof: merkleProof(bindings, i),
          });
        });
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    this.#busy = false;
  }
}
