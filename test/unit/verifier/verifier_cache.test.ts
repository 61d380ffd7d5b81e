// The TDX verifier's caches are injected and keyed by the anchors (DESIGN §6.1): one cache
// shared by two verifications under different anchors never lends the first one's trusted
// chain to the second. With a cache keyed only by "emulated trusted or not" (the module-global
// map this replaced), the second verification below would have reused the first's PCK chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEmulatedTvm } from '../../../src/providers/emulated/tvm_state.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { emulatedCollateral } from '../../../src/providers/emulated/collateral.js';
import { verifyEvidence } from '../../../src/verifier/verify/evidence.js';
import { VerifierCache } from '../../../src/verifier/verify/verifier_cache.js';
import { emulatedRootsOf } from '../../_support/emulated_trust.js';

async function tvm(dir: string): Promise<Uint8Array> {
  await initEmulatedTvm({ stateDir: dir, profile: 'tdx' });
  const p = await openEmulatedProvider({ stateDir: dir });
  try {
    return (await p.report({ reportData: new Uint8Array(64).fill(3) })).outblob;
  } finally {
    await p.close();
  }
}

test('one cache, two anchor sets: the second verification does not inherit the first trust', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'mrstack-vcache-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const a = join(root, 'a');
  const b = join(root, 'b');
  const quote = await tvm(a);
  await tvm(b);
  const at = new Date();
  const cache = new VerifierCache();
  const opts = {
    at,
    nonce: new Uint8Array(64).fill(3),
    collateral: { files: emulatedCollateral(a, { at }).files },
    verifierCache: cache,
  };
  const first = await verifyEvidence(quote, { ...opts, emulatedAnchors: emulatedRootsOf(a) });
  assert.equal(first.verified, true, JSON.stringify(first.errors));
  assert.equal(cache.size, 1);
  const second = await verifyEvidence(quote, { ...opts, emulatedAnchors: emulatedRootsOf(b) });
  assert.equal(second.verified, false);
  assert.deepEqual(
    second.errors.map((e) => [e['check'], e.code]),
    [['pck_chain', 'ERR_UNTRUSTED_ROOT']],
  );
  assert.equal(cache.size, 2);
  // Control: the first anchors again hit their own entry and still verify.
  const again = await verifyEvidence(quote, { ...opts, emulatedAnchors: emulatedRootsOf(a) });
  assert.equal(again.verified, true);
  assert.equal(cache.size, 2);
});
