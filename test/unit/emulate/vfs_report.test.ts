// The emulated kernel ABI's file semantics without FUSE: the VirtualTree built for a profile
// over a fake provider, driven the way the kernel would drive the FUSE ops (open, write, flush,
// release), so the configfs and sysfs rules are pinned precisely and fast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTvmTree } from '../../../src/emulate/tvm_layout.js';
import { FsErrno } from '../../../src/emulate/fs_errno.js';
import type { VirtualTree } from '../../../src/emulate/vfs.js';
import type {
  ExtendInput,
  MrInfo,
  MrSelector,
  Provider,
  RawReport,
  ReportRequest,
} from '../../../src/providers/provider.js';

/** A provider that records what the tree asks of it. */
function fakeProvider(): Provider & { extends: Uint8Array[]; reports: ReportRequest[] } {
  const mrs: MrInfo[] = [
    { name: 'mrtd', alg: 'sha384', size: 48, kind: 'static', extendable: false },
    { name: 'servtd_hash', alg: 'sha384', size: 48, kind: 'static', extendable: false },
    { name: 'rtmr3', alg: 'sha384', size: 48, kind: 'runtime', extendable: true },
  ];
  const extendsSeen: Uint8Array[] = [];
  const reports: ReportRequest[] = [];
  let n = 0;
  return {
    kind: 'emulated',
    profile: 'tdx',
    extends: extendsSeen,
    reports,
    describe: () => Promise.resolve(mrs),
    read: (sel: MrSelector) =>
      Promise.resolve([{ name: sel.name, alg: sel.alg, value: new Uint8Array(48).fill(7) }]),
    extend: (sel: MrSelector, input: ExtendInput) => {
      if (input.kind !== 'digest') throw new Error('the tree extends with digests only');
      extendsSeen.push(input.digest);
      return Promise.resolve([
        { name: sel.name, alg: sel.alg, old: new Uint8Array(48), new: new Uint8Array(48) },
      ]);
    },
    report: (req: ReportRequest): Promise<RawReport> => {
      reports.push(req);
      n++;
      return Promise.resolve({
        provider: 'tdx_guest',
        format: 'tdx-quote',
        outblob: new Uint8Array(Buffer.from(`quote#${n}`)),
        emulated: true,
      });
    },
    close: () => Promise.resolve(),
  };
}

const W = { read: false, write: true } as const;
const R = { read: true, write: false } as const;
const INST = '/sys/kernel/config/tsm/report/x';
const text = async (t: VirtualTree, path: string): Promise<string> => {
  const fh = t.open(path, R);
  const b = await t.read(fh, 0, 4096);
  await t.release(fh);
  return Buffer.from(b).toString();
};
const errno = (code: string) => (e: unknown) => e instanceof FsErrno && e.errno === code;

test('only the kernel TDX registers are served, with kernel modes', async () => {
  const t = await buildTvmTree(fakeProvider(), 'tdx');
  const dir = '/sys/devices/virtual/misc/tdx_guest/measurements';
  assert.deepEqual(t.readdir(dir), ['mrtd:sha384', 'rtmr3:sha384']);
  assert.equal(t.getattr(`${dir}/mrtd:sha384`).mode & 0o777, 0o444);
  assert.equal(t.getattr(`${dir}/rtmr3:sha384`).mode & 0o777, 0o644);
  assert.throws(() => t.open(`${dir}/mrtd:sha384`, W), errno('EACCES'));
});

test('a register write: >= size at 0 extends with the first size bytes; other offsets and sizes fail', async () => {
  const p = fakeProvider();
  const t = await buildTvmTree(p, 'tdx');
  const fh = t.open('/sys/devices/virtual/misc/tdx_guest/measurements/rtmr3:sha384', W);
  const d = new Uint8Array(100).map((_, i) => i);
  assert.equal(await t.write(fh, 0, d), 48);
  assert.deepEqual(p.extends, [d.slice(0, 48)]);
  await assert.rejects(t.write(fh, 0, d.subarray(0, 47)), errno('EINVAL'));
  await assert.rejects(t.write(fh, 1, d), errno('EINVAL'));
  await assert.rejects(t.write(fh, 47, d), errno('EINVAL'));
  await assert.rejects(t.write(fh, 48, d), errno('EFBIG'));
  assert.equal(p.extends.length, 1);
});

test('inblob is stored at FLUSH: one store per open, none for a flush without writes', async () => {
  const t = await buildTvmTree(fakeProvider(), 'tdx');
  t.mkdir(INST);
  const fh = t.open(`${INST}/inblob`, W);
  await t.flush(fh); // a dup'd descriptor closed before any write
  assert.equal(await text(t, `${INST}/generation`), '0\n');
  await t.write(fh, 0, new Uint8Array(32));
  await t.write(fh, 32, new Uint8Array(32));
  assert.equal(await text(t, `${INST}/generation`), '0\n');
  await t.flush(fh);
  assert.equal(await text(t, `${INST}/generation`), '1\n');
  await t.release(fh);
  assert.equal(await text(t, `${INST}/generation`), '1\n');
});

test('a 65-byte inblob is EFBIG, and the open still stores (an empty blob) at close, as configfs does', async () => {
  const t = await buildTvmTree(fakeProvider(), 'tdx');
  t.mkdir(INST);
  const fh = t.open(`${INST}/inblob`, W);
  await assert.rejects(t.write(fh, 0, new Uint8Array(65)), errno('EFBIG'));
  await t.flush(fh);
  assert.equal(await text(t, `${INST}/generation`), '1\n');
  const out = t.open(`${INST}/outblob`, R);
  await assert.rejects(t.read(out, 0, 4096), errno('EINVAL'));
});

test('outblob: generated on read, cached per generation, regenerated after a store', async () => {
  const p = fakeProvider();
  const t = await buildTvmTree(p, 'tdx');
  t.mkdir(INST);
  const store = async (b: number): Promise<void> => {
    const fh = t.open(`${INST}/inblob`, W);
    await t.write(fh, 0, new Uint8Array(64).fill(b));
    await t.flush(fh);
    await t.release(fh);
  };
  await store(1);
  assert.equal(p.reports.length, 0, 'nothing generated before a read');
  assert.equal(await text(t, `${INST}/outblob`), 'quote#1');
  assert.equal(await text(t, `${INST}/outblob`), 'quote#1');
  assert.deepEqual(
    p.reports.map((r) => r.reportData[0]),
    [1],
  );
  await store(2);
  assert.equal(await text(t, `${INST}/outblob`), 'quote#2');
  assert.deepEqual(
    p.reports.map((r) => r.reportData[0]),
    [1, 2],
  );
});

test('instances: mkdir twice is EEXIST, rmdir removes, no files or subdirectories can be made', async () => {
  const t = await buildTvmTree(fakeProvider(), 'tdx');
  t.mkdir(INST);
  assert.throws(() => t.mkdir(INST), errno('EEXIST'));
  assert.throws(() => t.mkdir(`${INST}/sub`), errno('EPERM'));
  assert.throws(() => t.create(`${INST}/new`), errno('EACCES'));
  assert.throws(() => t.open(`${INST}/inblob`, R), errno('EACCES'));
  t.rmdir(INST);
  assert.throws(() => t.getattr(INST), errno('ENOENT'));
  assert.throws(() => t.rmdir(INST), errno('ENOENT'));
});

test('the tpm profile has no kernel guest ABI to serve', async () => {
  await assert.rejects(buildTvmTree(fakeProvider(), 'tpm'), { code: 'ERR_USAGE' });
});
