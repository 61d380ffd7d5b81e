#!/usr/bin/env node
// Runs node:test on the compiled tests. Node 20's `node --test DIR` counts helper modules as
// passing test files, so the list of *.test.js files is collected here and passed explicitly.
// Usage: node scripts/run_tests.mjs [substring-filter ...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testRoot = join(root, 'dist', 'test');

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
let files = collect(testRoot);
if (filters.length > 0) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('run_tests: no test files found under dist/test (did tsc run?)');
  process.exit(2);
}
console.error(`run_tests: ${files.length} test files`);
const concurrency = process.env.MRSTACK_TEST_CONCURRENCY ?? '2';
const res = spawnSync(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    ...files.map((f) => relative(root, f)),
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, MRSTACK_REPO_ROOT: root } },
);
process.exit(res.status ?? 1);
