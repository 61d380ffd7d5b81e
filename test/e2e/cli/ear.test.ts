// `mrstack ear show|verify|keygen|jwks` as a user runs them, on the shared interop tokens
// (expected outcomes from test/fixtures/appraisal/ear/expected.json) and on a key it generates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliError, runCli, runCliJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';
import { tempDir } from '../../_support/tmp.js';

const F = (...p: string[]): string => fixture('appraisal', 'ear', ...p);
const KEY = F('keys', 'veraison-es256.pub.jwk');

test('ear verify: a veraison token verifies with --key (exit 0) and decodes to its asserted vector', async () => {
  const { result, json } = await runCliJson([
    'ear',
    'verify',
    F('veraison-arc-es256.jwt'),
    '--key',
    KEY,
    '--json',
  ]);
  assert.equal(result.code, 0, result.stderr);
  const j = json as {
    verified: boolean;
    ear: { submods: Record<string, { status: string; trustVector: Record<string, number> }> };
  };
  assert.equal(j.verified, true);
  assert.equal(j.ear.submods['test']!.status, 'affirming');
  assert.equal(j.ear.submods['test']!.trustVector['executables'], 3);
  const plain = await runCli(['ear', 'verify', F('rust-ear-parsec-tpm.jwt'), '--jwks', KEY]);
  assert.equal(plain.code, 0);
  assert.match(plain.stdout, /PARSEC_TPM[\s│]+affirming/);
});

test('ear verify refusals: exit code and error code', async () => {
  const cases: [string[], number, string][] = [
    [[F('veraison-arc-es256-header-jwk.jwt')], 1, 'ERR_UNTRUSTED_KEY'],
    [[F('trustee-cca-realm-expired.jwt')], 1, 'ERR_UNTRUSTED_KEY'],
    [[F('veraison-ear-2022-flat-legacy.jwt'), '--key', KEY], 2, 'ERR_EAR_PROFILE'],
    [[F('negative', 'veraison-ear-alg-none.jwt'), '--key', KEY], 1, 'ERR_JWS_ALG_REFUSED'],
    [
      [F('negative', 'veraison-ear-hs256-alg-mismatch.jwt'), '--key', KEY],
      1,
      'ERR_JWS_ALG_REFUSED',
    ],
    [[F('negative', 'veraison-ear-leading-dot.jwt'), '--key', KEY], 2, 'ERR_BAD_ENCODING'],
    [[F('veraison-arc-es256.jwt'), '--key', KEY, '--at', 'yesterday-ish'], 2, 'ERR_USAGE'],
  ];
  for (const [args, exit, code] of cases) {
    const { result, json } = await runCliJson(['ear', 'verify', ...args, '--json']);
    assert.equal(result.code, exit, `${args.join(' ')}: ${result.stdout}`);
    assert.equal(cliError(json).code, code, args.join(' '));
  }
});

test('ear verify --at: trustee token under its own header key, before and after exp', async (t) => {
  const dir = tempDir(t, 'ear-cli-');
  const token = readFileSync(F('trustee-cca-realm-expired.jwt'), 'utf8');
  const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as {
    jwk: unknown;
  };
  writeFileSync(join(dir, 'k.jwk'), JSON.stringify(header.jwk));
  const expired = await runCliJson([
    'ear',
    'verify',
    F('trustee-cca-realm-expired.jwt'),
    '--key',
    join(dir, 'k.jwk'),
    '--json',
  ]);
  assert.equal(expired.result.code, 1);
  assert.equal(cliError(expired.json).code, 'ERR_TOKEN_EXPIRED');
  const before = await runCli([
    'ear',
    'verify',
    F('trustee-cca-realm-expired.jwt'),
    '--key',
    join(dir, 'k.jwk'),
    '--at',
    '2025-07-09T11:10:00Z',
  ]);
  assert.equal(before.code, 0, before.stderr);
});

test('ear show decodes without verifying and says so', async () => {
  const r = await runCli(['ear', 'show', F('veraison-ear-extensions.jwt')]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /NOT CHECKED/);
  assert.match(r.stdout, /policy:\/\/test\/01234/);
});

test('ear keygen writes a 0600 PKCS#8 key; ear jwks publishes it with its thumbprint kid', async (t) => {
  const dir = tempDir(t, 'ear-cli-');
  const keyFile = join(dir, 'ear.pem');
  const { result, json } = await runCliJson([
    'ear',
    'keygen',
    '--out',
    keyFile,
    '--jwks-out',
    join(dir, 'jwks.json'),
    '--json',
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.match(readFileSync(keyFile, 'utf8'), /BEGIN PRIVATE KEY/);
  const kid = (json as { kid: string; alg: string }).kid;
  assert.equal((json as { alg: string }).alg, 'ES256');
  const jwks = await runCliJson(['ear', 'jwks', keyFile]);
  const k = (jwks.json as { keys: Record<string, string>[] }).keys[0]!;
  assert.equal(k['kid'], kid);
  assert.equal(k['crv'], 'P-256');
  assert.equal(k['d'], undefined, 'no private member in a JWKS');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'jwks.json'), 'utf8')), jwks.json);
  // Refuses to overwrite an existing key.
  const again = await runCliJson(['ear', 'keygen', '--out', keyFile, '--json']);
  assert.equal(again.result.code, 2);
  assert.equal(cliError(again.json).code, 'ERR_CONFLICT');
});
