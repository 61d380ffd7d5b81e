// The agent core in-process over the emulated TDX: group commit, replay to the register,
// idempotent ids, recovery (unextended records, uncovered tenant lines, torn tails, off-log
// moves, a new boot), extend errors (EBUSY, EIO, EINTR, others), checkpoints, limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { MrstackError } from '../../../src/errors.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { agentFixture, openAgent } from '../../_support/agent_harness.js';
import {
  checkInvariant,
  faultyProvider,
  physicalLines,
  readRtmr3,
  replayLines,
  tenantLines,
} from './agent_support.js';

const Z = Buffer.alloc(48);
const TENANTS = [
  { name: 'alice', vmr: 'alice' },
  { name: 'bob', vmr: 'vmr-bob' },
];

test('group commit: concurrent appends, one VMR record per batch, logs replay to rtmr3', async (t) => {
  const { tvm, provider, logDir } = await agentFixture(t, 'core');
  const agent = await openAgent(provider, logDir, { bootId: 'boot-a', tenants: TENANTS });
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      agent.append(i % 2 === 0 ? 'alice' : 'bob', {
        domain: 'example.com',
        operation: 'load',
        content: `item ${i}`,
      }),
    ),
  );
  assert.equal(results.length, 200);
  const phys = physicalLines(logDir);
  assert.equal(phys[0], phys[0]!.startsWith('BOOT boot-a ') ? phys[0] : 'BOOT first');
  const vmrRecords = phys.filter((l) => l.startsWith('VMR '));
  assert.ok(
    vmrRecords.length < 200,
    `group commit batches events (${vmrRecords.length} VMR records for 200 events)`,
  );
  assert.equal(tenantLines(logDir, 'alice').filter((l) => l.includes('item ')).length, 100);
  // each result's value is the tenant's running value after its record
  const al = tenantLines(logDir, 'alice');
  const r0 = results[0]!;
  assert.equal(r0.value, replayLines(Z, al.slice(0, r0.record)).toString('hex'));
  await agent.close();
  await checkInvariant(tvm, logDir);
});

test('idempotent ids: a retry returns the first result, also after a restart; ids are queryable', async (t) => {
  const { tvm, provider, logDir } = await agentFixture(t, 'ids');
  let agent = await openAgent(provider, logDir, { tenants: TENANTS });
  const ev = { domain: 'example.com', operation: 'once', content: 'x' };
  const [a, b] = await Promise.all([
    agent.append('alice', ev, 'req-1'),
    agent.append('alice', ev, 'req-1'),
  ]);
  assert.equal(a.record, b.record);
  assert.equal([a.duplicate, b.duplicate].filter(Boolean).length, 1);
  assert.deepEqual(agent.eventStatus('alice', 'req-1'), {
    id: 'req-1',
    status: 'acknowledged',
    record: a.record,
    value: a.value,
  });
  assert.throws(
    () => agent.eventStatus('bob', 'req-1'),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_NOT_FOUND',
  );
  await agent.close();
  agent = await openAgent(provider, logDir);
  const c = await agent.append('alice', ev, 'req-1');
  assert.equal(c.duplicate, true);
  assert.equal(c.record, a.record);
  assert.equal(c.value, a.value);
  assert.equal(tenantLines(logDir, 'alice').filter((l) => l === 'example.com once x').length, 1);
  await agent.close();
  await checkInvariant(tvm, logDir);
});

test('recovery: an unextended physical record is extended once; uncovered tenant lines are covered', async (t) => {
  const { tvm, provider, logDir } = await agentFixture(t, 'recover');
  let agent = await openAgent(provider, logDir, { tenants: TENANTS });
  await agent.append('alice', { domain: 'a.b', operation: 'op', content: '1' });
  await agent.close();
  // a crash after the tenant write: a line the physical log does not cover yet
  fs.appendFileSync(join(logDir, 'tenants', 'alice.mrlog'), '#id late\na.b op 2\n');
  // a crash after a physical write, before its extend: a VMR record the register lacks
  const bobValue = replayLines(Z, tenantLines(logDir, 'vmr-bob'));
  const seg = join(logDir, 'physical', 'rtmr3.000000.mrlog');
  fs.appendFileSync(seg, `VMR vmr-bob=sha384/${bobValue.toString('hex')}\n`);
  // and a torn tail on the physical log
  fs.appendFileSync(seg, 'VMR alice=sha3');
  const before = await readRtmr3(tvm);
  agent = await openAgent(provider, logDir);
  const st = agent.status();
  assert.deepEqual(st['off_log'], []);
  assert.equal(agent.eventStatus('alice', 'late').status, 'acknowledged');
  await agent.close();
  const lines = physicalLines(logDir);
  assert.ok(
    !lines.some((l) => l.startsWith('VMR alice=sha3') && l.length < 30),
    'torn tail truncated',
  );
  // exactly once: the appended VMR record appears once and the register replays
  assert.equal(
    lines.filter((l) => l === `VMR vmr-bob=sha384/${bobValue.toString('hex')}`).length,
    1,
  );
  assert.notEqual(before.toString('hex'), (await readRtmr3(tvm)).toString('hex'));
  await checkInvariant(tvm, logDir);
});

test('recovery: an off-log extend is recorded as SYNC and reported; a new boot archives the logs', async (t) => {
  const { tvm, provider, logDir } = await agentFixture(t, 'offlog');
  let agent = await openAgent(provider, logDir, { bootId: 'b1', tenants: TENANTS });
  await agent.append('alice', { domain: 'a.b', operation: 'op', content: '1' });
  await agent.close();
  const other = await openEmulatedProvider({ stateDir: tvm });
  await other.extend(
    { name: 'rtmr3', alg: 'sha384' },
    { kind: 'digest', digest: new Uint8Array(48).fill(9) },
  );
  agent = await openAgent(provider, logDir, { bootId: 'b1' });
  const off = agent.status()['off_log'] as unknown[];
  assert.equal(off.length, 1);
  // live off-log move while running: detected at the next extend
  await other.extend(
    { name: 'rtmr3', alg: 'sha384' },
    { kind: 'digest', digest: new Uint8Array(48).fill(8) },
  );
  await agent.append('bob', { domain: 'a.b', operation: 'op', content: '2' });
  assert.equal((agent.status()['off_log'] as unknown[]).length, 2);
  await agent.close();
  const lines = physicalLines(logDir);
  const syncs = lines.filter((l) => l.startsWith('SYNC '));
  assert.equal(syncs.length, 3, 'header SYNC + one per off-log move');
  // replaying from the last SYNC's value reaches the register
  const idx = lines.lastIndexOf(syncs[2]!);
  const v = Buffer.from(syncs[2]!.slice('SYNC sha384/'.length), 'hex');
  assert.equal(
    replayLines(v, lines.slice(idx)).toString('hex'),
    (await readRtmr3(tvm)).toString('hex'),
  );
  // a new boot: the old logs are archived, a new log starts with BOOT b2
  agent = await openAgent(provider, logDir, { bootId: 'b2' });
  await agent.close();
  assert.ok(physicalLines(logDir)[0]!.startsWith('BOOT b2 '));
  const archived = fs.readdirSync(join(logDir, 'archive'));
  assert.equal(archived.length, 1);
  assert.ok(archived[0]!.startsWith('b1-'));
  assert.ok(
    tenantLines(logDir, 'alice')[0]!.startsWith('SALT '),
    'tenants survive the boot with new logs',
  );
  assert.equal(tenantLines(logDir, 'alice').length, 2);
});

test('extend errors: EBUSY retried, EIO/EINTR resolved by re-reading, anything else stops the queue', async (t) => {
  const { tvm, provider, logDir } = await agentFixture(t, 'faults');
  const inner = provider;
  // header (2 extends) and tenant coverage (1) succeed, then faults
  const faults = [
    undefined,
    undefined,
    undefined,
    { code: 'EBUSY', after: false },
    { code: 'EBUSY', after: false },
    undefined,
    { code: 'EIO', after: true },
    { code: 'EINTR', after: false },
    undefined,
  ] as const;
  const fp = faultyProvider(inner, [...faults]);
  let agent = await openAgent(fp, logDir, { tenants: TENANTS, retry: { busyDelayMs: 1 } });
  await agent.append('alice', { domain: 'a.b', operation: 'op', content: 'busy' });
  await agent.append('alice', { domain: 'a.b', operation: 'op', content: 'eio-after' });
  await agent.append('alice', { domain: 'a.b', operation: 'op', content: 'eintr-before' });
  assert.equal(fp.extends, 6, 'each record extended exactly once');
  await agent.close();
  await checkInvariant(tvm, logDir);
  // a hard error stops the queue; later appends fail with ERR_AGENT_STOPPED; a restart recovers
  const fp2 = faultyProvider(inner, [{ code: 'ENXIO', after: false }]);
  agent = await openAgent(fp2, logDir);
  await assert.rejects(
    agent.append('bob', { domain: 'a.b', operation: 'op', content: 'fails' }),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_AGENT_STOPPED',
  );
  await assert.rejects(
    agent.append('bob', { domain: 'a.b', operation: 'op', content: 'after' }),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_AGENT_STOPPED',
  );
  assert.equal((agent.status()['stopped'] as { code: string }).code, 'ERR_AGENT_STOPPED');
  await agent.close();
  agent = await openAgent(inner, logDir);
  await agent.close();
  await checkInvariant(tvm, logDir);
  assert.equal(
    tenantLines(logDir, 'vmr-bob').filter((l) => l.endsWith(' fails')).length,
    1,
    'the durable event is kept (unacknowledged, then covered)',
  );
});

test('checkpoints: CHECKPOINT prev= hashes the previous segment, then SYNC; evidence --since serves what follows', async (t) => {
  const { tvm, provider, logDir } = await agentFixture(t, 'cp');
  const agent = await openAgent(provider, logDir, { tenants: TENANTS });
  await agent.append('alice', { domain: 'a.b', operation: 'op', content: '1' });
  const seg0 = fs.readFileSync(join(logDir, 'physical', 'rtmr3.000000.mrlog'));
  const cp = await agent.checkpoint();
  assert.equal(cp.seq, 1);
  await agent.append('alice', { domain: 'a.b', operation: 'op', content: '2' });
  const seg1 = fs.readFileSync(join(logDir, 'physical', 'rtmr3.000001.mrlog'), 'utf8').split('\n');
  assert.equal(
    seg1[0],
    `CHECKPOINT 1 prev=sha384/${createHash('sha384').update(seg0).digest('hex')}`,
  );
  assert.ok(seg1[1]!.startsWith('SYNC sha384/'));
  const b = await agent.evidence('alice', Buffer.from('0102', 'hex'), undefined, 1);
  assert.equal(b.physicalLog.since, 1);
  assert.equal(b.physicalLog.lines[0], seg1[0]);
  await assert.rejects(
    agent.evidence('alice', Buffer.from('01', 'hex'), undefined, 7),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_NOT_FOUND',
  );
  await agent.close();
  await checkInvariant(tvm, logDir);
});

test('limits and grammar: oversized, rate-limited and reserved events are refused and leave logs untouched', async (t) => {
  const { logDir, provider } = await agentFixture(t, 'limits');
  const agent = await openAgent(provider, logDir, {
    tenants: [{ name: 'alice', vmr: 'alice', limits: { maxRecordBytes: 64, ratePerSecond: 3 } }],
  });
  const before = [physicalLines(logDir).join('\n'), tenantLines(logDir, 'alice').join('\n')];
  const refuse = async (
    ev: { domain: string; operation: string; content: string },
    code: string,
  ): Promise<void> => {
    await assert.rejects(
      agent.append('alice', ev),
      (e: unknown) => e instanceof MrstackError && e.code === code,
    );
  };
  await refuse(
    { domain: 'a.b', operation: 'op', content: 'x'.repeat(100) },
    'ERR_RECORD_TOO_LARGE',
  );
  await refuse({ domain: 'VMR', operation: 'alice=sha384/00', content: '' }, 'ERR_BAD_EVENT');
  await refuse({ domain: 'a.b', operation: 'op', content: 'a\nSYNC sha384/00' }, 'ERR_BAD_EVENT');
  await refuse({ domain: 'nodomain', operation: 'op', content: 'x' }, 'ERR_BAD_EVENT');
  assert.deepEqual(
    [physicalLines(logDir).join('\n'), tenantLines(logDir, 'alice').join('\n')],
    before,
  );
  const outcomes = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) =>
      agent.append('alice', { domain: 'a.b', operation: 'op', content: `${i}` }),
    ),
  );
  const limited = outcomes.filter(
    (o) => o.status === 'rejected' && (o.reason as MrstackError).code === 'ERR_RATE_LIMITED',
  );
  assert.ok(limited.length >= 2, `rate limit applied (${limited.length} refused)`);
  await agent.close();
});
