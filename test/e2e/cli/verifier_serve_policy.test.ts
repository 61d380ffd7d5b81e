// `verifier serve --policy FILE` parses its policies once the store is open, and stores a
// policy version only when the store does not hold it yet (a million-path allowlist is ~140 MB
// of JSON: every start used to send it again and read it back). A policy that does not validate
// still fails the start with its own code and leaves the embedded store usable; the policy a
// start stored is served back by `GET /v1/policies/{name}` as the file says, after a second
// start with the same file as after the first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';
import { startVerifier, verifierEnv, verifierHttp } from '../../_support/verifier_service.js';
import { rehashedWithDebug } from '../../_support/policy_cache_forgery.js';

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

/** Canonical JSON the plain way (every object's keys sorted): the policy id's input. */
function sortedJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : x,
  );
}

const sha256 = (b: string | Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A policy over `n` paths (over 1 MiB of JSON for 11,000: cached) that checks TDX debug. */
function bigPolicy(n: number, salt: string): object {
  const digests: Record<string, string[]> = {};
  for (let i = 0; i < n; i++)
    digests[`/usr/lib/x86_64-linux-gnu/f${i}.so`] = [sha256(`${salt}${i}`)];
  return { version: 1, name: 'big', ima: { digests }, tdx: { debug: false } };
}

/** The status of a debug TD under a policy that does not accept one. */
const REFUSED = 'contraindicated';

test("verifier serve --policy: a large policy goes through appraise's policy cache, keyed by the file's bytes — a restart reads the entry, a changed file never gets the old one's", async (t) => {
  const dir = tempDir(t, 'mrstack-serve-policy-cache-');
  const cache = join(dir, 'cache');
  const tvm = join(dir, 'tvm');
  // a debug TD: refused by the policy's `tdx.debug: false`, accepted by a forged `true`
  const init = await runCli(['emulate', 'init', '--profile', 'tdx', '--debug', '--tvm-state', tvm]);
  assert.equal(init.code, 0, init.stderr);
  const env = { ...verifierEnv(), MRSTACK_POLICY_CACHE: cache };
  const file = join(dir, 'big.json');
  const args = ['--listen', '127.0.0.1:0', '--store', `embedded:${join(dir, 'store')}`,
    '--policy', file, '--trust-emulated', '--tvm-state', tvm]; // prettier-ignore
  /** One start: the status and policy id of a stateless verification of an emulated report. */
  const appraised = async (): Promise<{ status: string; policy_id: string }> => {
    const svc = await startVerifier(args, env);
    try {
      const nonce = randomBytes(32).toString('hex');
      const report = join(dir, `report-${nonce.slice(0, 8)}.json`);
      const made = await runCli(['report', '--nonce', nonce, '--provider', 'emulated',
        '--tvm-state', tvm, '--out', report]); // prettier-ignore
      assert.equal(made.code, 0, made.stderr);
      const r = await verifierHttp(
        svc.url,
        'POST',
        `/v1/verify?nonce=${nonce}`,
        new Uint8Array(readFileSync(report)),
      );
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const j = r.json as { status: string; policy_id: string };
      return { status: j.status, policy_id: j.policy_id };
    } finally {
      await svc.stop();
    }
  };

  const a = bigPolicy(11_000, 'a');
  writeFileSync(file, JSON.stringify(a));
  assert.ok(statSync(file).size >= 1 << 20, 'large enough to be cached');
  const idA = `big@sha256:${sha256(sortedJson(a))}`;
  const entryA = join(cache, `${sha256(readFileSync(file))}.bin`);
  // first start: validated from the file, the entry written under the file's SHA-256
  assert.deepEqual(await appraised(), { status: REFUSED, policy_id: idA });
  assert.ok(statSync(entryA).isFile(), 'the first start wrote the cache entry');

  // the entry, rewritten with a valid checksum by whoever can write the (private) cache
  // directory, is what a restart uses (docs/appraisal.md: the check finds corruption, not
  // authors): the policy in effect then accepts the debug TD
  writeFileSync(entryA, rehashedWithDebug(readFileSync(entryA)), { mode: 0o600 });
  assert.deepEqual(await appraised(), { status: 'affirming', policy_id: idA });

  // the file changed (one digest): its bytes hash to another key, the old entry is not used
  const b = bigPolicy(11_000, 'a');
  (b as { ima: { digests: Record<string, string[]> } }).ima.digests[
    '/usr/lib/x86_64-linux-gnu/f0.so'
  ] = [sha256('changed')];
  writeFileSync(file, JSON.stringify(b));
  const idB = `big@sha256:${sha256(sortedJson(b))}`;
  assert.notEqual(idB, idA);
  assert.deepEqual(await appraised(), { status: REFUSED, policy_id: idB });
  assert.ok(statSync(join(cache, `${sha256(readFileSync(file))}.bin`)).isFile());

  // and a cache directory others can write is not read: the file's policy applies
  writeFileSync(file, JSON.stringify(a));
  chmodSync(cache, 0o770);
  assert.deepEqual(await appraised(), { status: REFUSED, policy_id: idA });
});
