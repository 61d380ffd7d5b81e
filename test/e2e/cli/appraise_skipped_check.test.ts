// A required check that verify skipped (here: no SNP CRL under an exported emulated root, so
// revocation is unknown) makes `verified: false`; appraisal must then not affirm. Control: the
// same report with `--relax crl` (the caller's explicit choice, listed in `relaxed`) affirms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { runCli, runCliJson } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';

test('appraise: a required check skipped by verify (no CRL) is never affirming; --relax crl is the control', async (t) => {
  const dir = tempDir(t, 'mrstack-appraise-skip-');
  const tvm = join(dir, 'tvm');
  const nonce = randomBytes(32).toString('hex');
  assert.equal((await runCli(['emulate', 'init', '--profile', 'snp', '--tvm-state', tvm])).code, 0);
  const report = join(dir, 'r.json');
  const r = await runCli(['report', '--nonce', nonce, '--tvm-state', tvm, '--out', report]);
  assert.equal(r.code, 0, r.stderr);
  const roots = join(dir, 'roots');
  const x = await runCli(['emulate', 'export-roots', '--tvm-state', tvm, '--out', roots]);
  assert.equal(x.code, 0, x.stderr);
  const anchor = ['--trust-anchor', join(roots, 'snp-ark.pem')];

  const v = await runCliJson(['evidence', 'verify', report, '--nonce', nonce, ...anchor, '--json']);
  assert.equal(v.result.code, 1);
  const vj = v.json as { verified: boolean; checks: Record<string, string> };
  assert.equal(vj.verified, false);
  assert.equal(vj.checks['crl'], 'skipped');

  const a = await runCliJson(['appraise', report, '--nonce', nonce, ...anchor, '--json']);
  const aj = a.json as { status: string; verified: boolean; findings: { id: string }[] };
  assert.equal(a.result.code, 1);
  assert.notEqual(aj.status, 'affirming');
  assert.equal(aj.verified, false);
  assert.ok(aj.findings.some((f) => f.id === 'evidence.unverified'));

  const c = await runCliJson([
    'appraise',
    report,
    '--nonce',
    nonce,
    ...anchor,
    '--relax',
    'crl',
    '--json',
  ]);
  const cj = c.json as { status: string; verified: boolean };
  assert.equal(c.result.code, 0);
  assert.equal(cj.status, 'affirming');
  assert.equal(cj.verified, true);
});
