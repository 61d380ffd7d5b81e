// The service's incremental-verification rules (src/verifier/service/incremental.ts) on the
// embedded store: which checkpoint a result may vouch for, when it moves, what resets it, and
// which stored checkpoint a `--since` bundle is replayed from. The verify results here are built
// by hand with the shape bundle replay gives (claims.layers.physical), so each rule is checked
// on exactly the case it is about; the end-to-end run through the agent is in
// test/e2e/cli/verifier_agent.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../../src/verifier/store/embedded.js';
import type { SqlStore } from '../../../src/verifier/store/sql_store.js';
import type { EvidenceResult } from '../../../src/verifier/verify/evidence_result.js';
import {
  advanceFromResult,
  bundleWindowOf,
  coveredCheckpoint,
  policyDigestOf,
  sinceHintFor,
  tenantSinceHintOf,
  trustedCheckpointFor,
  trustedTenantCheckpointOf,
} from '../../../src/verifier/service/incremental.js';

const root = mkdtempSync(join(tmpdir(), 'mrstack-incr-'));
let store: SqlStore;
before(async () => {
  store = await openEmbeddedStore(join(root, 'store'));
});
after(async () => {
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

const V1 = 'aa'.repeat(48);
const V2 = 'bb'.repeat(48);
const V3 = 'cc'.repeat(48);
const DIGEST = 'sha256:' + '11'.repeat(32);

/** What a hand-built bundle result saw: its position, boot, checkpoints, tenant. */
interface BundleSeen {
  position?: number;
  bootId?: string;
  checkpoints: { seq: number; record: number; value: string }[];
  /** A tenant bundle: the tenant, and its state at checkpoints (`claims.layers.vmr`). */
  tenant?: { name: string; at: { seq: number; line: number; record: number; value: string }[] };
}

/** A bundle's verify result whose physical layer saw these checkpoints. */
function bundleResult(p: BundleSeen): EvidenceResult {
  return {
    verified: true,
    kind: 'bundle',
    claims: {
      layers: {
        ...(p.tenant === undefined
          ? {}
          : {
              binding: { tenant: p.tenant.name },
              vmr: { name: `vmr_${p.tenant.name}`, alg: 'sha384', checkpoints: p.tenant.at },
            }),
        physical: {
          register: 'rtmr3',
          ...(p.position === undefined ? {} : { position: p.position }),
          ...(p.bootId === undefined ? {} : { bootId: p.bootId }),
          checkpoints: p.checkpoints.map((c) => ({
            seq: c.seq,
            record: c.record,
            values: { sha384: c.value },
            spec: `${c.seq}:sha384/${c.value}`,
          })),
        },
      },
    },
    errors: [],
    warnings: [],
    trust: { emulated: true } as EvidenceResult['trust'],
    checks: {},
    skipped: {},
    relaxed: [],
    at: new Date().toISOString(),
  };
}

let n = 0;
async function passed(attester: string, relaxed: string[] = []): Promise<string> {
  const id = `r${n++}`;
  await store.putResult({
    id,
    sessionId: null,
    attesterId: attester,
    status: 'affirming',
    passed: true,
    relaxed,
    policyId: `default@${DIGEST}`,
    ear: null,
    findings: {},
  });
  return id;
}

/** `advanceFromResult` on a new passed result of `attester` whose bundle saw `p`. */
async function advancePassed(
  attester: string,
  p: BundleSeen,
): ReturnType<typeof advanceFromResult> {
  return advanceFromResult(store, attester, DIGEST, await passed(attester), bundleResult(p));
}

test('policy digests and bundle windows', () => {
  assert.equal(policyDigestOf(`default@${DIGEST}`), DIGEST);
  const bundle = {
    format: 'mrstack-bundle',
  };
  // Not a bundle (a raw report, an envelope): no window.
  assert.equal(bundleWindowOf(new Uint8Array([0x04, 0x00, 0x02])), undefined);
  assert.equal(bundleWindowOf(new TextEncoder().encode(JSON.stringify(bundle))), undefined);
});

test('only a checkpoint the report covers counts: its record below the matched position', () => {
  const r = bundleResult({
    position: 6,
    checkpoints: [
      { seq: 1, record: 2, value: V1 },
      { seq: 2, record: 5, value: V2 },
      { seq: 3, record: 6, value: V3 }, // at the position: after the quoted value
    ],
  });
  assert.equal(coveredCheckpoint(r)?.seq, 2);
  // No matched position: nothing is covered.
  assert.equal(
    coveredCheckpoint(bundleResult({ checkpoints: [{ seq: 1, record: 0, value: V1 }] })),
    undefined,
  );
});

test('advance from passed results only, forward only; a new boot resets; since hints follow', async () => {
  const a = 'att-1';
  const key = { attesterId: a, register: 'rtmr3', policyDigest: DIGEST };
  assert.equal(await sinceHintFor(store, a, DIGEST), undefined);

  // A relaxed result vouches for nothing (the store refuses it in the same statement).
  const relaxed = await passed(a, ['collateral']);
  const r0 = await advanceFromResult(
    store,
    a,
    DIGEST,
    relaxed,
    bundleResult({
      position: 4,
      bootId: 'boot-1',
      checkpoints: [{ seq: 1, record: 2, value: V1 }],
    }),
  );
  assert.deepEqual(r0, { register: 'rtmr3', seq: null, advanced: false });
  assert.equal(await store.getCheckpoint(key), null);

  const r1 = await advancePassed(a, {
    position: 4,
    bootId: 'boot-1',
    checkpoints: [{ seq: 1, record: 2, value: V1 }],
  });
  assert.deepEqual(r1, { register: 'rtmr3', seq: 1, advanced: true });
  assert.deepEqual(await sinceHintFor(store, a, DIGEST), { register: 'rtmr3', seq: 1 });
  // Another policy digest has its own (none).
  assert.equal(await sinceHintFor(store, a, 'sha256:' + '22'.repeat(32)), undefined);
  const cp = await store.getCheckpoint(key);
  assert.equal(cp?.bootId, 'boot-1');
  assert.deepEqual(cp.value, { seq: 1, values: { sha384: V1 } });

  // A since-bundle starting at checkpoint 1 is replayed from the stored value; one starting at
  // another checkpoint gets none; a bundle from boot needs none.
  const tc = await trustedCheckpointFor(store, key, { register: 'rtmr3', since: 1 });
  assert.equal(tc?.seq, 1);
  assert.equal(Buffer.from(tc.values.get('sha384')!).toString('hex'), V1);
  assert.equal(await trustedCheckpointFor(store, key, { register: 'rtmr3', since: 2 }), undefined);
  assert.equal(await trustedCheckpointFor(store, key, { register: 'rtmr3', since: 0 }), undefined);

  // The same checkpoint again, or an older one, does not move it.
  const same = await advancePassed(a, {
    position: 3,
    checkpoints: [{ seq: 1, record: 0, value: V1 }],
  });
  assert.deepEqual(same, { register: 'rtmr3', seq: 1, advanced: false });
  assert.equal((await store.getCheckpoint(key))?.version, 1);

  // A newer covered checkpoint moves it (a since-bundle: no BOOT, the boot id stays).
  const r3 = await advancePassed(a, {
    position: 9,
    checkpoints: [
      { seq: 1, record: 0, value: V1 },
      { seq: 2, record: 5, value: V2 },
    ],
  });
  assert.deepEqual(r3, { register: 'rtmr3', seq: 2, advanced: true });
  assert.equal((await store.getCheckpoint(key))?.bootId, 'boot-1');

  // A new boot with no covered checkpoint yet resets it to none; the hint goes away.
  const r4 = await advancePassed(a, { position: 3, bootId: 'boot-2', checkpoints: [] });
  assert.deepEqual(r4, { register: 'rtmr3', seq: null, advanced: true });
  assert.equal(await sinceHintFor(store, a, DIGEST), undefined);
  assert.equal(await trustedCheckpointFor(store, key, { register: 'rtmr3', since: 2 }), undefined);
  const cp4 = await store.getCheckpoint(key);
  assert.equal(cp4?.bootId, 'boot-2');
  assert.equal(cp4.version, 3);

  // The new boot's first checkpoint, even with a lower number than before, is taken.
  const r5 = await advancePassed(a, {
    position: 5,
    bootId: 'boot-2',
    checkpoints: [{ seq: 1, record: 2, value: V3 }],
  });
  assert.deepEqual(r5, { register: 'rtmr3', seq: 1, advanced: true });
  const tc5 = await trustedCheckpointFor(store, key, { register: 'rtmr3', since: 1 });
  assert.equal(Buffer.from(tc5!.values.get('sha384')!).toString('hex'), V3);

  // A result of another attester cannot move this attester's checkpoint.
  const foreign = await passed('att-2');
  const rf = await advanceFromResult(
    store,
    a,
    DIGEST,
    foreign,
    bundleResult({ position: 9, checkpoints: [{ seq: 4, record: 5, value: V2 }] }),
  );
  assert.equal(rf?.advanced, false);
  assert.equal((await sinceHintFor(store, a, DIGEST))?.seq, 1);
});

test('tenant entries: stored at the checkpoint the move stores, carried for other tenants, moved alone forward, dropped by a new boot', async () => {
  const a = 'att-tenants';
  const key = { attesterId: a, register: 'rtmr3', policyDigest: DIGEST };
  const T1 = '11'.repeat(48);
  const T2 = '22'.repeat(48);
  const T3 = '33'.repeat(48);
  // alice's first bundle (from boot) covers CHECKPOINT 1: her state at it is stored with it
  const r1 = await advancePassed(a, {
    position: 8,
    bootId: 'boot-1',
    checkpoints: [{ seq: 1, record: 4, value: V1 }],
    tenant: { name: 'alice', at: [{ seq: 1, line: 7, record: 6, value: T1 }] },
  });
  assert.deepEqual(r1, {
    register: 'rtmr3',
    seq: 1,
    advanced: true,
    tenant: { name: 'alice', record: 6, line: 7 },
  });
  const cps = await store.listCheckpoints(a);
  assert.deepEqual(tenantSinceHintOf(cps, DIGEST, 'alice'), {
    tenant: 'alice',
    vmr: 'vmr_alice',
    record: 6,
    line: 7,
    boot_id: 'boot-1',
  });
  assert.equal(tenantSinceHintOf(cps, DIGEST, 'bob'), undefined);
  const rec = await store.getCheckpoint(key);
  const window = { register: 'rtmr3', since: 1, tenant: { name: 'alice', since: 7 } };
  const tt = trustedTenantCheckpointOf(rec, window);
  assert.ok(typeof tt === 'object');
  assert.deepEqual(
    { ...tt, value: Buffer.from(tt.value).toString('hex') },
    { tenant: 'alice', vmr: 'vmr_alice', alg: 'sha384', line: 7, record: 6, value: T1, seq: 1 },
  );
  // a whole tenant log needs none; a since-log of a tenant with no entry, or with the physical
  // log sent since another checkpoint, gets 'none' (refused by the replay)
  assert.equal(
    trustedTenantCheckpointOf(rec, { ...window, tenant: { name: 'alice', since: 0 } }),
    undefined,
  );
  assert.equal(
    trustedTenantCheckpointOf(rec, { ...window, tenant: { name: 'bob', since: 3 } }),
    'none',
  );
  assert.equal(trustedTenantCheckpointOf(rec, { ...window, since: 2 }), 'none');

  // bob's bundle at the same checkpoint: only his entry is added (the physical one stays)
  const r2 = await advancePassed(a, {
    position: 6,
    checkpoints: [],
    tenant: { name: 'bob', at: [{ seq: 1, line: 3, record: 3, value: T2 }] },
  });
  assert.deepEqual(r2, {
    register: 'rtmr3',
    seq: 1,
    advanced: false,
    tenant: { name: 'bob', record: 3, line: 3 },
  });
  // alice again at the same position: nothing moves
  const r3 = await advancePassed(a, {
    position: 6,
    checkpoints: [],
    tenant: { name: 'alice', at: [{ seq: 1, line: 7, record: 6, value: T1 }] },
  });
  assert.deepEqual(r3, { register: 'rtmr3', seq: 1, advanced: false });
  // alice's bundle covering CHECKPOINT 2 moves the physical checkpoint; bob's entry is carried
  const r4 = await advancePassed(a, {
    position: 9,
    checkpoints: [{ seq: 2, record: 5, value: V2 }],
    tenant: { name: 'alice', at: [{ seq: 2, line: 12, record: 11, value: T3 }] },
  });
  assert.equal(r4?.advanced, true);
  const v4 = (await store.getCheckpoint(key))?.value as {
    seq: number;
    tenants: Record<string, { record: number; seq: number }>;
  };
  assert.equal(v4.seq, 2);
  assert.deepEqual(
    Object.fromEntries(Object.entries(v4.tenants).map(([k, e]) => [k, [e.record, e.seq]])),
    { alice: [11, 2], bob: [3, 1] },
  );
  // a new boot drops every tenant's entry
  const r5 = await advancePassed(a, {
    position: 5,
    bootId: 'boot-2',
    checkpoints: [{ seq: 1, record: 2, value: V3 }],
    tenant: { name: 'alice', at: [] },
  });
  assert.deepEqual(r5, { register: 'rtmr3', seq: 1, advanced: true });
  const v5 = (await store.getCheckpoint(key))?.value as { tenants?: unknown };
  assert.equal(v5.tenants, undefined);
  assert.equal(tenantSinceHintOf(await store.listCheckpoints(a), DIGEST, 'bob'), undefined);
});
