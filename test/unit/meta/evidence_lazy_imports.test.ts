// `mrstack evidence verify` loads only the verifier of the kind it verifies
// (verifier/verify/evidence_dispatch.ts): the hooks in module_recorder.ts log every module the
// CLI process resolves. A TDX quote (a real capture, verified with its collateral) must not load
// the TPM verifier's protobuf decoder, the CCA verifier's CBOR, or the SNP verifier; a
// go-tpm-tools attestation (recognised only by decoding it) must still be detected and verified
// as TPM evidence, loading the TPM verifier and protobufjs but not the TDX verifier.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { CLI_PATH, fixture } from '../../_support/paths.js';
import { runRecordingModules } from '../../_support/loaded_modules.js';

interface Run {
  readonly code: number | null;
  readonly json: { verified?: boolean; kind?: string };
  readonly packages: Set<string>;
  readonly ownFiles: string[];
}

function verifyRecorded(t: TestContext, args: readonly string[]): Run {
  const { res, packages, ownFiles } = runRecordingModules(t, [
    CLI_PATH, 'evidence', 'verify', ...args, '--json',
  ]); // prettier-ignore
  return { code: res.status, json: JSON.parse(res.stdout) as Run['json'], packages, ownFiles };
}

const loadedFile = (r: Run, file: string): boolean =>
  r.ownFiles.some((u) => u.endsWith(`/dist/src/verifier/verify/${file}`));

test('evidence verify of a TDX quote loads the TDX verifier only: no protobufjs, cbor-x, TPM, CCA or SNP verifier', (t) => {
  const tdx = (f: string): string => fixture('evidence', 'tdx', f);
  const r = verifyRecorded(t, [
    tdx('dcapqvl-v4-b0c06f.quote.bin'),
    '--collateral', tdx('dcapqvl-v4-b0c06f.collateral.json'),
    '--at', '2025-07-19T10:00:34Z', '--relax', 'nonce',
  ]); // prettier-ignore
  assert.equal(r.code, 0, JSON.stringify(r.json));
  assert.equal(r.json.verified, true);
  assert.equal(r.json.kind, 'tdx');
  assert.ok(loadedFile(r, 'tdx_verifier.js'), 'the TDX verifier was loaded');
  assert.ok(r.packages.has('pkijs'), [...r.packages].join(', '));
  for (const file of ['tpm_attestation.js', 'tpm_quote.js', 'cca.js', 'snp.js', 'evidence.js'])
    assert.ok(!loadedFile(r, file), `${file} was loaded`);
  for (const p of ['protobufjs', 'cbor-x'])
    assert.ok(!r.packages.has(p), `${p} loaded: ${[...r.packages].join(', ')}`);
});

test('evidence verify of a go-tpm-tools attestation: detected as TPM evidence without --kind, verified; the TDX verifier not loaded', (t) => {
  const tpm = (f: string): string => fixture('evidence', 'tpm', f);
  const r = verifyRecorded(t, [
    tpm('gotpm-gce-cos85-no-nonce.attestation.pb'),
    '--cert', tpm('gce-tpm-ek-intermediate-2.crt'),
    '--trust-anchor', tpm('gce-tpm-ek-root-1.cer'),
    '--relax', 'nonce', '--at', '2024-06-01T00:00:00Z',
  ]); // prettier-ignore
  assert.equal(r.code, 0, JSON.stringify(r.json));
  assert.equal(r.json.verified, true);
  assert.equal(r.json.kind, 'tpm');
  assert.ok(loadedFile(r, 'tpm_attestation.js'));
  assert.ok(r.packages.has('protobufjs'));
  assert.ok(!loadedFile(r, 'tdx_verifier.js'), 'tdx_verifier.js was loaded');
});
