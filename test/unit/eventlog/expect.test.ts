import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpectedJson } from '../../../src/eventlog/expect.js';

const H32 = 'ab'.repeat(32);

test('expected values: the registers shape, a whole replay output, and NAME:ALG keys', () => {
  const a = parseExpectedJson(JSON.stringify({ PCR7: { SHA256: H32 } }));
  assert.deepEqual([...a.keys()], ['pcr7']);
  assert.equal(Buffer.from(a.get('pcr7')!.get('sha256')!).toString('hex'), H32);
  const b = parseExpectedJson(
    JSON.stringify({ format: 'tcg2', registers: { pcr7: { sha256: H32 } } }),
  );
  assert.deepEqual([...b.get('pcr7')!.keys()], ['sha256']);
  const c = parseExpectedJson(JSON.stringify({ 'rtmr3:sha384': 'cd'.repeat(48) }));
  assert.equal(c.get('rtmr3')!.get('sha384')!.length, 48);
});

test('expected values: typed errors for non-JSON, wrong sizes, unknown algorithms, bad hex', () => {
  assert.throws(() => parseExpectedJson('not json'), { code: 'ERR_BAD_JSON' });
  assert.throws(() => parseExpectedJson('[]'), { code: 'ERR_BAD_JSON' });
  assert.throws(() => parseExpectedJson(JSON.stringify({ pcr0: { sha256: 'abcd' } })), {
    code: 'ERR_BAD_JSON',
    expected: '32 bytes for sha256',
  });
  assert.throws(() => parseExpectedJson(JSON.stringify({ pcr0: { md5: H32 } })), {
    code: 'ERR_UNKNOWN_ALGORITHM',
  });
  assert.throws(() => parseExpectedJson(JSON.stringify({ pcr0: { sha256: 'zz'.repeat(32) } })), {
    code: 'ERR_BAD_HEX',
  });
});
