// Help is complete: every `mr` / `emulate init` option has a description, examples are shown,
// and the state directory comes from --tvm-state, $MRSTACK_TVM_STATE or $XDG_STATE_HOME.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runCli, tempState } from './mr_support.js';

for (const cmd of [
  ['mr', 'list'],
  ['mr', 'read'],
  ['mr', 'extend'],
  ['emulate', 'init'],
]) {
  test(`mrstack ${cmd.join(' ')} --help describes every option`, async () => {
    const r = await runCli([...cmd, '--help']);
    assert.equal(r.code, 0);
    const lines = r.stdout.split('\n');
    const options = lines.filter((l) => /^ {2}(-\w, )?--[a-z-]+/.test(l));
    assert.ok(options.length >= 3, r.stdout);
    for (const l of options) {
      assert.match(l, /^ {2}(-\w, )?--[a-z-]+( <[^>]+>)? {2,}\S/, `undescribed option: ${l}`);
    }
    assert.match(r.stdout, /--json/);
    if (cmd[0] === 'mr') assert.match(r.stdout, /--provider <kind>/);
    assert.match(r.stdout, /Examples:/);
  });
}

test('the state directory comes from $MRSTACK_TVM_STATE, else $XDG_STATE_HOME', async (t) => {
  const dir = tempState(t);
  const r = await runCli(['emulate', 'init', '--profile', 'tdx', '--json'], {
    env: { MRSTACK_TVM_STATE: dir },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { state_dir: string }).state_dir, dir);
  assert.ok(existsSync(join(dir, 'tvm.json')));
  const read = await runCli(['mr', 'read', 'rtmr0', '--json'], { env: { MRSTACK_TVM_STATE: dir } });
  assert.equal(read.code, 0, read.stderr);

  const xdg = join(dirname(dir), 'xdg');
  const r2 = await runCli(['emulate', 'init', '--profile', 'snp', '--json'], {
    env: { MRSTACK_TVM_STATE: '', XDG_STATE_HOME: xdg },
  });
  assert.equal(r2.code, 0, r2.stderr);
  assert.ok(existsSync(join(xdg, 'mrstack', 'tvm', 'tvm.json')));
});
