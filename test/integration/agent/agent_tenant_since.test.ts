// The agent's tenant log since a record (`Agent.evidence(…, tenantSince)`, `TenantLog.tail`):
// the bundle's tenant log holds exactly the lines after the record, and `since_value` is the vMR
// after it — folded with node:crypto (`vMR ← SHA-384(vMR ‖ SHA-384(line))` from zero,
// `#id` comments not extended; test/_support/tenant_vmr.ts) — for a recent record (found in memory), an old one (past the
// in-memory window: found by folding the log), and after a restart (positions read back from
// the file); a record the log does not have is ERR_NOT_FOUND; another boot sends the whole log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentFixture, openAgent } from '../../_support/agent_harness.js';
import { vmrFold } from '../../_support/tenant_vmr.js';
import { MrstackError } from '../../../src/errors.js';
import type { Agent } from '../../../src/agent/agent.js';

/** The index just after the `record`-th extended line (1-based) of a whole log. */
function lineAfter(lines: readonly string[], record: number): number {
  let n = 0;
  for (const [i, l] of lines.entries()) {
    if (l.startsWith('#')) continue;
    if (++n === record) return i + 1;
  }
  throw new Error(`no record ${record}`);
}

const NONCE = new Uint8Array(32).fill(7);

async function check(agent: Agent, record: number, boot?: string): Promise<void> {
  const whole = agent.tenantLog('alice');
  const b = await agent.evidence('alice', NONCE, undefined, 0, {
    record,
    ...(boot === undefined ? {} : { boot }),
  });
  const tl = b.tenantLog!;
  const at = lineAfter(whole, record);
  assert.deepEqual(
    tl.since && { ...tl.since, value: Buffer.from(tl.since.value).toString('hex') },
    {
      line: at,
      record,
      value: vmrFold(whole.slice(0, at)).toString('hex'),
    },
  );
  assert.deepEqual(tl.lines, whole.slice(at));
  assert.equal(tl.after, whole.length - at);
}

test('tenant log since a record: recent, old and after a restart; unknown records and other boots', async (t) => {
  const { provider, logDir } = await agentFixture(t, 'tsince');
  const tenants = [{ name: 'alice', vmr: 'alice' }];
  let agent = await openAgent(provider, logDir, { bootId: 'boot-a', tenants });
  // 5,000 events, every third with a request id (an `#id` line before it): past the agent's
  // in-memory window of running values (at most 4,096 records)
  for (let k = 0; k < 5; k++) {
    const r = await agent.appendMany(
      'alice',
      Array.from({ length: 1000 }, (_, i) => ({
        event: { domain: 'example.com', operation: 'step', content: `e ${k * 1000 + i}` },
        ...(i % 3 === 0 ? { id: `id-${k}-${i}` } : {}),
      })),
    );
    assert.ok(r.every((x) => x.status === 'acknowledged'));
  }
  await check(agent, 4990); // recent: from memory
  await check(agent, 5002); // the last record: an empty tail
  await check(agent, 100); // old: folded from the start
  await check(agent, 2); // just after TENANT
  // another boot's position: the whole log, no since
  const other = await agent.evidence('alice', NONCE, undefined, 0, {
    record: 4990,
    boot: 'boot-z',
  });
  assert.equal(other.tenantLog!.since, undefined);
  assert.deepEqual(other.tenantLog!.lines, agent.tenantLog('alice'));
  // a record the log does not have
  await assert.rejects(
    agent.evidence('alice', NONCE, undefined, 0, { record: 5003 }),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_NOT_FOUND',
  );
  await agent.close();
  // after a restart the positions of the records read back are found in memory again
  agent = await openAgent(provider, logDir, { bootId: 'boot-a', tenants });
  t.after(() => agent.close());
  await agent.append('alice', {
    domain: 'example.com',
    operation: 'step',
    content: 'after restart',
  });
  await check(agent, 4990);
  await check(agent, 5002);
  await check(agent, 1000);
});
