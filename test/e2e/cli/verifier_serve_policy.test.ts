// `verifier serve --policy FILE` parses its policies once the store is open, and stores a
// policy version only when the store does not hold it yet (a million-path allowlist is ~140 MB
// of JSON: every start used to send it again and read it back). A policy that does not validate
// still fails the start with its own code and leaves the embedded store usable; the policy a
// start stored is served back by `GET /v1/policies/{name}` as the file says, after a second
// start with the same file as after the first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';
import { startVerifier, verifierEnv, verifierHttp } from '../../_support/verifier_service.js';

test('verifier serve --policy: a bad policy fails the start typed; a stored policy is served as its file says, across restarts', async (t) => {
  const dir = tempDir(t, 'mrstack-serve-policy-');
  const env = verifierEnv();
  const store = `embedded:${join(dir, 'store')}`;
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ version: 1, name: 'x', bogus: 1 }));
  const failed = await runCli(
    ['verifier', 'serve', '--listen', '127.0.0.1:0', '--store', store, '--policy', bad],
    { env },
  );
  assert.equal(failed.code, 2);
  assert.match(failed.stderr, /ERR_POLICY_INVALID/);
  const policy = {
    version: 1,
    name: 'hosts',
    ima: { digests: { '/usr/bin/a': ['11'.repeat(32)], '/usr/bin/b': ['22'.repeat(32)] } },
  };
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify(policy));
  const args = ['--listen', '127.0.0.1:0', '--store', store, '--policy', good];
  const auth = { authorization: `Bearer ${env.MRSTACK_VERIFIER_ADMIN_TOKEN}` };
  const ids: string[] = [];
  for (let start = 0; start < 2; start++) {
    // the store the failed start opened is free again, and a second start finds the policy in it
    const svc = await startVerifier(args, env);
    try {
      const got = await verifierHttp(svc.url, 'GET', '/v1/policies/hosts', undefined, auth);
      assert.equal(got.status, 200, JSON.stringify(got.json));
      assert.deepEqual(got.json['policy'], policy);
      ids.push(got.json['id'] as string);
    } finally {
      await svc.stop();
    }
  }
  assert.match(ids[0]!, /^hosts@sha256:[0-9a-f]{64}$/);
  assert.equal(ids[1], ids[0]);
});
