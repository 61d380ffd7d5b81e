/**
 * A forged policy-cache entry, for tests that the cache's whole-entry check is what guards it: the
 * entry (header, body, trailing SHA-256 of both) with `"debug":false` turned into `"debug":true `
 * (same length) and its trailing SHA-256 redone, as an attacker who can write the cache would.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

/** `good` with its TDX `debug:false` made `debug:true` and the entry's trailing SHA-256 redone. */
export function rehashedWithDebug(good: Buffer): Buffer {
  const at = good.indexOf('"debug":false');
  assert.ok(at > 0, 'the header holds the tdx section');
  const forged = Buffer.from(good);
  forged.write('"debug":true ', at, 'latin1');
  const body = forged.subarray(0, forged.length - 32);
  createHash('sha256').update(body).digest().copy(forged, body.length);
  return forged;
}
