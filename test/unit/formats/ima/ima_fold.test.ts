// The incremental multi-bank fold of mr_ima (MR_IMA_SPEC "Banks and the fold"). Expected values:
// the collector's PCR10 sha1 of two captures (test/fixtures/eventlogs/ima/PROVENANCE.md), and
// the sha256/sha384 banks extended step by step with `openssl dgst` (bank ‖ openssl(template
// data), or 0xff… for a violation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { toHex } from '../../../../src/bytes/hex.js';
import { MrstackError, ParseError } from '../../../../src/errors.js';
import { parseImaBinary } from '../../../../src/formats/ima/ima_binary.js';
import { ImaBankFold } from '../../../../src/formats/ima/ima_fold.js';
import { isAllZero, type ImaEntry } from '../../../../src/formats/ima/ima_template.js';
import { fixture } from '../../../_support/paths.js';
import { opensslDigest } from '../../../_support/peers.js';

const list = (name: string): ImaEntry[] =>
  parseImaBinary(new Uint8Array(readFileSync(fixture('eventlogs', 'ima', name))), {
    partialTail: 'stop',
  });

/** PCR 10 in `alg`, each step hashed by openssl. */
function opensslFold(alg: string, size: number, entries: readonly ImaEntry[]): string {
  let v: Uint8Array = new Uint8Array(size);
  for (const e of entries) {
    const d = isAllZero(e.templateHash)
      ? new Uint8Array(size).fill(0xff)
      : opensslDigest(alg, e.templateData);
    v = opensslDigest(alg, new Uint8Array([...v, ...d]));
  }
  return toHex(v);
}

test('ima-ng capture: sha1 bank is the collector PCR10; sha256/sha384 as openssl folds them', () => {
  const entries = list('debian-ima-ng-sha1.binary_runtime_measurements');
  assert.equal(entries.length, 6);
  const fold = new ImaBankFold(['sha1', 'sha256', 'sha384']);
  for (const e of entries) fold.push(e);
  assert.equal(fold.count, 6);
  const v = fold.values();
  assert.deepEqual([...v.keys()], ['sha1', 'sha256', 'sha384']);
  assert.equal(toHex(v.get('sha1')!), 'ef2a20de2a84a4780f92ab11d5c4934c709dff00');
  assert.equal(toHex(v.get('sha256')!), opensslFold('sha256', 32, entries));
  assert.equal(toHex(v.get('sha384')!), opensslFold('sha384', 48, entries));
});

test('a violation extends 0xff in every bank (collector PCR10 sha1 of the ima-sig capture)', () => {
  const entries = list('ima-sig-sha256-invalidated.binary_runtime_measurements');
  assert.ok(entries.some((e) => isAllZero(e.templateHash)));
  const fold = new ImaBankFold(['sha1', 'sha256']);
  for (const e of entries) fold.push(e);
  assert.equal(toHex(fold.values().get('sha1')!), 'a0e7bc9af0a2b54147b0d595d058f15c6cc44a6d');
  assert.equal(toHex(fold.values().get('sha256')!), opensslFold('sha256', 32, entries));
});

test('incremental: values at every count equal a fresh fold of the prefix; resume from a state', () => {
  const entries = list('debian-ima-ng-sha1.binary_runtime_measurements');
  const whole = new ImaBankFold(['sha1', 'sha256']);
  assert.equal(toHex(whole.values().get('sha256')!), '00'.repeat(32));
  for (const [i, e] of entries.entries()) {
    whole.push(e);
    const prefix = new ImaBankFold(['sha1', 'sha256']);
    for (const x of entries.slice(0, i + 1)) prefix.push(x);
    assert.deepEqual(prefix.values(), whole.values());
  }
  const half = new ImaBankFold(['sha1', 'sha256']);
  for (const e of entries.slice(0, 3)) half.push(e);
  const resumed = new ImaBankFold(['sha1', 'sha256'], { count: 3, values: half.values() });
  for (const e of entries.slice(3)) resumed.push(e);
  assert.equal(resumed.count, 6);
  assert.deepEqual(resumed.values(), whole.values());
});

test('refused: PCR other than 10, the legacy template, a template hash that is not H(data)', () => {
  const [e] = list('debian-ima-ng-sha1.binary_runtime_measurements');
  const fold = new ImaBankFold(['sha1', 'sha256', 'sha384']);
  assert.throws(
    () => fold.push({ ...e!, pcr: 11 }),
    (x: unknown) =>
      x instanceof ParseError &&
      x.code === 'ERR_BAD_VALUE' &&
      x.field === 'event[0].pcr' &&
      x.actual === '11',
  );
  const legacy = list('debian-ima-legacy-template-sha1.binary_runtime_measurements');
  assert.throws(
    () => fold.push(legacy[0]!),
    (x: unknown) => x instanceof ParseError && x.field === 'event[0].template_name',
  );
  const bad = new Uint8Array(e!.templateHash);
  bad[0]! ^= 1;
  assert.throws(
    () => fold.push({ ...e!, index: 4, templateHash: bad }),
    (x: unknown) =>
      x instanceof MrstackError &&
      x.code === 'ERR_EVENT_DIGEST_MISMATCH' &&
      x.details['record'] === 4,
  );
  // nothing refused was folded
  assert.equal(fold.count, 0);
  assert.equal(toHex(fold.values().get('sha1')!), '00'.repeat(20));
  assert.throws(() => new ImaBankFold([]), ParseError);
  assert.throws(() => new ImaBankFold(['sha1', 'sha1']), ParseError);
});
