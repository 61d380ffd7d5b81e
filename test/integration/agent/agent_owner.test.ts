// One owner (DESIGN §5): while an agent lives, a second `agent start` on the same log directory,
// or on another log directory over the same register, exits 3 with ERR_AGENT_RUNNING naming the
// owner's pid, and leaves the first agent's sockets and logs as they were; after the owner is
// SIGKILLed a new start succeeds at once and recovers. Also: `Agent.open` checks programmatic
// tenant declarations (no path traversal through the library API).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Agent } from '../../../src/agent/agent.js';
import { TenantClient } from '../../../src/agent/client.js';
import { isMrstackError } from '../../../src/errors.js';
import { spawnAgent, startCliAgent } from '../../_support/agent_harness.js';
import { runCli } from '../../_support/cli.js';
import { checkInvariant } from './agent_support.js';
import { agentFixture } from '../../_support/agent_harness.js';

/** Sizes and inodes of every file under `dir` (sockets included). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.statSync(p);
        out.set(p, `${st.ino}:${st.size}:${st.mode.toString(8)}`);
      }
    }
  };
  walk(dir);
  return out;
}

async function secondStart(
  args: string[],
): Promise<{ code: number | null; error: Record<string, unknown> }> {
  const r = await runCli(['agent', 'start', ...args, '--log-level', 'error', '--json']);
  const j = JSON.parse(r.stdout) as { error: Record<string, unknown> };
  return { code: r.code, error: j.error };
}

test('one owner: a second agent on live state exits 3 naming the owner; after SIGKILL a start recovers', async (t) => {
  const a = await startCliAgent(t, 'owner', ['alice']);
  const pid = a.agent.child.pid!;
  const alice = new TenantClient(a.sock('alice'));
  t.after(() => alice.close());
  const first = await alice.append(
    { domain: 'owner.example', operation: 'one', content: 'before' },
    'e1',
  );
  const before = snapshot(a.run);
  const tenants = join(a.dir, 'tenants.json');

  // same run dir and log dir (a systemd restart racing a manual start)
  const same = await secondStart(['--tvm-state', a.tvm, '--run-dir', a.run, '--tenants', tenants]);
  assert.equal(same.code, 3);
  assert.equal(same.error['code'], 'ERR_AGENT_RUNNING');
  assert.equal(same.error['pid'], pid);
  assert.match(String(same.error['message']), new RegExp(`pid ${pid}`));

  // another run dir, the same log dir
  const other = join(a.dir, 'run2');
  const sameLog = await secondStart([
    '--tvm-state',
    a.tvm,
    '--run-dir',
    other,
    '--log-dir',
    join(a.run, 'log'),
    '--tenants',
    tenants,
  ]);
  assert.equal(sameLog.code, 3);
  assert.equal(sameLog.error['code'], 'ERR_AGENT_RUNNING');
  assert.equal(sameLog.error['pid'], pid);

  // another run dir and log dir over the same register
  const sameReg = await secondStart([
    '--tvm-state',
    a.tvm,
    '--run-dir',
    join(a.dir, 'run3'),
    '--tenants',
    tenants,
  ]);
  assert.equal(sameReg.code, 3);
  assert.equal(sameReg.error['code'], 'ERR_AGENT_RUNNING');
  assert.equal(sameReg.error['pid'], pid);
  assert.match(String(sameReg.error['lock']), /^mrstack\/reg\/emulated-[0-9a-f]+\/rtmr3$/);
  // the refused agents wrote no logs of their own
  assert.ok(!fs.existsSync(join(a.dir, 'run3', 'log', 'physical')));

  // the first agent's sockets and logs are untouched, and it still serves
  assert.deepEqual(snapshot(a.run), before);
  const again = await alice.append(
    { domain: 'owner.example', operation: 'one', content: 'before' },
    'e1',
  );
  assert.equal(again.duplicate, true);
  assert.equal(again.record, first.record);
  await alice.append({ domain: 'owner.example', operation: 'two', content: 'after' }, 'e2');

  // SIGKILL the owner: its names are released by the kernel, a new start succeeds at once
  a.agent.child.kill('SIGKILL');
  const x = await a.agent.exited;
  assert.equal(x.signal, 'SIGKILL');
  // "at once": the first start attempt reaches ready (spawnAgent rejects if it exits first) —
  // no retry and no waiting out a lock; a time bound would measure the machine's load instead
  const b = await spawnAgent([
    '--tvm-state',
    a.tvm,
    '--run-dir',
    a.run,
    '--tenants',
    tenants,
    '--log-level',
    'error',
  ]);
  t.after(() => b.stop());
  const ready = JSON.parse(b.output.stdout.split('\n')[0]!) as { pid: number };
  assert.equal(ready.pid, b.child.pid);
  alice.close();
  const alice2 = new TenantClient(a.sock('alice'));
  t.after(() => alice2.close());
  const r2 = await alice2.append(
    { domain: 'owner.example', operation: 'two', content: 'after' },
    'e2',
  );
  assert.equal(r2.duplicate, true, 'the acknowledged e2 survived the kill');
  await checkInvariant(a.tvm, join(a.run, 'log'));
  const st = await runCli(['agent', 'status', '--run-dir', a.run, '--json']);
  assert.equal((JSON.parse(st.stdout) as { pid: number }).pid, b.child.pid);
});

test('one owner in-process: Agent.open twice on one log dir or one register is ERR_AGENT_RUNNING', async (t) => {
  const { provider, logDir, dir } = await agentFixture(t, 'owner-inproc');
  const a = await Agent.open({ provider, register: 'rtmr3', logDir, bootId: 'b' });
  for (const other of [logDir, join(dir, 'log2')]) {
    await assert.rejects(
      Agent.open({ provider, register: 'rtmr3', logDir: other, bootId: 'b' }),
      (e: unknown) =>
        isMrstackError(e) &&
        e.code === 'ERR_AGENT_RUNNING' &&
        e.details['pid'] === process.pid &&
        e.exitCode === 3,
    );
  }
  await a.close();
  // released on close
  const b = await Agent.open({ provider, register: 'rtmr3', logDir, bootId: 'b' });
  await b.close();
  await provider.close();
});

test('Agent.open validates programmatic tenants: no vMR or tenant name reaches a path unchecked', async (t) => {
  const { provider, logDir, dir } = await agentFixture(t, 'owner-tenants');
  for (const bad of [
    { name: 'alice', vmr: '../escape' },
    { name: '../../etc/x', vmr: 'ok' },
    { name: 'alice', vmr: 'a/b' },
    { name: 'alice', vmr: '' },
    { name: 'alice', vmr: 'alice', mode: '0999' },
  ]) {
    await assert.rejects(
      Agent.open({ provider, register: 'rtmr3', logDir, bootId: 'b', tenants: [bad] }),
      (e: unknown) => isMrstackError(e) && e.code === 'ERR_USAGE',
      JSON.stringify(bad),
    );
  }
  assert.ok(!fs.existsSync(join(dir, 'escape.mrlog')));
  assert.ok(!fs.existsSync(join(logDir, 'escape.mrlog')));
  // and addTenant checks the same way
  const a = await Agent.open({ provider, register: 'rtmr3', logDir, bootId: 'b' });
  await assert.rejects(
    a.addTenant({ name: 'bob', vmr: '../bob' }),
    (e: unknown) => isMrstackError(e) && e.code === 'ERR_USAGE',
  );
  await a.close();
  await provider.close();
});
