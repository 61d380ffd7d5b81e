/**
 * Parsed TDX collateral shared between the service's requests. A fleet's attesters send the
 * same collateral (one TCB info, one QE identity, the same CRLs) in every envelope; parsing it
 * — JSON, X.509 and CRL DER, public-key imports — cost more than the rest of a verification.
 * Keyed by the SHA-256 of the exact bytes, so a byte of difference is a miss, and the TDX
 * verifier's own cache (per parsed object) then skips re-validating the signing chains — it
 * still checks every validity window at each request's time.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { MrstackError } from '../../errors.js';
import { parseTdxCollateralFiles } from '../collateral/tdx_collateral.js';
import type { CollateralInput } from '../verify/evidence_result.js';

/** A bounded cache of parsed TDX collateral, by content. */
export class TdxCollateralCache {
  readonly #entries = new Map<string, unknown>();
  readonly #max: number;

  /** @param maxEntries - most entries kept; the oldest goes first (default 64) */
  constructor(maxEntries = 64) {
    this.#max = Math.max(1, maxEntries);
  }

  /**
   * The collateral input with its TDX collateral parsed once per content; the input itself when
   * it is no TDX collateral (its verifier then parses it, and reports what is wrong).
   */
  resolve(input: CollateralInput): CollateralInput {
    const files = input.files;
    if (input.parsed !== undefined || files === undefined || files.size === 0) return input;
    const h = createHash('sha256');
    for (const name of [...files.keys()].sort()) {
      const b = files.get(name)!;
      h.update(`${name}\0${b.length}\0`).update(b);
    }
    const key = h.digest('hex');
    let parsed = this.#entries.get(key);
    if (parsed === undefined) {
      try {
        parsed = parseTdxCollateralFiles(files);
      } catch (e) {
        if (e instanceof MrstackError) return input;
        throw e;
      }
      if (this.#entries.size >= this.#max) {
        const first = this.#entries.keys().next().value;
        if (first !== undefined) this.#entries.delete(first);
      }
      this.#entries.set(key, parsed);
    }
    return { parsed };
  }
}
