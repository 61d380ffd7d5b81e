// The agent-files rule of `mr_ima` lists (issue 16) through `appraise()`: an entry index below
// the first token's count passes, at or above it fails, a bundle served from a checkpoint (the
// first token not in it) leaves the rule unproven, and a PCR 10 list (no token) is not judged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appraise } from '../../../../src/verifier/appraise/appraise.js';
import type { ImaInput, ImaRecord } from '../../../../src/verifier/appraise/appraisal_input.js';
import { compilePolicy, validatePolicy } from '../../../../src/verifier/appraise/policy.js';

const rec = (record: number, path: string): ImaRecord => ({
  record,
  offset: record * 100,
  template: 'ima-ng',
  path,
  digestAlg: 'sha256',
  digest: 'ab'.repeat(32),
  violation: false,
});
const entries = [rec(0, 'boot_aggregate'), rec(1, '/usr/bin/node'), rec(2, '/opt/agent.js')];

async function judge(firstMirrored: number | null | undefined, agentFiles: string[]) {
  const policy = compilePolicy(
    await validatePolicy({
      version: 1,
      name: 'p',
      require: { nonce: false },
      ima: { excludes: ['.*'], agent_files: agentFiles },
    }),
  );
  const list: ImaInput = {
    log: 'ima-log',
    proof: 'ok',
    register: 'mr_ima',
    ...(firstMirrored === undefined ? {} : { firstMirrored }),
    entries,
  };
  const a = appraise(undefined, { registers: [], tenantEvents: [], ima: [list] }, policy, {
    at: new Date('2026-12-07T00:00:00Z'),
  });
  return a.findings.filter((f) => f.id.startsWith('ima.agent.') || f.id === 'claim.unproven');
}

test('agent files: index < first token count', async () => {
  assert.deepEqual(
    (await judge(3, ['/usr/bin/node', '/opt/agent.js'])).map((f) => f.id),
    ['ima.agent.measured-first'],
  );
  // the first token counted 2 entries: agent.js (entry 2) came after it
  const late = await judge(2, ['/usr/bin/node', '/opt/agent.js']);
  assert.deepEqual(
    late.map((f) => [f.id, f.status, f.claim, f.where.record]),
    [['ima.agent.not-measured-first', 'contraindicated', '/opt/agent.js', 2]],
  );
  const unproven = await judge(null, ['/usr/bin/node']);
  assert.deepEqual(
    unproven.map((f) => [f.id, f.status, f.claim]),
    [['claim.unproven', 'none', 'ima.agent_files']],
  );
  assert.deepEqual(await judge(undefined, ['/usr/bin/node']), []);
});
