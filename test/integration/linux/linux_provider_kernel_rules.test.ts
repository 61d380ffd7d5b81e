// The linux provider against the kernel's edge rules, served by the emulated mount (stub
// reports, so outblobs are a known function of the inblob): privlevel against
// privlevel_floor, the generation wrap guard, and the TDX quote timeout. Each kernel refusal
// must reach the caller as its typed error — exit 2 for a request the guest cannot take, 3 for
// an operational failure — and leave no instance directory behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../_support/cli.js';
import { openLinuxProvider } from '../../../src/providers/linux/linux_provider.js';
import { fillInstance } from '../../../src/providers/linux/configfs_report.js';
import { nodeTsmFs, type TsmFs } from '../../../src/providers/linux/tsm_fs.js';
import { ERROR_CODES, isMrstackError, type ErrorCode } from '../../../src/errors.js';
import { serveMount, tdxPaths, type ServedMount } from '../fuse/mount_helpers.js';
import { stubOutblob } from '../fuse/stub_server.js';

/** Asserts a typed error with this code, its registry exit code, and message text. */
function typed(code: ErrorCode, exit: number, message?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isMrstackError(e), String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(ERROR_CODES[e.code].exit, exit);
    assert.equal(e.exitCode, exit);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  };
}

const instances = (m: ServedMount): string[] => readdirSync(tdxPaths(m.root).report);

describe('linux provider: privlevel against privlevel_floor (snp guest, floor 2)', () => {
  let m: ServedMount;
  before(async () => {
    m = await serveMount({ profile: 'snp', server: 'stub', kernel: { privlevelFloor: 2 } });
  });
  after(async () => {
    await m.stop();
  });

  test('a privlevel below the floor is ERR_BAD_VALUE (exit 2) naming the floor; nothing left', async () => {
    const p = await openLinuxProvider({ root: m.root });
    for (const privlevel of [0, 1, 4]) {
      await assert.rejects(
        p.report({ reportData: randomBytes(64), privlevel }),
        typed('ERR_BAD_VALUE', 2, /takes 2\.\.3 \(privlevel_floor is 2\)/),
      );
    }
    assert.deepEqual(instances(m), []);
  });

  test('a privlevel at the floor is stored and the report answers the inblob', async () => {
    const p = await openLinuxProvider({ root: m.root });
    const reportData = randomBytes(64);
    const r = await p.report({ reportData, privlevel: 2 });
    assert.deepEqual(r.outblob, stubOutblob(reportData));
    assert.deepEqual(instances(m), []);
  });

  test("the kernel's own EINVAL on privlevel (no floor file to check first) is ERR_DEVICE_INVALID, exit 3", async () => {
    // A port that hides privlevel_floor: the provider cannot check first, so the kernel refuses.
    const base = nodeTsmFs(m.root);
    const blind: TsmFs = {
      ...base,
      stat: (path) =>
        path.endsWith('/privlevel_floor') ? Promise.resolve(undefined) : base.stat(path),
    };
    const p = await openLinuxProvider({ fs: blind });
    await assert.rejects(
      p.report({ reportData: randomBytes(64), privlevel: 1 }),
      (e: unknown) =>
        typed('ERR_DEVICE_INVALID', 3, /the kernel takes privlevel 0\.\.3/)(e) &&
        isMrstackError(e) &&
        e.details['errno'] === 'EINVAL',
    );
    assert.deepEqual(instances(m), []);
  });
});

describe('linux provider: a TDX guest takes no privlevel', () => {
  let m: ServedMount;
  before(async () => {
    m = await serveMount({ profile: 'tdx', server: 'stub' });
  });
  after(async () => {
    await m.stop();
  });

  test('privlevel on tdx_guest is ERR_UNSUPPORTED (the attribute is not shown)', async () => {
    const p = await openLinuxProvider({ root: m.root });
    await assert.rejects(
      p.report({ reportData: randomBytes(64), privlevel: 0 }),
      typed('ERR_UNSUPPORTED', 2, /takes no privlevel/),
    );
    assert.deepEqual(instances(m), []);
  });
});

describe('linux provider: the generation wrap guard (1-bit counters)', () => {
  let m: ServedMount;
  before(async () => {
    m = await serveMount({ profile: 'cca', server: 'stub', kernel: { generationBits: 1 } });
  });
  after(async () => {
    await m.stop();
  });

  test('a text store refused with EBUSY is ERR_DEVICE_BUSY (exit 3) naming the wrap guard', async () => {
    // 1-bit counters: the inblob store takes generation to 1; the next store would wrap onto
    // the read generation (0) and is refused.
    const p = await openLinuxProvider({ root: m.root });
    await assert.rejects(
      p.report({ reportData: randomBytes(64), serviceManifestVersion: 1 }),
      (e: unknown) =>
        typed('ERR_DEVICE_BUSY', 3, /generation wrap guard/)(e) &&
        isMrstackError(e) &&
        e.details['errno'] === 'EBUSY',
    );
    assert.deepEqual(instances(m), []);
  });

  test('an inblob the kernel drops at close shows as an uncounted store', async () => {
    const fs = nodeTsmFs(m.root);
    const dir = 'sys/kernel/config/tsm/report/pre';
    await fs.mkdir(dir);
    try {
      // Someone stored once before us: generation 1, so our inblob store is refused silently.
      const r = spawnSync('sh', ['-c', `echo 1 > '${join(m.root, dir)}/service_manifest_version'`]);
      assert.equal(r.status, 0, r.stderr.toString());
      await assert.rejects(
        fillInstance(fs, dir, { reportData: randomBytes(64) }),
        (e: unknown) =>
          typed(
            'ERR_REPORT_GENERATION_CHANGED',
            3,
            /did not count 1 of this request's stores/,
          )(e) &&
          isMrstackError(e) &&
          e.details['expected'] === 2 &&
          e.details['actual'] === 1,
      );
    } finally {
      await fs.rmdir(dir);
    }
  });
});

describe('linux provider: the TDX quote timeout', () => {
  // The host's delay must outlast the CLI run plus the next request, whatever the load: at load
  // 15 a node CLI start alone can take seconds, and a 3 s delay left the host answering first.
  const DELAY = 30_000;
  const TIMEOUT = 400;
  let slow: ServedMount;
  let fast: ServedMount;
  before(async () => {
    slow = await serveMount({
      profile: 'tdx',
      server: 'stub',
      kernel: { quoteDelayMs: DELAY, quoteTimeoutMs: TIMEOUT },
    });
    fast = await serveMount({
      profile: 'tdx',
      server: 'stub',
      kernel: { quoteDelayMs: 300, quoteTimeoutMs: 5000 },
    });
  });
  after(async () => {
    await slow.stop();
    await fast.stop();
  });

  test('mrstack report: ETIMEDOUT is ERR_TIMEOUT, exit 3; the next request while the host is busy is ERR_DEVICE_BUSY', async () => {
    const nonce = randomBytes(32).toString('hex');
    const started = Date.now();
    const cli = await runCli([
      'report',
      '--provider',
      'linux',
      '--root',
      slow.root,
      '--nonce',
      nonce,
      '--json',
    ]);
    assert.equal(cli.code, 3, cli.stdout + cli.stderr);
    assert.match(cli.stdout + cli.stderr, /"code":\s*"ERR_TIMEOUT"/);
    assert.match(cli.stdout + cli.stderr, /getquote_timeout/);
    assert.deepEqual(instances(slow), []);
    assert.ok(Date.now() - started < DELAY, 'the host is still busy with the abandoned quote');
    const p = await openLinuxProvider({ root: slow.root });
    await assert.rejects(
      p.report({ reportData: randomBytes(64) }),
      (e: unknown) =>
        typed('ERR_DEVICE_BUSY', 3, /still in flight/)(e) &&
        isMrstackError(e) &&
        e.details['errno'] === 'EBUSY',
    );
    assert.deepEqual(instances(slow), []);
  });

  test('a quote slower than usual but within the timeout arrives after the delay', async () => {
    const p = await openLinuxProvider({ root: fast.root });
    const reportData = randomBytes(64);
    const t0 = Date.now();
    const r = await p.report({ reportData });
    assert.ok(Date.now() - t0 >= 290, `answered after ${Date.now() - t0} ms`);
    assert.deepEqual(r.outblob, stubOutblob(reportData));
    assert.deepEqual(instances(fast), []);
  });
});
