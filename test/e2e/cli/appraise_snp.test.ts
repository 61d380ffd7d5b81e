// `mrstack appraise` on emulated SNP `mrstack report` evidence (issue 13, Must show): a policy
// generated from it affirms (exit 0); MEASUREMENT and HOST_DATA (the values this test chose at
// `emulate init`), a guest-policy bit and a minimum reported TCB above the reported one each
// give their finding id, contraindicated, exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { runCli, runCliJson } from '../../_support/cli.js';
import {
  appraiseCli,
  generatePolicyCli,
  writePolicy,
  type AppraisalJson,
} from '../../_support/appraise.js';
import { tempDir } from '../../_support/tmp.js';

type Out = AppraisalJson;

test(
  'emulated SNP: measurement, host data, policy bits and minimum TCB',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-appraise-snp-');
    const tvm = join(dir, 'tvm');
    const measurement = randomBytes(48).toString('hex');
    const hostData = randomBytes(32).toString('hex');
    const init = await runCli([
      'emulate',
      'init',
      '--profile',
      'snp',
      '--tvm-state',
      tvm,
      '--measurement',
      measurement,
      '--host-data',
      hostData,
    ]);
    assert.equal(init.code, 0, init.stderr);
    const nonce = randomBytes(32).toString('hex');
    const ev = join(dir, 'report.json');
    assert.equal(
      (await runCli(['report', '--nonce', nonce, '--tvm-state', tvm, '--out', ev])).code,
      0,
    );
    const polFile = join(dir, 'policy.json');
    const policy = (await generatePolicyCli(ev, nonce, tvm, polFile)) as {
      snp: {
        measurement: string[];
        host_data: string[];
        policy: Record<string, unknown>;
        minimum_tcb: Record<string, number>;
      };
    };
    assert.deepEqual(policy.snp.measurement, [measurement]);
    assert.deepEqual(policy.snp.host_data, [hostData]);

    const run = (p: unknown): Promise<{ code: number | null; json: Out }> =>
      appraiseCli([
        ev,
        '--policy',
        writePolicy(dir, p),
        '--nonce',
        nonce,
        '--trust-emulated',
        '--tvm-state',
        tvm,
      ]);
    const ok = await run(policy);
    assert.equal(ok.code, 0, JSON.stringify(ok.json));
    assert.equal(ok.json.status, 'affirming');
    for (const id of [
      'snp.measurement.match',
      'snp.host-data.match',
      'snp.policy.match',
      'snp.tcb.match',
    ])
      assert.ok(
        ok.json.findings.some((f) => f.id === id),
        id,
      );

    const bad = (o: Out): [string, string][] =>
      o.findings.filter((f) => f.status === 'contraindicated').map((f) => [f.id, f.claim]);
    const other = randomBytes(48).toString('hex');
    const m = await run({ ...policy, snp: { ...policy.snp, measurement: [other] } });
    assert.equal(m.code, 1);
    assert.deepEqual(bad(m.json), [['snp.measurement.mismatch', 'measurement']]);
    assert.equal(m.json.findings[0]!.actual, measurement);

    const h = await run({ ...policy, snp: { ...policy.snp, host_data: ['00'.repeat(32)] } });
    assert.equal(h.code, 1);
    assert.deepEqual(bad(h.json), [['snp.host-data.mismatch', 'host_data']]);
    assert.equal(h.json.findings[0]!.actual, hostData);

    const smt = policy.snp.policy['smt'] === true;
    const p = await run({
      ...policy,
      snp: { ...policy.snp, policy: { ...policy.snp.policy, smt: !smt } },
    });
    assert.equal(p.code, 1);
    assert.deepEqual(bad(p.json), [['snp.policy.mismatch', 'policy.smt']]);

    const min = { ...policy.snp.minimum_tcb, snp: (policy.snp.minimum_tcb['snp'] ?? 0) + 1 };
    const tcb = await run({ ...policy, snp: { ...policy.snp, minimum_tcb: min } });
    assert.equal(tcb.code, 1);
    assert.deepEqual(bad(tcb.json), [['snp.tcb.below-minimum', 'reported_tcb.snp']]);

    // the default policy: guest policy debug off, nonce bound — affirming
    const d = await runCliJson([
      'appraise',
      ev,
      '--nonce',
      nonce,
      '--trust-emulated',
      '--tvm-state',
      tvm,
      '--json',
    ]);
    assert.equal(d.result.code, 0, d.result.stdout);

    // a debuggable guest (`emulate init --debug`: guest policy bit 19, SNP ABI spec): the default
    // policy gives snp.policy.debug, contraindicated
    const dtvm = join(dir, 'tvm-debug');
    const di = await runCli([
      'emulate',
      'init',
      '--profile',
      'snp',
      '--tvm-state',
      dtvm,
      '--debug',
    ]);
    assert.equal(di.code, 0, di.stderr);
    const dev = join(dir, 'debug.json');
    assert.equal(
      (await runCli(['report', '--nonce', nonce, '--tvm-state', dtvm, '--out', dev])).code,
      0,
    );
    const dbg = await appraiseCli([dev, '--nonce', nonce, '--trust-emulated', '--tvm-state', dtvm]);
    assert.equal(dbg.code, 1);
    assert.deepEqual(bad(dbg.json), [['snp.policy.debug', 'policy.debug']]);
  },
);
