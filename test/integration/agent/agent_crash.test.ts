// The crash test (issue 8, Must show): 8 tenants append concurrently through their sockets with
// request ids while the agent process (the built CLI) is SIGKILLed at seeded random instants;
// the emulated register lives outside the agent, in the TVM's trace file. After every restart
// the physical log replays exactly to rtmr3, every acknowledged event is in its tenant log
// exactly once, and no request id appears twice. Then the same with the agent killing itself
// between each step of the append path (MRSTACK_AGENT_FAULT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { TenantClient } from '../../../src/agent/client.js';
import { FAULT_STEPS } from '../../../src/agent/fault.js';
import { initEmulatedTvm } from '../../../src/providers/emulated/tvm_state.js';
import { spawnAgent, type SpawnedAgent } from '../../_support/agent_harness.js';
import { checkInvariant, tempDir, tenantLines } from './agent_support.js';
import { seededRng } from '../../_support/rng.js';

const KILLS = Number(process.env['MRSTACK_CRASH_KILLS'] ?? 50);
const SEED = Number(process.env['MRSTACK_CRASH_SEED'] ?? 20261122);
const TENANTS = Array.from({ length: 8 }, (_, i) => `t${i}`);

function startAgent(dir: string, env: Record<string, string> = {}): Promise<SpawnedAgent> {
  return spawnAgent(
    [
      '--tvm-state',
      join(dir, 'tvm'),
      '--run-dir',
      join(dir, 'run'),
      '--tenants',
      join(dir, 'tenants.json'),
      '--boot-id',
      'crash-boot',
      '--log-level',
      'error',
    ],
    env,
  );
}

interface ClientState {
  readonly name: string;
  next: number;
  /** The id in flight when the agent died: retried first, with the same id. */
  pending: string | undefined;
  readonly acked: Map<string, number>;
}

async function clientLoop(
  st: ClientState,
  socket: string,
  stop: { stopped: boolean },
): Promise<void> {
  const c = new TenantClient(socket, { timeoutMs: 10_000 });
  try {
    while (!stop.stopped) {
      const id = st.pending ?? `${st.name}-${st.next++}`;
      st.pending = id;
      try {
        const r = await c.append(
          { domain: 'crash.example', operation: 'append', content: `event ${id}` },
          id,
        );
        const first = st.acked.get(id);
        if (first !== undefined)
          assert.equal(r.record, first, `a retry of ${id} returns the first result`);
        st.acked.set(id, r.record);
        st.pending = undefined;
      } catch {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  } finally {
    c.close();
  }
}

function checkTenantLogs(dir: string, clients: readonly ClientState[]): void {
  for (const st of clients) {
    const lines = tenantLines(join(dir, 'run', 'log'), st.name);
    const seen = new Map<string, number>();
    let record = 0;
    let lastId: string | undefined;
    for (const l of lines) {
      if (l.startsWith('#id ')) {
        lastId = l.slice(4);
        continue;
      }
      record++;
      if (lastId !== undefined) {
        assert.ok(!seen.has(lastId), `request id ${lastId} appears twice`);
        seen.set(lastId, record);
        assert.equal(l, `crash.example append event ${lastId}`);
      }
      lastId = undefined;
    }
    for (const [id, rec] of st.acked) {
      assert.equal(
        seen.get(id),
        rec,
        `acknowledged ${id} is in ${st.name}'s log once, at record ${rec}`,
      );
    }
  }
}

async function phase(
  dir: string,
  clients: ClientState[],
  runMs: number | undefined,
  env: Record<string, string> = {},
): Promise<void> {
  const agent = await startAgent(dir, env);
  const stop = { stopped: false };
  const loops = clients.map((st) =>
    clientLoop(st, join(dir, 'run', 'tenants', `${st.name}.sock`), stop),
  );
  if (runMs !== undefined) await new Promise((r) => setTimeout(r, runMs));
  else await Promise.race([agent.exited, new Promise((r) => setTimeout(r, 5000))]);
  stop.stopped = true;
  agent.child.kill('SIGKILL');
  await agent.exited;
  await Promise.all(loops);
}

async function verifyAfterRestart(dir: string, clients: ClientState[]): Promise<void> {
  // restart, let recovery finish, check with the agent idle, then stop it
  const agent = await startAgent(dir);
  try {
    await checkInvariant(join(dir, 'tvm'), join(dir, 'run', 'log'));
    checkTenantLogs(dir, clients);
  } finally {
    agent.child.kill('SIGKILL');
    await agent.exited;
  }
}

test(
  `crash test: ${KILLS} SIGKILLs at seeded instants, 8 tenants appending with ids`,
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-crash-');
    await initEmulatedTvm({ stateDir: join(dir, 'tvm'), profile: 'tdx' });
    fs.writeFileSync(
      join(dir, 'tenants.json'),
      JSON.stringify({ tenants: TENANTS.map((n) => ({ name: n, vmr: n })) }),
    );
    const rand = seededRng(SEED);
    const clients: ClientState[] = TENANTS.map((name) => ({
      name,
      next: 0,
      pending: undefined,
      acked: new Map(),
    }));
    for (let k = 0; k < KILLS; k++) {
      await phase(dir, clients, 10 + Math.floor(rand() * 140));
      // every 10th kill, restart and check with the agent idle (the next phase checks implicitly:
      // the agent refuses to start on a log it cannot recover)
      if (k % 10 === 9 || k === KILLS - 1) await verifyAfterRestart(dir, clients);
    }
    const total = clients.reduce((n, c) => n + c.acked.size, 0);
    assert.ok(total > KILLS, `events were acknowledged between kills (${total})`);
  },
);

test(
  'fault injection: the agent dies between each step of the append path and recovers',
  { timeout: 300_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-faults-');
    await initEmulatedTvm({ stateDir: join(dir, 'tvm'), profile: 'tdx' });
    fs.writeFileSync(
      join(dir, 'tenants.json'),
      JSON.stringify({ tenants: TENANTS.map((n) => ({ name: n, vmr: n })) }),
    );
    const rand = seededRng(SEED + 1);
    const clients: ClientState[] = TENANTS.map((name) => ({
      name,
      next: 0,
      pending: undefined,
      acked: new Map(),
    }));
    for (const step of FAULT_STEPS) {
      await phase(dir, clients, undefined, {
        MRSTACK_AGENT_FAULT: `${step}:${1 + Math.floor(rand() * 8)}`,
      });
      await verifyAfterRestart(dir, clients);
    }
    assert.ok(clients.some((c) => c.acked.size > 0));
  },
);
