import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ccMrName,
  pcrName,
  pcrToCcMrIndex,
  rtmrToCcMrIndex,
  PCR_INDEX_NONE,
} from '../../../src/eventlog/mr_map.js';
import { resetValue } from '../../../src/eventlog/reset_values.js';

test('CC MR index map (UEFI 2.10 §38.4, TDX GHCI): 0 = MRTD, 1-4 = RTMR0-3', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(ccMrName), [
    'mrtd',
    'rtmr0',
    'rtmr1',
    'rtmr2',
    'rtmr3',
    undefined,
  ]);
  assert.equal(rtmrToCcMrIndex(3), 4);
});

test('UEFI PCR -> CC MR map, and the coco option for PCR >= 16', () => {
  const uefi = Array.from({ length: 24 }, (_, p) => pcrToCcMrIndex(p, 'uefi'));
  assert.deepEqual(uefi.slice(0, 16), [0, 1, 2, 2, 2, 2, 2, 1, 3, 3, 3, 3, 3, 3, 3, 3]);
  assert.deepEqual(uefi.slice(16), Array(8).fill(undefined));
  assert.equal(pcrToCcMrIndex(17, 'coco'), 4);
  assert.equal(pcrToCcMrIndex(7, 'coco'), 1);
  assert.equal(pcrToCcMrIndex(PCR_INDEX_NONE, 'coco'), undefined);
  assert.equal(pcrName(PCR_INDEX_NONE), undefined);
  assert.equal(pcrName(10), 'pcr10');
});

test('reset values: PC Client PCR17-22 all ones, others and RTMRs zero', () => {
  for (let p = 0; p < 24; p++) {
    const v = resetValue(`pcr${p}`, 'sha256');
    assert.equal(v.length, 32);
    assert.ok(
      v.every((b) => b === (p >= 17 && p <= 22 ? 0xff : 0)),
      `pcr${p}`,
    );
  }
  assert.ok(resetValue('rtmr3', 'sha384').every((b) => b === 0));
  assert.equal(resetValue('rtmr3', 'sha384').length, 48);
});
