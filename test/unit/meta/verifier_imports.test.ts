// A verifier-only consumer (`mrstack/verifier`, resolved through the built package's exports
// map) must not load the agent's HTTP stack, the FUSE addon or a database client: the hooks in
// module_recorder.ts log every module the child process resolves.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { runRecordingModules } from '../../_support/loaded_modules.js';

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
  const { res, packages, ownFiles } = runRecordingModules(t, [
    '--input-type=module',
    '-e',
    `await import(${JSON.stringify(entry)});`,
  ]);
  assert.equal(res.status, 0, res.stderr);
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
