// `mrstack verifier serve` end to end, through the built CLI: an emulated TDX quote bound to a
// session's nonce is affirmed and its EAR verifies under the served JWKS (checked with
// node:crypto, not with the code that signed it); a reused, an expired and an unknown nonce each
// fail with their own code; a tampered quote does not pass; admin routes need the token; and a
// fleet of 3 processes on one PostgreSQL acts as one verifier (a session opened on one process
// is consumed on another and refused as reused on the third; one signing key for all).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify as cryptoVerify, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliError, runCli, runCliJson } from '../../_support/cli.js';
import { startPostgres, type PgServer } from '../../_support/postgres.js';
import {
  startVerifier,
  verifierHttp,
  type ServedVerifier,
} from '../../_support/verifier_service.js';

const root = mkdtempSync(join(tmpdir(), 'mrstack-vsvc-'));
const KEK = randomBytes(32).toString('hex');
const TOKEN = randomBytes(16).toString('hex');
const ENV = { MRSTACK_VERIFIER_KEK: KEK, MRSTACK_VERIFIER_ADMIN_TOKEN: TOKEN };
const tvm = join(root, 'tvm');

/** `mrstack verifier serve ARGS` with this file's key-encryption key and admin token. */
function serve(args: string[]): Promise<ServedVerifier> {
  return startVerifier(args, ENV);
}

const http = verifierHttp;

async function emulatedReport(nonceHex: string): Promise<string> {
  const out = join(root, `report-${nonceHex.slice(0, 8)}.json`);
  const r = await runCli([
    'report',
    '--nonce',
    nonceHex,
    '--provider',
    'emulated',
    '--tvm-state',
    tvm,
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

/** Verifies a compact ES256 JWS with the JWKS entry its kid names, using node:crypto only. */
function checkJws(
  token: string,
  jwks: { keys: Record<string, unknown>[] },
): Record<string, unknown> {
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as {
    alg: string;
    kid: string;
  };
  assert.equal(header.alg, 'ES256');
  const jwk = jwks.keys.find((k) => k['kid'] === header.kid);
  assert.ok(jwk !== undefined, 'the token kid is in the JWKS');
  const key = createPublicKey({
    key: { kty: jwk['kty'], crv: jwk['crv'], x: jwk['x'], y: jwk['y'] } as never,
    format: 'jwk',
  });
  const ok = cryptoVerify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'),
  );
  assert.ok(ok, 'EAR signature verifies');
  return JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
}

let pg: PgServer | undefined;
before(async () => {
  const init = await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm]);
  assert.equal(init.code, 0, init.stderr);
  pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('verifier serve on the embedded store', () => {
  let svc: ServedVerifier;
  before(async () => {
    svc = await serve([
      '--listen',
      '127.0.0.1:0',
      '--store',
      `embedded:${join(root, 'store')}`,
      '--trust-emulated',
      '--tvm-state',
      tvm,
      '--session-ttl',
      '120',
    ]);
  });
  after(async () => {
    await svc.stop();
  });

  test('session → emulated TDX quote → affirming EAR that verifies under the JWKS', async () => {
    const ch = await runCliJson(['verifier', 'challenge', '--verifier', svc.url]);
    assert.equal(ch.result.code, 0, ch.result.stderr);
    const session = ch.json as { id: string; nonce: string; expires_at: string };
    assert.match(session.nonce, /^[0-9a-f]{64}$/);
    const file = await emulatedReport(session.nonce);
    const sub = await runCliJson(
      ['verifier', 'submit', '--verifier', svc.url, '--session', session.id, file],
      { env: ENV },
    );
    assert.equal(sub.result.code, 0, sub.result.stdout + sub.result.stderr);
    const r = sub.json as {
      status: string;
      passed: boolean;
      verified: boolean;
      ear: string;
      relaxed: string[];
    };
    assert.equal(r.verified, true);
    assert.equal(r.status, 'affirming');
    assert.deepEqual(r.relaxed, []);
    const jwks = (await http(svc.url, 'GET', '/.well-known/jwks.json')).json as {
      keys: Record<string, unknown>[];
    };
    const claims = checkJws(r.ear, jwks);
    // The EAR carries the session's nonce (RFC 9711 eat_nonce, base64url here).
    assert.equal(
      Buffer.from(claims['eat_nonce'] as string, 'base64url').toString('hex'),
      session.nonce,
    );
    assert.equal(claims['eat_profile'], 'tag:github.com,2023:veraison/ear');

    // The same nonce again: consumed.
    const again = await runCliJson([
      'verifier',
      'submit',
      '--verifier',
      svc.url,
      '--session',
      session.id,
      file,
      '--json',
    ]);
    assert.equal(again.result.code, 1);
    assert.equal(cliError(again.json).code, 'ERR_NONCE_REUSED');
    // The session now names its result.
    const got = await http(svc.url, 'GET', `/v1/sessions/${session.id}`);
    assert.equal(typeof (got.json as { result_id?: unknown }).result_id, 'string');
  });

  test('session ids are 32 hex digits: none starts with "-", which a command line reads as an option', async () => {
    // With base64url ids one in 32 began with '-' or '_'; `verifier submit --session -V…`
    // then printed commander's version and exited 0.
    for (let i = 0; i < 64; i++) {
      const s = (await http(svc.url, 'POST', '/v1/sessions', '{}')).json as { id: string };
      assert.match(s.id, /^[0-9a-f]{32}$/);
    }
  });

  test('unknown and expired nonces each fail with their own code', async () => {
    const unknown = await http(svc.url, 'POST', '/v1/sessions/nope/evidence', new Uint8Array(8));
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json as { error: { code: string } }).error.code, 'ERR_NONCE_UNKNOWN');
    // Expiry on a second service whose sessions live 1 s (a short lifetime on the main one made
    // the other tests race the clock at load 24).
    const short = await serve([
      '--listen',
      '127.0.0.1:0',
      '--store',
      `embedded:${join(root, 'store-short')}`,
      '--trust-emulated',
      '--tvm-state',
      tvm,
      '--session-ttl',
      '1',
    ]);
    try {
      await expiredOn(short);
    } finally {
      await short.stop();
    }
  });

  async function expiredOn(svc: ServedVerifier): Promise<void> {
    const s = (await http(svc.url, 'POST', '/v1/sessions', '{}')).json as {
      id: string;
      expires_at: string;
    };
    const file = await emulatedReport(
      ((await http(svc.url, 'GET', `/v1/sessions/${s.id}`)).json as { nonce: string }).nonce,
    );
    const wait = Date.parse(s.expires_at) - Date.now() + 300;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const expired = await http(
      svc.url,
      'POST',
      `/v1/sessions/${s.id}/evidence`,
      readFileSync(file),
    );
    assert.equal(expired.status, 410);
    assert.equal((expired.json as { error: { code: string } }).error.code, 'ERR_NONCE_EXPIRED');
  }

  test('a tampered quote does not pass and is recorded as such', async () => {
    const s = (await http(svc.url, 'POST', '/v1/sessions', '{}')).json as {
      id: string;
      nonce: string;
    };
    const file = await emulatedReport(s.nonce);
    const env = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    // Flip one byte inside the signed TD report body of the quote (after the 48-byte header).
    const blob = Buffer.from(env['outblob'] as string, 'hex');
    blob[48 + 100] = blob[48 + 100]! ^ 0x01;
    env['outblob'] = blob.toString('hex');
    const bad = join(root, 'tampered.json');
    writeFileSync(bad, JSON.stringify(env));
    const sub = await runCliJson([
      'verifier',
      'submit',
      '--verifier',
      svc.url,
      '--session',
      s.id,
      bad,
    ]);
    assert.equal(sub.result.code, 1, sub.result.stdout);
    const r = sub.json as { passed: boolean; verified: boolean; status: string };
    assert.equal(r.verified, false);
    assert.equal(r.passed, false);
    assert.notEqual(r.status, 'affirming');
  });

  test('stateless /v1/verify with the caller nonce; admin routes need the token', async () => {
    const nonce = randomBytes(32).toString('hex');
    const file = await emulatedReport(nonce);
    const ok = await runCliJson([
      'verifier',
      'submit',
      '--verifier',
      svc.url,
      '--nonce',
      nonce,
      file,
    ]);
    assert.equal(ok.result.code, 0, ok.result.stdout);
    const wrong = await runCliJson([
      'verifier',
      'submit',
      '--verifier',
      svc.url,
      '--nonce',
      randomBytes(32).toString('hex'),
      file,
    ]);
    assert.equal(wrong.result.code, 1);
    assert.equal((wrong.json as { verified: boolean }).verified, false);

    assert.equal((await http(svc.url, 'GET', '/v1/results')).status, 403);
    assert.equal(
      (await http(svc.url, 'GET', '/v1/results', undefined, { authorization: 'Bearer wrong' }))
        .status,
      403,
    );
    const res = await http(svc.url, 'GET', '/v1/results?limit=100', undefined, {
      authorization: `Bearer ${TOKEN}`,
    });
    assert.equal(res.status, 200);
    const rows = (res.json as { results: { passed: boolean }[] }).results;
    // The affirmed session, the tampered one, and the two stateless calls at least.
    assert.ok(rows.filter((r) => r.passed).length >= 2);
    assert.ok(rows.filter((r) => !r.passed).length >= 2);
  });

  test('policies are immutable, digest-addressed versions; an invalid one is refused', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const policy = { version: 1, name: 'prod', require: { nonce: true }, tdx: { debug: false } };
    const put = await http(svc.url, 'PUT', '/v1/policies/prod', JSON.stringify(policy), auth);
    assert.equal(put.status, 201, JSON.stringify(put.json));
    const id = (put.json as { id: string }).id;
    assert.match(id, /^prod@sha256:[0-9a-f]{64}$/);
    const again = await http(svc.url, 'PUT', '/v1/policies/prod', JSON.stringify(policy), auth);
    assert.equal(again.status, 200);
    assert.deepEqual(again.json, { id, created: false });
    const got = await http(svc.url, 'GET', `/v1/policies/${id}`);
    assert.deepEqual((got.json as { policy: unknown }).policy, policy);
    const bad = await http(
      svc.url,
      'PUT',
      '/v1/policies/prod',
      JSON.stringify({ version: 1, name: 'prod', tdx: { debug: 'maybe' } }),
      auth,
    );
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { error: { code: string } }).error.code, 'ERR_POLICY_INVALID');
    const misnamed = await http(svc.url, 'PUT', '/v1/policies/other', JSON.stringify(policy), auth);
    assert.equal(misnamed.status, 400);
    const noauth = await http(svc.url, 'PUT', '/v1/policies/prod', JSON.stringify(policy));
    assert.equal(noauth.status, 403);
    // Sessions can name the stored version; evidence is appraised with it.
    const s = (await http(svc.url, 'POST', '/v1/sessions', '{}')).json as {
      id: string;
      nonce: string;
    };
    const file = readFileSync(await emulatedReport(s.nonce));
    const r = await http(
      svc.url,
      'POST',
      `/v1/sessions/${s.id}/evidence?policy=${encodeURIComponent(id)}`,
      file,
    );
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal((r.json as { policy_id: string }).policy_id, id);
  });

  test('health, readiness and the OpenAPI document', async () => {
    assert.equal((await http(svc.url, 'GET', '/healthz')).status, 200);
    const ready = await http(svc.url, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual((ready.json as { checks: unknown }).checks, {
      database: true,
      signing_key: true,
    });
    const doc = (await http(svc.url, 'GET', '/openapi.json')).json as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.equal(doc.openapi, '3.1.0');
    for (const p of [
      '/v1/sessions',
      '/v1/sessions/{id}/evidence',
      '/v1/verify',
      '/.well-known/jwks.json',
    ]) {
      assert.ok(p in doc.paths, p);
    }
  });

  test('plain HTTP on a non-loopback address is refused without --insecure-http', async () => {
    const r = await runCliJson(
      [
        'verifier',
        'serve',
        '--listen',
        '0.0.0.0:0',
        '--store',
        `embedded:${join(root, 'x')}`,
        '--json',
      ],
      { env: ENV },
    );
    assert.equal(r.result.code, 2);
    assert.equal(cliError(r.json).code, 'ERR_USAGE');
  });
});

describe('a fleet of 3 verifier processes on one PostgreSQL', () => {
  test('acts as one verifier: one key, sessions consumed once across processes', async () => {
    const url = pg!.createDatabase('fleet');
    const fleet = await Promise.all(
      [0, 1, 2].map(() =>
        serve(['--listen', '127.0.0.1:0', '--store', url, '--trust-emulated', '--tvm-state', tvm]),
      ),
    );
    try {
      // Three processes started at once on an empty store agree on one active key.
      const jwks = await Promise.all(
        fleet.map(async (f) => (await http(f.url, 'GET', '/.well-known/jwks.json')).json),
      );
      assert.deepEqual(jwks[1], jwks[0]);
      assert.deepEqual(jwks[2], jwks[0]);
      // Round robin: open on process i, submit on i+1, replay on i+2.
      for (let i = 0; i < 3; i++) {
        const [a, b, c] = [fleet[i]!, fleet[(i + 1) % 3]!, fleet[(i + 2) % 3]!];
        const s = (await http(a.url, 'POST', '/v1/sessions', '{}')).json as {
          id: string;
          nonce: string;
        };
        const file = readFileSync(await emulatedReport(s.nonce));
        const ok = await http(b.url, 'POST', `/v1/sessions/${s.id}/evidence`, file);
        assert.equal(ok.status, 200, JSON.stringify(ok.json));
        const r = ok.json as { passed: boolean; ear: string };
        assert.equal(r.passed, true);
        checkJws(r.ear, jwks[0] as { keys: Record<string, unknown>[] });
        const replay = await http(c.url, 'POST', `/v1/sessions/${s.id}/evidence`, file);
        assert.equal(replay.status, 409);
        assert.equal((replay.json as { error: { code: string } }).error.code, 'ERR_NONCE_REUSED');
      }
    } finally {
      await Promise.all(fleet.map((f) => f.stop()));
    }
  });
});
