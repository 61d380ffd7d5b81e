// An agent on the emulated TPM profile (owning pcr14): the bundle it serves — what `evidence
// get` returns — verifies with `--trust-emulated --tvm-state` of its own TVM (the quote's AK
// through the TVM's TPM CA), and is refused with exit 1, ERR_UNTRUSTED_KEY on the report's
// `ak_trust`, with another TVM's state dir or without --trust-emulated (DESIGN §6.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from '../../../src/agent/agent.js';
import { bundleToJson } from '../../../src/formats/bundle/bundle.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { initEmulatedTvm } from '../../../src/providers/emulated/tvm_state.js';
import { verifyEvidenceJson } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';

test('TPM profile bundle: verifies under its own TVM; another TVM or no --trust-emulated → report.ak_trust ERR_UNTRUSTED_KEY, exit 1', async (t) => {
  const dir = tempDir(t, 'mrstack-agent-tpm-');
  const [tvm, other] = [join(dir, 'tvm'), join(dir, 'other')];
  await initEmulatedTvm({ stateDir: tvm, profile: 'tpm' });
  await initEmulatedTvm({ stateDir: other, profile: 'tpm' });
  const provider = await openEmulatedProvider({ stateDir: tvm });
  const agent = await Agent.open({
    provider,
    register: 'pcr14',
    logDir: join(dir, 'log'),
    bootId: 'b',
    tenants: [{ name: 'alice', vmr: 'alice' }],
  });
  const file = join(dir, 'bundle.json');
  try {
    await agent.append('alice', { domain: 'example.com/app', operation: 'start', content: 'v1' });
    const b = await agent.evidence('alice', Buffer.from('0102', 'hex'));
    writeFileSync(file, JSON.stringify(bundleToJson(b)));
  } finally {
    await agent.close();
  }
  const ok = await verifyEvidenceJson(file, { nonce: '0102', trustEmulated: true, tvmState: tvm });
  assert.equal(ok.result.code, 0, JSON.stringify(ok.json.errors));
  assert.equal(ok.json.verified, true);
  assert.equal(ok.json.trust.emulated, true);
  assert.equal(ok.json.checks['report'], 'ok');
  assert.equal(ok.json.checks['vmr'], 'ok');
  for (const flags of [
    { nonce: '0102', trustEmulated: true, tvmState: other },
    { nonce: '0102', tvmState: tvm },
  ]) {
    const bad = await verifyEvidenceJson(file, flags);
    assert.equal(bad.result.code, 1, JSON.stringify(flags));
    assert.equal(bad.json.verified, false);
    assert.equal(bad.json.checks['report.ak_trust'], 'failed', JSON.stringify(bad.json.checks));
    assert.deepEqual(
      bad.json.errors.map((e) => e.code),
      ['ERR_UNTRUSTED_KEY'],
    );
  }
});
