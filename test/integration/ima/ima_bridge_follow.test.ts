// The IMA bridge following a list in-process (Agent.open with `ima`, the code `agent start
// --ima` runs): an entry cut by the writer is carried until its rest arrives; any tenant's report
// mirrors the whole list first; a list that shrinks while followed is ERR_IMA_LIST_CHANGED with a
// SYNC; an entry on another PCR stops the bridge after the entries before it are mirrored.
// Expected commitments are computed here with node:crypto from MR_IMA_SPEC's layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { agentFixture, openAgent } from '../../_support/agent_harness.js';
import {
  bootAggregateEntry,
  encodeImaMeasurement,
} from '../../../src/providers/emulated/ima_list.js';
import { physicalLines } from '../agent/agent_support.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function entry(i: number): Buffer {
  return Buffer.from(
    encodeImaMeasurement({
      path: `/bin/tool-${i}`,
      digest: createHash('sha256').update(`tool ${i}`).digest(),
    }),
  );
}

/** C per MR_IMA_SPEC over whole entries (LE layout walked here). */
function commitment(list: Buffer, salt: Buffer): { count: number; c: string } {
  const banks = { sha1: Buffer.alloc(20), sha256: Buffer.alloc(32), sha384: Buffer.alloc(48) };
  let p = 0;
  let count = 0;
  while (p < list.length) {
    const nl = list.readUInt32LE(p + 24);
    const tdl = list.readUInt32LE(p + 28 + nl);
    const td = list.subarray(p + 32 + nl, p + 32 + nl + tdl);
    for (const alg of ['sha1', 'sha256', 'sha384'] as const) {
      banks[alg] = createHash(alg)
        .update(banks[alg])
        .update(createHash(alg).update(td).digest())
        .digest();
    }
    p += 32 + nl + tdl;
    count++;
  }
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt(count));
  const c = createHash('sha384')
    .update('mrstack-mr-ima-v1')
    .update(salt)
    .update(n)
    .update(banks.sha1)
    .update(banks.sha256)
    .update(banks.sha384)
    .digest('hex');
  return { count, c };
}

function lastToken(logDir: string): string | undefined {
  return physicalLines(logDir)
    .filter((l) => l.startsWith('VMR '))
    .flatMap((l) => l.split(' ').slice(1))
    .filter((t) => t.startsWith('mr_ima='))
    .at(-1);
}

/** Polls `ok` with a deadline far above what any load adds (a 4 s budget was tight at load 15). */
async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (ok()) return;
    await sleep(10);
  }
  assert.ok(ok(), `timed out waiting for ${what}`);
}

test('a cut entry is carried; a report mirrors the list first; a shrink is a SYNC', async (t) => {
  const { dir, provider, logDir } = await agentFixture(t, 'ima-follow');
  const list = join(dir, 'list');
  fs.writeFileSync(list, bootAggregateEntry());
  const agent = await openAgent(provider, logDir, {
    ima: { listPath: list, pollMs: 5 },
    tenants: [{ name: 'alice', vmr: 'alice' }],
  });
  t.after(() => agent.close());
  const salt = Buffer.from(
    fs.readFileSync(join(logDir, 'tenants', 'mr_ima.mrlog'), 'utf8').slice(5, 69),
    'hex',
  );
  await until('boot_aggregate mirrored', () => agent.ima!.mirrored === 1);

  // half an entry: nothing new is mirrored until the rest arrives
  const e1 = entry(1);
  fs.appendFileSync(list, e1.subarray(0, 30));
  await sleep(60);
  assert.equal(agent.ima!.folded, 1);
  fs.appendFileSync(list, e1.subarray(30));
  await until('entry 1 mirrored', () => agent.ima!.mirrored === 2);
  const want = commitment(fs.readFileSync(list), salt);
  assert.equal(lastToken(logDir), `mr_ima=sha384/${want.c}@2`);

  // a report (here alice's) mirrors the whole list first; alice's events go on beside it
  fs.appendFileSync(list, Buffer.concat([entry(2), entry(3)]));
  const [ev] = await Promise.all([
    agent.append('alice', { domain: 'example.com', operation: 'run', content: 'x' }),
    agent.evidence('alice', new Uint8Array([7])),
  ]);
  assert.equal(ev.status, 'acknowledged');
  assert.equal(agent.ima!.mirrored, 4);
  assert.equal(lastToken(logDir), `mr_ima=sha384/${commitment(fs.readFileSync(list), salt).c}@4`);

  // the list shrinks while followed: ERR_IMA_LIST_CHANGED, a SYNC, no token after it
  const before = physicalLines(logDir).length;
  fs.truncateSync(list, bootAggregateEntry().length);
  await until('the bridge failed', () => agent.ima!.failed !== undefined);
  assert.equal(agent.ima!.failed!.code, 'ERR_IMA_LIST_CHANGED');
  await until('a SYNC', () => physicalLines(logDir).length > before);
  assert.match(physicalLines(logDir).at(-1)!, /^SYNC sha384\/[0-9a-f]{96}$/);
  await assert.rejects(
    agent.imaEvidence(new Uint8Array([1])),
    (e: unknown) => (e as { code?: string }).code === 'ERR_IMA_LIST_CHANGED',
  );
  // other tenants go on
  const ok = await agent.append('alice', { domain: 'example.com', operation: 'run', content: 'y' });
  assert.equal(ok.status, 'acknowledged');
});

test('an entry on PCR 11 stops the bridge after the entries before it are mirrored', async (t) => {
  const { dir, provider, logDir } = await agentFixture(t, 'ima-pcr');
  const list = join(dir, 'list');
  const bad = entry(9);
  bad.writeUInt32LE(11, 0);
  fs.writeFileSync(list, Buffer.concat([bootAggregateEntry(), entry(1), bad, entry(2)]));
  const agent = await openAgent(provider, logDir, { ima: { listPath: list, pollMs: 5 } });
  t.after(() => agent.close());
  await until('the bridge stopped', () => agent.ima!.failed !== undefined);
  const f = agent.ima!.failed!;
  assert.equal(f.code, 'ERR_BAD_VALUE');
  assert.match(f.message, /event\[2\]\.pcr/);
  await until('two entries mirrored', () => agent.ima!.mirrored === 2);
  assert.match(lastToken(logDir) ?? '', /@2$/);
});
