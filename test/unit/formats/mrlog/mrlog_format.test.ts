// The mrlog adapter of the event-log core: `log replay` of a physical and a tenant log gives
// the values openssl computes; a SYNC that disagrees is a gap; detection picks mrlog.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mrlogFormat } from '../../../../src/eventlog/mrlog_format.js';
import { bytesInput } from '../../../../src/formats/stream/framer.js';
import { replay } from '../../../../src/eventlog/replay.js';
import { detectLogFormat } from '../../../../src/eventlog/registry.js';
import { MrstackError } from '../../../../src/errors.js';

function sha384(data: Uint8Array): Buffer {
  const r = spawnSync('openssl', ['dgst', '-sha384', '-binary'], { input: data });
  assert.equal(r.status, 0);
  return r.stdout;
}
const chain = (start: Buffer, lines: string[]): Buffer =>
  lines.reduce(
    (v, l) => (l.startsWith('#') ? v : sha384(Buffer.concat([v, sha384(Buffer.from(l))]))),
    start,
  );
const text = (lines: string[]): Uint8Array => Buffer.from(lines.map((l) => `${l}\n`).join(''));

test('physical mrlog replays through the core to the openssl chain, anchored at reset', async () => {
  const boot = 'BOOT b 1700000000';
  const lines = [
    boot,
    `SYNC sha384/${chain(Buffer.alloc(48), [boot]).toString('hex')}`,
    `VMR alice=sha384/${'01'.repeat(48)}`,
    '# note',
    'a.b op c',
  ];
  assert.equal(detectLogFormat(text(lines)).id, 'mrlog');
  const r = await replay(mrlogFormat.parse(bytesInput(text(lines)), { logName: 'x' }));
  assert.equal(
    Buffer.from(r.registers.get('rtmr3')!.get('sha384')!).toString('hex'),
    chain(Buffer.alloc(48), lines).toString('hex'),
  );
  assert.equal(r.anchors.get('rtmr3'), 'reset');
  assert.equal(r.extended, 4);
});

test('a SYNC that differs from the running value is a gap', async () => {
  const boot = 'BOOT b 1';
  const lines = [
    boot,
    `SYNC sha384/${chain(Buffer.alloc(48), [boot]).toString('hex')}`,
    'a.b op c',
    `SYNC sha384/${'07'.repeat(48)}`,
  ];
  await assert.rejects(
    replay(mrlogFormat.parse(bytesInput(text(lines)))),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_LOG_GAP',
  );
});

test('a tenant log replays into its vMR (named by TENANT), sha384 from zero', async () => {
  const lines = [
    `SALT ${'22'.repeat(32)}`,
    'TENANT alice vm-a 2026-11-22T00:00:00Z',
    '#id r1',
    'example.com load x',
  ];
  const r = await replay(mrlogFormat.parse(bytesInput(text(lines))));
  assert.equal(
    Buffer.from(r.registers.get('vm-a')!.get('sha384')!).toString('hex'),
    chain(Buffer.alloc(48), lines).toString('hex'),
  );
});
