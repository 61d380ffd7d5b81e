// `mrstack emulate mount` passes its kernel options to the emulation: a floor given on the
// command line is what `privlevel_floor` shows and what a `privlevel` write is held to; bad
// values are usage errors (exit 2) before anything is mounted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from '../../_support/paths.js';
import { runCli } from '../../_support/cli.js';
import { isMountPoint } from './mount_helpers.js';

test('--privlevel-floor 2 on an SNP mount: privlevel_floor reads 2, privlevel 1 is refused, 2 is stored', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-mountopt-'));
  const state = join(dir, 'tvm');
  const root = join(dir, 'guest');
  const init = await runCli(['emulate', 'init', '--profile', 'snp', '--tvm-state', state]);
  assert.equal(init.code, 0, init.stderr);
  const child = spawn(
    process.execPath,
    [CLI_PATH, 'emulate', 'mount', root, '--tvm-state', state, '--privlevel-floor', '2', '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  t.after(async () => {
    if (isMountPoint(root)) child.kill('SIGTERM');
    await exited;
    if (isMountPoint(root)) spawnSync('fusermount', ['-uz', root]);
    rmSync(dir, { recursive: true, force: true });
  });
  // The ready message is one line holding one JSON document (docs/emulate-mount.md).
  const first = await new Promise<string>((done, fail) => {
    let text = '';
    child.stdout.on('data', (b: Buffer) => {
      text += b.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0) done(text.slice(0, nl));
    });
    child.once('exit', () => fail(new Error('mount exited before it was ready')));
  });
  assert.equal((JSON.parse(first) as { mountpoint: string }).mountpoint, root);

  const inst = join(root, 'sys/kernel/config/tsm/report/floor');
  mkdirSync(inst);
  assert.equal(readFileSync(join(inst, 'privlevel_floor'), 'utf8'), '2\n');
  // privlevel is write-only (as in the kernel): a store that is taken bumps `generation`.
  const generation = (): string => readFileSync(join(inst, 'generation'), 'utf8');
  const before = generation();
  assert.throws(() => writeFileSync(join(inst, 'privlevel'), '1\n'), { code: 'EINVAL' });
  assert.equal(generation(), before);
  writeFileSync(join(inst, 'privlevel'), '2\n');
  assert.equal(Number(generation()), Number(before) + 1);

  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('bad kernel option values are usage errors (exit 2) and mount nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-mountopt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, 'tvm');
  assert.equal(
    (await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', state])).code,
    0,
  );
  for (const bad of [
    ['--privlevel-floor', 'two'],
    ['--generation-bits', '0'],
    ['--generation-bits', '65'],
    ['--quote-timeout-ms', '-1'],
  ]) {
    const root = join(dir, `guest-${bad.join('')}`);
    const r = await runCli(['emulate', 'mount', root, '--tvm-state', state, ...bad, '--json'], {
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'ERR_USAGE');
    assert.equal(isMountPoint(root), false);
  }
});
