// `mrstack mr extend` then `mrstack mr read --json` on every profile's extendable registers, in
// each of their algorithms, against openssl: new = H(old ‖ data), with old taken from the spec's
// reset values (zeros; TPM PC Client: PCR 17–22 all ones, PCR0 = 00…0L) or from a prior read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { opensslDigest } from '../../_support/peers.js';
import { fails, listValues, ok, pool, tempState } from './mr_support.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const cat = (a: Uint8Array, b: Uint8Array): Uint8Array => new Uint8Array(Buffer.concat([a, b]));
const SIZES: Record<string, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

test('tdx: rtmr0..3 extend as SHA-384(old ‖ digest), chained, by NAME and NAME:sha384', async (t) => {
  const dir = tempState(t);
  await ok(dir, 'emulate', 'init', '--profile', 'tdx');
  const digests = [0, 1, 2, 3].map(() => new Uint8Array(randomBytes(48)));
  await pool([0, 1, 2, 3], 4, async (i) => {
    const r = await ok(dir, 'mr', 'extend', `rtmr${i}`, hex(digests[i]!));
    assert.equal(r['provider'], 'emulated');
    assert.equal(r['name'], `rtmr${i}`);
    assert.equal(r['alg'], 'sha384');
    assert.equal(r['old'], hex(new Uint8Array(48)));
  });
  for (const i of [0, 1, 2, 3]) {
    const read = await ok(dir, 'mr', 'read', `rtmr${i}`);
    const want = opensslDigest('sha384', cat(new Uint8Array(48), digests[i]!));
    assert.deepEqual(read, {
      provider: 'emulated',
      name: `rtmr${i}`,
      alg: 'sha384',
      value: hex(want),
    });
  }
  // A second extend of rtmr2 through its NAME:ALG spelling starts from the value just read.
  const old = unhex((await ok(dir, 'mr', 'read', 'rtmr2'))['value'] as string);
  const d2 = new Uint8Array(randomBytes(48));
  const ext = await ok(dir, 'mr', 'extend', 'rtmr2:sha384', hex(d2));
  const want = opensslDigest('sha384', cat(old, d2));
  assert.equal(ext['old'], hex(old));
  assert.equal(ext['new'], hex(want));
  assert.equal((await ok(dir, 'mr', 'read', 'rtmr2'))['value'], hex(want));
  // Static registers are untouched; mrconfigid defaults to zero, has no hash.
  const list = await listValues(dir);
  assert.equal(list.get('mrconfigid'), hex(new Uint8Array(48)));
});

test('tdx: init sets mrconfigid, mrowner, mrownerconfig and mrtd as given', async (t) => {
  const dir = tempState(t);
  const v = [1, 2, 3, 4].map(() => hex(new Uint8Array(randomBytes(48))));
  const init = await ok(
    dir,
    ...['emulate', 'init', '--profile', 'tdx', '--mrtd', v[0]!, '--mrconfigid', v[1]!],
    ...['--mrowner', v[2]!, '--mrownerconfig', v[3]!],
  );
  assert.equal(init['profile'], 'tdx');
  const list = await listValues(dir);
  assert.equal(list.get('mrtd:sha384'), v[0]);
  assert.equal(list.get('mrconfigid'), v[1]);
  assert.equal(list.get('mrowner'), v[2]);
  assert.equal(list.get('mrownerconfig'), v[3]);
  assert.deepEqual(await ok(dir, 'mr', 'read', 'mrowner'), {
    provider: 'emulated',
    name: 'mrowner',
    alg: null,
    value: v[2],
  });
});

for (const alg of ['sha256', 'sha512'] as const) {
  test(`cca (${alg}): rem0..3 take 64 bytes and shorter data, REM = H(REM ‖ data)`, async (t) => {
    const dir = tempState(t);
    await ok(dir, 'emulate', 'init', '--profile', 'cca', '--hash-alg', alg);
    const size = SIZES[alg]!;
    const data = [64, 1, 33, 17].map((n) => new Uint8Array(randomBytes(n)));
    await pool([0, 1, 2, 3], 4, async (i) => {
      await ok(dir, 'mr', 'extend', `rem${i}`, hex(data[i]!));
    });
    for (const i of [0, 1, 2, 3]) {
      const read = await ok(dir, 'mr', 'read', `rem${i}`);
      const want = opensslDigest(alg, cat(new Uint8Array(size), data[i]!));
      assert.deepEqual(read, { provider: 'emulated', name: `rem${i}`, alg, value: hex(want) });
    }
    // A second, short extend of rem1 chains from the first.
    const more = new Uint8Array(randomBytes(5));
    const prev = opensslDigest(alg, cat(new Uint8Array(size), data[1]!));
    await ok(dir, 'mr', 'extend', 'rem1', hex(more));
    const read = await ok(dir, 'mr', 'read', 'rem1');
    assert.equal(read['value'], hex(opensslDigest(alg, cat(prev, more))));
    const list = await listValues(dir);
    assert.equal(list.get(`rim:${alg}`)?.length, 2 * size);
  });
}

// Each bank of a spread of PCRs through the CLI (every PCR and bank is covered in-process by
// test/integration/emulated/provider_extend.test.ts): PCR0 (locality), 7, 16, 23.
const CLI_PCRS = [0, 7, 16, 23];
const BANKS = ['sha1', 'sha256', 'sha384'] as const;

function tpmReset(pcr: number, alg: string, locality: number): Uint8Array {
  const v = new Uint8Array(SIZES[alg]!);
  if (pcr >= 17 && pcr <= 22) v.fill(0xff);
  if (pcr === 0) v[v.length - 1] = locality;
  return v;
}

test('tpm: reset values follow the PC Client profile (PCR 17-22 all ones), locality 0', async (t) => {
  const dir = tempState(t);
  await ok(dir, 'emulate', 'init', '--profile', 'tpm');
  const list = await listValues(dir);
  assert.equal(list.size, 24 * 3);
  for (let i = 0; i < 24; i++) {
    for (const alg of BANKS)
      assert.equal(list.get(`pcr${i}:${alg}`), hex(tpmReset(i, alg, 0)), `pcr${i}:${alg}`);
  }
  assert.equal(list.get('pcr17:sha256'), 'ff'.repeat(32));
  const read = await ok(dir, 'mr', 'read', 'pcr22');
  assert.deepEqual(read, {
    provider: 'emulated',
    name: 'pcr22',
    values: { sha1: 'ff'.repeat(20), sha256: 'ff'.repeat(32), sha384: 'ff'.repeat(48) },
  });
});

test('tpm: startup locality 3 starts PCR0 at 00…03 in every bank', async (t) => {
  const dir = tempState(t);
  await ok(dir, 'emulate', 'init', '--profile', 'tpm', '--startup-locality', '3');
  const read = await ok(dir, 'mr', 'read', 'pcr0');
  assert.deepEqual(read['values'], {
    sha1: `${'00'.repeat(19)}03`,
    sha256: `${'00'.repeat(31)}03`,
    sha384: `${'00'.repeat(47)}03`,
  });
});

test('tpm: pcrN:ALG extends one bank, in every bank', async (t) => {
  const dir = tempState(t);
  await ok(dir, 'emulate', 'init', '--profile', 'tpm', '--startup-locality', '3');
  const jobs = CLI_PCRS.flatMap((pcr) => BANKS.map((alg) => ({ pcr, alg })));
  const sent = new Map<string, Uint8Array>();
  await pool(jobs, 4, async ({ pcr, alg }) => {
    const d = new Uint8Array(randomBytes(SIZES[alg]!));
    sent.set(`pcr${pcr}:${alg}`, d);
    const r = await ok(dir, 'mr', 'extend', `pcr${pcr}:${alg}`, hex(d));
    assert.equal(r['alg'], alg);
    assert.equal(r['old'], hex(tpmReset(pcr, alg, 3)));
  });
  const list = await listValues(dir);
  for (const { pcr, alg } of jobs) {
    const want = opensslDigest(alg, cat(tpmReset(pcr, alg, 3), sent.get(`pcr${pcr}:${alg}`)!));
    assert.equal(list.get(`pcr${pcr}:${alg}`), hex(want), `pcr${pcr}:${alg}`);
  }
  for (let pcr = 17; pcr <= 22; pcr++) {
    for (const alg of BANKS) assert.equal(list.get(`pcr${pcr}:${alg}`), hex(tpmReset(pcr, alg, 3)));
  }
  // mr read of one bank agrees with mr list
  assert.deepEqual(await ok(dir, 'mr', 'read', 'pcr7:sha256'), {
    provider: 'emulated',
    name: 'pcr7',
    alg: 'sha256',
    value: list.get('pcr7:sha256'),
  });
});

test('tpm: bare pcrN --text extends every bank with H_bank(text)', async (t) => {
  const dir = tempState(t);
  await ok(dir, 'emulate', 'init', '--profile', 'tpm');
  const text = 'mrstack test event: stage 2 ✓';
  const data = new TextEncoder().encode(text);
  const r = (await ok(dir, 'mr', 'extend', 'pcr14', '--text', text)) as {
    name: string;
    banks: { alg: string; old: string; new: string }[];
  };
  assert.equal(r.name, 'pcr14');
  assert.deepEqual(
    r.banks.map((b) => b.alg),
    [...BANKS],
  );
  const read = (await ok(dir, 'mr', 'read', 'pcr14')) as { values: Record<string, string> };
  for (const alg of BANKS) {
    const want = opensslDigest(alg, cat(new Uint8Array(SIZES[alg]!), opensslDigest(alg, data)));
    assert.equal(read.values[alg], hex(want), alg);
  }
});

test('tpm: bare pcrN --event FILE hashes the file per bank', async (t) => {
  const dir = tempState(t);
  await ok(dir, 'emulate', 'init', '--profile', 'tpm');
  const file = join(dirname(dir), 'event.bin');
  const data = new Uint8Array(randomBytes(1000));
  writeFileSync(file, data);
  await ok(dir, 'mr', 'extend', 'pcr9', '--event', file);
  const read = (await ok(dir, 'mr', 'read', 'pcr9')) as { values: Record<string, string> };
  for (const alg of BANKS) {
    const want = opensslDigest(alg, cat(new Uint8Array(SIZES[alg]!), opensslDigest(alg, data)));
    assert.equal(read.values[alg], hex(want), alg);
  }
});

test('snp: static registers listed, extend is ERR_UNSUPPORTED', async (t) => {
  const dir = tempState(t);
  const hostData = hex(new Uint8Array(randomBytes(32)));
  await ok(dir, 'emulate', 'init', '--profile', 'snp', '--host-data', hostData);
  const j = (await ok(dir, 'mr', 'list')) as {
    profile: string;
    registers: { name: string; size: number; kind: string; value: string }[];
  };
  assert.equal(j.profile, 'snp');
  assert.deepEqual(
    j.registers.map((r) => [r.name, r.size, r.kind]),
    [
      ['measurement', 48, 'static'],
      ['host_data', 32, 'static'],
      ['id_key_digest', 48, 'static'],
      ['author_key_digest', 48, 'static'],
    ],
  );
  assert.equal(j.registers[1]!.value, hostData);
  const { error, result } = await fails(dir, 'mr', 'extend', 'measurement', '00'.repeat(48));
  assert.equal(error['code'], 'ERR_UNSUPPORTED');
  assert.equal(result.code, 2);
});
