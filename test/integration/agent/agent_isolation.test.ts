// Isolation through the sockets (issue 8, Must show): a tenant appends only to its own vMR, reads
// only its own log, cannot forge agent records or reach admin routes, and its evidence holds no
// other tenant's event text. Socket modes are as configured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import { Agent } from '../../../src/agent/agent.js';
import { AgentServer } from '../../../src/agent/server.js';
import { AdminClient, TenantClient } from '../../../src/agent/client.js';
import { MrstackError } from '../../../src/errors.js';
import { emulatedTdx, tempDir, tenantLines } from './agent_support.js';

function raw(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath,
        method,
        path,
        headers: data === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(t) as Record<string, unknown> }),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

test('tenant isolation over the sockets', async (t) => {
  const dir = tempDir(t, 'mrstack-iso-');
  const provider = await emulatedTdx(join(dir, 'tvm'));
  const logDir = join(dir, 'log');
  const run = join(dir, 'run');
  const agent = await Agent.open({
    provider,
    register: 'rtmr3',
    logDir,
    bootId: 'b',
    tenants: [
      { name: 'alice', vmr: 'alice', mode: '0660' },
      { name: 'bob', vmr: 'bob' },
    ],
  });
  const server = await AgentServer.start({ agent, runDir: run });
  const alice = new TenantClient(server.tenantSocket('alice'));
  const bob = new TenantClient(server.tenantSocket('bob'));
  const admin = new AdminClient(server.adminSocket);
  t.after(async () => {
    alice.close();
    bob.close();
    admin.close();
    await server.close();
    await agent.close();
  });
  assert.equal(fs.statSync(server.adminSocket).mode & 0o777, 0o600);
  assert.equal(fs.statSync(server.tenantSocket('alice')).mode & 0o777, 0o660);
  assert.equal(fs.statSync(server.tenantSocket('bob')).mode & 0o777, 0o600);

  await bob.append({ domain: 'bob.example', operation: 'secret', content: 'bob-private-text' });
  // alice names bob's vMR in the body: ignored, the socket is her identity
  const r = (
    await raw(server.tenantSocket('alice'), 'POST', '/v1/events', {
      domain: 'a.example',
      operation: 'op',
      content: 'mine',
      vmr: 'bob',
      tenant: 'bob',
    })
  ).json;
  assert.equal(r['vmr'], 'alice');
  assert.ok(!tenantLines(logDir, 'bob').some((l) => l.includes('mine')));
  // her log is hers only
  const lines = await alice.log();
  assert.ok(lines.some((l) => l === 'a.example op mine'));
  assert.ok(!lines.some((l) => l.includes('bob-private-text')));
  // forging agent records is refused, logs untouched
  const before = tenantLines(logDir, 'alice').length;
  for (const domain of ['VMR', 'SYNC', 'BOOT', 'CHECKPOINT', 'TENANT', 'SALT']) {
    await assert.rejects(
      alice.append({ domain, operation: 'bob=sha384/00', content: 'x' }),
      (e: unknown) => e instanceof MrstackError && e.code === 'ERR_BAD_EVENT',
    );
  }
  await assert.rejects(
    alice.append({ domain: 'a.b', operation: 'op', content: 'x\nVMR bob=sha384/00' }),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_BAD_EVENT',
  );
  assert.equal(tenantLines(logDir, 'alice').length, before);
  // no admin routes on a tenant socket
  for (const [m, p] of [
    ['GET', '/v1/status'],
    ['GET', '/v1/tenants'],
    ['POST', '/v1/tenants'],
    ['POST', '/v1/checkpoint'],
    ['DELETE', '/v1/tenants/bob'],
  ] as const) {
    const res = await raw(
      server.tenantSocket('alice'),
      m,
      p,
      m === 'POST' ? { name: 'evil', vmr: 'evil' } : undefined,
    );
    assert.equal(res.status, 404, `${m} ${p}`);
  }
  assert.equal((await admin.tenants()).tenants.length, 2);
  // evidence: alice's bundle carries no text of bob's events (only salted vMR values)
  const bundle = await alice.evidence(Buffer.from('abcdef', 'hex'));
  const text = JSON.stringify(bundle);
  assert.ok(text.includes('a.example op mine'));
  assert.ok(!text.includes('bob-private-text'));
  assert.ok(!text.includes('bob.example'));
  // admin: add and remove; a removed vMR name is never reused in this boot
  await admin.addTenant({ name: 'carol', vmr: 'carol' });
  const carol = new TenantClient(server.tenantSocket('carol'));
  await carol.append({ domain: 'c.example', operation: 'op', content: 'hi' });
  carol.close();
  await admin.removeTenant('carol');
  assert.ok(!fs.existsSync(server.tenantSocket('carol')));
  assert.equal(fs.readdirSync(join(logDir, 'removed')).length, 1);
  await assert.rejects(
    admin.addTenant({ name: 'carol2', vmr: 'carol' }),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_CONFLICT',
  );
  await assert.rejects(
    admin.addTenant({ name: 'alice', vmr: 'other' }),
    (e: unknown) => e instanceof MrstackError && e.code === 'ERR_CONFLICT',
  );
});
