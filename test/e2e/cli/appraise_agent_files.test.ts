// Issue 16's appraisal rule (docs/mr-ima.md "What it does not give"): the agent's own files must
// be measured before the first `mr_ima` token. On the emulated TDX, two "agent files" are
// measured (`emulate ima measure`) before `agent start --ima`; a first `evidence get` makes the
// agent mirror those entries (the first token counts 3: boot_aggregate, the two files); then a
// third file is measured. A policy whose `ima.agent_files` names the first two gives
// `ima.agent.measured-first` (affirming, exit 0); naming the third gives
// `ima.agent.not-measured-first` pointing at its entry 3 (exit 1, contraindicated); naming a path
// never measured gives the same id without a record. Entry indexes follow from the order the
// test measured the files (boot_aggregate is entry 0 of a TPM-bypass list).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../_support/cli.js';
import { cliEvidence, spawnAgent } from '../../_support/agent_harness.js';
import { appraiseCli, findingIds, writePolicy } from '../../_support/appraise.js';
import { tempDir } from '../../_support/tmp.js';

test(
  'ima.agent_files: measured before the first mr_ima token affirms; a file measured after it, or never, contraindicates',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-agent-files-');
    const tvm = join(dir, 'tvm');
    const run = join(dir, 'run');
    assert.equal(
      (await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm])).code,
      0,
    );
    const digests: Record<string, string[]> = { boot_aggregate: ['00'.repeat(32)] };
    const file = (name: string): string => {
      const p = join(dir, name);
      const content = `${name} ${randomBytes(8).toString('hex')}\n`;
      writeFileSync(p, content);
      const real = realpathSync(p);
      digests[real] = [createHash('sha256').update(content).digest('hex')];
      return real;
    };
    const measure = async (p: string): Promise<void> => {
      const r = await runCli(['emulate', 'ima', 'measure', '--tvm-state', tvm, p]);
      assert.equal(r.code, 0, r.stderr);
    };
    const node = file('node');
    const agentJs = file('agent.js');
    await measure(node); // entry 1
    await measure(agentJs); // entry 2
    const tenantsFile = join(dir, 'tenants.json');
    writeFileSync(tenantsFile, JSON.stringify({ tenants: [] }));
    const agent = await spawnAgent([
    '--tvm-state', tvm, '--run-dir', run, '--tenants', tenantsFile, '--ima',
    '--ima-log', join(tvm, 'ima', 'binary_runtime_measurements'), '--log-level', 'warn',
  ]); // prettier-ignore
    t.after(() => agent.stop());
    const imaSock = join(run, 'tenants', 'ima.sock');
    // the agent mirrors the whole list before each report: the first token counts 3 entries
    assert.equal(await cliEvidence(imaSock, '00', join(dir, 'first.json')), 0);
    const late = file('late.so');
    await measure(late); // entry 3, after the first token
    const nonce = randomBytes(32).toString('hex');
    const bundle = join(dir, 'ima.json');
    assert.equal(await cliEvidence(imaSock, nonce, bundle), 0);

    const judge = (agentFiles: string[]) =>
      appraiseCli([
        bundle,
        '--policy',
        writePolicy(dir, { version: 1, name: 'p', ima: { digests, agent_files: agentFiles } }),
        '--nonce',
        nonce,
        '--trust-emulated',
        '--tvm-state',
        tvm,
      ]);

    const ok = await judge([node, agentJs]);
    assert.equal(ok.code, 0, JSON.stringify(ok.json.findings));
    assert.equal(ok.json.status, 'affirming');
    assert.ok(findingIds(ok.json).includes('ima.agent.measured-first'));
    assert.ok(findingIds(ok.json).includes('ima.log.allowed'));

    const bad = await judge([node, late]);
    assert.equal(bad.code, 1);
    assert.equal(bad.json.status, 'contraindicated');
    const f = bad.json.findings.filter((x) => x.id === 'ima.agent.not-measured-first');
    assert.equal(f.length, 1, JSON.stringify(bad.json.findings));
    assert.equal(f[0]!.claim, late);
    assert.equal(f[0]!.where.layer, 'ima');
    assert.equal(f[0]!.where.record, 3);
    assert.equal(f[0]!.actual, 3);
    assert.equal(f[0]!.expected, 'an entry below 3');

    const never = await judge([node, '/usr/lib/mrstack/never-measured.js']);
    assert.equal(never.code, 1);
    const n = never.json.findings.filter((x) => x.id === 'ima.agent.not-measured-first');
    assert.deepEqual(
      n.map((x) => [x.claim, x.where.record, x.actual]),
      [['/usr/lib/mrstack/never-measured.js', undefined, null]],
    );
  },
);
