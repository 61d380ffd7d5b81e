// One verify-flags builder behind `evidence verify`, `appraise` and `verifier serve`: the same
// evidence and the same flags give the same verdict through all three. An emulated TDX TVM
// created with `--tcb-status OutOfDate` is OutOfDate through each (its PKI issues the collateral
// for the verification time), UpToDate is the control, and `--no-collateral` is the
// `collateral` relaxation everywhere. Then `emulate export-roots` makes `--trust-anchor` work in
// place of `--trust-emulated`, and another TVM's exported root is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_PATH } from '../../_support/paths.js';
import { runTool } from '../../_support/peers.js';
import { runCli, runCliJson, verifyEvidenceJson } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';

interface ServiceResult {
  verified: boolean;
  status: string;
  relaxed: string[];
  appraisal: { findings: { id: string }[] };
}

/** `verifier serve` on an embedded store with `flags`; stopped when the test ends. */
async function serve(
  t: import('node:test').TestContext,
  dir: string,
  flags: readonly string[],
): Promise<string> {
  const proc = spawn(
    process.execPath,
    [
      CLI_PATH,
      'verifier',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--store',
      `embedded:${join(dir, `store-${randomBytes(4).toString('hex')}`)}`,
      '--log-level',
      'warn',
      ...flags,
    ],
    {
      env: { ...process.env, MRSTACK_VERIFIER_KEK: randomBytes(32).toString('hex') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.after(async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.on('exit', (code) => reject(new Error(`verifier serve exited ${String(code)}: ${err}`)));
  });
  return (JSON.parse(line) as { listening: string }).listening;
}

async function emulatedTdx(dir: string, name: string, tcb: string): Promise<string> {
  const tvm = join(dir, name);
  const init = await runCli([
    'emulate',
    'init',
    '--profile',
    'tdx',
    '--tvm-state',
    tvm,
    '--tcb-status',
    tcb,
  ]);
  assert.equal(init.code, 0, init.stderr);
  return tvm;
}

for (const [tcb, status, finding] of [
  ['OutOfDate', 'warning', 'tdx.tcb.out-of-date'],
  ['UpToDate', 'affirming', 'tcb.up-to-date'],
] as const) {
  test(`emulated TDX ${tcb}: evidence verify, appraise and verifier serve agree (${status})`, async (t) => {
    const dir = tempDir(t, 'mrstack-vflags-');
    const tvm = await emulatedTdx(dir, 'tvm', tcb);
    const nonce = randomBytes(32).toString('hex');
    const ev = join(dir, 'report.json');
    const rep = await runCli(['report', '--nonce', nonce, '--tvm-state', tvm, '--out', ev]);
    assert.equal(rep.code, 0, rep.stderr);
    const trust = ['--trust-emulated', '--tvm-state', tvm];

    const v = await verifyEvidenceJson(ev, { nonce, trustEmulated: true, tvmState: tvm });
    assert.equal(v.result.code, 0, v.result.stdout);
    assert.equal(v.json.verified, true);
    assert.equal(v.json.tcbStatus, tcb);
    assert.deepEqual(v.json.relaxed, []);

    const a = await runCliJson(['appraise', ev, '--nonce', nonce, ...trust, '--json']);
    const aj = a.json as { status: string; verified: boolean; findings: { id: string }[] };
    assert.equal(aj.verified, true, a.result.stdout);
    assert.equal(aj.status, status);
    assert.ok(
      aj.findings.some((f) => f.id === finding),
      JSON.stringify(aj.findings.map((f) => f.id)),
    );

    const url = await serve(t, dir, trust);
    const s = await runCliJson(['verifier', 'submit', ev, '--verifier', url, '--nonce', nonce]);
    const sj = s.json as ServiceResult;
    assert.equal(sj.verified, true, s.result.stdout);
    assert.equal(sj.status, status);
    assert.deepEqual(sj.relaxed, []);
    assert.ok(
      sj.appraisal.findings.some((f) => f.id === finding),
      JSON.stringify(sj.appraisal.findings.map((f) => f.id)),
    );
  });
}

test('--no-collateral is the collateral relaxation through all three; the TCB status is then unknown', async (t) => {
  const dir = tempDir(t, 'mrstack-vflags-nc-');
  const tvm = await emulatedTdx(dir, 'tvm', 'OutOfDate');
  const nonce = randomBytes(32).toString('hex');
  const ev = join(dir, 'report.json');
  assert.equal(
    (await runCli(['report', '--nonce', nonce, '--tvm-state', tvm, '--out', ev])).code,
    0,
  );
  const flags = ['--trust-emulated', '--tvm-state', tvm, '--no-collateral'];
  const v = await runCliJson(['evidence', 'verify', ev, '--nonce', nonce, ...flags, '--json']);
  const vj = v.json as { verified: boolean; relaxed: string[]; tcbStatus?: string };
  assert.equal(vj.verified, true, v.result.stdout);
  assert.deepEqual(vj.relaxed, ['collateral']);
  assert.equal(vj.tcbStatus, undefined);
  const url = await serve(t, dir, flags);
  const s = await runCliJson(['verifier', 'submit', ev, '--verifier', url, '--nonce', nonce]);
  assert.deepEqual((s.json as ServiceResult).relaxed, ['collateral'], s.result.stdout);
  assert.equal((s.json as ServiceResult).verified, true);
  // An unknown relaxation is a usage error everywhere (exit 2).
  const bad = await runCli(['appraise', ev, '--nonce', nonce, ...flags, '--relax', 'signature']);
  assert.equal(bad.code, 2, bad.stderr);
});

test('emulate export-roots: --trust-anchor on the exported root verifies; another TVM root is refused', async (t) => {
  const dir = tempDir(t, 'mrstack-export-');
  const tvm = await emulatedTdx(dir, 'a', 'UpToDate');
  const other = await emulatedTdx(dir, 'b', 'UpToDate');
  const nonce = randomBytes(32).toString('hex');
  const ev = join(dir, 'report.json');
  assert.equal(
    (await runCli(['report', '--nonce', nonce, '--tvm-state', tvm, '--out', ev])).code,
    0,
  );
  const outA = join(dir, 'roots-a');
  const outB = join(dir, 'roots-b');
  const ex = await runCliJson([
    'emulate',
    'export-roots',
    '--tvm-state',
    tvm,
    '--out',
    outA,
    '--json',
  ]);
  assert.equal(ex.result.code, 0, ex.result.stderr);
  const roots = (ex.json as { roots: { label: string; sha256: string; file: string }[] }).roots;
  assert.deepEqual(
    roots.map((r) => r.label),
    ['tdx-root'],
  );
  // The printed fingerprint is the root's SPKI SHA-256 as openssl extracts the key.
  const pub = runTool('openssl', ['x509', '-in', roots[0]!.file, '-noout', '-pubkey']);
  const spki = runTool('openssl', ['pkey', '-pubin', '-outform', 'DER'], pub);
  assert.equal(roots[0]!.sha256, createHash('sha256').update(spki).digest('hex'));
  // openssl reads the export as a self-signed CA certificate.
  const text = runTool('openssl', ['x509', '-in', roots[0]!.file, '-noout', '-text']).toString();
  assert.match(text, /CA:TRUE/);
  assert.equal(
    (await runCli(['emulate', 'export-roots', '--tvm-state', other, '--out', outB])).code,
    0,
  );

  // The exported root as --trust-anchor, and the collateral the envelope carries (issued now).
  const ok = await verifyEvidenceJson(ev, { nonce, trustAnchor: join(outA, 'tdx-root.pem') });
  assert.equal(ok.result.code, 0, ok.result.stdout);
  assert.equal(ok.json.verified, true);
  assert.equal(ok.json.trust.anchor?.sha256, roots[0]!.sha256);
  // Trusted because the caller named it; still labelled as not hardware.
  assert.equal(ok.json.trust.emulated, true);
  const foreign = await verifyEvidenceJson(ev, { nonce, trustAnchor: join(outB, 'tdx-root.pem') });
  assert.equal(foreign.result.code, 1, foreign.result.stdout);
  assert.deepEqual(
    foreign.json.errors.map((e) => [e.check, e.code]),
    [['pck_chain', 'ERR_UNTRUSTED_ROOT']],
  );
  // And --trust-emulated with the other TVM's state: refused the same way.
  const otherState = await verifyEvidenceJson(ev, { nonce, trustEmulated: true, tvmState: other });
  assert.equal(otherState.result.code, 1, otherState.result.stdout);
  assert.ok(
    otherState.json.errors.some((e) => e.check === 'pck_chain' && e.code === 'ERR_UNTRUSTED_ROOT'),
    JSON.stringify(otherState.json.errors),
  );
  // Without a directory, the PEM goes to stdout: the same certificate.
  const printed = await runCli(['emulate', 'export-roots', '--tvm-state', tvm]);
  assert.equal(printed.stdout, readFileSync(join(outA, 'tdx-root.pem'), 'utf8'));
});
