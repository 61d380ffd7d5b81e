// The SVSM manifest binding end to end (issue 18): an emulated SNP TVM made with `--svsm`,
// `mrstack report --service-provider svsm` (the envelope carries the manifestblob), and
// `evidence verify --trust-emulated --nonce` checking REPORT_DATA = SHA-512(64-byte nonce ‖
// manifest) as `svsm_manifest` (SVSM spec 58019; the digest recomputed here with openssl). A
// manifest altered in the envelope, or another nonce, is refused (exit 1); a TVM without an SVSM
// refuses the request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliError, runCli, runCliJson, type EvidenceVerifyJson } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';

const NONCE = '0123456789abcdef'.repeat(2); // 16 bytes: zero-padded to the 64-byte inblob

test('SVSM report: manifest bound into REPORT_DATA, verified; an altered manifest fails', async (t) => {
  const dir = tempDir(t, 'mrstack-svsm-');
  const state = join(dir, 'tvm');
  const init = await runCli(['emulate', 'init', '--profile', 'snp', '--svsm', '--tvm-state', state]); // prettier-ignore
  assert.equal(init.code, 0, init.stderr);
  const env = join(dir, 'r.json');
  const rep = await runCli([
    'report', '--provider', 'emulated', '--tvm-state', state, '--nonce', NONCE,
    '--service-provider', 'svsm', '--out', env,
  ]); // prettier-ignore
  assert.equal(rep.code, 0, rep.stderr);
  const doc = JSON.parse(readFileSync(env, 'utf8')) as { outblob: string; manifestblob: string };
  const manifest = Buffer.from(doc.manifestblob, 'hex');
  const report = Buffer.from(doc.outblob, 'hex');
  const both = join(dir, 'nonce-manifest.bin');
  writeFileSync(both, Buffer.concat([Buffer.from(NONCE, 'hex'), Buffer.alloc(48), manifest]));
  const want = execFileSync('openssl', ['dgst', '-sha512', '-binary', both]).toString('hex');
  assert.equal(report.subarray(0x50, 0x90).toString('hex'), want);

  const verify = (file: string, nonce = NONCE) =>
    runCliJson(['evidence', 'verify', file, '--trust-emulated', '--tvm-state', state, '--nonce', nonce, '--json']); // prettier-ignore
  const ok = await verify(env);
  const j = ok.json as EvidenceVerifyJson;
  assert.equal(ok.result.code, 0, JSON.stringify(j.errors));
  assert.equal(j.checks['svsm_manifest'], 'ok');
  assert.equal(j.checks['nonce'], 'ok');
  assert.equal(j.checks['report_signature'], 'ok');
  assert.equal(j.claims['vmpl'], 0);
  assert.equal(j.claims['vtpm_ek_public'], manifest.subarray(48).toString('hex'));

  // The manifest's last byte (inside the EK public area) changed: the binding fails.
  const altered = Buffer.from(manifest);
  altered[altered.length - 1] = altered[altered.length - 1]! ^ 0x01;
  const badFile = join(dir, 'altered.json');
  writeFileSync(badFile, JSON.stringify({ ...doc, manifestblob: altered.toString('hex') }));
  const bad = await verify(badFile);
  const b = bad.json as EvidenceVerifyJson;
  assert.equal(bad.result.code, 1);
  assert.equal(b.verified, false);
  assert.equal(b.checks['report_signature'], 'ok'); // the report itself is genuine
  assert.equal(b.checks['svsm_manifest'], 'failed');
  assert.ok(b.errors.some((e) => e.code === 'ERR_BINDING_MISMATCH' && e.check === 'svsm_manifest'));

  // Another nonce: not this report's.
  const other = await verify(env, 'ff'.repeat(16));
  assert.equal(other.result.code, 1);
  assert.equal((other.json as EvidenceVerifyJson).checks['svsm_manifest'], 'failed');
});

test('a TVM without an SVSM refuses --service-provider svsm; init --svsm is for snp only', async (t) => {
  const dir = tempDir(t, 'mrstack-svsm-');
  const state = join(dir, 'tvm');
  assert.equal((await runCli(['emulate', 'init', '--profile', 'snp', '--tvm-state', state])).code, 0); // prettier-ignore
  const r = await runCliJson([
    'report', '--provider', 'emulated', '--tvm-state', state, '--nonce', NONCE,
    '--service-provider', 'svsm', '--json',
  ]); // prettier-ignore
  assert.notEqual(r.result.code, 0);
  assert.equal(cliError(r.json).code, 'ERR_UNSUPPORTED');
  const tdx = await runCliJson(['emulate', 'init', '--profile', 'tdx', '--svsm', '--tvm-state', join(dir, 't2'), '--json']); // prettier-ignore
  assert.equal(tdx.result.code, 2);
  assert.equal(cliError(tdx.json).code, 'ERR_USAGE');
});
