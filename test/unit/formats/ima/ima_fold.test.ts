// ImaBankFold, the one IMA PCR-10 fold (MR_IMA_SPEC "Banks and the fold"). Judges: evmctl
// (ima-evm-utils 1.4) given the sha1/sha256 bank values as PCR 10 on real captures, and for the
// sha384 bank a fold written here from the spec's rule with node:crypto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fixture } from '../../../_support/paths.js';
import { Evmctl } from '../../../_support/evmctl.js';
import { ParseError } from '../../../../src/errors.js';
import { encodeImaBinary, parseImaBinary } from '../../../../src/formats/ima/ima_binary.js';
import { ImaBankFold } from '../../../../src/formats/ima/ima_fold.js';
import type { ImaEntry } from '../../../../src/formats/ima/ima_template.js';

const peer = new Evmctl();
test.after(() => peer.close());

const CAPTURES = [
  'debian-ima-ng-sha1.binary_runtime_measurements',
  'ima-sig-sha256-invalidated.binary_runtime_measurements',
];

// PCR 10 sha1 values the captures' collectors assert (fixtures' PROVENANCE.md).
const PCR10_SHA1: Record<string, string> = {
  'ima-sig-sha256-invalidated.binary_runtime_measurements':
    'a0e7bc9af0a2b54147b0d595d058f15c6cc44a6d',
};

function load(name: string): ImaEntry[] {
  const bytes = new Uint8Array(readFileSync(fixture('eventlogs', 'ima', name)));
  return parseImaBinary(bytes, { partialTail: 'stop' });
}

function specFold(alg: string, size: number, entries: readonly ImaEntry[]): string {
  let v = Buffer.alloc(size);
  for (const e of entries) {
    const zero = e.templateHash.every((b) => b === 0);
    const inner = zero ? Buffer.alloc(size, 0xff) : createHash(alg).update(e.templateData).digest();
    v = createHash(alg).update(v).update(inner).digest();
  }
  return v.toString('hex');
}

for (const name of CAPTURES) {
  test(`fold of ${name}: evmctl accepts sha1+sha256 as PCR 10, sha384 matches the spec rule`, () => {
    const entries = load(name);
    assert.ok(entries.length >= 2);
    const fold = new ImaBankFold(['sha1', 'sha256', 'sha384']);
    for (const e of entries) fold.push(e);
    assert.equal(fold.count, entries.length);
    const [s1, s256, s384] = fold.values().map((v) => Buffer.from(v).toString('hex'));
    const list = encodeImaBinary(entries);
    // evmctl replays a violation as IMA extends it (0xFF…) only with --ignore-violations.
    const flags = entries.some((e) => e.templateHash.every((b) => b === 0))
      ? ['--ignore-violations']
      : [];
    const ok = peer.run(list, { sha1: s1!, sha256: s256! }, flags);
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, /Matched per TPM bank/);
    assert.equal(s384, specFold('sha384', 48, entries));
    const asserted = PCR10_SHA1[name];
    if (asserted !== undefined) assert.equal(s1, asserted);
    // A wrong value is rejected by evmctl (the judge is not a rubber stamp).
    const bad = peer.run(list, { sha1: s1!, sha256: 'cd'.repeat(32) }, flags);
    assert.notEqual(bad.status, 0, bad.out);
  });
}

test('the fold is incremental: pushing in pieces, cloning, and value() agree with one pass', () => {
  const entries = load(CAPTURES[1]!);
  const whole = new ImaBankFold(['sha1', 'sha256', 'sha384']);
  for (const e of entries) whole.push(e);
  const a = new ImaBankFold(['sha1', 'sha256', 'sha384']);
  const half = entries.length >> 1;
  for (const e of entries.slice(0, half)) a.push(e);
  const b = a.clone();
  const atHalf = a.values();
  for (const e of entries.slice(half)) b.push(e);
  assert.deepEqual(a.values(), atHalf); // the clone is independent
  assert.deepEqual(b.values(), whole.values());
  assert.equal(b.count, entries.length);
  assert.deepEqual(b.value('sha256'), whole.values()[1]);
  // The prefix equals the spec rule at the half.
  assert.equal(
    Buffer.from(atHalf[0]!).toString('hex'),
    specFold('sha1', 20, entries.slice(0, half)),
  );
});

test('a PCR other than 10 and the legacy ima template are refused, fold unchanged', () => {
  const ng = load(CAPTURES[0]!);
  const legacy = load('debian-ima-legacy-template-sha1.binary_runtime_measurements');
  const fold = new ImaBankFold(['sha1', 'sha256']);
  fold.push(ng[0]!);
  const before = fold.values();
  const pcr11 = { ...ng[1]!, pcr: 11 };
  assert.throws(
    () => fold.push(pcr11),
    (e: unknown) =>
      e instanceof ParseError && e.code === 'ERR_BAD_VALUE' && e.field === 'event[1].pcr',
  );
  assert.throws(
    () => fold.push(legacy[1]!),
    (e: unknown) =>
      e instanceof ParseError && e.code === 'ERR_BAD_VALUE' && e.field === 'event[1].template_name',
  );
  assert.deepEqual(fold.values(), before);
  assert.equal(fold.count, 1);
});
