// The linux provider against plain temp directory trees (no FUSE): discovery of tsm-mr groups,
// names and algorithms from file names, sizes from file sizes, per-device extendability (the
// kernel sample's live rtmr0 is read-only whatever its mode), sysfs PCRs, log locations, the
// exact write pattern of an extend, and the report procedure's own checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openLinuxProvider, probeLinux } from '../../../../src/providers/linux/linux_provider.js';
import { parseTsmMrFileName } from '../../../../src/providers/linux/tsm_mr.js';
import { nodeTsmFs, type TsmFs } from '../../../../src/providers/linux/tsm_fs.js';
import { fromErrno, ProviderError } from '../../../../src/errors.js';

function tree(
  t: { after(fn: () => void): void },
  files: Record<string, Uint8Array | string | null>,
): string {
  const root = mkdtempSync(join(tmpdir(), 'mrstack-linux-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [p, content] of Object.entries(files)) {
    const full = join(root, p);
    if (content === null) {
      mkdirSync(full, { recursive: true });
    } else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  }
  return root;
}

const fill = (n: number, b: number): Uint8Array => new Uint8Array(n).fill(b);
const TDX = 'sys/devices/virtual/misc/tdx_guest/measurements';
const SAMPLE = 'sys/devices/virtual/misc/tsm_mr_sample/measurements';

test('tsm-mr file names: NAME:HASH in kernel spellings, bare NAME for no-hash registers', () => {
  assert.deepEqual(parseTsmMrFileName('rtmr3:sha384'), { name: 'rtmr3', alg: 'sha384' });
  assert.deepEqual(parseTsmMrFileName('mrconfigid'), { name: 'mrconfigid', alg: undefined });
  assert.deepEqual(parseTsmMrFileName('rtmr_crypto_agile:sha256'), {
    name: 'rtmr_crypto_agile',
    alg: 'sha256',
  });
  assert.deepEqual(parseTsmMrFileName('x:sm3'), { name: 'x', alg: 'sm3' });
  assert.equal(parseTsmMrFileName('x:md5'), undefined);
  assert.equal(parseTsmMrFileName('uevent.bak'), undefined);
});

test('TDX guest: registers, sizes, kinds and extendability from the device table', async (t) => {
  const root = tree(t, {
    [`${TDX}/mrconfigid`]: fill(48, 1),
    [`${TDX}/mrowner`]: fill(48, 2),
    [`${TDX}/mrownerconfig`]: fill(48, 3),
    [`${TDX}/mrtd:sha384`]: fill(48, 4),
    [`${TDX}/rtmr0:sha384`]: fill(48, 0),
    [`${TDX}/rtmr3:sha384`]: fill(48, 0),
  });
  assert.equal(await probeLinux(root), true);
  const p = await openLinuxProvider({ root });
  assert.equal(p.profile, 'tdx');
  const d = await p.describe();
  assert.deepEqual(
    d.map((m) => [m.name, m.alg, m.size, m.kind, m.extendable]),
    [
      ['mrconfigid', undefined, 48, 'static', false],
      ['mrowner', undefined, 48, 'static', false],
      ['mrownerconfig', undefined, 48, 'static', false],
      ['mrtd', 'sha384', 48, 'static', false],
      ['rtmr0', 'sha384', 48, 'runtime', true],
      ['rtmr3', 'sha384', 48, 'runtime', true],
    ],
  );
  const [v] = await p.read({ name: 'mrowner' });
  assert.deepEqual(v!.value, fill(48, 2));
});

test('kernel sample: live read-only rtmr0 (even with a writable mode), crypto-agile aliases, sizes from files', async (t) => {
  const root = tree(t, {
    [`${SAMPLE}/static_mr:sha384`]: fill(48, 0),
    [`${SAMPLE}/config_mr`]: fill(64, 0),
    [`${SAMPLE}/rtmr0:sha256`]: fill(32, 0),
    [`${SAMPLE}/rtmr1:sha384`]: fill(48, 0),
    [`${SAMPLE}/rtmr_crypto_agile:sha256`]: fill(32, 0),
    [`${SAMPLE}/rtmr_crypto_agile:sha384`]: fill(48, 0),
    [`${SAMPLE}/report_digest:sha512`]: fill(64, 0),
  });
  chmodSync(join(root, SAMPLE, 'rtmr0:sha256'), 0o644);
  const p = await openLinuxProvider({ root });
  assert.equal(p.device, 'tsm_mr_sample');
  assert.equal(p.profile, undefined);
  const d = await p.describe();
  const row = (name: string, alg: string | undefined) =>
    d.find((m) => m.name === name && m.alg === alg);
  assert.deepEqual(
    [
      row('config_mr', undefined)?.size,
      row('rtmr0', 'sha256')?.extendable,
      row('rtmr0', 'sha256')?.kind,
    ],
    [64, false, 'runtime'],
  );
  assert.equal(row('rtmr1', 'sha384')?.extendable, true);
  assert.equal(row('report_digest', 'sha512')?.size, 64);
  assert.equal(row('report_digest', 'sha512')?.extendable, false);
  assert.equal(row('static_mr', 'sha384')?.kind, 'static');
  await assert.rejects(p.extend({ name: 'rtmr0' }, { kind: 'digest', digest: fill(32, 1) }), {
    code: 'ERR_NOT_EXTENDABLE',
  });
  // The same register under two hashes: a bare digest must name the bank.
  await assert.rejects(
    p.extend({ name: 'rtmr_crypto_agile' }, { kind: 'digest', digest: fill(32, 1) }),
    {
      code: 'ERR_EVENT_DATA_REQUIRED',
    },
  );
  const vals = await p.read({ name: 'rtmr_crypto_agile' });
  assert.deepEqual(
    vals.map((v) => [v.alg, v.value.length]),
    [
      ['sha256', 32],
      ['sha384', 48],
    ],
  );
});

test('an unknown device is listed but never extended', async (t) => {
  const root = tree(t, {
    'sys/devices/virtual/misc/other_tvm/measurements/rtmr9:sha256': fill(32, 0),
  });
  const p = await openLinuxProvider({ root });
  const [m] = await p.describe();
  assert.deepEqual([m!.name, m!.alg, m!.extendable], ['rtmr9', 'sha256', false]);
  await assert.rejects(p.extend({ name: 'rtmr9' }, { kind: 'digest', digest: fill(32, 0) }), {
    code: 'ERR_NOT_EXTENDABLE',
  });
});

test('a register read that is not exactly the register size is a device error', async (t) => {
  const root = tree(t, { [`${TDX}/rtmr0:sha384`]: fill(48, 0) });
  const lying: TsmFs = { ...nodeTsmFs(root), readAll: () => Promise.resolve(fill(47, 0)) };
  const p = await openLinuxProvider({ fs: lying });
  await assert.rejects(p.read({ name: 'rtmr0' }), { code: 'ERR_DEVICE' });
});

test('extend is one write of exactly the register size at offset 0, then a read-back', async (t) => {
  const root = tree(t, { [`${TDX}/rtmr2:sha384`]: fill(48, 0) });
  const base = nodeTsmFs(root);
  const writes: [string, number][] = [];
  const fs: TsmFs = {
    ...base,
    async writeOnce(path, data) {
      writes.push([path, data.length]);
      return base.writeOnce(path, data);
    },
  };
  const p = await openLinuxProvider({ fs });
  const digest = fill(48, 7);
  const [r] = await p.extend({ name: 'rtmr2', alg: 'sha384' }, { kind: 'digest', digest });
  assert.deepEqual(writes, [[`${TDX}/rtmr2:sha384`, 48]]);
  // A plain file simply takes the bytes: old and new are what the file held before and after.
  assert.deepEqual(r!.old, fill(48, 0));
  assert.deepEqual(r!.new, digest);
  await assert.rejects(p.extend({ name: 'rtmr2' }, { kind: 'digest', digest: fill(49, 0) }), {
    code: 'ERR_DIGEST_SIZE',
  });
  assert.equal(writes.length, 1);
});

test('a short write is an error; kernel errno values become typed errors with exit code 3', async (t) => {
  const root = tree(t, { [`${TDX}/rtmr3:sha384`]: fill(48, 0) });
  const base = nodeTsmFs(root);
  const short = await openLinuxProvider({ fs: { ...base, writeOnce: () => Promise.resolve(47) } });
  await assert.rejects(
    short.extend({ name: 'rtmr3' }, { kind: 'digest', digest: fill(48, 1) }),
    (e: unknown) => {
      assert.ok(e instanceof ProviderError);
      assert.equal(e.code, 'ERR_DEVICE');
      assert.equal(e.exitCode, 3);
      return true;
    },
  );
  // errno from the kernel files → typed error, exit code 3 (fromErrno, used by the real port).
  const cases: [string, string][] = [
    ['EBUSY', 'ERR_DEVICE_BUSY'],
    ['EIO', 'ERR_DEVICE_IO'],
    ['EINTR', 'ERR_DEVICE_INTERRUPTED'],
    ['ENXIO', 'ERR_DEVICE_INVALID'],
    ['EINVAL', 'ERR_DEVICE_INVALID'],
    ['EFBIG', 'ERR_DEVICE_TOO_BIG'],
    ['EACCES', 'ERR_PERMISSION'],
    ['EPERM', 'ERR_PERMISSION'],
  ];
  for (const [errno, code] of cases) {
    const e = fromErrno(Object.assign(new Error(errno), { code: errno }), 'rtmr3:sha384');
    assert.equal(e.code, code, errno);
    assert.equal(e.exitCode, 3, errno);
    assert.equal(e.details['errno'], errno);
  }
  // The real port maps what open(2) says: a missing register file is ERR_NOT_FOUND.
  rmSync(join(root, TDX, 'rtmr3:sha384'));
  await assert.rejects(base.writeOnce(`${TDX}/rtmr3:sha384`, fill(48, 0)), {
    code: 'ERR_NOT_FOUND',
  });
});

test('TPM PCRs from sysfs: hex text per bank, read-only', async (t) => {
  const v7 = 'AB'.repeat(32);
  const root = tree(t, {
    'sys/class/tpm/tpm0/pcr-sha256/0': `${'00'.repeat(32)}\n`,
    'sys/class/tpm/tpm0/pcr-sha256/7': `${v7}\n`,
    'sys/class/tpm/tpm0/pcr-sha256/10': `${'11'.repeat(32)}\n`,
    'sys/class/tpm/tpm0/pcr-sha1/7': `${'CD'.repeat(20)}\n`,
    'sys/class/tpm/tpm0/pcr-sha256/bogus': 'x',
  });
  const p = await openLinuxProvider({ root });
  const d = await p.describe();
  assert.deepEqual(
    d.map((m) => `${m.name}:${String(m.alg)}`),
    ['pcr7:sha1', 'pcr0:sha256', 'pcr7:sha256', 'pcr10:sha256'],
  );
  const vals = await p.read({ name: 'pcr7' });
  assert.deepEqual(
    vals.map((v) => [v.alg, Buffer.from(v.value).toString('hex')]),
    [
      ['sha1', 'cd'.repeat(20)],
      ['sha256', 'ab'.repeat(32)],
    ],
  );
  await assert.rejects(
    p.extend({ name: 'pcr7', alg: 'sha256' }, { kind: 'digest', digest: fill(32, 0) }),
    {
      code: 'ERR_NOT_EXTENDABLE',
    },
  );
  writeFileSync(join(root, 'sys/class/tpm/tpm0/pcr-sha256/0'), 'zz\n');
  await assert.rejects(p.read({ name: 'pcr0' }), { code: 'ERR_DEVICE' });
});

test('kernel log locations are found when present', async (t) => {
  const root = tree(t, {
    'sys/firmware/acpi/tables/CCEL': 'hdr',
    'sys/firmware/acpi/tables/data/CCEL': 'log',
    'sys/kernel/security/tpm0/binary_bios_measurements': 'tcg',
    'sys/kernel/security/ima/ascii_runtime_measurements': 'a',
    'sys/kernel/security/ima/binary_runtime_measurements_sha256': 'b',
    'sys/kernel/security/ima/policy': 'p',
  });
  const p = await openLinuxProvider({ root });
  const logs = await p.logs();
  assert.deepEqual(
    logs.map((l) => [l.kind, l.path, l.imaBank]),
    [
      ['ccel-table', 'sys/firmware/acpi/tables/CCEL', undefined],
      ['ccel', 'sys/firmware/acpi/tables/data/CCEL', undefined],
      ['tcg2', 'sys/kernel/security/tpm0/binary_bios_measurements', undefined],
      ['ima-ascii', 'sys/kernel/security/ima/ascii_runtime_measurements', undefined],
      ['ima-binary', 'sys/kernel/security/ima/binary_runtime_measurements_sha256', 'sha256'],
    ],
  );
  const chunks: Buffer[] = [];
  for await (const c of p.fs.openStream(logs[1]!.path)) chunks.push(c as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), 'log');
});

test('nothing under the root: probe is false, describe is empty, report is ERR_UNSUPPORTED', async (t) => {
  const root = tree(t, { 'sys/devices/virtual/misc': null });
  assert.equal(await probeLinux(root), false);
  const p = await openLinuxProvider({ root });
  assert.deepEqual(await p.describe(), []);
  await assert.rejects(p.report({ reportData: fill(64, 0) }), { code: 'ERR_UNSUPPORTED' });
  await assert.rejects(openLinuxProvider({ root, device: 'tdx_guest' }), { code: 'ERR_NOT_FOUND' });
});

test('report: a failing request still removes its instance directory', async (t) => {
  // A plain directory is no configfs: mkdir makes an empty instance, reading `provider` fails.
  const root = tree(t, { 'sys/kernel/config/tsm/report': null });
  const p = await openLinuxProvider({ root });
  await assert.rejects(p.report({ reportData: fill(64, 0) }), { code: 'ERR_NOT_FOUND' });
  assert.deepEqual(readdirSync(join(root, 'sys/kernel/config/tsm/report')), []);
});

test('report: generation that did not move by the stores made is a race', async (t) => {
  // A fake configfs whose generation never moves: the one inblob store must show as +1.
  const root = tree(t, { 'sys/kernel/config/tsm/report': null });
  const base = nodeTsmFs(root);
  const fs: TsmFs = {
    ...base,
    async mkdir(path) {
      await base.mkdir(path);
      writeFileSync(join(root, path, 'provider'), 'tdx_guest\n');
      writeFileSync(join(root, path, 'generation'), '5\n');
      writeFileSync(join(root, path, 'inblob'), '');
      writeFileSync(join(root, path, 'outblob'), 'quote');
    },
    async rmdir(path) {
      rmSync(join(root, path), { recursive: true });
      return Promise.resolve();
    },
  };
  const p = await openLinuxProvider({ fs });
  await assert.rejects(p.report({ reportData: fill(64, 9) }), (e: unknown) => {
    assert.ok(e instanceof ProviderError);
    assert.equal(e.code, 'ERR_REPORT_GENERATION_CHANGED');
    assert.deepEqual(e.details, { attribute: 'generation', expected: 6, actual: 5 });
    return true;
  });
  assert.equal(existsSync(join(root, 'sys/kernel/config/tsm/report')), true);
  assert.deepEqual(readdirSync(join(root, 'sys/kernel/config/tsm/report')), []);
});
