// The `@<count>` VMR token (docs/mrlog.md grammar, MR_IMA_SPEC "The VMR record") and the mr_ima
// commitment. The commitment's expected value is built from the spec's byte layout here with
// node:crypto and checked again by `openssl dgst -sha384` on a file of the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from '../../../../src/errors.js';
import {
  formatMrlogRecord,
  parseMrlogLine,
  type MrlogVmrValue,
} from '../../../../src/formats/mrlog/record.js';
import { mrImaBankAlgs, mrImaCommitment } from '../../../../src/formats/mrlog/mr_ima_commitment.js';
import { tempDir } from '../../../_support/tmp.js';

const H48 = 'ab'.repeat(48);

test('VMR token with @count: mr_ima carries it, shares the line with other vMRs, prints back', () => {
  const line = `VMR alice=sha384/${'01'.repeat(48)} mr_ima=sha384/${H48}@1001`;
  const r = parseMrlogLine(line, 4);
  assert.equal(r.kind, 'vmr');
  assert.equal(r.values.length, 2);
  assert.equal(r.values[0]!.count, undefined);
  assert.equal(r.values[1]!.name, 'mr_ima');
  assert.equal(r.values[1]!.count, 1001);
  assert.equal(Buffer.from(r.values[1]!.value).toString('hex'), H48);
  assert.equal(formatMrlogRecord(r), line);
  for (const c of ['0', '9007199254740991']) {
    const v = parseMrlogLine(`VMR mr_ima=sha384/${H48}@${c}`, 1);
    assert.equal(v.kind === 'vmr' ? v.values[0]!.count : -1, Number(c));
    assert.equal(formatMrlogRecord(v), `VMR mr_ima=sha384/${H48}@${c}`);
  }
});

test('VMR token errors: count missing or refused, leading zeros, signs, too large, empty', () => {
  const cases: [string, string][] = [
    [`VMR mr_ima=sha384/${H48}`, 'VMR.value[0].count'], // required for mr_ima
    [`VMR alice=sha384/${H48}@3`, 'VMR.value[0].count'], // refused elsewhere
    [`VMR mr_ima=sha384/${H48}@`, 'VMR.value[0].count'],
    [`VMR mr_ima=sha384/${H48}@01`, 'VMR.value[0].count'],
    [`VMR mr_ima=sha384/${H48}@-1`, 'VMR.value[0].count'],
    [`VMR mr_ima=sha384/${H48}@+1`, 'VMR.value[0].count'],
    [`VMR mr_ima=sha384/${H48}@1e3`, 'VMR.value[0].count'],
    [`VMR mr_ima=sha384/${H48}@9007199254740992`, 'VMR.value[0].count'],
    [`VMR mr_ima=sha384/${H48}@12345678901234567`, 'VMR.value[0].count'],
    [`VMR mr_ima=sha384/${H48}@1@2`, 'VMR.value[0].count'],
    [`VMR x=sha384/${H48} mr_ima=sha384/${H48.slice(2)}@1`, 'VMR.value[1]'],
  ];
  for (const [line, field] of cases) {
    assert.throws(
      () => parseMrlogLine(line, 7),
      (e: unknown) =>
        e instanceof ParseError &&
        e.code === 'ERR_BAD_VALUE' &&
        e.field === field &&
        e.message.includes('line 7'),
      line,
    );
  }
});

test('mrImaBankAlgs: sha1, sha256, then the register algorithm once', () => {
  assert.deepEqual(mrImaBankAlgs('sha384'), ['sha1', 'sha256', 'sha384']);
  assert.deepEqual(mrImaBankAlgs('sha256'), ['sha1', 'sha256']);
});

test('mrImaCommitment matches the spec layout (node:crypto and openssl dgst)', (t) => {
  const salt = randomBytes(32);
  const banks = [randomBytes(20), randomBytes(32), randomBytes(48)];
  const count = 0x1_0000_0001; // needs the high word of the u64
  const u64 = Buffer.alloc(8);
  u64.writeUInt32BE(1, 0);
  u64.writeUInt32BE(1, 4);
  const bytes = Buffer.concat([Buffer.from('mrstack-mr-ima-v1', 'ascii'), salt, u64, ...banks]);
  assert.equal(bytes.length, 17 + 32 + 8 + 20 + 32 + 48);
  const expected = createHash('sha384').update(bytes).digest('hex');
  const file = join(tempDir(t, 'mrima-c-'), 'c.bin');
  writeFileSync(file, bytes);
  const o = spawnSync('openssl', ['dgst', '-sha384', '-r', file], { encoding: 'utf8' });
  assert.equal(o.status, 0, o.stderr);
  assert.equal(o.stdout.split(' ')[0], expected);
  const c = mrImaCommitment({ alg: 'sha384', salt, count, banks });
  assert.equal(Buffer.from(c).toString('hex'), expected);
  // Each input matters.
  const other = mrImaCommitment({ alg: 'sha384', salt, count: count + 1, banks });
  assert.notEqual(Buffer.from(other).toString('hex'), expected);
  const token: MrlogVmrValue = { name: 'mr_ima', alg: 'sha384', value: c, count };
  assert.equal(
    formatMrlogRecord({ kind: 'vmr', values: [token] }),
    `VMR mr_ima=sha384/${expected}@${count}`,
  );
});

test('mrImaCommitment refuses wrong sizes', () => {
  const ok = { alg: 'sha384' as const, salt: new Uint8Array(32), count: 1 };
  const banks = [new Uint8Array(20), new Uint8Array(32), new Uint8Array(48)];
  for (const bad of [
    { ...ok, salt: new Uint8Array(31), banks },
    { ...ok, count: -1, banks },
    { ...ok, count: 1.5, banks },
    { ...ok, banks: banks.slice(0, 2) },
    { ...ok, banks: [banks[1]!, banks[0]!, banks[2]!] },
  ]) {
    assert.throws(
      () => mrImaCommitment(bad),
      (e: unknown) => (e as { code?: string }).code === 'ERR_BAD_VALUE',
    );
  }
});
