// End to end through the built CLI: an emulated SNP TVM's `mrstack report` verifies with
// `evidence verify --trust-emulated` (exit 0), is refused without it (exit 1), and a real
// capture verifies with --cert at its asserted time with the JSON contract's names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cliError, runCli, runCliJson, verifyEvidenceJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';
import { tempDir } from '../../_support/tmp.js';

test('emulated SNP: report → evidence verify (--trust-emulated, nonce), refused without trust', async (t) => {
  const dir = tempDir(t, 'mrstack-snp-cli-');
  const init = await runCli(['emulate', 'init', '--profile', 'snp', '--tvm-state', dir, '--json']);
  assert.equal(init.code, 0, init.stderr);
  const rep = await runCli([
    'report',
    '--tvm-state',
    dir,
    '--nonce',
    '00112233',
    '--out',
    join(dir, 'r.json'),
  ]);
  assert.equal(rep.code, 0, rep.stderr);
  const ok = await verifyEvidenceJson(join(dir, 'r.json'), {
    trustEmulated: true,
    tvmState: dir,
    nonce: '00112233',
  });
  assert.equal(ok.result.code, 0, ok.result.stdout);
  const j = ok.json;
  assert.equal(j.verified, true);
  assert.equal(j.kind, 'snp');
  assert.equal(j.trust.emulated, true);
  // The TVM's PKI issued the ARK's CRL for now: nothing relaxed.
  assert.equal(j.checks['crl'], 'ok');
  assert.deepEqual(j.relaxed, []);
  assert.equal(String(j.claims['report_data']), '00112233' + '00'.repeat(60));
  // MEASUREMENT is the TVM's static value, as `mr read` reports it.
  const mr = await runCliJson(['mr', 'read', 'measurement', '--tvm-state', dir, '--json']);
  assert.equal(j.claims['measurement'], (mr.json as { value: string }).value);
  const bad = await verifyEvidenceJson(join(dir, 'r.json'), { nonce: '00112233' });
  assert.equal(bad.result.code, 1);
  assert.ok(bad.json.errors.some((e) => e.code === 'ERR_UNTRUSTED_ROOT'));
});

test('SNP-1 through the CLI: --cert, --at, snake_case claims, exit codes', async () => {
  const rep = fixture('evidence', 'snp', 'gosevguest-milan-v2.report.bin');
  const vcek = fixture('evidence', 'snp', 'gosevguest-milan-v2.vcek.der');
  const ok = await verifyEvidenceJson(rep, {
    cert: vcek,
    at: '2022-09-24T01:00:00Z',
    relax: ['nonce', 'crl'],
  });
  assert.equal(ok.result.code, 0);
  assert.deepEqual(ok.json.relaxed, ['crl', 'nonce']);
  // Without the relaxations the same capture is not verified: no CRL, no nonce.
  const strict = await verifyEvidenceJson(rep, { cert: vcek, at: '2022-09-24T01:00:00Z' });
  assert.equal(strict.result.code, 1);
  assert.deepEqual(strict.json.skipped['crl'] !== undefined, true);
  assert.deepEqual(
    strict.json.errors.map((e) => [e.check, e.code]),
    [
      ['crl', 'ERR_CHECK_SKIPPED'],
      ['nonce', 'ERR_CHECK_SKIPPED'],
    ],
  );
  const c = ok.json.claims;
  assert.equal(
    c['chip_id'],
    '3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d',
  );
  assert.equal((c['reported_tcb'] as { raw: string }).raw, '0x4405000000000002');
  const late = await verifyEvidenceJson(rep, {
    cert: vcek,
    at: '2053-07-01T01:00:00Z',
    relax: ['nonce', 'crl'],
  });
  assert.equal(late.result.code, 1);
  assert.deepEqual(
    late.json.errors.map((e) => e.code),
    ['ERR_CERT_EXPIRED'],
  );
  const none = await verifyEvidenceJson(rep);
  assert.equal(none.result.code, 2);
  assert.equal(cliError(none.json).code, 'ERR_COLLATERAL_MISSING');
});
