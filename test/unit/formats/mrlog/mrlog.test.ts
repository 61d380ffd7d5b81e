// mrlog (DESIGN §4): grammar, structure, tenant-event validation, replay with anchors and gaps,
// the vMR layer. Expected digests are computed by openssl, never by mrstack's own hash code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ParseError, ReplayError } from '../../../../src/errors.js';
import { parseMrlog } from '../../../../src/formats/mrlog/parse.js';
import { formatMrlogRecord, parseMrlogLine } from '../../../../src/formats/mrlog/record.js';
import { tenantEventLine } from '../../../../src/formats/mrlog/event.js';
import { replayMrlog } from '../../../../src/eventlog/mrlog_replay.js';
import { replayVmr } from '../../../../src/eventlog/mrlog_vmr.js';

function openssl(alg: string, data: Uint8Array): Buffer {
  const r = spawnSync('openssl', ['dgst', `-${alg}`, '-binary'], { input: data });
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout;
}
/** MR ← H(MR ‖ H(line)), by openssl. */
function chain(alg: string, start: Buffer, lines: readonly string[]): Buffer {
  let v = start;
  for (const l of lines) v = openssl(alg, Buffer.concat([v, openssl(alg, Buffer.from(l, 'utf8'))]));
  return v;
}
const Z48 = Buffer.alloc(48);

test('parses every record kind and formats each back byte-exact', () => {
  const sync = `SYNC sha384/${'ab'.repeat(48)}`;
  const lines = [
    'BOOT 3f1c2d4e-0000-4000-8000-000000000001 1795308772',
    sync,
    `VMR alice=sha384/${'01'.repeat(48)} bob=sha384/${'02'.repeat(48)}`,
    `CHECKPOINT 1 prev=sha384/${'cd'.repeat(48)}`,
    '# informative',
  ];
  const { records } = parseMrlog(lines.map((l) => `${l}\n`).join(''));
  assert.deepEqual(
    records.map((r) => r.kind),
    ['boot', 'sync', 'vmr', 'checkpoint', 'comment'],
  );
  for (const r of records) assert.equal(formatMrlogRecord(r), r.line);
  const ev = parseMrlogLine('example.com/app load  two  spaces kept ', 7);
  assert.equal(ev.kind, 'event');
  assert.equal(ev.domain, 'example.com/app');
  assert.equal(ev.content, ' two  spaces kept ');
  const t = parseMrlog(
    `SALT ${'00'.repeat(32)}\nTENANT alice alice 2026-11-22T00:00:00Z\nexample.com x y\n`,
    { role: 'tenant' },
  );
  assert.deepEqual(
    t.records.map((r) => r.kind),
    ['salt', 'tenant', 'event'],
  );
});

test('errors name the line: control characters, bad domain, unknown reserved token, bad hex', () => {
  const cases: [string, string, string][] = [
    ['a.b op ok\na.b op bad\u0007bell\n', 'ERR_BAD_ENCODING', 'line 2'],
    ['a.b op ok\nnodots op x\n', 'ERR_BAD_VALUE', 'line 2'],
    ['a.b op ok\na.b op ok\nFROB x\n', 'ERR_BAD_VALUE', 'line 3'],
    [`SYNC sha384/${'AB'.repeat(48)}\n`, 'ERR_BAD_VALUE', 'line 1'],
    [`SYNC sha384/${'ab'.repeat(47)}\n`, 'ERR_BAD_VALUE', 'line 1'],
    ['SYNC md5/00\n', 'ERR_UNKNOWN_ALGORITHM', 'line 1'],
    ['a.b op\u0085x\n', 'ERR_BAD_ENCODING', 'line 1'],
    ['\n', 'ERR_BAD_VALUE', 'line 1'],
    ['a.b op ok\na.b op torn', 'ERR_TRUNCATED', 'line 2'],
  ];
  for (const [text, code, where] of cases) {
    assert.throws(
      () => parseMrlog(text),
      (e: unknown) => e instanceof ParseError && e.code === code && e.message.includes(where),
      JSON.stringify(text),
    );
  }
  assert.throws(
    () => parseMrlog(Buffer.from([0x61, 0x2e, 0x62, 0x20, 0x6f, 0x20, 0xff, 0x0a])),
    (e: unknown) => e instanceof ParseError && e.code === 'ERR_BAD_ENCODING',
  );
  const torn = parseMrlog('a.b op ok\na.b op to', { allowPartialTail: true });
  assert.equal(torn.records.length, 1);
  assert.equal(torn.completeLength, 10);
  assert.equal(torn.partialTail, 9);
});

test('structure: physical logs start with BOOT/CHECKPOINT + SYNC; tenant logs with SALT, TENANT', () => {
  const s = `SYNC sha384/${'00'.repeat(48)}`;
  assert.throws(() => parseMrlog(`a.b op x\n`, { role: 'physical' }), /BOOT or CHECKPOINT first/);
  assert.throws(() => parseMrlog(`BOOT b 1\na.b op x\n`, { role: 'physical' }), /SYNC after BOOT/);
  assert.throws(
    () => parseMrlog(`BOOT b 1\n${s}\nBOOT b 2\n`, { role: 'physical' }),
    /one BOOT per log/,
  );
  assert.doesNotThrow(() => parseMrlog(`BOOT b 1\n${s}\nx.y op z\n`, { role: 'physical' }));
  assert.throws(
    () => parseMrlog(`TENANT a a 2026-01-01T00:00:00Z\n`, { role: 'tenant' }),
    /SALT first/,
  );
  assert.throws(
    () =>
      parseMrlog(`SALT ${'00'.repeat(32)}\nTENANT a a 2026-01-01T00:00:00Z\n${s}\n`, {
        role: 'tenant',
      }),
    /application events only/,
  );
});

test('tenant events: reserved tokens, control characters, bad domains and sizes are refused', () => {
  const ok = tenantEventLine({ domain: 'example.com', operation: 'load', content: 'x y' }, 100);
  assert.equal(ok, 'example.com load x y');
  const bad: [Record<string, unknown>, string][] = [
    [{ domain: 'BOOT', operation: 'x', content: 'y' }, 'ERR_BAD_EVENT'],
    [{ domain: 'SYNC', operation: 'sha384/00', content: '' }, 'ERR_BAD_EVENT'],
    [{ domain: 'nodot', operation: 'x', content: 'y' }, 'ERR_BAD_EVENT'],
    [{ domain: '#x.y', operation: 'x', content: 'y' }, 'ERR_BAD_EVENT'],
    [{ domain: 'a.b', operation: 'bad op', content: 'y' }, 'ERR_BAD_EVENT'],
    [{ domain: 'a.b', operation: 'op', content: 'line\nVMR forged' }, 'ERR_BAD_EVENT'],
    [{ domain: 'a.b', operation: 'op', content: 'tab\there' }, 'ERR_BAD_EVENT'],
    [{ domain: 'a.b', operation: 'op', content: 5 }, 'ERR_BAD_EVENT'],
    [{ domain: 'a.b', operation: 'op', content: 'x'.repeat(200) }, 'ERR_RECORD_TOO_LARGE'],
  ];
  for (const [ev, code] of bad) {
    assert.throws(
      () => tenantEventLine(ev as never, 100),
      (e: unknown) => e instanceof ParseError && e.code === code,
      JSON.stringify(ev),
    );
  }
});

test('replay from reset matches openssl; a SYNC that differs is a gap (ERR_LOG_GAP)', () => {
  const boot = 'BOOT boot-1 1700000000';
  const afterBoot = chain('sha384', Z48, [boot]);
  const sync = `SYNC sha384/${afterBoot.toString('hex')}`;
  const lines = [boot, sync, 'example.com load a', 'example.com load b'];
  const records = parseMrlog(lines.map((l) => `${l}\n`).join(''), { role: 'physical' }).records;
  const r = replayMrlog(records, {
    algs: ['sha384'],
    start: { values: new Map([['sha384', new Uint8Array(48)]]), anchor: 'reset' },
  });
  assert.equal(r.anchor, 'reset');
  assert.equal(r.gaps.length, 0);
  assert.equal(
    Buffer.from(r.values!.get('sha384')!).toString('hex'),
    chain('sha384', Z48, lines).toString('hex'),
  );
  // a second SYNC claiming another value: off-log
  const moved = Buffer.alloc(48, 7);
  const withGap = [...lines, `SYNC sha384/${moved.toString('hex')}`, 'example.com load c'];
  const recs2 = parseMrlog(withGap.map((l) => `${l}\n`).join(''), { role: 'physical' }).records;
  const g = replayMrlog(recs2, {
    algs: ['sha384'],
    start: { values: new Map([['sha384', new Uint8Array(48)]]), anchor: 'reset' },
  });
  assert.equal(g.anchor, 'unverified');
  assert.equal(g.gaps.length, 1);
  assert.equal(g.gaps[0]!.lineNo, 5);
  assert.equal(
    Buffer.from(g.values!.get('sha384')!).toString('hex'),
    chain('sha384', moved, [withGap[4]!, withGap[5]!]).toString('hex'),
  );
  assert.throws(
    () =>
      replayMrlog(recs2, {
        algs: ['sha384'],
        start: { values: new Map([['sha384', new Uint8Array(48)]]), anchor: 'reset' },
        strict: true,
      }),
    (e: unknown) => e instanceof ReplayError && e.code === 'ERR_LOG_GAP',
  );
  // without a start value the first SYNC anchors, unverified
  const u = replayMrlog(records, { algs: ['sha384'] });
  assert.equal(u.anchor, 'unverified');
  assert.equal(
    Buffer.from(u.values!.get('sha384')!).toString('hex'),
    chain('sha384', afterBoot, lines.slice(1)).toString('hex'),
  );
});

test('multi-bank replay extends every bank with its own hash of the line', () => {
  const lines = ['BOOT b 1'];
  const s1 = chain('sha1', Buffer.alloc(20), lines);
  const s256 = chain('sha256', Buffer.alloc(32), lines);
  lines.push(`SYNC sha1/${s1.toString('hex')} sha256/${s256.toString('hex')}`, 'a.b c d');
  const recs = parseMrlog(lines.map((l) => `${l}\n`).join('')).records;
  const r = replayMrlog(recs, {
    algs: ['sha1', 'sha256'],
    start: {
      values: new Map([
        ['sha1', new Uint8Array(20)],
        ['sha256', new Uint8Array(32)],
      ]),
      anchor: 'reset',
    },
  });
  assert.equal(r.gaps.length, 0);
  assert.equal(
    Buffer.from(r.values!.get('sha1')!).toString('hex'),
    chain('sha1', Buffer.alloc(20), lines).toString('hex'),
  );
  assert.equal(
    Buffer.from(r.values!.get('sha256')!).toString('hex'),
    chain('sha256', Buffer.alloc(32), lines).toString('hex'),
  );
});

test('trusted checkpoint: a log starting at CHECKPOINT anchors only when the checkpoint is trusted', () => {
  const before = Buffer.alloc(48, 3);
  const cp = `CHECKPOINT 2 prev=sha384/${'ee'.repeat(48)}`;
  const afterCp = chain('sha384', before, [cp]);
  const lines = [cp, `SYNC sha384/${afterCp.toString('hex')}`, 'a.b c d'];
  const recs = parseMrlog(lines.map((l) => `${l}\n`).join(''), { role: 'physical' }).records;
  const trusted = replayMrlog(recs, {
    algs: ['sha384'],
    trustedCheckpoint: { seq: 2, values: new Map([['sha384', new Uint8Array(before)]]) },
  });
  assert.equal(trusted.anchor, 'trusted-checkpoint');
  assert.equal(
    Buffer.from(trusted.values!.get('sha384')!).toString('hex'),
    chain('sha384', before, lines).toString('hex'),
  );
  const other = replayMrlog(recs, {
    algs: ['sha384'],
    trustedCheckpoint: { seq: 2, values: new Map([['sha384', new Uint8Array(48)]]) },
  });
  assert.equal(other.anchor, 'unverified');
});

test('vMR layer: VMR values must be running values of the tenant log, in order; later records are pending', () => {
  const tlines = [
    `SALT ${'11'.repeat(32)}`,
    'TENANT alice alice 2026-11-22T00:00:00Z',
    'a.b op 1',
    'a.b op 2',
    'a.b op 3',
  ];
  const recs = parseMrlog(tlines.map((l) => `${l}\n`).join(''), { role: 'tenant' }).records;
  const v2 = chain('sha384', Z48, tlines.slice(0, 2));
  const v4 = chain('sha384', Z48, tlines.slice(0, 4));
  const obs = [v2, v4].map((v, i) => ({
    alg: 'sha384' as const,
    value: new Uint8Array(v),
    record: i,
  }));
  const r = replayVmr(recs, 'sha384', obs);
  assert.equal(r.matched, 2);
  assert.equal(r.covered, 4);
  assert.equal(r.pending, 1);
  assert.equal(Buffer.from(r.value).toString('hex'), chain('sha384', Z48, tlines).toString('hex'));
  // out of order, or a value the log never had
  assert.throws(
    () => replayVmr(recs, 'sha384', [obs[1]!, obs[0]!]),
    (e: unknown) => e instanceof ReplayError && e.code === 'ERR_REPLAY_MISMATCH',
  );
  const tampered = parseMrlog(tlines.map((l) => `${l.replace('op 1', 'op X')}\n`).join(''), {
    role: 'tenant',
  }).records;
  assert.throws(
    () => replayVmr(tampered, 'sha384', obs),
    (e: unknown) => e instanceof ReplayError && e.code === 'ERR_REPLAY_MISMATCH',
  );
});

test('record numbers in errors count records, not comment lines; the line number counts every line', () => {
  // line 4 is the second record (record 1, 0-based): the two comment lines are not records
  const text = '# a comment\na.b op ok\n# another\nnodots op x\n';
  assert.throws(
    () => parseMrlog(text),
    (e: unknown) => e instanceof ParseError && e.offset === 4 && e.record === 1,
  );
  // structure errors too: the BOOT after a comment and a SYNC is record 2
  const boot = 'BOOT 3f1c2d4e-0000-4000-8000-000000000001 1795308772';
  const structure = `${boot}\n# c\nSYNC sha384/${'ab'.repeat(48)}\n# c\n${boot}\n`;
  assert.throws(
    () => parseMrlog(structure, { role: 'physical' }),
    (e: unknown) => e instanceof ParseError && e.offset === 5 && e.record === 2,
  );
});
