// configfs-tsm rules that only show at the edges, through the mount with shell tools (coreutils
// printf, cat, head report the errno as strerror text): privlevel against privlevel_floor, the
// generation wrap guard, and the TDX quote timeout. The rules and errnos are the kernel's
// (drivers/virt/coco/tsm.c, fs/configfs/file.c, drivers/virt/coco/tdx-guest/tdx-guest.c; see
// docs/emulate-mount.md); expected counter values follow from the rule, modulo the width.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveMount, type ServedMount } from './mount_helpers.js';
import { stubOutblob } from './stub_server.js';

function sh(script: string): { code: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync('sh', ['-c', script], {
    env: { ...process.env, LC_ALL: 'C' },
    timeout: 120_000, // generous: the serving process may be slow under load
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** One write(2) of `text` by coreutils printf, which reports the errno's strerror. */
const put = (text: string, file: string) => sh(`env printf '%s\\n' '${text}' > '${file}'`);
const cat = (file: string): string => sh(`cat '${file}'`).stdout.toString();

describe('privlevel and privlevel_floor (snp guest, floor 2)', () => {
  let m: ServedMount;
  let inst: string;
  before(async () => {
    m = await serveMount({ profile: 'snp', server: 'stub', kernel: { privlevelFloor: 2 } });
    inst = join(m.root, 'sys/kernel/config/tsm/report/p');
    assert.equal(sh(`mkdir '${inst}'`).code, 0);
  });
  after(async () => {
    await m.stop();
  });

  test('privlevel_floor shows the floor as "%u\\n" and is read-only (EACCES on write)', () => {
    assert.equal(cat(`${inst}/privlevel_floor`), '2\n');
    assert.equal(statSync(`${inst}/privlevel_floor`).mode & 0o777, 0o444);
    const r = put('3', `${inst}/privlevel_floor`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Permission denied/);
    assert.equal(cat(`${inst}/privlevel_floor`), '2\n');
  });

  test('privlevel below the floor or above 3 is EINVAL and not counted; past UINT_MAX ERANGE', () => {
    const g0 = cat(`${inst}/generation`);
    for (const v of ['0', '1', '4']) {
      const r = put(v, `${inst}/privlevel`);
      assert.notEqual(r.code, 0, `privlevel ${v}`);
      assert.match(r.stderr, /Invalid argument/, `privlevel ${v}`);
    }
    const big = put('4294967296', `${inst}/privlevel`);
    assert.match(big.stderr, /Numerical result out of range/);
    const junk = put('two', `${inst}/privlevel`);
    assert.match(junk.stderr, /Invalid argument/);
    assert.equal(cat(`${inst}/generation`), g0);
  });

  test('privlevel at the floor and at 3 (also as kstrtouint hex) is stored, one generation each', () => {
    const g0 = Number(cat(`${inst}/generation`));
    assert.equal(put('2', `${inst}/privlevel`).code, 0);
    assert.equal(put('0x3', `${inst}/privlevel`).code, 0);
    assert.equal(cat(`${inst}/generation`), `${g0 + 2}\n`);
  });
});

describe('the generation wrap guard (3-bit counters)', () => {
  const BITS = 3;
  const MOD = 2 ** BITS;
  let m: ServedMount;
  let inst: string;
  let inblobFile: string;
  before(async () => {
    m = await serveMount({ profile: 'cca', server: 'stub', kernel: { generationBits: BITS } });
    inst = join(m.root, 'sys/kernel/config/tsm/report/w');
    inblobFile = join(m.stateDir, '..', 'inblob.bin');
    assert.equal(sh(`mkdir '${inst}'`).code, 0);
  });
  after(async () => {
    await m.stop();
  });

  test('stores stop with EBUSY one short of the read generation; inblob is dropped silently', () => {
    // read_generation = 0, so write_generation may reach MOD - 1 and no further.
    for (let i = 1; i < MOD; i++) {
      assert.equal(put('7', `${inst}/service_manifest_version`).code, 0, `store ${i}`);
      assert.equal(cat(`${inst}/generation`), `${i}\n`);
    }
    const text = put('8', `${inst}/service_manifest_version`);
    assert.notEqual(text.code, 0);
    assert.match(text.stderr, /Device or resource busy/);
    // configfs ignores the binary store's result at release: close(2) succeeds, nothing stored.
    writeFileSync(inblobFile, randomBytes(64));
    const bin = sh(`head -c 64 '${inblobFile}' > '${inst}/inblob'`);
    assert.equal(bin.code, 0, bin.stderr);
    assert.equal(cat(`${inst}/generation`), `${MOD - 1}\n`);
    // No inblob was ever stored: outblob is EINVAL, and a failed read moves nothing.
    const r = sh(`cat '${inst}/outblob' > /dev/null`);
    assert.match(r.stderr, /Invalid argument/);
    assert.match(put('8', `${inst}/service_manifest_version`).stderr, /Device or resource busy/);
  });

  test('a fresh instance: reading a blob sets the read generation, after which stores wrap to 0', () => {
    const dir = join(m.root, 'sys/kernel/config/tsm/report/w2');
    assert.equal(sh(`mkdir '${dir}'`).code, 0);
    const inblob = randomBytes(64);
    writeFileSync(inblobFile, inblob);
    assert.equal(sh(`head -c 64 '${inblobFile}' > '${dir}/inblob'`).code, 0);
    for (let i = 2; i < MOD; i++) assert.equal(put('1', `${dir}/service_manifest_version`).code, 0);
    assert.equal(cat(`${dir}/generation`), `${MOD - 1}\n`);
    assert.match(put('1', `${dir}/service_manifest_version`).stderr, /Device or resource busy/);
    const out = sh(`cat '${dir}/outblob'`);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(new Uint8Array(out.stdout), stubOutblob(inblob));
    // read_generation is now MOD - 1: the next store wraps the counter to 0.
    assert.equal(put('1', `${dir}/service_manifest_version`).code, 0);
    assert.equal(cat(`${dir}/generation`), '0\n');
    assert.equal(sh(`rmdir '${dir}'`).code, 0);
  });
});

describe('the TDX quote timeout (host delay 8000 ms, driver timeout 400 ms)', () => {
  // The host's delay is long beside anything this machine's load can add between two commands
  // (a spawned `sh` + `cat` took over a second at load 15): the request right after the timeout
  // is sure to find the host still busy, and the test learns that the host has answered by
  // asking again (EBUSY until then), not by sleeping for a guessed time.
  const DELAY = 8000;
  const TIMEOUT = 400;
  let m: ServedMount;
  before(async () => {
    m = await serveMount({
      profile: 'tdx',
      server: 'stub',
      kernel: { quoteDelayMs: DELAY, quoteTimeoutMs: TIMEOUT },
    });
  });
  after(async () => {
    await m.stop();
  });

  test('outblob fails with ETIMEDOUT after the timeout, then EBUSY until the host answers', async () => {
    const dir = join(m.root, 'sys/kernel/config/tsm/report/t');
    const inblob = randomBytes(64);
    const file = join(m.stateDir, '..', 'tdx-inblob.bin');
    writeFileSync(file, inblob);
    assert.equal(sh(`mkdir '${dir}'`).code, 0);
    assert.equal(sh(`head -c 64 '${file}' > '${dir}/inblob'`).code, 0);
    const t0 = Date.now();
    const first = sh(`cat '${dir}/outblob'`);
    const waited = Date.now() - t0;
    assert.notEqual(first.code, 0);
    assert.match(first.stderr, /Connection timed out/);
    // the driver waited its timeout (a timer never fires early), and gave up before the host
    // answered (the bound is the host's delay, far above any load's delay)
    assert.ok(waited >= TIMEOUT - 50 && waited < DELAY, `timed out after ${waited} ms`);
    // The abandoned GetQuote still owns the shared buffer: every instance is refused.
    const busy = sh(`cat '${dir}/outblob'`);
    assert.match(busy.stderr, /Device or resource busy/);
    // Until the host answers, every request is refused at once; then a new request waits the
    // full delay, longer than the timeout.
    const deadline = Date.now() + DELAY + 120_000;
    let again = sh(`cat '${dir}/outblob'`);
    while (again.stderr.includes('Device or resource busy') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      again = sh(`cat '${dir}/outblob'`);
    }
    assert.ok(Date.now() - t0 >= DELAY, 'the host answered no earlier than its delay');
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /Connection timed out/);
    assert.equal(readFileSync(`${dir}/generation`, 'latin1'), '1\n');
    assert.equal(sh(`rmdir '${dir}'`).code, 0);
  });
});

describe('TDX quotes take turns (host delay 500 ms, driver timeout 3000 ms)', () => {
  let m: ServedMount;
  before(async () => {
    m = await serveMount({
      profile: 'tdx',
      server: 'stub',
      kernel: { quoteDelayMs: 500, quoteTimeoutMs: 3000 },
    });
  });
  after(async () => {
    await m.stop();
  });

  test('two instances read at once: the second waits for the first (quote_lock), no EBUSY', () => {
    const report = join(m.root, 'sys/kernel/config/tsm/report');
    const tmp = join(m.stateDir, '..');
    const blobs = [randomBytes(64), randomBytes(64)];
    blobs.forEach((b, i) => {
      writeFileSync(join(tmp, `in${i}`), b);
      assert.equal(sh(`mkdir '${report}/q${i}'`).code, 0);
      assert.equal(sh(`head -c 64 '${tmp}/in${i}' > '${report}/q${i}/inblob'`).code, 0);
    });
    const t0 = Date.now();
    const r = sh(
      `cat '${report}/q0/outblob' > '${tmp}/out0' & p=$!; ` +
        `cat '${report}/q1/outblob' > '${tmp}/out1' || exit 1; wait $p`,
    );
    const took = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(took >= 950, `both quotes after ${took} ms`);
    blobs.forEach((b, i) => {
      assert.deepEqual(new Uint8Array(readFileSync(join(tmp, `out${i}`))), stubOutblob(b));
    });
  });
});
