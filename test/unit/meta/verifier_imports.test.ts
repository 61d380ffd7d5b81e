// A verifier-only consumer (`mrstack/verifier`, resolved through the built package's exports
// map) must not load the agent's HTTP stack, the FUSE addon or a database client: the hooks in
// module_recorder.ts log every module the child process resolves.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../_support/paths.js';
import { tempDir } from '../../_support/tmp.js';

const FORBIDDEN = [
  'fastify',
  'pino',
  'fuse-native',
  '@cocalc/fuse-native',
  'pg',
  'postgres',
  'mysql',
  'mysql2',
  'sqlite3',
  'better-sqlite3',
  'mongodb',
  'redis',
  'ioredis',
];

function packagesLoaded(
  t: TestContext,
  entry: string,
): { packages: Set<string>; ownFiles: string[] } {
  const dir = tempDir(t, 'verifier-imports-');
  const log = join(dir, 'loaded.txt');
  const hooks = pathToFileURL(join(REPO_ROOT, 'dist', 'test', '_support', 'module_recorder.js'));
  const register = `import { register } from 'node:module'; register(${JSON.stringify(hooks.href)});`;
  const res = spawnSync(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(register)}`,
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(entry)});`,
    ],
    { cwd: REPO_ROOT, env: { ...process.env, MRSTACK_LOADED_LOG: log }, encoding: 'utf8' },
  );
  assert.equal(res.status, 0, res.stderr);
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const packages = new Set<string>();
  for (const u of urls) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
    if (m) packages.add(m[1]!);
  }
  const ownFiles = urls.filter((u) => u.includes('/dist/src/'));
  return { packages, ownFiles };
}

test('mrstack/verifier loads no HTTP server, FUSE addon or database client', (t) => {
  const { packages, ownFiles } = packagesLoaded(t, 'mrstack/verifier');
  // The hooks saw the verifier itself and a package it needs (cbor-x, for CCA tokens), so an
  // empty list cannot pass by accident.
  assert.ok(ownFiles.some((u) => u.endsWith('/dist/src/verifier/index.js')));
  assert.ok(packages.has('cbor-x'), [...packages].join(', '));
  const forbidden = FORBIDDEN.filter((p) => packages.has(p));
  assert.deepEqual(forbidden, [], `loaded: ${[...packages].join(', ')}`);
  assert.ok(!ownFiles.some((u) => /\/dist\/src\/(agent|providers|emulate|cli)\//.test(u)));
});
