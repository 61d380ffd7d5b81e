// keylime runtime policies (test/fixtures/appraisal/keylime, from keylime's own tests) imported
// with `mrstack policy import --from keylime` and applied to keylime's IMA list with the log-only
// `mrstack appraise --eventlog`: the verdicts keylime's test_ima_verification.py asserts, and
// the facts test_read_allowlist asserts of the whole policy file (and of its DSSE-signed form).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../_support/paths.js';
import { runCli, runCliJson } from '../_support/cli.js';
import { tempDir } from '../_support/tmp.js';

const F = join(REPO_ROOT, 'test', 'fixtures', 'appraisal', 'keylime');
const LIST = join(F, 'measurements.ima-sig.ascii');

interface Out {
  status: string;
  failures: number;
  findings: { id: string; status: string; claim: string; where: { record?: number } }[];
  ima: { entries: number; matched: number; excluded: number; unknown: number };
}

async function importPolicy(dir: string, file: string, extra: string[] = []): Promise<string> {
  const out = join(dir, `${file}.mrstack.json`);
  const r = await runCli([
    'policy',
    'import',
    '--from',
    'keylime',
    join(F, file),
    ...extra,
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

async function logOnly(policy: string): Promise<{ code: number | null; json: Out }> {
  const { result, json } = await runCliJson([
    'appraise',
    '--eventlog',
    LIST,
    '--policy',
    policy,
    '--json',
  ]);
  return { code: result.code, json: json as Out };
}

test('keylime verdicts on measurements.ima-sig.ascii', async (t) => {
  const dir = tempDir(t, 'mrstack-keylime-');
  // policy-test.json: pass ("the file has no signature but the hash is correct")
  const pass = await logOnly(await importPolicy(dir, 'policy-test.json'));
  assert.equal(pass.code, 0, JSON.stringify(pass.json));
  assert.equal(pass.json.failures, 0);
  assert.equal(pass.json.ima.entries, 3);
  assert.equal(pass.json.ima.matched, 3);
  // no quote vouches for a log alone: never affirming
  assert.equal(pass.json.status, 'none');
  assert.ok(pass.json.findings.some((f) => f.id === 'ima.log.unbound'));

  // policy-wrong-with-excludes.json: pass, every path excluded
  const ex = await logOnly(await importPolicy(dir, 'policy-wrong-with-excludes.json'));
  assert.equal(ex.code, 0);
  assert.equal(ex.json.ima.excluded, 3);

  // an empty runtime policy (no digests): fail, not in allowlist
  const empty = join(dir, 'empty.json');
  writeFileSync(
    empty,
    JSON.stringify({
      meta: { version: 1 },
      release: 0,
      digests: {},
      excludes: [],
      keyrings: {},
      ima: { ignored_keyrings: [], log_hash_alg: 'sha1', dm_policy: null },
      'ima-buf': {},
      'verification-keys': '',
    }),
  );
  const e = await runCli([
    'policy',
    'import',
    '--from',
    'keylime',
    empty,
    '--out',
    join(dir, 'e.json'),
  ]);
  assert.equal(e.code, 0, e.stderr);
  const fail = await logOnly(join(dir, 'e.json'));
  assert.equal(fail.code, 1);
  assert.equal(fail.json.failures, 3);
  assert.deepEqual(
    fail.json.findings
      .filter((f) => f.status === 'contraindicated')
      .map((f) => [f.id, f.where.record]),
    [
      ['ima.file.unknown', 0],
      ['ima.file.unknown', 1],
      ['ima.file.unknown', 2],
    ],
  );
  assert.equal(fail.json.findings[0]!.claim, 'boot_aggregate');
});

test('runtime-policy-test.json and its DSSE-signed form import as keylime reads them', async (t) => {
  const dir = tempDir(t, 'mrstack-keylime-signed-');
  const plain = JSON.parse(
    readFileSync(await importPolicy(dir, 'runtime-policy-test.json'), 'utf8'),
  ) as {
    ima: { digests: Record<string, string[]>; keyrings: Record<string, string[]> };
  };
  // test_read_allowlist: 21 digests, testload.mod's digest, one keyring
  assert.equal(Object.keys(plain.ima.digests).length, 21);
  assert.deepEqual(plain.ima.digests['/boot/grub2/i386-pc/testload.mod'], [
    '68e1d012e3f193dcde955e6ffbbc80e22b0f8778',
  ]);
  assert.equal(Object.keys(plain.ima.keyrings).length, 1);
  const signed = JSON.parse(
    readFileSync(
      await importPolicy(dir, 'runtime-policy-test-signed.json', [
        '--key',
        join(F, 'runtime-policy-pubkey.pub'),
      ]),
      'utf8',
    ),
  ) as { ima: unknown };
  assert.deepEqual(signed.ima, plain.ima);

  // without the key: refused; with a broken signature: refused
  const nokey = await runCliJson([
    'policy',
    'import',
    '--from',
    'keylime',
    join(F, 'runtime-policy-test-signed.json'),
    '--json',
  ]);
  assert.equal(nokey.result.code, 2);
  assert.equal((nokey.json as { error: { code: string } }).error.code, 'ERR_POLICY_INVALID');
  const env = JSON.parse(readFileSync(join(F, 'runtime-policy-test-signed.json'), 'utf8')) as {
    signatures: { sig: string }[];
  };
  const s = env.signatures[0]!.sig;
  env.signatures[0]!.sig = `${s.slice(0, 20)}${s[20] === 'A' ? 'B' : 'A'}${s.slice(21)}`;
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, JSON.stringify(env));
  const b = await runCliJson([
    'policy',
    'import',
    '--from',
    'keylime',
    broken,
    '--key',
    join(F, 'runtime-policy-pubkey.pub'),
    '--json',
  ]);
  assert.equal(b.result.code, 1);
  assert.equal((b.json as { error: { code: string } }).error.code, 'ERR_SIGNATURE_INVALID');
});
