// Request ids with bounded memory (docs/agent.md, "Idempotent appends"): the agent keeps the
// most recent N ids in memory and every id of the boot in an on-disk index rebuilt from the
// tenant log's `#id` lines. A retry — of a recent id, of one evicted from memory, after a
// restart — returns the first position and appends nothing; memory holds at most N ids.
// Expected records and vMR values come from the log itself, replayed with node:crypto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Agent, AppendResult } from '../../../src/agent/agent.js';
import { RequestIdIndex } from '../../../src/agent/request_id_index.js';
import { MrstackError } from '../../../src/errors.js';
import { DEFAULT_LIMITS } from '../../../src/limits.js';
import { agentFixture, openAgent } from '../../_support/agent_harness.js';
import {
  checkInvariant,
  faultyProvider,
  physicalLines,
  readRtmr3,
  replayLines,
  tempDir,
  tenantLines,
} from './agent_support.js';

const Z = Buffer.alloc(48);
const EV = (i: number) => ({ domain: 'ids.example', operation: 'step', content: `event ${i}` });

interface Ids {
  total: number;
  in_memory: number;
}
const idsOf = (agent: Agent, tenant = 'alice'): Ids =>
  (agent.status()['tenants'] as { name: string; request_ids: Ids }[]).find(
    (x) => x.name === tenant,
  )!.request_ids;

/** Everything a duplicate must leave untouched: both logs and the register. */
async function snapshot(tvm: string, logDir: string): Promise<string[]> {
  return [
    physicalLines(logDir).join('\n'),
    tenantLines(logDir, 'alice').join('\n'),
    (await readRtmr3(tvm)).toString('hex'),
  ];
}

/** Record number and vMR after the event that follows `#id <id>`, read from the log (independent replay). */
function positionInLog(logDir: string, id: string): { record: number; value: string } {
  const lines = tenantLines(logDir, 'alice');
  const at = lines.indexOf(`#id ${id}`);
  assert.ok(at >= 0, `#id ${id} is in the log`);
  const upto = lines.slice(0, at + 2).filter((l) => !l.startsWith('#'));
  return { record: upto.length, value: replayLines(Z, upto).toString('hex') };
}

function assertDuplicateOf(r: AppendResult, logDir: string, id: string): void {
  assert.equal(r.duplicate, true, `${id} is a duplicate`);
  assert.deepEqual({ record: r.record, value: r.value }, positionInLog(logDir, id));
}

test('request ids: memory holds at most N; recent and evicted ids both return the first position without appending', async (t) => {
  const { tvm, provider, logDir } = await agentFixture(t, 'ids-window');
  const N = 4;
  const agent = await openAgent(provider, logDir, {
    tenants: [{ name: 'alice', vmr: 'alice' }],
    recentRequestIds: N,
  });
  t.after(() => agent.close());
  const first: AppendResult[] = [];
  for (let i = 0; i < 10; i++) first.push(await agent.append('alice', EV(i), `r-${i}`));
  // SALT and TENANT are records 1 and 2 (docs/mrlog.md), so event i is record 3 + i
  assert.deepEqual(
    first.map((r) => r.record),
    Array.from({ length: 10 }, (_, i) => 3 + i),
  );
  assert.deepEqual(idsOf(agent), { total: 10, in_memory: N });
  const before = await snapshot(tvm, logDir);

  // (a) a retry of a recent id
  const recent = await agent.append('alice', EV(9), 'r-9');
  assertDuplicateOf(recent, logDir, 'r-9');
  assert.equal(recent.value, first[9]!.value);
  // (c) a retry of an id no longer in memory: found on disk, same first position
  const old = await agent.append('alice', EV(0), 'r-0');
  assertDuplicateOf(old, logDir, 'r-0');
  assert.equal(old.value, first[0]!.value);
  // the retry's body does not matter: the id names the request
  assertDuplicateOf(await agent.append('alice', EV(99), 'r-1'), logDir, 'r-1');
  assert.deepEqual(await snapshot(tvm, logDir), before, 'logs and register unchanged');
  assert.deepEqual(agent.eventStatus('alice', 'r-2'), {
    id: 'r-2',
    status: 'acknowledged',
    ...positionInLog(logDir, 'r-2'),
  });
  assert.throws(
    () => agent.eventStatus('alice', 'r-10'),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_NOT_FOUND',
  );
  assert.deepEqual(idsOf(agent), { total: 10, in_memory: N });
  // a new id still appends
  const fresh = await agent.append('alice', EV(10), 'r-10');
  assert.equal(fresh.duplicate, false);
  assert.equal(fresh.record, 13);
  assert.equal(tenantLines(logDir, 'alice').filter((l) => l.startsWith('#id ')).length, 11);
});

test('request ids: 20,000 ids over several index tables; retries before and after a restart append nothing', async (t) => {
  const { tvm, provider, logDir } = await agentFixture(t, 'ids-many');
  const open = (): Promise<Agent> =>
    openAgent(provider, logDir, {
      tenants: [
        { name: 'alice', vmr: 'alice', limits: { ratePerSecond: 0 } },
        { name: 'bob', vmr: 'bob' },
      ],
    });
  let agent = await open();
  const COUNT = 20_000;
  for (let i = 0; i < COUNT; i += 1000) {
    await Promise.all(
      Array.from({ length: 1000 }, (_, k) => agent.append('alice', EV(i + k), `id-${i + k}`)),
    );
  }
  await agent.append('bob', EV(0), 'id-0');
  const N = DEFAULT_LIMITS.maxRecentRequestIds;
  // the window drops its oldest quarter to the disk index whenever it would exceed N
  const inMemory = N - N / 4 + 1 + ((COUNT - N - 1) % (N / 4));
  assert.ok(inMemory <= N);
  assert.deepEqual(idsOf(agent), { total: COUNT, in_memory: inMemory });
  assert.deepEqual(idsOf(agent, 'bob'), { total: 1, in_memory: 1 }, 'ids are per tenant');
  // more ids than the first table holds (2^15 slots, half full): a second table exists
  assert.equal(fs.readdirSync(join(logDir, 'ids')).filter((f) => f.startsWith('alice.')).length, 3);
  const sample = ['id-0', 'id-1', 'id-9999', 'id-16383', 'id-16384', 'id-19999'];
  const before = await snapshot(tvm, logDir);
  for (const id of sample) assertDuplicateOf(await agent.append('alice', EV(-1), id), logDir, id);
  assert.deepEqual(await snapshot(tvm, logDir), before);
  await agent.close();

  // (d) after a restart (the index rebuilt from the log, even over damaged index files)
  for (const f of fs.readdirSync(join(logDir, 'ids')))
    fs.writeFileSync(join(logDir, 'ids', f), Buffer.alloc(64, 0xff));
  agent = await open();
  assert.deepEqual(idsOf(agent), { total: COUNT, in_memory: inMemory });
  for (const id of sample) assertDuplicateOf(await agent.append('alice', EV(-1), id), logDir, id);
  assert.deepEqual(await snapshot(tvm, logDir), before);
  const fresh = await agent.append('alice', EV(COUNT), `id-${COUNT}`);
  assert.equal(fresh.duplicate, false);
  await agent.close();
  await checkInvariant(tvm, logDir);
  const idLines = tenantLines(logDir, 'alice').filter((l) => l.startsWith('#id '));
  assert.equal(new Set(idLines).size, COUNT + 1, 'no id appears twice in the log');
});

test('request ids after a failure mid-append and a restart: the unacknowledged id and evicted ids are answered from the log', async (t) => {
  const { tvm, provider, logDir } = await agentFixture(t, 'ids-crash');
  const tenants = [{ name: 'alice', vmr: 'alice' }];
  // BOOT+SYNC and the tenant's first coverage (3 extends), 10 events, then a hard device error
  const fp = faultyProvider(provider, [
    ...Array<undefined>(13).fill(undefined),
    { code: 'ENXIO', after: false },
  ]);
  let agent = await openAgent(fp, logDir, { tenants, recentRequestIds: 4 });
  for (let i = 0; i < 10; i++) await agent.append('alice', EV(i), `r-${i}`);
  await assert.rejects(
    agent.append('alice', EV(10), 'r-10'),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_AGENT_STOPPED',
  );
  await agent.close();
  // written to the tenant log before the failure, never acknowledged
  assert.equal(tenantLines(logDir, 'alice').filter((l) => l === '#id r-10').length, 1);

  agent = await openAgent(provider, logDir, { recentRequestIds: 4 });
  t.after(() => agent.close());
  assert.deepEqual(idsOf(agent), { total: 11, in_memory: 4 });
  const before = await snapshot(tvm, logDir);
  for (const id of ['r-10', 'r-0', 'r-6']) {
    assertDuplicateOf(await agent.append('alice', EV(-1), id), logDir, id);
    assert.equal(agent.eventStatus('alice', id).status, 'acknowledged');
  }
  assert.deepEqual(await snapshot(tvm, logDir), before, 'the retries appended nothing');
  await checkInvariant(tvm, logDir);
});

test('request-id index: exact answers — a tag match the log does not confirm is not a hit', (t) => {
  const dir = tempDir(t, 'mrstack-idindex-');
  const idx = RequestIdIndex.create(dir, 'v', 48);
  const value = (i: number): Uint8Array => new Uint8Array(48).fill(i & 0xff);
  const ids = Array.from({ length: 40_000 }, (_, i) => ({
    id: `k${i}`,
    offset: i * 100,
    record: i + 3,
    value: value(i),
  }));
  for (let i = 0; i < ids.length; i += 5000) idx.add(ids.slice(i, i + 5000));
  assert.equal(idx.size, 40_000);
  // 16,384 ids fill the first table to half, the second (4x) takes the rest
  assert.equal(idx.tables, 2);
  const byOffset = (id: string) => (off: number) => off === Number(id.slice(1)) * 100;
  for (const i of [0, 1, 16_383, 16_384, 39_999]) {
    assert.deepEqual(idx.find(`k${i}`, byOffset(`k${i}`)), { record: i + 3, value: value(i) });
  }
  assert.equal(
    idx.find('k40000', () => true),
    undefined,
    'an id never added',
  );
  assert.equal(
    idx.find('k5', () => false),
    undefined,
    'not confirmed by the log',
  );
  idx.remove();
  assert.deepEqual(fs.readdirSync(dir), []);
});
