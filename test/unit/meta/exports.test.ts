// The package entry resolves through its `exports` map (self-reference by name) and deep
// imports are blocked, so `src/index.ts` is the only public surface.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../_support/paths.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  license: string;
  bin: Record<string, string>;
};

test('package.json declares Apache-2.0, the mrstack bin and the exports map', () => {
  assert.equal(pkg.license, 'Apache-2.0');
  assert.equal(pkg.bin['mrstack'], './dist/src/cli/main.js');
  assert.deepEqual(Object.keys(pkg.exports).sort(), ['.', './package.json']);
});

test('the public entry resolves by package name and exposes the core API', async () => {
  const api = (await import('mrstack')) as Record<string, unknown>;
  for (const name of [
    'ByteReader',
    'ByteWriter',
    'ParseError',
    'extend',
    'parseHashAlg',
    'ERROR_CODES',
  ]) {
    assert.ok(name in api, `index exports ${name}`);
  }
});

test('deep imports are blocked by the exports map', async () => {
  const deep = 'mrstack/dist/src/errors.js';
  await assert.rejects(import(deep), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});
