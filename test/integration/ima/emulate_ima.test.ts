// `mrstack emulate ima measure` (a kernel in TPM-bypass mode) and the mount's IMA files: the
// ima-sig template with --sig, exactly one boot_aggregate when two processes measure at once,
// and a mount that never serves a torn entry. Judges: the kernel's record layout (documented in
// Documentation/security/IMA-templates.rst) walked here, node:crypto, and evmctl replaying the
// list with PCR 10 values computed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CLI_PATH } from '../../_support/paths.js';
import { runCli } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';
import { Evmctl } from '../../_support/evmctl.js';
import { serveMount } from '../fuse/mount_helpers.js';

interface Rec {
  template: string;
  hash: Buffer;
  fields: Buffer[];
  td: Buffer;
}

function walk(list: Buffer): Rec[] {
  const out: Rec[] = [];
  let p = 0;
  while (p < list.length) {
    assert.equal(list.readUInt32LE(p), 10, 'PCR 10');
    const hash = list.subarray(p + 4, p + 24);
    const nl = list.readUInt32LE(p + 24);
    const template = list.subarray(p + 28, p + 28 + nl).toString('latin1');
    const tdl = list.readUInt32LE(p + 28 + nl);
    const td = list.subarray(p + 32 + nl, p + 32 + nl + tdl);
    const fields: Buffer[] = [];
    for (let q = 0; q < td.length;) {
      const n = td.readUInt32LE(q);
      fields.push(td.subarray(q + 4, q + 4 + n));
      q += 4 + n;
    }
    out.push({ template, hash, fields, td });
    p += 32 + nl + tdl;
  }
  return out;
}

function pcr10(alg: string, size: number, recs: readonly Rec[]): string {
  let v = Buffer.alloc(size);
  for (const r of recs) {
    v = createHash(alg).update(v).update(createHash(alg).update(r.td).digest()).digest();
  }
  return v.toString('hex');
}

test('emulate ima measure: ima-ng and ima-sig entries as the kernel lays them out; evmctl replays them', async (t) => {
  const dir = tempDir(t, 'mrstack-emu-ima-');
  const tvm = join(dir, 'tvm');
  assert.equal((await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm])).code, 0);
  const a = join(dir, 'a.bin');
  const b = join(dir, 'b.bin');
  const sig = join(dir, 'b.sig');
  fs.writeFileSync(a, 'alpha\n');
  fs.writeFileSync(b, 'beta\n');
  // a security.ima v2 signature header (type 3, version 2, sha256) and some signature bytes
  fs.writeFileSync(sig, Buffer.from('030204deadbeef0004a1a2a3a4', 'hex'));
  assert.equal((await runCli(['emulate', 'ima', 'measure', '--tvm-state', tvm, a])).code, 0);
  const r = await runCli(['emulate', 'ima', 'measure', '--tvm-state', tvm, '--sig', sig, b]);
  assert.equal(r.code, 0, r.stderr);
  const list = fs.readFileSync(join(tvm, 'ima', 'binary_runtime_measurements'));
  const recs = walk(list);
  assert.deepEqual(
    recs.map((x) => x.template),
    ['ima-ng', 'ima-ng', 'ima-sig'],
  );
  const dng = (hex: string): Buffer =>
    Buffer.concat([Buffer.from('sha256:\0'), Buffer.from(hex, 'hex')]);
  const sha256 = (f: string): string =>
    createHash('sha256').update(fs.readFileSync(f)).digest('hex');
  assert.deepEqual(recs[0]!.fields, [dng('00'.repeat(32)), Buffer.from('boot_aggregate\0')]);
  assert.deepEqual(recs[1]!.fields, [dng(sha256(a)), Buffer.from(`${fs.realpathSync(a)}\0`)]);
  assert.deepEqual(recs[2]!.fields, [
    dng(sha256(b)),
    Buffer.from(`${fs.realpathSync(b)}\0`),
    fs.readFileSync(sig),
  ]);
  for (const x of recs) {
    assert.equal(x.hash.toString('hex'), createHash('sha1').update(x.td).digest('hex'));
  }
  const evm = new Evmctl();
  t.after(() => evm.close());
  const ok = evm.run(list, { sha1: pcr10('sha1', 20, recs), sha256: pcr10('sha256', 32, recs) });
  assert.equal(ok.status, 0, ok.out);
  assert.match(ok.out, /Matched per TPM bank/);
  // a missing file is a typed error and measures nothing
  const miss = await runCli([
    'emulate',
    'ima',
    'measure',
    '--tvm-state',
    tvm,
    join(dir, 'nope'),
    '--json',
  ]);
  assert.equal(miss.code, 2, miss.stdout);
  assert.equal(
    (JSON.parse(miss.stdout) as { error: { code: string } }).error.code,
    'ERR_NOT_FOUND',
  );
  assert.equal(
    fs.readFileSync(join(tvm, 'ima', 'binary_runtime_measurements')).length,
    list.length,
  );
});

test('two processes measuring at once: one boot_aggregate, every entry whole', async (t) => {
  const dir = tempDir(t, 'mrstack-emu-ima2-');
  const tvm = join(dir, 'tvm');
  assert.equal((await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm])).code, 0);
  const files = Array.from({ length: 200 }, (_, i) => {
    const f = join(dir, `f${i}`);
    fs.writeFileSync(f, `file ${i}\n`);
    return f;
  });
  const run = (fs_: string[]): Promise<number | null> =>
    new Promise((resolve) => {
      const c = spawn(process.execPath, [
        CLI_PATH,
        'emulate',
        'ima',
        'measure',
        '--tvm-state',
        tvm,
        ...fs_,
      ]);
      c.once('close', resolve);
    });
  const codes = await Promise.all([run(files.slice(0, 100)), run(files.slice(100))]);
  assert.deepEqual(codes, [0, 0]);
  const recs = walk(fs.readFileSync(join(tvm, 'ima', 'binary_runtime_measurements')));
  assert.equal(recs.length, 201);
  assert.equal(recs.filter((x) => x.fields[1]!.toString() === 'boot_aggregate\0').length, 1);
  assert.equal(recs[0]!.fields[1]!.toString(), 'boot_aggregate\0');
});

test('the mount serves whole entries only (0440, size 0, as securityfs)', async (t) => {
  const m = await serveMount({ profile: 'tdx' });
  t.after(() => m.stop());
  const f = join(m.stateDir, '..', 'x');
  fs.writeFileSync(f, 'x\n');
  assert.equal((await runCli(['emulate', 'ima', 'measure', '--tvm-state', m.stateDir, f])).code, 0);
  const path = join(m.stateDir, 'ima', 'binary_runtime_measurements');
  const whole = fs.readFileSync(path);
  // half of a third entry, as a reader racing the writer's write(2) could see it
  fs.appendFileSync(path, whole.subarray(0, 20));
  const bin = join(m.root, 'sys/kernel/security/ima/binary_runtime_measurements');
  const ascii = join(m.root, 'sys/kernel/security/ima/ascii_runtime_measurements');
  assert.ok(fs.readFileSync(bin).equals(whole), 'the torn tail is not served');
  assert.equal(fs.readFileSync(ascii, 'utf8').split('\n').length, 3);
  assert.equal((fs.statSync(bin).mode & 0o777).toString(8), '440');
  assert.equal(fs.statSync(bin).size, 0);
});
