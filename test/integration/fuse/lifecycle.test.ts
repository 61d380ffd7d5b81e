// How a mount ends: SIGTERM unmounts cleanly, `emulate unmount` ends the server, a crashed
// server's mount is removed by `fusermount -u`, and a second mount on a busy mount point fails
// with ERR_MOUNT_FAILED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { runCli } from '../../_support/cli.js';
import { isMountPoint, serveMount } from './mount_helpers.js';

test('SIGTERM unmounts and the server exits 0', async (t) => {
  const m = await serveMount({ profile: 'tdx' });
  t.after(() => m.stop());
  assert.equal(isMountPoint(m.root), true);
  m.child.kill('SIGTERM');
  const { code, signal } = await m.exited;
  assert.equal(code, 0, `exit ${String(code)} ${String(signal)}: ${m.stderr()}`);
  assert.equal(isMountPoint(m.root), false);
});

test('emulate unmount removes the mount and the server exits 0', async (t) => {
  const m = await serveMount({ profile: 'snp' });
  t.after(() => m.stop());
  const r = await runCli(['emulate', 'unmount', m.root, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { mountpoint: m.root, unmounted: true });
  assert.equal(r.stdout.split('\n').length, 2, 'one JSON line'); // the line and its newline
  const { code, signal } = await m.exited;
  assert.equal(code, 0, `exit ${String(code)} ${String(signal)}: ${m.stderr()}`);
  assert.equal(isMountPoint(m.root), false);
});

test('after a crash (SIGKILL) the stale mount is removed by fusermount -u', async (t) => {
  const m = await serveMount({ profile: 'tdx' });
  t.after(() => m.stop());
  m.child.kill('SIGKILL');
  await m.exited;
  assert.equal(isMountPoint(m.root), true);
  assert.throws(() => statSync(`${m.root}/sys`), { code: 'ENOTCONN' });
  const r = spawnSync('fusermount', ['-u', m.root]);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(isMountPoint(m.root), false);
});

test('mounting on a mount point in use fails with ERR_MOUNT_FAILED (exit 3)', async (t) => {
  const m = await serveMount({ profile: 'tdx' });
  t.after(() => m.stop());
  const r = await runCli(['emulate', 'mount', m.root, '--tvm-state', m.stateDir, '--json']);
  assert.equal(r.code, 3);
  const body = JSON.parse(r.stdout) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'ERR_MOUNT_FAILED');
  assert.match(body.error.message, /already a mount point/);
  assert.equal(isMountPoint(m.root), true);
});
