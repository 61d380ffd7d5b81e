// The linux provider against the kernel ABI served by `mrstack emulate mount` in a child
// process: list, read, extend, report and the generation race. Values are checked against the
// emulated TVM's own state (its library API replays the trace), extends with openssl.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { opensslDigest } from '../../_support/peers.js';
import { runCliJson, verifyEvidenceJson } from '../../_support/cli.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { openLinuxProvider } from '../../../src/providers/linux/linux_provider.js';
import { nodeTsmFs, type TsmFs } from '../../../src/providers/linux/tsm_fs.js';
import { ProviderError, UsageError } from '../../../src/errors.js';
import type { HashAlg } from '../../../src/crypto/hash_alg.js';
import { serveMount, tdxPaths, type ServedMount } from '../fuse/mount_helpers.js';
import { reportAndVerifyOnMount } from '../../_support/fuse_guest.js';
import { stubOutblob } from '../fuse/stub_server.js';

async function emulatedRead(stateDir: string, name: string, alg?: HashAlg): Promise<Uint8Array> {
  const p = await openEmulatedProvider({ stateDir });
  try {
    const [v] = await p.read(alg === undefined ? { name } : { name, alg });
    return v!.value;
  } finally {
    await p.close();
  }
}

const TDX_KERNEL_MRS = [
  { name: 'mrconfigid', alg: undefined, size: 48, kind: 'static', extendable: false },
  { name: 'mrowner', alg: undefined, size: 48, kind: 'static', extendable: false },
  { name: 'mrownerconfig', alg: undefined, size: 48, kind: 'static', extendable: false },
  { name: 'mrtd', alg: 'sha384', size: 48, kind: 'static', extendable: false },
  ...[0, 1, 2, 3].map((i) => ({
    name: `rtmr${i}`,
    alg: 'sha384',
    size: 48,
    kind: 'runtime',
    extendable: true,
    extendInput: { min: 48, max: 48 },
  })),
];

describe('linux provider on an emulated TDX guest (emulate mount)', () => {
  let m: ServedMount;
  before(async () => {
    m = await serveMount({ profile: 'tdx' });
  });
  after(async () => {
    await m.stop();
  });

  test('describe lists the TDX tsm-mr registers with kernel names, sizes and extendability', async () => {
    const p = await openLinuxProvider({ root: m.root });
    assert.equal(p.kind, 'linux');
    assert.equal(p.profile, 'tdx');
    assert.equal(p.device, 'tdx_guest');
    assert.deepEqual(await p.describe(), TDX_KERNEL_MRS);
  });

  test('read returns the emulated TVM values', async () => {
    const p = await openLinuxProvider({ root: m.root });
    for (const mr of TDX_KERNEL_MRS) {
      const [v] = await p.read({ name: mr.name });
      assert.equal(v!.alg, mr.alg);
      assert.deepEqual(v!.value, await emulatedRead(m.stateDir, mr.name), mr.name);
    }
  });

  test('extend writes one digest; the emulated trace shows SHA-384(old || digest)', async () => {
    const p = await openLinuxProvider({ root: m.root });
    const before = await emulatedRead(m.stateDir, 'rtmr1');
    const digest = randomBytes(48);
    const [r] = await p.extend({ name: 'rtmr1', alg: 'sha384' }, { kind: 'digest', digest });
    const want = opensslDigest('sha384', Buffer.concat([before, digest]));
    assert.deepEqual(r!.old, before);
    assert.deepEqual(r!.new, want);
    assert.deepEqual(await emulatedRead(m.stateDir, 'rtmr1'), want);
  });

  test('extend with event data hashes it with SHA-384 first', async () => {
    const p = await openLinuxProvider({ root: m.root });
    const before = await emulatedRead(m.stateDir, 'rtmr2');
    const data = new Uint8Array(Buffer.from('mrstack test event'));
    await p.extend({ name: 'rtmr2' }, { kind: 'event', data });
    const want = opensslDigest('sha384', Buffer.concat([before, opensslDigest('sha384', data)]));
    assert.deepEqual(await emulatedRead(m.stateDir, 'rtmr2'), want);
  });

  test('refuses static registers, wrong sizes and unknown names with typed errors', async () => {
    const p = await openLinuxProvider({ root: m.root });
    const d48 = { kind: 'digest', digest: new Uint8Array(48) } as const;
    await assert.rejects(p.extend({ name: 'mrtd' }, d48), { code: 'ERR_NOT_EXTENDABLE' });
    await assert.rejects(p.extend({ name: 'mrconfigid' }, d48), { code: 'ERR_NOT_EXTENDABLE' });
    await assert.rejects(
      p.extend({ name: 'rtmr3' }, { kind: 'digest', digest: new Uint8Array(32) }),
      {
        code: 'ERR_DIGEST_SIZE',
      },
    );
    await assert.rejects(p.read({ name: 'rtmr9' }), { code: 'ERR_UNKNOWN_MR' });
    await assert.rejects(p.read({ name: 'rtmr0', alg: 'sha256' }), { code: 'ERR_UNKNOWN_MR' });
  });

  test('kernel errors become typed errors with exit code 3', async () => {
    const fs = nodeTsmFs(m.root);
    const paths = tdxPaths('');
    const check = async (work: Promise<unknown>, code: string, errno: string): Promise<void> => {
      await assert.rejects(work, (e: unknown) => {
        assert.ok(e instanceof ProviderError);
        assert.equal(e.code, code);
        assert.equal(e.details['errno'], errno);
        assert.equal(e.exitCode, 3);
        return true;
      });
    };
    await check(
      fs.writeOnce(paths.mr('rtmr3:sha384'), new Uint8Array(47)),
      'ERR_DEVICE_INVALID',
      'EINVAL',
    );
    await check(
      fs.writeOnce(paths.mr('mrtd:sha384'), new Uint8Array(48)),
      'ERR_PERMISSION',
      'EACCES',
    );
    const inst = `${paths.report.replace(/^\//, '')}/errno-test`;
    await fs.mkdir(inst);
    try {
      await check(
        fs.writeOnce(`${inst}/inblob`, new Uint8Array(65)),
        'ERR_DEVICE_TOO_BIG',
        'EFBIG',
      );
      await check(fs.readAll(`${inst}/outblob`), 'ERR_DEVICE_INVALID', 'EINVAL');
    } finally {
      await fs.rmdir(inst);
    }
  });

  test('a second writer on the instance is detected: ERR_REPORT_GENERATION_CHANGED, instance removed', async () => {
    // The port is the seam: right after the provider's own inblob store, another process stores
    // its inblob into the same instance — as a racing writer would.
    const base = nodeTsmFs(m.root);
    let raced = '';
    const racy: TsmFs = {
      ...base,
      async writeOnce(path, data) {
        const n = await base.writeOnce(path, data);
        if (path.endsWith('/inblob')) {
          raced = path;
          const r = spawnSync('sh', ['-c', `head -c 64 /dev/urandom > '${base.resolve(path)}'`]);
          assert.equal(r.status, 0, r.stderr.toString());
        }
        return n;
      },
    };
    const p = await openLinuxProvider({ fs: racy });
    await assert.rejects(p.report({ reportData: randomBytes(64) }), (e: unknown) => {
      assert.ok(e instanceof ProviderError);
      assert.equal(e.code, 'ERR_REPORT_GENERATION_CHANGED');
      assert.deepEqual(e.details, { attribute: 'generation', expected: 1, actual: 2 });
      assert.equal(e.exitCode, 3);
      return true;
    });
    assert.notEqual(raced, '');
    assert.deepEqual(readdirSync(tdxPaths(m.root).report), []);
  });

  test('report data over 64 bytes is refused before anything is stored', async () => {
    const p = await openLinuxProvider({ root: m.root });
    await assert.rejects(p.report({ reportData: new Uint8Array(65) }), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.equal(e.code, 'ERR_BAD_VALUE');
      return true;
    });
    assert.deepEqual(readdirSync(tdxPaths(m.root).report), []);
  });

  test("report returns the emulated TVM's TDX quote for the report data; evidence verify accepts it", async () => {
    const p = await openLinuxProvider({ root: m.root });
    const reportData = randomBytes(64);
    const r = await p.report({ reportData });
    assert.equal(r.provider, 'tdx_guest');
    assert.equal(r.format, 'tdx-quote');
    assert.deepEqual(readdirSync(tdxPaths(m.root).report), []);
    const file = join(m.stateDir, '..', 'linux-quote.bin');
    writeFileSync(file, r.outblob);
    const { result, json: v } = await verifyEvidenceJson(file, {
      trustEmulated: true,
      tvmState: m.stateDir,
      nonce: reportData.toString('hex'),
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(v.verified, true);
    assert.equal(v.claims['report_data'], reportData.toString('hex'));
    assert.equal(
      v.claims['rtmr1'],
      Buffer.from(await emulatedRead(m.stateDir, 'rtmr1')).toString('hex'),
    );
  });

  test('mrstack report --provider linux --root, then evidence verify --nonce', async () => {
    assert.equal((await reportAndVerifyOnMount(m)).kind, 'tdx');
  });

  test("logs() finds the CCEL table and log area, and IMA's lists", async () => {
    const p = await openLinuxProvider({ root: m.root });
    assert.deepEqual(
      (await p.logs()).map((l) => [l.kind, l.absolutePath]),
      [
        ['ccel-table', join(m.root, 'sys/firmware/acpi/tables/CCEL')],
        ['ccel', join(m.root, 'sys/firmware/acpi/tables/data/CCEL')],
        // the mount serves IMA's lists for every profile (docs/mr-ima.md)
        ['ima-ascii', join(m.root, 'sys/kernel/security/ima/ascii_runtime_measurements')],
        ['ima-binary', join(m.root, 'sys/kernel/security/ima/binary_runtime_measurements')],
      ],
    );
  });

  test('mrstack mr list --provider linux --root shows the same registers', async () => {
    const { result, json } = await runCliJson([
      'mr',
      'list',
      '--provider',
      'linux',
      '--root',
      m.root,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const out = json as {
      provider: string;
      registers: { name: string; alg: string | null; value: string }[];
    };
    assert.equal(out.provider, 'linux');
    assert.deepEqual(
      out.registers.map((r) => r.name),
      TDX_KERNEL_MRS.map((r) => r.name),
    );
    for (const r of out.registers) {
      assert.equal(
        r.value,
        Buffer.from(await emulatedRead(m.stateDir, r.name)).toString('hex'),
        r.name,
      );
    }
  });
});

describe('linux provider reports through configfs-tsm (stub report server)', () => {
  let m: ServedMount;
  before(async () => {
    m = await serveMount({ profile: 'tdx', server: 'stub' });
  });
  after(async () => {
    await m.stop();
  });

  test('report stores the inblob and reads the whole outblob and auxblob, then removes the instance', async () => {
    const p = await openLinuxProvider({ root: m.root });
    const reportData = randomBytes(64);
    const r = await p.report({ reportData });
    assert.equal(r.provider, 'tdx_guest');
    assert.equal(r.format, 'tdx-quote');
    assert.equal(r.outblob.length, 100_000);
    assert.deepEqual(r.outblob, stubOutblob(reportData));
    assert.equal(r.auxblob, undefined, 'TDX shows no auxblob attribute');
    assert.deepEqual(readdirSync(tdxPaths(m.root).report), []);
  });

  test('short report data is zero-padded to the 64 bytes tdx_guest takes', async () => {
    const p = await openLinuxProvider({ root: m.root });
    const reportData = randomBytes(32);
    const r = await p.report({ reportData });
    assert.deepEqual(r.outblob, stubOutblob(Buffer.concat([reportData, Buffer.alloc(32)])));
  });

  test('concurrent reports each get their own instance and their own outblob', async () => {
    const p = await openLinuxProvider({ root: m.root });
    const datas = [0, 1, 2, 3].map(() => randomBytes(64));
    const rs = await Promise.all(datas.map((reportData) => p.report({ reportData })));
    rs.forEach((r, i) => assert.deepEqual(r.outblob, stubOutblob(datas[i]!)));
    assert.deepEqual(readdirSync(tdxPaths(m.root).report), []);
  });
});
