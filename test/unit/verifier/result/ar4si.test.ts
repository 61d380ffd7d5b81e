// AR4SI tiers and vector status, against the table of draft-ietf-rats-ar4si (shared appraisal
// PROVENANCE §2) and veraison/ear's TestUpdateStatusFromTrustVector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  statusCoversVector,
  statusFromVector,
  tierOf,
} from '../../../../src/verifier/result/ar4si.js';
import { parseStrictJson } from '../../../../src/formats/json/json_strict.js';

test('tier boundaries, standard and non-standard values', () => {
  const want: [number, string][] = [
    [0, 'none'],
    [1, 'none'],
    [-1, 'none'],
    [2, 'affirming'],
    [31, 'affirming'],
    [-2, 'affirming'],
    [-32, 'affirming'],
    [32, 'warning'],
    [95, 'warning'],
    [-33, 'warning'],
    [-96, 'warning'],
    [96, 'contraindicated'],
    [99, 'contraindicated'],
    [127, 'contraindicated'],
    [-97, 'contraindicated'],
    [-128, 'contraindicated'],
  ];
  for (const [v, t] of want) assert.equal(tierOf(v), t, String(v));
});

test('status from a vector: worst tier, zeros never pull an affirming vector down', () => {
  assert.equal(statusFromVector({}), 'none');
  assert.equal(statusFromVector({ configuration: 2 }), 'affirming');
  assert.equal(statusFromVector({ configuration: 2, hardware: 0 }), 'affirming');
  assert.equal(statusFromVector({ configuration: 96, executables: 2 }), 'contraindicated');
  assert.equal(statusFromVector({ executables: 33, hardware: 2 }), 'warning');
  // A status may be more cautious than its claims, never better.
  assert.ok(statusCoversVector('warning', { configuration: 2 }));
  assert.ok(statusCoversVector('affirming', {}));
  assert.ok(!statusCoversVector('affirming', { hardware: 97 }));
  assert.ok(!statusCoversVector('warning', { executables: 96 }));
});

test('strict JSON: duplicate members refused, non-integer literals reported', () => {
  assert.throws(() => parseStrictJson('{"a":1,"a":2}', 'x'), { code: 'ERR_BAD_JSON' });
  assert.throws(() => parseStrictJson('{"a":{"b":1,"b":1}}', 'x'), { code: 'ERR_BAD_JSON' });
  assert.throws(() => parseStrictJson('{"a":1} x', 'x'), { code: 'ERR_BAD_JSON' });
  assert.throws(() => parseStrictJson('['.repeat(100) + ']'.repeat(100), 'x'), {
    code: 'ERR_BAD_JSON',
  });
  const r = parseStrictJson(
    '{"iat":1.666091373e+09,"exp":5,"s":{"n":2.0},"__proto__":{"x":1}}',
    'x',
  );
  assert.deepEqual([...r.nonIntegerLiterals].sort(), ['/iat', '/s/n']);
  const v = r.value as Record<string, unknown>;
  assert.equal(v['iat'], 1666091373);
  assert.deepEqual(Object.keys(v), ['iat', 'exp', 's', '__proto__']);
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(parseStrictJson('"a\\u00e9\\n"', 'x').value, 'aé\n');
});
