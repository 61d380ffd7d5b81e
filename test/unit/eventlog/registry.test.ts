import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fixture } from '../../_support/paths.js';
import {
  detectLogFormat,
  findLogFormat,
  getLogFormat,
  logFormats,
} from '../../../src/eventlog/registry.js';
import { logFixture } from './support.js';

test('every TCG, CCEL and AAEL capture is detected as its own format, whatever else is registered', () => {
  const want: Record<string, (name: string) => string | undefined> = {
    tcg: (n) =>
      n.startsWith('malformed-bogus') || n.startsWith('malformed-empty') ? undefined : 'tcg2',
    ccel: (n) => (n.endsWith('.ccel.bin') ? 'ccel' : undefined),
    aael: (n) => (n.endsWith('.txt') ? 'aael' : n.endsWith('.ccel.bin') ? 'ccel' : undefined),
  };
  let n = 0;
  for (const folder of ['tcg', 'ccel', 'aael'] as const) {
    for (const name of readdirSync(fixture('eventlogs', folder))) {
      if (name.endsWith('.json') || name.endsWith('.md')) continue;
      const expected = want[folder]!(name);
      if (expected === undefined) continue;
      const head = logFixture(`${folder}/${name}`).subarray(0, 65536);
      assert.equal(detectLogFormat(head).id, expected, `${folder}/${name}`);
      n++;
    }
  }
  assert.ok(n >= 45);
});

test('--format overrides detection; unknown ids and undetectable input are ERR_UNKNOWN_FORMAT', () => {
  const head = logFixture('ccel/tdx-ovmf.ccel.bin').subarray(0, 4096);
  assert.equal(detectLogFormat(head, 'tcg2').id, 'tcg2');
  assert.equal(detectLogFormat(head, 'auto').id, 'ccel');
  assert.throws(() => getLogFormat('nope'), { code: 'ERR_UNKNOWN_FORMAT' });
  assert.throws(() => detectLogFormat(new Uint8Array(0)), { code: 'ERR_UNKNOWN_FORMAT' });
  assert.equal(findLogFormat('nope'), undefined);
  for (const id of ['tcg2', 'ccel', 'aael']) assert.ok(logFormats().some((f) => f.id === id));
});
