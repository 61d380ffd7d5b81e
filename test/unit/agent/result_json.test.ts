// The agent's two answers for an acknowledged event — one append, and one event of a batch —
// are built by two literals on purpose (sharing them cost ~40 % of the batched socket rate, see
// agent/server.ts). This keeps the twins honest: a batch entry is `index` followed by exactly the
// single append's fields, in the same order, for every combination of the optional fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendResult } from '../../../src/agent/agent.js';
import { appendResultToJson, batchResultToJson } from '../../../src/agent/server.js';
import { MrstackError } from '../../../src/errors.js';

const base: AppendResult = {
  status: 'acknowledged',
  tenant: 'alice',
  vmr: 'vmr0',
  record: 7,
  value: 'ab'.repeat(48),
  register: 'rtmr3',
  duplicate: false,
};

const variants: AppendResult[] = [
  base,
  { ...base, id: 'req-1' },
  { ...base, physicalRecord: 12 },
  { ...base, id: 'req-2', physicalRecord: 0, duplicate: true },
];

test('a batch entry is the single answer with its index first, field for field', () => {
  for (const [i, r] of variants.entries()) {
    const single = appendResultToJson(r);
    const entry = batchResultToJson(r, i);
    assert.deepEqual(Object.keys(entry), ['index', ...Object.keys(single)], `keys of variant ${i}`);
    assert.deepEqual(entry, { index: i, ...single }, `values of variant ${i}`);
  }
  // The optional fields appear exactly when set, under their wire names.
  assert.equal('id' in appendResultToJson(base), false);
  assert.equal(appendResultToJson(variants[1]!)['id'], 'req-1');
  assert.equal(appendResultToJson(variants[2]!)['physical_record'], 12);
  assert.equal(appendResultToJson(variants[3]!)['physical_record'], 0);
});

test('a rejected batch entry carries its index, id and the typed error', () => {
  const error = new MrstackError('ERR_BAD_JSON', 'event.digest: expected hex');
  const entry = batchResultToJson({ status: 'rejected', index: 3, id: 'x', error }, 3);
  assert.deepEqual(entry, { index: 3, status: 'rejected', id: 'x', error: error.toJSON() });
  assert.equal((entry.error as { code: string }).code, 'ERR_BAD_JSON');
});
