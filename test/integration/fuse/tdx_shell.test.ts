// Plain shell tools against `mrstack emulate mount --profile tdx`, served by a child process:
// they must behave as on a TDX guest's tsm-mr and configfs-tsm files (DESIGN §2, FIELD §A.2-A.3).
// Register values are read back through the emulated provider's library API (its trace), and
// extends are recomputed with openssl.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { opensslDigest } from '../../_support/peers.js';
import { runCliJson, verifyEvidenceJson } from '../../_support/cli.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { serveMount, tdxPaths, type ServedMount } from './mount_helpers.js';
import { guestShell, withReportInstance } from '../../_support/fuse_guest.js';

async function emulatedValue(stateDir: string, name: string): Promise<Uint8Array> {
  const p = await openEmulatedProvider({ stateDir });
  try {
    const [v] = await p.read({
      name,
      alg: name.startsWith('rtmr') || name === 'mrtd' ? 'sha384' : undefined,
    } as never);
    return v!.value;
  } finally {
    await p.close();
  }
}

describe('emulate mount --profile tdx, through shell tools', () => {
  let m: ServedMount;
  let paths: ReturnType<typeof tdxPaths>;
  let tmpFile: string;
  before(async () => {
    m = await serveMount({ profile: 'tdx' });
    paths = tdxPaths(m.root);
    tmpFile = join(m.stateDir, '..', 'digest.bin');
  });
  after(async () => {
    await m.stop();
  });

  test('lays out the TDX tsm-mr files with the kernel names, modes and sizes', () => {
    const dir = paths.mr('');
    const expected: Record<string, number> = {
      mrconfigid: 0o444,
      mrowner: 0o444,
      mrownerconfig: 0o444,
      'mrtd:sha384': 0o444,
      'rtmr0:sha384': 0o644,
      'rtmr1:sha384': 0o644,
      'rtmr2:sha384': 0o644,
      'rtmr3:sha384': 0o644,
    };
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(expected).sort());
    for (const [f, mode] of Object.entries(expected)) {
      const st = statSync(join(dir, f));
      assert.equal(st.mode & 0o777, mode, f);
      assert.equal(st.size, 48, f);
    }
  });

  test('xxd shows the emulated register values', async () => {
    for (const name of ['mrtd', 'rtmr0', 'mrconfigid']) {
      const file = name === 'mrconfigid' ? name : `${name}:sha384`;
      const r = guestShell(`xxd -p -c 48 '${paths.mr(file)}'`);
      assert.equal(r.code, 0, r.stderr);
      const want = Buffer.from(await emulatedValue(m.stateDir, name)).toString('hex');
      assert.equal(r.stdout.toString().trim(), want, name);
    }
  });

  test('head -c 48 > rtmr3 extends: RTMR <- SHA-384(RTMR || data)', async () => {
    const old = await emulatedValue(m.stateDir, 'rtmr3');
    const data = randomBytes(48);
    writeFileSync(tmpFile, data);
    const r = guestShell(`head -c 48 '${tmpFile}' > '${paths.mr('rtmr3:sha384')}'`);
    assert.equal(r.code, 0, r.stderr);
    const want = opensslDigest('sha384', Buffer.concat([old, data]));
    assert.deepEqual(await emulatedValue(m.stateDir, 'rtmr3'), want);
    assert.deepEqual(new Uint8Array(readFileSync(paths.mr('rtmr3:sha384'))), want);
  });

  test('head -c 47 fails with EINVAL and does not extend', async () => {
    const old = await emulatedValue(m.stateDir, 'rtmr3');
    writeFileSync(tmpFile, randomBytes(47));
    const r = guestShell(`head -c 47 '${tmpFile}' > '${paths.mr('rtmr3:sha384')}'`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Invalid argument/);
    assert.deepEqual(await emulatedValue(m.stateDir, 'rtmr3'), old);
  });

  test('head -c 49 extends with the first 48 bytes, then fails with EFBIG', async () => {
    const old = await emulatedValue(m.stateDir, 'rtmr3');
    const data = randomBytes(49);
    writeFileSync(tmpFile, data);
    const r = guestShell(`head -c 49 '${tmpFile}' > '${paths.mr('rtmr3:sha384')}'`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /File too large/);
    const want = opensslDigest('sha384', Buffer.concat([old, data.subarray(0, 48)]));
    assert.deepEqual(await emulatedValue(m.stateDir, 'rtmr3'), want);
  });

  test('a write at offset 1..47 is EINVAL, at offset >= 48 EFBIG', async () => {
    const old = await emulatedValue(m.stateDir, 'rtmr2');
    writeFileSync(tmpFile, randomBytes(48));
    const mid = guestShell(
      `dd if='${tmpFile}' of='${paths.mr('rtmr2:sha384')}' bs=1 count=47 seek=1 conv=notrunc`,
    );
    assert.notEqual(mid.code, 0);
    assert.match(mid.stderr, /Invalid argument/);
    const past = guestShell(
      `dd if='${tmpFile}' of='${paths.mr('rtmr2:sha384')}' bs=48 count=1 seek=1 conv=notrunc`,
    );
    assert.notEqual(past.code, 0);
    assert.match(past.stderr, /File too large/);
    assert.deepEqual(await emulatedValue(m.stateDir, 'rtmr2'), old);
  });

  test('opening a read-only register for writing is EACCES', async () => {
    const old = await emulatedValue(m.stateDir, 'mrtd');
    writeFileSync(tmpFile, randomBytes(48));
    const r = guestShell(`head -c 48 '${tmpFile}' > '${paths.mr('mrtd:sha384')}'`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Permission denied/);
    assert.deepEqual(await emulatedValue(m.stateDir, 'mrtd'), old);
  });

  test('configfs-tsm: mkdir shows the TDX attributes; provider is tdx_guest; rmdir removes it', () => {
    const inst = join(paths.report, 'shell1');
    assert.equal(guestShell(`mkdir '${inst}'`).code, 0);
    assert.deepEqual(readdirSync(inst).sort(), ['generation', 'inblob', 'outblob', 'provider']);
    assert.equal(statSync(join(inst, 'inblob')).mode & 0o777, 0o200);
    assert.equal(statSync(join(inst, 'outblob')).mode & 0o777, 0o444);
    assert.equal(guestShell(`cat '${inst}/provider'`).stdout.toString(), 'tdx_guest\n');
    assert.equal(guestShell(`cat '${inst}/generation'`).stdout.toString(), '0\n');
    assert.equal(guestShell(`rmdir '${inst}'`).code, 0);
    assert.equal(existsSync(inst), false);
  });

  test('dd bs=32 count=2 into inblob raises generation by one (stored on close)', async () => {
    await withReportInstance(join(paths.report, 'shell2'), (inst) => {
      const r = guestShell(
        `dd if=/dev/urandom of='${inst}/inblob' bs=32 count=2 && cat '${inst}/generation'`,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), '1\n');
    });
  });

  test('a 65-byte inblob fails with EFBIG', async () => {
    await withReportInstance(join(paths.report, 'shell3'), (inst) => {
      const r = guestShell(`head -c 65 /dev/urandom > '${inst}/inblob'`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /File too large/);
    });
  });

  test('reading inblob or writing outblob is EACCES', async () => {
    await withReportInstance(join(paths.report, 'shell4'), (inst) => {
      const r1 = guestShell(`cat '${inst}/inblob'`);
      assert.match(r1.stderr, /Permission denied/);
      const r2 = guestShell(`echo x > '${inst}/outblob'`);
      assert.match(r2.stderr, /Permission denied/);
      assert.equal(guestShell(`cat '${inst}/generation'`).stdout.toString(), '0\n');
    });
  });

  test('mkdir + inblob + cat outblob gives a TDX quote that evidence verify --trust-emulated accepts', async () => {
    const inblob = randomBytes(64);
    writeFileSync(tmpFile, inblob);
    const quote1 = join(m.stateDir, '..', 'quote1.bin');
    const quote2 = join(m.stateDir, '..', 'quote2.bin');
    const verifyFlags = { trustEmulated: true, tvmState: m.stateDir } as const;
    await withReportInstance(join(paths.report, 'quote'), async (inst) => {
      const r = guestShell(
        `cat '${tmpFile}' > '${inst}/inblob' && cat '${inst}/outblob' > '${quote1}' && cat '${inst}/outblob' > '${quote2}'`,
      );
      assert.equal(r.code, 0, r.stderr);
      // Read twice at one generation: the same report (the kernel caches it per generation).
      assert.deepEqual(readFileSync(quote1), readFileSync(quote2));
      const { result, json: v } = await verifyEvidenceJson(quote1, {
        ...verifyFlags,
        nonce: inblob.toString('hex'),
      });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(v.verified, true);
      assert.equal(v.kind, 'tdx');
      assert.equal(v.claims['report_data'], inblob.toString('hex'));
      for (const name of ['mrtd', 'rtmr0', 'rtmr3', 'mrconfigid']) {
        assert.equal(
          v.claims[name],
          Buffer.from(await emulatedValue(m.stateDir, name)).toString('hex'),
          name,
        );
      }
      // A new store regenerates the outblob for the new inblob.
      const inblob2 = randomBytes(64);
      writeFileSync(tmpFile, inblob2);
      const r2 = guestShell(
        `cat '${tmpFile}' > '${inst}/inblob' && cat '${inst}/outblob' > '${quote2}' && cat '${inst}/generation'`,
      );
      assert.equal(r2.code, 0, r2.stderr);
      assert.equal(r2.stdout.toString(), '2\n');
      const { json: v2 } = await verifyEvidenceJson(quote2, {
        ...verifyFlags,
        nonce: inblob2.toString('hex'),
      });
      assert.equal(v2.verified, true);
      assert.equal(v2.claims['report_data'], inblob2.toString('hex'));
    });
  });

  test('the CCEL: a valid ACPI table and a log holding only the crypto-agile SHA-384 header', async () => {
    const tables = join(m.root, 'sys/firmware/acpi/tables');
    const table = readFileSync(join(tables, 'CCEL'));
    const data = readFileSync(join(tables, 'data/CCEL'));
    // ACPI 6.5 §5.2.34: signature, length 56, bytes summing to 0, CC type 2 (TDX), LAML at 40.
    assert.equal(table.length, 56);
    assert.equal(table.subarray(0, 4).toString('latin1'), 'CCEL');
    assert.equal(table.readUInt32LE(4), 56);
    assert.equal(
      table.reduce((a, b) => (a + b) & 0xff, 0),
      0,
    );
    assert.equal(table[36], 2);
    assert.equal(table.readBigUInt64LE(40), BigInt(data.length));
    // TCG PC Client PFP: a SHA-1-format EV_NO_ACTION record (PCR 0, zero digest) whose data is
    // "Spec ID Event03" with one algorithm, SHA-384 (0x000c, 48 bytes); the rest is 0xFF.
    assert.equal(data.readUInt32LE(0), 0);
    assert.equal(data.readUInt32LE(4), 3);
    assert.deepEqual(data.subarray(8, 28), Buffer.alloc(20));
    const size = data.readUInt32LE(28);
    const ev = data.subarray(32, 32 + size);
    assert.equal(ev.subarray(0, 16).toString('latin1'), 'Spec ID Event03\0');
    assert.equal(ev.readUInt32LE(24), 1);
    assert.equal(ev.readUInt16LE(28), 0x000c);
    assert.equal(ev.readUInt16LE(30), 48);
    assert.ok(data.subarray(32 + size).every((b) => b === 0xff));
    const { result, json } = await runCliJson([
      'log',
      'parse',
      join(tables, 'data/CCEL'),
      '--format',
      'ccel',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((json as { count: number }).count, 1);
    // docs/emulate-mount.md: replaying it extends nothing, so no register is listed.
    const replayed = await runCliJson(['log', 'replay', join(tables, 'data/CCEL'), '--json']);
    assert.equal(replayed.result.code, 0, replayed.result.stderr);
    assert.deepEqual((replayed.json as { registers: unknown }).registers, {});
    assert.equal((replayed.json as { extended: number }).extended, 0);
  });
});
