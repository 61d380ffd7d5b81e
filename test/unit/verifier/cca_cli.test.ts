// End to end through the built CLI: an emulated CCA realm's token carries the extended REM and
// verifies with --trust-emulated; a real token verifies with its CPAK as --trust-anchor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { runCli, verifyEvidenceJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';
import { tempDir } from '../../_support/tmp.js';

test('emulated CCA: extend REM1, report, verify; the token carries REM1 = SHA-256(0^32 ‖ data)', async (t) => {
  const dir = tempDir(t, 'mrstack-cca-cli-');
  assert.equal((await runCli(['emulate', 'init', '--profile', 'cca', '--tvm-state', dir])).code, 0);
  assert.equal((await runCli(['mr', 'extend', 'rem1', '00112233', '--tvm-state', dir])).code, 0);
  assert.equal(
    (await runCli(['report', '--tvm-state', dir, '--nonce', '0a0b', '--out', join(dir, 'r.json')]))
      .code,
    0,
  );
  const v = await verifyEvidenceJson(join(dir, 'r.json'), {
    trustEmulated: true,
    tvmState: dir,
    nonce: '0a0b',
  });
  assert.equal(v.result.code, 0, v.result.stdout);
  const j = v.json;
  assert.equal(j.kind, 'cca');
  assert.equal(j.trust.emulated, true);
  assert.deepEqual(j.relaxed, []);
  // DESIGN §2: REM ← H(REM ‖ data) in the realm hash (sha256 by default).
  const expect = createHash('sha256')
    .update(Buffer.alloc(32))
    .update(Buffer.from('00112233', 'hex'))
    .digest('hex');
  assert.equal(j.claims['rem1'], expect);
  const wrong = await verifyEvidenceJson(join(dir, 'r.json'), {
    trustEmulated: true,
    tvmState: dir,
    nonce: '0a0c',
  });
  assert.equal(wrong.result.code, 1);
  assert.deepEqual(
    wrong.json.errors.map((e) => e.code),
    ['ERR_NONCE_MISMATCH'],
  );
});

test("emulated CCA: another TVM's roots do not verify this TVM's token (exit 1, untrusted root)", async (t) => {
  const dir = tempDir(t, 'mrstack-cca-a-');
  const other = tempDir(t, 'mrstack-cca-b-');
  for (const d of [dir, other])
    assert.equal((await runCli(['emulate', 'init', '--profile', 'cca', '--tvm-state', d])).code, 0);
  const ev = join(dir, 'r.json');
  assert.equal(
    (await runCli(['report', '--tvm-state', dir, '--nonce', '0a0b', '--out', ev])).code,
    0,
  );
  const control = await verifyEvidenceJson(ev, {
    trustEmulated: true,
    tvmState: dir,
    nonce: '0a0b',
  });
  assert.equal(control.result.code, 0, control.result.stdout);
  const foreign = await verifyEvidenceJson(ev, {
    trustEmulated: true,
    tvmState: other,
    nonce: '0a0b',
  });
  assert.equal(foreign.result.code, 1, foreign.result.stdout);
  assert.equal(foreign.json.verified, false);
  assert.deepEqual(
    foreign.json.errors.map((e) => [e.check, e.code]),
    [['platform_signature', 'ERR_UNTRUSTED_ROOT']],
  );
  // Nothing trusted at all: the same refusal.
  const none = await verifyEvidenceJson(ev, { nonce: '0a0b' });
  assert.equal(none.result.code, 1, none.result.stdout);
  assert.deepEqual(
    none.json.errors.map((e) => [e.check, e.code]),
    [['platform_signature', 'ERR_UNTRUSTED_ROOT']],
  );
});

test('CCA-3 through the CLI with its trust anchor; without one → exit 2', async () => {
  const tok = fixture('evidence', 'cca', 'rustcca-ffm00.cca-token.cbor');
  const ok = await verifyEvidenceJson(tok, {
    trustAnchor: fixture('evidence', 'cca', 'rustcca-tfa.ta.json'),
    relax: ['nonce'],
  });
  assert.equal(ok.result.code, 0);
  assert.deepEqual(ok.json.relaxed, ['nonce']);
  assert.equal(
    ok.json.claims['rim'],
    '311314ab73620350cf758834ae5c65d9e8c2dc7febe6e7d9654bbe864e300d49',
  );
  const none = await verifyEvidenceJson(tok);
  assert.equal(none.result.code, 2);
});
