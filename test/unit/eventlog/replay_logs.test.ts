// replayLogs: the library call behind `mrstack log replay`, used directly as a service would.
// Expected values come from the captures' provenance (expectations.json), not from mrstack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../../../src/bytes/hex.js';
import { replayLogs } from '../../../src/eventlog/replay_logs.js';
import type { ExpectedValues } from '../../../src/eventlog/replay.js';
import type { HashAlg } from '../../../src/crypto/hash_alg.js';
import { fixture } from '../../_support/paths.js';
import { tempDir } from '../../_support/tmp.js';
import { expectations } from './support.js';

const NAME = 'malformed-exit-boot-services-events-missing.binary_bios_measurements';
const LOG = fixture('eventlogs', 'tcg', NAME);
const exp = expectations('tcg')[NAME]!;
const ASSERTED = exp.asserted_with_ebs_workaround!['pcr5']!['sha1']!;

function expected(reg: string, alg: HashAlg, hex: string): ExpectedValues {
  return new Map([[reg, new Map([[alg, fromHex(hex)]])]]);
}

test('workarounds: refused without being allowed (the error names the family), applied when allowed', async () => {
  const expect = expected('pcr5', 'sha1', ASSERTED);
  await assert.rejects(
    replayLogs([LOG], { expect }),
    (e: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(e.code, 'ERR_REPLAY_MISMATCH');
      assert.match(String(e.details?.['hint']), /--workaround ebs/);
      return true;
    },
  );
  const r = await replayLogs([LOG], { expect, workarounds: ['ebs'] });
  assert.deepEqual(
    r.workarounds.map((w) => w.register),
    ['pcr5'],
  );
  assert.ok(r.warnings.some((w) => w.code === 'REPLAY_WORKAROUND'));
  assert.deepEqual(r.formats, ['tcg2']);
});

test('workarounds without expected values are a usage error', async () => {
  await assert.rejects(replayLogs([LOG], { workarounds: ['ebs'] }), { code: 'ERR_USAGE' });
});

test('a log cut inside its last record: an error unless allowPartialTail, then a warning', async (t) => {
  const dir = tempDir(t, 'replay-logs-');
  const cut = join(dir, 'cut.bin');
  copyFileSync(LOG, cut);
  truncateSync(cut, statSync(LOG).size - 3);
  await assert.rejects(replayLogs([cut]), { code: 'ERR_TRUNCATED' });
  const r = await replayLogs([{ path: cut }], { allowPartialTail: true });
  const w = r.warnings.find((x) => x.code === 'ERR_TRUNCATED');
  assert.ok(w, JSON.stringify(r.warnings));
  assert.equal(w.log, cut);
  // Every complete record was replayed: one fewer than the whole log holds.
  const whole = await replayLogs([LOG]);
  assert.equal(r.events, whole.events - 1);
  assert.ok(readFileSync(cut).length < readFileSync(LOG).length);
});

test('an IMA list over several 1 MiB reads (one reused buffer): both banks, 1 and 2 threads, as node:crypto folds it', async (t) => {
  const dir = tempDir(t, 'replay-logs-ima-');
  const file = join(dir, 'ima.bin');
  // ima-ng records of varying length, so that records straddle the reads' boundaries
  const parts: Buffer[] = [];
  let sha1 = Buffer.alloc(20);
  let sha256 = Buffer.alloc(32);
  const n = 30_000;
  for (let i = 0; i < n; i++) {
    const path = Buffer.from(`/usr/lib/x/${'d'.repeat(i % 37)}/f${i}\0`);
    const dng = Buffer.concat([
      Buffer.from('sha256:\0'),
      createHash('sha256').update(path).digest(),
    ]);
    const u32 = (v: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v);
      return b;
    };
    const data = Buffer.concat([u32(dng.length), dng, u32(path.length), path]);
    const th = createHash('sha1').update(data).digest();
    parts.push(u32(10), th, u32(6), Buffer.from('ima-ng'), u32(data.length), data);
    sha1 = createHash('sha1').update(sha1).update(th).digest();
    sha256 = createHash('sha256')
      .update(sha256)
      .update(createHash('sha256').update(data).digest())
      .digest();
  }
  writeFileSync(file, Buffer.concat(parts));
  assert.ok(statSync(file).size > 3 << 20);
  for (const threads of [1, 2] as const) {
    const r = await replayLogs([file], { imaBanks: ['sha1', 'sha256'], threads });
    assert.equal(r.events, n);
    const pcr10 = r.registers.get('pcr10')!;
    assert.equal(Buffer.from(pcr10.get('sha1')!).toString('hex'), sha1.toString('hex'));
    assert.equal(Buffer.from(pcr10.get('sha256')!).toString('hex'), sha256.toString('hex'));
    assert.deepEqual(r.warnings, []);
  }
});
