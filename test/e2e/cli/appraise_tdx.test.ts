// `mrstack appraise` end to end on the emulated TDX (issue 13, Must show): a policy generated
// from verified evidence appraises it affirming (exit 0); each changed reference value, a wrong
// or missing nonce gives its own finding id and exit 1. Expected register values are computed
// here with node:crypto (SHA-384 extend), MRTD is the value the test chose at `emulate init`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliJson } from '../../_support/cli.js';
import {
  appraiseCli,
  earKeyPair,
  findingIds,
  generatePolicyCli,
  type Judged,
} from '../../_support/appraise.js';
import { tempDir } from '../../_support/tmp.js';
import { cliAppend, cliEvidence, startCliAgent } from '../../_support/agent_harness.js';

const appraise = (args: readonly string[]): Promise<Judged> => appraiseCli(args);
const ids = findingIds;

test(
  'emulated TDX quote: generated policy affirms; MRTD, RTMR, nonce changes each fail with their id',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-appraise-tdx-');
    const tvm = join(dir, 'tvm');
    const mrtd = randomBytes(48).toString('hex');
    assert.equal(
      (await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm, '--mrtd', mrtd]))
        .code,
      0,
    );
    const digest = randomBytes(48);
    assert.equal(
      (await runCli(['mr', 'extend', 'rtmr2', digest.toString('hex'), '--tvm-state', tvm])).code,
      0,
    );
    // RTMR extend: SHA-384(old ‖ digest), old = 48 zero bytes
    const rtmr2 = createHash('sha384').update(Buffer.alloc(48)).update(digest).digest('hex');
    const nonce = randomBytes(32).toString('hex');
    const ev = join(dir, 'quote.json');
    assert.equal(
      (await runCli(['report', '--nonce', nonce, '--tvm-state', tvm, '--out', ev])).code,
      0,
    );
    const polFile = join(dir, 'policy.json');
    const policy = (await generatePolicyCli(ev, nonce, tvm, polFile)) as {
      tdx: { mrtd: string[] };
      registers: Record<string, string[]>;
    };
    assert.deepEqual(policy.tdx.mrtd, [mrtd]);
    assert.deepEqual(policy.registers['rtmr2'], [rtmr2]);
    const val = await runCliJson(['policy', 'validate', polFile, '--json']);
    assert.equal(val.result.code, 0);

    const ok = await appraise([
      ev,
      '--policy',
      polFile,
      '--nonce',
      nonce,
      '--trust-emulated',
      '--tvm-state',
      tvm,
    ]);
    assert.equal(ok.code, 0, JSON.stringify(ok.json));
    assert.equal(ok.json.status, 'affirming');
    assert.equal(ok.json.policy_id, (val.json as { id: string }).id);
    for (const id of [
      'nonce.match',
      'tcb.up-to-date',
      'tdx.td.not-debug',
      'tdx.mrtd.match',
      'replay.rtmr2.match',
    ])
      assert.ok(ids(ok.json).includes(id), id);

    // the default policy (no reference values): affirming too
    const dflt = await appraise([ev, '--nonce', nonce, '--trust-emulated', '--tvm-state', tvm]);
    assert.equal(dflt.code, 0);
    assert.equal(dflt.json.status, 'affirming');
    assert.match(dflt.json.policy_id, /^default@sha256:[0-9a-f]{64}$/);

    // MRTD mismatch: contraindicated, pointing at the claim
    const other = randomBytes(48).toString('hex');
    const badMrtd = join(dir, 'bad-mrtd.json');
    writeFileSync(
      badMrtd,
      JSON.stringify({ ...policy, name: 'bad-mrtd', tdx: { ...policy.tdx, mrtd: [other] } }),
    );
    const m = await appraise([
      ev,
      '--policy',
      badMrtd,
      '--nonce',
      nonce,
      '--trust-emulated',
      '--tvm-state',
      tvm,
    ]);
    assert.equal(m.code, 1);
    assert.equal(m.json.status, 'contraindicated');
    const f = m.json.findings[0]!;
    assert.equal(f.id, 'tdx.mrtd.mismatch');
    assert.equal(f.claim, 'mrtd');
    assert.equal(f.actual, mrtd);
    assert.deepEqual(f.expected, [other]);

    // RTMR2 expected to be something else
    const badRtmr = join(dir, 'bad-rtmr.yaml');
    writeFileSync(
      badRtmr,
      `version: 1\nname: bad-rtmr\nregisters:\n  rtmr2: ["${'ab'.repeat(48)}"]\n`,
    );
    const r = await appraise([
      ev,
      '--policy',
      badRtmr,
      '--nonce',
      nonce,
      '--trust-emulated',
      '--tvm-state',
      tvm,
    ]);
    assert.equal(r.code, 1);
    assert.deepEqual(ids(r.json, 'contraindicated'), ['replay.rtmr2.mismatch']);
    assert.equal(r.json.findings[0]!.actual, rtmr2);

    // wrong nonce
    const w = await appraise([
      ev,
      '--policy',
      polFile,
      '--nonce',
      randomBytes(32).toString('hex'),
      '--trust-emulated',
      '--tvm-state',
      tvm,
    ]);
    assert.equal(w.code, 1);
    assert.deepEqual(ids(w.json, 'contraindicated'), ['nonce.mismatch']);

    // no nonce: freshness unproven, so the verdict is none, never affirming
    const n = await appraise([ev, '--policy', polFile, '--trust-emulated', '--tvm-state', tvm]);
    assert.equal(n.code, 1);
    assert.equal(n.json.status, 'none');
    assert.deepEqual(ids(n.json, 'none'), ['claim.unproven']);

    // not trusted: nothing is judged
    const u = await appraise([ev, '--policy', polFile, '--nonce', nonce]);
    assert.equal(u.code, 1);
    assert.deepEqual(ids(u.json), ['evidence.unverified']);
    assert.equal(u.json.status, 'none');

    // a broken policy is bad input
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ version: 1, name: 'x', tdx: { mrtd: ['zz'] } }));
    const b = await runCliJson(['appraise', ev, '--policy', broken, '--json']);
    assert.equal(b.result.code, 2);
    assert.equal((b.json as { error: { code: string } }).error.code, 'ERR_POLICY_INVALID');
  },
);

test(
  'agent bundle: generated policy affirms; a tenant event outside the rules and a tampered record fail',
  { timeout: 600_000 },
  async (t) => {
    const { dir, tvm, sock } = await startCliAgent(t, 'e2e-appraise', ['alice']);
    // the emulated PKI's collateral, as `mrstack report` ships it in its envelope
    const env = join(dir, 'report.json');
    assert.equal(
      (await runCli(['report', '--nonce', '00', '--tvm-state', tvm, '--out', env])).code,
      0,
    );
    const collateral = join(dir, 'collateral.json');
    writeFileSync(
      collateral,
      JSON.stringify((JSON.parse(readFileSync(env, 'utf8')) as { collateral: unknown }).collateral),
    );
    assert.equal(
      (
        await cliAppend(sock('alice'), {
          domain: 'example.com/app',
          operation: 'start',
          content: 'alice v1.2',
        })
      ).code,
      0,
    );
    const nonce = randomBytes(32).toString('hex');
    const bundle = join(dir, 'b1.json');
    assert.equal(await cliEvidence(sock('alice'), nonce, bundle), 0);
    const polFile = join(dir, 'policy.json');
    const policy = (await generatePolicyCli(bundle, nonce, tvm, polFile, [
      '--collateral',
      collateral,
    ])) as { tenant_events: Record<string, unknown> };
    assert.deepEqual(policy.tenant_events, {
      alice: [{ exact: 'example.com/app start alice v1.2' }],
    });
    const ok = await appraise([
      bundle,
      '--policy',
      polFile,
      '--nonce',
      nonce,
      '--trust-emulated',
      '--tvm-state',
      tvm,
      '--collateral',
      collateral,
    ]);
    assert.equal(ok.code, 0, JSON.stringify(ok.json));
    assert.equal(ok.json.status, 'affirming');
    assert.ok(ids(ok.json).includes('tenant.event.allowed'));
    assert.ok(ids(ok.json).includes('replay.rtmr3.match'));

    // a second event the policy's rules do not allow
    assert.equal(
      (
        await cliAppend(sock('alice'), {
          domain: 'example.com/app',
          operation: 'load',
          content: 'evil.so',
        })
      ).code,
      0,
    );
    const nonce2 = randomBytes(32).toString('hex');
    const b2 = join(dir, 'b2.json');
    assert.equal(await cliEvidence(sock('alice'), nonce2, b2), 0);
    const rules = join(dir, 'rules.json');
    writeFileSync(
      rules,
      JSON.stringify({
        version: 1,
        name: 'rules',
        tenant_events: { alice: [{ prefix: 'example.com/app start ' }] },
      }),
    );
    const na = await appraise([
      b2,
      '--policy',
      rules,
      '--nonce',
      nonce2,
      '--trust-emulated',
      '--tvm-state',
      tvm,
      '--collateral',
      collateral,
    ]);
    assert.equal(na.code, 1);
    assert.equal(na.json.status, 'contraindicated');
    const bad = na.json.findings.filter((x) => x.id === 'tenant.event.not-allowed');
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.claim, 'example.com/app load evil.so');
    assert.equal(bad[0]!.where.layer, 'tenant');
    // tenant log records (docs/bundle.md): SALT 1, TENANT 2, then the events: the second is 4
    assert.equal(bad[0]!.where.record, 4);

    // a tampered covered tenant record: the vMR no longer replays
    const b = JSON.parse(readFileSync(bundle, 'utf8')) as { tenant_log: { lines: string[] } };
    b.tenant_log.lines = b.tenant_log.lines.map((l) => l.replace('alice v1.2', 'alice v6.6'));
    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(b));
    const tv = await appraise([
      tampered,
      '--policy',
      polFile,
      '--nonce',
      nonce,
      '--trust-emulated',
      '--tvm-state',
      tvm,
      '--collateral',
      collateral,
    ]);
    assert.equal(tv.code, 1);
    assert.equal(tv.json.status, 'contraindicated', JSON.stringify(tv.json.findings));
    assert.ok(
      ids(tv.json, 'contraindicated').includes('replay.alice.inconsistent'),
      JSON.stringify(ids(tv.json)),
    );
  },
);

test(
  'emulated TDX TCB status: OutOfDate is a warning, Revoked contraindicated; EAR and HTML written beside',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-appraise-tcb-');
    const { key, pub } = earKeyPair(dir);
    const cases = [
      ['UpToDate', 0, 'affirming', 'tcb.up-to-date'],
      ['OutOfDate', 1, 'warning', 'tdx.tcb.out-of-date'],
      ['Revoked', 1, 'contraindicated', 'tdx.tcb.revoked'],
    ] as const;
    for (const [tcb, code, status, id] of cases) {
      const tvm = join(dir, `tvm-${tcb}`);
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
      const nonce = randomBytes(32).toString('hex');
      const ev = join(dir, `${tcb}.json`);
      assert.equal(
        (await runCli(['report', '--nonce', nonce, '--tvm-state', tvm, '--out', ev])).code,
        0,
      );
      // the TVM's collateral, issued by its emulated PKI with the status it was given
      const { emulatedCollateral } = await import('../../../src/providers/emulated/collateral.js');
      const col = emulatedCollateral(tvm, { at: new Date() });
      const colFile = join(dir, `${tcb}-collateral.json`);
      writeFileSync(colFile, col.files.get('collateral.json')!);
      const earFile = join(dir, `${tcb}.jwt`);
      const html = join(dir, `${tcb}.html`);
      const a = await appraise([
        ev,
        '--nonce',
        nonce,
        '--trust-emulated',
        '--tvm-state',
        tvm,
        '--collateral',
        colFile,
        '--ear-out',
        earFile,
        '--ear-key',
        key,
        '--html',
        html,
      ]);
      assert.equal(a.code, code, JSON.stringify(a.json));
      assert.equal(a.json.status, status);
      const tcbFinding = a.json.findings.find((f) => f.claim === 'tcb_status');
      assert.ok(tcbFinding !== undefined);
      assert.equal(tcbFinding.id, id);
      assert.equal(tcbFinding.actual, tcb);
      // the EAR verifies with the signer's public key and carries the same verdict
      const v = await runCliJson(['ear', 'verify', earFile, '--key', pub, '--json']);
      assert.equal(v.result.code, 0, v.result.stderr);
      const ear = (v.json as { ear: { submods: Record<string, { status: string }> } }).ear;
      assert.equal(ear.submods['tdx']!.status, status);
      assert.ok(readFileSync(html, 'utf8').includes(id));
    }
  },
);
