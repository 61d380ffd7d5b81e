// The emulated SNP guest under an SVSM (issue 18), through the kernel ABI tree without FUSE: the
// report instance shows the SVSM attributes and manifestblob, as the sev-guest driver does when
// snp_vmpl is non-zero (its report_attr_visible / report_bin_attr_visible callbacks); with
// service_provider = svsm the report is the SVSM's: VMPL 0, REPORT_DATA = SHA-512(64-byte inblob
// ‖ manifest) (SVSM spec 58019, attestation protocol; checked here with openssl), the manifest a
// GUID table whose one entry is the vTPM (GUID c476f1eb-…) with the EK public area, and no
// certificates. Other service names are EINVAL at report time (sev_report_new).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTvmTree } from '../../../src/emulate/tvm_layout.js';
import { FsErrno } from '../../../src/emulate/fs_errno.js';
import type { VirtualTree } from '../../../src/emulate/vfs.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { initEmulatedTvm } from '../../../src/providers/emulated/tvm_state.js';
import { TSM_REPORT_SERVICE_ATTRIBUTES } from '../../_support/fuse_guest.js';

const dir = mkdtempSync(join(tmpdir(), 'mrstack-svsm-vfs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const INST = '/sys/kernel/config/tsm/report/s';
const W = { read: false, write: true } as const;
const R = { read: true, write: false } as const;
const errno = (code: string) => (e: unknown) => e instanceof FsErrno && e.errno === code;

async function readAll(t: VirtualTree, path: string): Promise<Buffer> {
  const fh = t.open(path, R);
  const b = await t.read(fh, 0, 1 << 16);
  await t.release(fh);
  return Buffer.from(b);
}
async function put(t: VirtualTree, path: string, data: Uint8Array | string): Promise<void> {
  const fh = t.open(path, W);
  await t.write(fh, 0, typeof data === 'string' ? new Uint8Array(Buffer.from(data)) : data);
  await t.flush(fh);
  await t.release(fh);
}

async function svsmTree(): Promise<VirtualTree> {
  const state = join(dir, 'tvm');
  await initEmulatedTvm({ stateDir: state, profile: 'snp', svsm: true, force: true });
  const provider = await openEmulatedProvider({ stateDir: state });
  return buildTvmTree(provider, 'snp', { svsm: true });
}

test('under an SVSM the sev_guest instance shows the service attributes and manifestblob', async () => {
  const t = await svsmTree();
  t.mkdir(INST);
  assert.deepEqual([...t.readdir(INST)].sort(), [...TSM_REPORT_SERVICE_ATTRIBUTES]);
  assert.equal(t.getattr(`${INST}/manifestblob`).mode & 0o777, 0o444);
  assert.equal(t.getattr(`${INST}/service_provider`).mode & 0o777, 0o200);
});

test('service_provider svsm: a VMPL 0 report over SHA-512(inblob ‖ manifest), the vTPM EK in the manifest', async () => {
  const t = await svsmTree();
  t.mkdir(INST);
  const inblob = new Uint8Array(64).fill(0x5a);
  await put(t, `${INST}/inblob`, inblob);
  await put(t, `${INST}/service_provider`, 'svsm\n');
  const report = await readAll(t, `${INST}/outblob`);
  const manifest = await readAll(t, `${INST}/manifestblob`);
  assert.equal(report.length, 1184);
  assert.equal((await readAll(t, `${INST}/auxblob`)).length, 0);
  // SNP ABI report: VMPL at 0x30, REPORT_DATA at 0x50.
  assert.equal(report.readUInt32LE(0x30), 0);
  const m = join(dir, 'nonce-manifest.bin');
  writeFileSync(m, Buffer.concat([inblob, manifest]));
  const want = execFileSync('openssl', ['dgst', '-sha512', '-binary', m]);
  assert.equal(report.subarray(0x50, 0x90).toString('hex'), want.toString('hex'));
  // Manifest: GUID 63849ebb-3d92-4670-a1ff-58f9c94b87bb (EFI byte order), size, one service.
  assert.equal(manifest.subarray(0, 16).toString('hex'), 'bb9e8463923d7046a1ff58f9c94b87bb');
  assert.equal(manifest.readUInt32LE(16), manifest.length);
  assert.equal(manifest.readUInt32LE(20), 1);
  // vTPM GUID c476f1eb-0123-45a5-9641-b4e7dde5bfe3, data at 48 to the end.
  assert.equal(manifest.subarray(24, 40).toString('hex'), 'ebf176c42301a5459641b4e7dde5bfe3');
  assert.equal(manifest.readUInt32LE(40), 48);
  assert.equal(manifest.readUInt32LE(44), manifest.length - 48);
  // The data is a TPMT_PUBLIC that tpm2-tools reads: an RSA 2048 EK (restricted decrypt).
  const ek = join(dir, 'ek.tpmt_public');
  writeFileSync(ek, manifest.subarray(48));
  const printed = execFileSync('tpm2_print', ['-t', 'TPMT_PUBLIC', ek], { encoding: 'utf8' });
  assert.match(printed, /type:\s*\n?\s*value: rsa/);
  assert.match(printed, /bits: 2048/);
  assert.match(printed, /restricted/);
  assert.match(printed, /decrypt/);
});

test('single service: the vTPM GUID; another GUID, version or provider is EINVAL at report time', async () => {
  const t = await svsmTree();
  t.mkdir(INST);
  await put(t, `${INST}/inblob`, new Uint8Array(64).fill(1));
  await put(t, `${INST}/service_provider`, 'svsm\n');
  const all = await readAll(t, `${INST}/manifestblob`);
  await put(t, `${INST}/service_guid`, 'c476f1eb-0123-45a5-9641-b4e7dde5bfe3\n');
  assert.deepEqual(await readAll(t, `${INST}/manifestblob`), all); // the only service
  await put(t, `${INST}/service_manifest_version`, '1\n');
  await assert.rejects(readAll(t, `${INST}/outblob`), errno('EINVAL'));
  await put(t, `${INST}/service_manifest_version`, '0\n');
  await put(t, `${INST}/service_guid`, '11112222-1234-5678-9abc-ddddeeeeffff\n');
  await assert.rejects(readAll(t, `${INST}/outblob`), errno('EINVAL'));
  await put(t, `${INST}/service_guid`, '00000000-0000-0000-0000-000000000000\n');
  await put(t, `${INST}/service_provider`, 'other\n');
  await assert.rejects(readAll(t, `${INST}/outblob`), errno('EINVAL'));
});
