// Sockets private from the first byte (DESIGN §5): the agent is held between listen() and the
// socket's final owner/mode (the test hook of the test-only entry), and another uid (`nobody`,
// through setpriv) tries to connect at that instant and after. Controls make the refusals mean
// something: root reaches the paused socket (it is listening), and `nobody` reaches a tenant
// socket configured 0666 once it is in place (the directories above are traversable).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { initEmulatedTvm } from '../../../src/providers/emulated/tvm_state.js';
import { startAgentProcess } from '../../_support/agent_harness.js';
import { tempDir } from './agent_support.js';

/** Connects to a unix socket as uid/gid nobody; returns "connected" or the errno code. */
function connectAsNobody(path: string): string {
  const r = spawnSync(
    'setpriv',
    [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      process.execPath,
      '-e',
      `const s=require('net').connect(process.argv[1]);s.on('connect',()=>{console.log('connected');s.destroy()});s.on('error',e=>console.log(e.code))`,
      path,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function connectAsRoot(path: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

async function nextPause(
  out: { stdout: string; stderr: string },
  seen: number,
): Promise<{ paused: string; role: string }> {
  // a deadline, so that an agent that died or hung fails the test instead of keeping it waiting
  const deadline = Date.now() + 120_000;
  for (;;) {
    const lines = out.stdout.split('\n').filter((l) => l.includes('"paused"'));
    if (lines.length > seen) return JSON.parse(lines[seen]!) as { paused: string; role: string };
    assert.ok(Date.now() < deadline, `no pause ${seen} in 120 s: ${out.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('sockets are private from the first byte: nobody cannot connect while paused or after', async (t) => {
  const dir = tempDir(t, 'mrstack-sockmode-');
  // the temp folder itself must not be what stops nobody
  fs.chmodSync(dir, 0o755);
  const tvm = join(dir, 'tvm');
  await initEmulatedTvm({ stateDir: tvm, profile: 'tdx' });
  fs.writeFileSync(
    join(dir, 'tenants.json'),
    JSON.stringify({
      tenants: [
        { name: 'alice', vmr: 'alice' },
        { name: 'open', vmr: 'open', mode: '0666' },
      ],
    }),
  );
  const run = join(dir, 'run');
  const agent = startAgentProcess(
    [
      '--tvm-state',
      tvm,
      '--run-dir',
      run,
      '--tenants',
      join(dir, 'tenants.json'),
      '--log-level',
      'error',
    ],
    { MRSTACK_TEST_PAUSE_SOCKETS: '1' },
    { withHooks: true },
  );
  t.after(() => agent.stop());
  const finals: Record<string, string> = {
    admin: join(run, 'admin.sock'),
    alice: join(run, 'tenants', 'alice.sock'),
    open: join(run, 'tenants', 'open.sock'),
  };
  const order = ['admin', 'alice', 'open'];
  for (const [i, name] of order.entries()) {
    const p = await nextPause(agent.output, i);
    assert.equal(p.role, name === 'admin' ? 'admin' : 'tenant');
    // paused between listen() and the final mode: listening, inside a 0700 directory of root's
    assert.equal(await connectAsRoot(p.paused), 'connected', 'the paused socket is listening');
    const bindDir = fs.statSync(dirname(p.paused));
    assert.equal(bindDir.mode & 0o777, 0o700);
    assert.equal(bindDir.uid, 0);
    assert.equal(connectAsNobody(p.paused), 'EACCES', `${name}: nobody at the paused instant`);
    assert.equal(connectAsNobody(finals[name]!), 'ENOENT', `${name}: not yet at its public path`);
    agent.child.kill('SIGUSR2');
  }
  const deadline = Date.now() + 120_000;
  while (!agent.output.stdout.includes('"ready":true')) {
    assert.ok(Date.now() < deadline, `not ready in 120 s: ${agent.output.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // after: the final modes hold
  assert.equal(fs.statSync(finals['admin']!).mode & 0o777, 0o600);
  assert.equal(fs.statSync(finals['alice']!).mode & 0o777, 0o600);
  assert.equal(fs.statSync(finals['open']!).mode & 0o777, 0o666);
  assert.equal(connectAsNobody(finals['admin']!), 'EACCES');
  assert.equal(connectAsNobody(finals['alice']!), 'EACCES');
  assert.equal(
    connectAsNobody(finals['open']!),
    'connected',
    'control: a 0666 socket is reachable',
  );
  // directories: tenant logs 0700, the socket directory traversable but not listable
  const logDir = join(run, 'log');
  assert.equal(fs.statSync(logDir).mode & 0o777, 0o700);
  assert.equal(fs.statSync(join(logDir, 'tenants')).mode & 0o777, 0o700);
  assert.equal(fs.statSync(join(run, 'tenants')).mode & 0o777, 0o711);
  assert.equal(fs.readdirSync(join(run, '.bind')).length, 0, 'nothing left in the bind directory');
});
