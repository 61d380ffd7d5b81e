// The error registry, its union type and docs/errors.md must name the same codes (fastify's
// errors.test.js idea): no undocumented code, no documented code that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../../src/errors.js';
import { REPO_ROOT } from '../../_support/paths.js';

const doc = readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
const src = readFileSync(join(REPO_ROOT, 'src', 'errors.ts'), 'utf8');

test('every registered code is documented with its exit code', () => {
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
    assert.ok(row, `docs/errors.md has no row for ${code}`);
    assert.match(row, new RegExp(`^\\| \`${code}\` \\| ${info.exit} \\|`), `exit code of ${code}`);
  }
});

test('docs/errors.md names no code that does not exist', () => {
  const documented = [...doc.matchAll(/`(ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]!);
  for (const code of documented) assert.ok(code in ERROR_CODES, `docs name unknown ${code}`);
});

test('the ErrorCode union lists exactly the registry', () => {
  const union = /export type ErrorCode =([^;]+);/.exec(src)?.[1] ?? '';
  const inUnion = [...union.matchAll(/'(ERR_[A-Z0-9_]+)'/g)].map((m) => m[1]!).sort();
  assert.deepEqual(inUnion, Object.keys(ERROR_CODES).sort());
});
