// Bad input to `mrstack mr` / `emulate init`: each case gives its typed error code and exit
// code 2, as one JSON error with --json and one line (no stack trace) without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fails, ok, runCli, tempState } from './mr_support.js';

const D48 = 'ab'.repeat(48);

async function tdx(t: Parameters<typeof tempState>[0]): Promise<string> {
  const dir = tempState(t);
  await ok(dir, 'emulate', 'init', '--profile', 'tdx');
  return dir;
}

async function expectCode(
  dir: string,
  code: string,
  ...args: string[]
): Promise<Record<string, unknown>> {
  const { error, result } = await fails(dir, ...args);
  assert.equal(error['code'], code, JSON.stringify(error));
  assert.equal(result.code, 2, `exit code of mrstack ${args.join(' ')}`);
  assert.equal(typeof error['message'], 'string');
  return error;
}

test('a 47-byte digest for rtmr2 is ERR_DIGEST_SIZE', async (t) => {
  const dir = await tdx(t);
  const e = await expectCode(dir, 'ERR_DIGEST_SIZE', 'mr', 'extend', 'rtmr2', 'ab'.repeat(47));
  assert.match(String(e['message']), /48/);
});

test('a 49-byte digest for rtmr2 is ERR_DIGEST_SIZE too (no clamping at this layer)', async (t) => {
  const dir = await tdx(t);
  await expectCode(dir, 'ERR_DIGEST_SIZE', 'mr', 'extend', 'rtmr2', 'ab'.repeat(49));
});

test('odd-length hex is ERR_BAD_HEX', async (t) => {
  const dir = await tdx(t);
  await expectCode(dir, 'ERR_BAD_HEX', 'mr', 'extend', 'rtmr2', `${D48}a`);
});

test('a non-hex digit is ERR_BAD_HEX', async (t) => {
  const dir = await tdx(t);
  await expectCode(dir, 'ERR_BAD_HEX', 'mr', 'extend', 'rtmr2', `${'ab'.repeat(47)}zz`);
});

test('an unknown register is ERR_UNKNOWN_MR (extend and read)', async (t) => {
  const dir = await tdx(t);
  await expectCode(dir, 'ERR_UNKNOWN_MR', 'mr', 'extend', 'rtmr4', D48);
  await expectCode(dir, 'ERR_UNKNOWN_MR', 'mr', 'read', 'pcr0');
  await expectCode(dir, 'ERR_UNKNOWN_MR', 'mr', 'read', 'rtmr0:sha256');
});

test('extending a static register (mrtd, mrconfigid) is ERR_NOT_EXTENDABLE', async (t) => {
  const dir = await tdx(t);
  await expectCode(dir, 'ERR_NOT_EXTENDABLE', 'mr', 'extend', 'mrtd', D48);
  await expectCode(dir, 'ERR_NOT_EXTENDABLE', 'mr', 'extend', 'mrconfigid', D48);
});

test('a bare multi-bank PCR with a digest is ERR_EVENT_DATA_REQUIRED', async (t) => {
  const dir = tempState(t);
  await ok(dir, 'emulate', 'init', '--profile', 'tpm');
  const e = await expectCode(
    dir,
    'ERR_EVENT_DATA_REQUIRED',
    'mr',
    'extend',
    'pcr7',
    'ab'.repeat(32),
  );
  assert.match(String(e['message']), /pcr7:sha1/);
});

test('a PCR bank digest of the wrong size is ERR_DIGEST_SIZE', async (t) => {
  const dir = tempState(t);
  await ok(dir, 'emulate', 'init', '--profile', 'tpm');
  await expectCode(dir, 'ERR_DIGEST_SIZE', 'mr', 'extend', 'pcr7:sha256', 'ab'.repeat(20));
});

test('PCR 17-22 cannot be extended at locality 0 (ERR_NOT_EXTENDABLE)', async (t) => {
  const dir = tempState(t);
  await ok(dir, 'emulate', 'init', '--profile', 'tpm');
  await expectCode(dir, 'ERR_NOT_EXTENDABLE', 'mr', 'extend', 'pcr17:sha256', 'ab'.repeat(32));
});

test('CCA REM data of 65 bytes is ERR_DIGEST_SIZE', async (t) => {
  const dir = tempState(t);
  await ok(dir, 'emulate', 'init', '--profile', 'cca');
  await expectCode(dir, 'ERR_DIGEST_SIZE', 'mr', 'extend', 'rem0', 'ab'.repeat(65));
});

test('a truncated trace is ERR_TRACE_CORRUPT naming the file and the offset', async (t) => {
  const dir = await tdx(t);
  await ok(dir, 'mr', 'extend', 'rtmr2', D48);
  await ok(dir, 'mr', 'extend', 'rtmr3', D48);
  const trace = join(dir, 'trace.bin');
  assert.equal(statSync(trace).size, 256);
  truncateSync(trace, 200);
  const e = await expectCode(dir, 'ERR_TRACE_CORRUPT', 'mr', 'read', 'rtmr2');
  assert.equal(e['format'], 'trace');
  assert.equal(e['offset'], 128);
  assert.equal(e['incomplete'], true);
  assert.ok(String(e['field']).includes(trace), String(e['field']));
  // Without --json: one line on stderr naming the file, no stack trace.
  const r = await runCli(['mr', 'list', '--tvm-state', dir]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^mrstack: ERR_TRACE_CORRUPT: trace @0x80 .*trace\.bin/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('a garbled trace (one flipped byte) is ERR_TRACE_CORRUPT at that record', async (t) => {
  const dir = await tdx(t);
  for (let i = 0; i < 3; i++) await ok(dir, 'mr', 'extend', 'rtmr1', D48);
  const trace = join(dir, 'trace.bin');
  const bytes = readFileSync(trace);
  bytes[128 + 0x30]! ^= 0x40; // inside record 1's data
  writeFileSync(trace, bytes);
  const e = await expectCode(dir, 'ERR_TRACE_CORRUPT', 'mr', 'read', 'rtmr1');
  assert.equal(e['record'], 1);
  assert.equal(e['offset'], 128 + 0x60); // the checksum that no longer matches
  assert.ok(String(e['field']).includes(trace));
  // An extend refuses too, before appending anything.
  await expectCode(dir, 'ERR_TRACE_CORRUPT', 'mr', 'extend', 'rtmr0', D48);
  assert.equal(statSync(trace).size, 3 * 128);
});

test('--provider auto on mr extend is ERR_USAGE; accepted by mr read', async (t) => {
  const dir = await tdx(t);
  await expectCode(dir, 'ERR_USAGE', 'mr', 'extend', 'rtmr2', D48, '--provider', 'auto');
  // On this machine there are no TDX/TPM kernel files under an empty --root: auto = emulated.
  const r = await ok(dir, 'mr', 'read', 'rtmr2', '--provider', 'auto', '--root', dir);
  assert.equal(r['provider'], 'emulated');
});

test('an unknown --provider is a usage error (exit 2)', async (t) => {
  const dir = await tdx(t);
  await expectCode(dir, 'ERR_USAGE', 'mr', 'read', 'rtmr2', '--provider', 'magic');
});

test('mr extend needs exactly one of a digest, --event, --text', async (t) => {
  const dir = await tdx(t);
  await expectCode(dir, 'ERR_USAGE', 'mr', 'extend', 'rtmr2');
  await expectCode(dir, 'ERR_USAGE', 'mr', 'extend', 'rtmr2', D48, '--text', 'x');
});

test('emulate init on an existing TVM is ERR_CONFLICT; --force replaces it', async (t) => {
  const dir = await tdx(t);
  await ok(dir, 'mr', 'extend', 'rtmr0', D48);
  await expectCode(dir, 'ERR_CONFLICT', 'emulate', 'init', '--profile', 'tdx');
  const j = await ok(dir, 'emulate', 'init', '--profile', 'tpm', '--force');
  assert.equal(j['profile'], 'tpm');
  assert.equal(statSync(join(dir, 'trace.bin')).size, 0);
});

test('options that do not fit the profile, or values of the wrong size, are ERR_USAGE', async (t) => {
  const dir = tempState(t);
  for (const args of [
    ['tdx', '--hash-alg', 'sha512'],
    ['tdx', '--mrconfigid', 'ab'.repeat(32)],
    ['snp', '--mrowner', D48],
    ['tpm', '--startup-locality', '2'],
    ['arm'],
  ])
    await expectCode(dir, 'ERR_USAGE', 'emulate', 'init', '--profile', ...args);
});

test('reading a state directory with no TVM is ERR_NOT_FOUND', async (t) => {
  const dir = tempState(t);
  const e = await expectCode(dir, 'ERR_NOT_FOUND', 'mr', 'list');
  assert.match(String(e['message']), /emulate init/);
});

test('mr list --provider linux on a machine with no TEE and no TPM: exit 3 ERR_NO_DEVICE naming the paths looked at', async (t) => {
  const root = tempState(t); // an empty directory: no sys/ at all
  const r = await runCli(['mr', 'list', '--provider', 'linux', '--root', root, '--json']);
  assert.equal(r.code, 3, r.stdout);
  const error = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, 'ERR_NO_DEVICE');
  assert.ok(error.message.includes(join(root, 'sys/devices/virtual/misc')), error.message);
  assert.ok(error.message.includes(join(root, 'sys/class/tpm/tpm0')), error.message);
});

test('a missing file names its errno once (no "ENOENT: ENOENT:")', async (t) => {
  const missing = join(tempState(t), 'no-such-log');
  const r = await runCli(['log', 'parse', missing]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^mrstack: ERR_NOT_FOUND: .*no-such-log: ENOENT: no such file or directory/,
  );
  assert.doesNotMatch(r.stderr, /ENOENT: ENOENT/);
});
