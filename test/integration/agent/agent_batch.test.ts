// Batched appends (DESIGN §5): `Agent.appendMany`, `POST /v1/events` with an array,
// `TenantClient.appendMany` (streaming) and `mrstack event append --stdin` (NDJSON). Every event
// of a batch gets its own result at its index; a bad event rejects only itself; request ids stay
// exactly-once inside a batch and across batches; one tenant's batch never touches another's
// log; values are checked against an independent replay of the tenant log (node:crypto).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AgentServer } from '../../../src/agent/server.js';
import { TenantClient, type BatchItemResponse } from '../../../src/agent/client.js';
import { agentFixture, openAgent, startCliAgent } from '../../_support/agent_harness.js';
import { runCli } from '../../_support/cli.js';
import { checkInvariant, physicalLines, replayLines, tenantLines } from './agent_support.js';

const Z = Buffer.alloc(48);
const ev = (content: string): { domain: string; operation: string; content: string } => ({
  domain: 'batch.example',
  operation: 'put',
  content,
});

/** The vMR after each extended record of a tenant log, by 1-based record number. */
function valuesByRecord(logDir: string, vmr: string): string[] {
  const out = [''];
  let v: Buffer = Z;
  for (const l of tenantLines(logDir, vmr)) {
    if (l.startsWith('#')) continue;
    v = replayLines(v, [l]);
    out.push(v.toString('hex'));
  }
  return out;
}

test('Agent.appendMany: per-event results, a bad event rejects only itself, ids exactly once', async (t) => {
  const { provider, logDir, tvm } = await agentFixture(t, 'batch');
  const agent = await openAgent(provider, logDir, {
    tenants: [
      { name: 'alice', vmr: 'alice' },
      { name: 'bob', vmr: 'bob', limits: { ratePerSecond: 5 } },
    ],
  });
  const early = await agent.append('alice', ev('early'), 'id-early');
  const batchesBefore = agent.status()['batches'] as number;
  const rs = await agent.appendMany('alice', [
    { event: ev('zero'), id: 'id-0' },
    { event: { domain: 'BOOT', operation: 'x', content: 'forged' } }, // reserved token
    { event: ev('two') },
    { event: ev('x'.repeat(5000)) }, // over max_record_bytes
    { event: ev('four'), id: 'bad id with spaces' },
    { event: ev('five'), id: 'id-0' }, // repeats index 0's id
    { event: ev('six (never written)'), id: 'id-early' }, // acknowledged earlier
    { event: ev('seven'), id: 'id-7' },
  ]);
  assert.deepEqual(
    rs.map((r) => (r.status === 'rejected' ? `${r.index}:${r.error.code}` : r.status)),
    [
      'acknowledged',
      '1:ERR_BAD_EVENT',
      'acknowledged',
      '3:ERR_RECORD_TOO_LARGE',
      '4:ERR_USAGE',
      'acknowledged',
      'acknowledged',
      'acknowledged',
    ],
  );
  // the accepted new events are one group commit
  assert.equal((agent.status()['batches'] as number) - batchesBefore, 1);
  const lines = tenantLines(logDir, 'alice').filter((l) => !l.startsWith('#'));
  assert.deepEqual(lines.slice(2), [
    'batch.example put early',
    'batch.example put zero',
    'batch.example put two',
    'batch.example put seven',
  ]);
  const values = valuesByRecord(logDir, 'alice');
  const ok = rs.filter((r) => r.status === 'acknowledged');
  assert.deepEqual(
    ok.map((r) => [r.record, r.duplicate]),
    [
      [4, false],
      [5, false],
      [4, true],
      [early.record, true],
      [6, false],
    ],
  );
  for (const r of ok) assert.equal(r.value, values[r.record], `value at record ${r.record}`);
  assert.equal(early.record, 3);
  // rate limits count events: 5 of 8 pass, the rest are rejected at their index
  const rl = await agent.appendMany(
    'bob',
    Array.from({ length: 8 }, (_, i) => ({ event: ev(`b${i}`) })),
  );
  assert.deepEqual(
    rl.map((r) => (r.status === 'rejected' ? `${r.index}:${r.error.code}` : 'ok')),
    [
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      '5:ERR_RATE_LIMITED',
      '6:ERR_RATE_LIMITED',
      '7:ERR_RATE_LIMITED',
    ],
  );
  await agent.close();
  await checkInvariant(tvm, logDir);
  await provider.close();
});

test('POST /v1/events with an array, and TenantClient.appendMany streaming 2,000 events', async (t) => {
  const { provider, logDir, dir, tvm } = await agentFixture(t, 'batch-sock');
  const agent = await openAgent(provider, logDir, {
    tenants: [
      { name: 'alice', vmr: 'alice' },
      { name: 'bob', vmr: 'bob' },
    ],
  });
  const server = await AgentServer.start({ agent, runDir: join(dir, 'run') });
  const alice = new TenantClient(server.tenantSocket('alice'));
  const bob = new TenantClient(server.tenantSocket('bob'));
  try {
    const bobBefore = tenantLines(logDir, 'bob');
    // a vmr/tenant field in an element is ignored: the socket is the identity
    const rs = await alice.appendBatch([
      { ...ev('a0'), id: 'a0', vmr: 'bob', tenant: 'bob' } as never,
      { domain: 'batch.example', operation: 'bad op!', content: 'x' },
      { ...ev('a2') },
      'not an object' as never,
    ]);
    assert.deepEqual(
      rs.map((r) => [r.index, r.status, r.status === 'rejected' ? r.error.code : r.vmr]),
      [
        [0, 'acknowledged', 'alice'],
        [1, 'rejected', 'ERR_BAD_EVENT'],
        [2, 'acknowledged', 'alice'],
        [3, 'rejected', 'ERR_BAD_EVENT'],
      ],
    );
    assert.deepEqual(tenantLines(logDir, 'bob'), bobBefore);
    // streaming: results in input order, indexes over the whole stream
    // a sync generator: appendMany takes any iterable (stdin gives it an async one)
    function* gen(): Generator<{ domain: string; operation: string; content: string; id: string }> {
      for (let i = 0; i < 2000; i++) yield { ...ev(`s${i}`), id: `s-${i}` };
    }
    const got: BatchItemResponse[] = [];
    for await (const r of alice.appendMany(gen(), { batchSize: 64 })) got.push(r);
    assert.equal(got.length, 2000);
    const values = valuesByRecord(logDir, 'alice');
    got.forEach((r, i) => {
      assert.equal(r.index, i);
      if (r.status === 'rejected') assert.fail(JSON.stringify(r));
      assert.equal(r.id, `s-${i}`);
      assert.equal(r.value, values[r.record]);
    });
    // records are consecutive: the stream kept its order
    const recs = got.map((r) => (r.status === 'acknowledged' ? r.record : -1));
    assert.deepEqual(
      recs,
      recs.map((_, i) => recs[0]! + i),
    );
    // a retry of the whole stream (3 batches in flight) appends nothing, returns the first results
    const again: BatchItemResponse[] = [];
    for await (const r of alice.appendMany(gen(), { batchSize: 256, inflight: 3 })) again.push(r);
    assert.ok(
      again.every((r, i) => r.status === 'acknowledged' && r.duplicate && r.record === recs[i]),
    );
    assert.equal(
      tenantLines(logDir, 'alice').filter((l) => l.startsWith('batch.example put s')).length,
      2000,
    );
    // fewer VMR records than events: batches share group commits
    const vmrs = physicalLines(logDir).filter((l) => l.startsWith('VMR '));
    assert.ok(vmrs.length < 200, `${vmrs.length} VMR records for 2,002 events`);
  } finally {
    alice.close();
    bob.close();
    await server.close();
    await agent.close();
  }
  await checkInvariant(tvm, logDir);
  await provider.close();
});

test('mrstack event append --stdin: NDJSON in, one result per line out; exit 2 when one is bad', async (t) => {
  const a = await startCliAgent(t, 'batch-cli', ['alice']);
  const input =
    [
      JSON.stringify({ ...ev('one'), id: 'c1' }),
      JSON.stringify(ev('two')),
      '',
      JSON.stringify({ domain: 'batch.example', operation: 'put', content: 'bad\u0001' }),
      JSON.stringify({ ...ev('four'), id: 'c1' }),
    ].join('\n') + '\n';
  const r = await runCli(
    ['event', 'append', '--socket', a.sock('alice'), '--stdin', '--json', '--batch-size', '2'],
    {
      input,
    },
  );
  assert.equal(r.code, 2, r.stderr);
  const out = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as BatchItemResponse);
  assert.deepEqual(
    out.map((o) => [o.index, o.status, o.status === 'rejected' ? o.error.code : o.duplicate]),
    [
      [0, 'acknowledged', false],
      [1, 'acknowledged', false],
      [2, 'rejected', 'ERR_BAD_EVENT'],
      [3, 'acknowledged', true],
    ],
  );
  assert.match(r.stderr, /3 acknowledged, 1 rejected/);
  const lines = tenantLines(join(a.run, 'log'), 'alice').filter((l) => !l.startsWith('#'));
  assert.deepEqual(lines.slice(2), ['batch.example put one', 'batch.example put two']);
  // all good: exit 0; a line that is not JSON: ERR_BAD_JSON, exit 2
  const good = await runCli(['event', 'append', '--socket', a.sock('alice'), '--stdin'], {
    input: `${JSON.stringify(ev('five'))}\n`,
  });
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /^0 acknowledged record 5\n$/);
  const notJson = await runCli(
    ['event', 'append', '--socket', a.sock('alice'), '--stdin', '--json'],
    {
      input: '{"domain":\n',
    },
  );
  assert.equal(notJson.code, 2);
  assert.equal(
    (JSON.parse(notJson.stdout) as { error: { code: string } }).error.code,
    'ERR_BAD_JSON',
  );
  await checkInvariant(a.tvm, join(a.run, 'log'));
});
