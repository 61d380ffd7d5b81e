// Cross-check with evmctl (Debian ima-evm-utils 1.4): `evmctl ima_measurement --pcrs ALG,FILE`
// replays a binary IMA list itself and compares with the PCR values in FILE (lines
// `PCR-NN: <hex>`, PCR-00 to PCR-23 in order, as evmctl's reader expects). It exits 0 and prints
// "Matched per TPM bank…" (or "…SHA1 padded…") when every given bank matches, non-zero otherwise.
// The values come from `mrstack log replay --ima-banks sha1,sha256 --json`, the command users
// run; evmctl must accept them and reject a wrong one. Every IMA capture is in the table below
// with what is expected of it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fixture } from '../_support/paths.js';
import { runCli } from '../_support/cli.js';
import { tempDir } from '../_support/tmp.js';
import { Evmctl } from '../_support/evmctl.js';
import { encodeImaBinary, parseImaBinary } from '../../src/formats/ima/ima_binary.js';
import {
  encodeImaTemplateData,
  type ImaEntry,
  type ImaField,
} from '../../src/formats/ima/ima_template.js';

const peer = new Evmctl();
test.after(() => peer.close());

function evmctl(list: Uint8Array, pcrs: Record<string, string>, extra: string[] = []) {
  return peer.run(list, pcrs, extra);
}

const WRONG_SHA1 = 'ab'.repeat(20);
const WRONG_SHA256 = 'cd'.repeat(32);

/** `mrstack log replay FILE --ima-banks sha1,sha256 --json …`: PCR values per register, hex. */
async function cliReplay(
  file: string,
  extra: readonly string[] = [],
): Promise<Record<string, Record<string, string>>> {
  const r = await runCli(['log', 'replay', file, '--ima-banks', 'sha1,sha256', '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const j = JSON.parse(r.stdout) as {
    registers: Record<string, Record<string, string>>;
    warnings: { code: string }[];
  };
  // Every template hash verified (a mismatch is a warning, not an error).
  assert.deepEqual(
    j.warnings.filter((w) => w.code === 'ERR_EVENT_DIGEST_MISMATCH'),
    [],
  );
  return j.registers;
}

/** The binary list evmctl reads for a capture: itself, or mrstack's conversion of an ascii list. */
async function binaryOf(t: TestContext, file: string): Promise<Uint8Array> {
  if (file.includes('.binary_')) {
    // A stray byte after the last record is dropped: evmctl gets the complete records only.
    const entries = parseImaBinary(new Uint8Array(readFileSync(file)), { partialTail: 'stop' });
    return encodeImaBinary(entries);
  }
  const out = join(tempDir(t, 'mrstack-evmctl-conv-'), 'list.bin');
  const r = await runCli(['log', 'convert', file, '--to', 'ima-binary', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  return new Uint8Array(readFileSync(out));
}

interface CaptureCase {
  /** `evmctl`: cross-checked; otherwise why evmctl cannot judge it (and what is checked). */
  readonly evmctl: true | string;
  readonly partialTail?: boolean;
  readonly violations?: boolean;
  /** The CLI refuses it with this code (exit 2). */
  readonly refused?: string;
}

// One row per capture in test/fixtures/eventlogs/ima (a meta-check below keeps it complete).
const CAPTURES: Record<string, CaptureCase> = {
  'debian-ima-ng-sha1.binary_runtime_measurements': { evmctl: true, partialTail: true },
  'debian-ima-legacy-template-sha1.binary_runtime_measurements': {
    evmctl: true,
    partialTail: true,
  },
  'ima-legacy-template-invalidated.binary_runtime_measurements': {
    evmctl: true,
    violations: true,
  },
  'ima-sig-sha256-invalidated.binary_runtime_measurements': { evmctl: true, violations: true },
  'malformed-ima-ng-invalidated-truncated.binary_runtime_measurements': {
    evmctl: 'no complete record',
    refused: 'ERR_TRUNCATED',
  },
  'keylime-policy-sha1.ascii_runtime_measurements': { evmctl: true, violations: true },
  'keylime-policy-sha256.ascii_runtime_measurements': { evmctl: true },
  'keylime-policy-sha384.ascii_runtime_measurements': { evmctl: true, violations: true },
  'keylime-policy-sha512.ascii_runtime_measurements': { evmctl: true, violations: true },
  'keylime-policy-sm3_256.ascii_runtime_measurements': {
    evmctl: 'an SM3 template-hash column: evmctl 1.4 reads 20-byte columns only',
  },
  'keylime-policy-unknown-alg.ascii_runtime_measurements': {
    evmctl: 'its template hash does not verify (golden/ima.test.ts checks the mismatch)',
  },
  'malformed-rust-keylime-invalid.ascii_runtime_measurements': {
    evmctl: 'not a list',
    refused: 'ERR_UNKNOWN_FORMAT',
  },
  'rust-keylime-agent-ima-ng-sha1.ascii_runtime_measurements': { evmctl: true },
  'rust-keylime-one-line.ascii_runtime_measurements': { evmctl: true },
  'tdx-rtmr-ima-ng-sha384.ascii_runtime_measurements': {
    evmctl: 'a SHA-384 column on RTMR index 2: evmctl 1.4 replays 20-byte columns into PCRs',
  },
};

test('the capture table names every IMA capture', async () => {
  const { readdirSync } = await import('node:fs');
  const names = readdirSync(fixture('eventlogs', 'ima')).filter((n) => n.includes('_runtime_'));
  assert.deepEqual(names.sort(), Object.keys(CAPTURES).sort());
});

for (const [name, c] of Object.entries(CAPTURES)) {
  const file = fixture('eventlogs', 'ima', name);
  if (c.refused !== undefined) {
    test(`${name}: mrstack log replay refuses it (${c.refused})`, async () => {
      const r = await runCli(['log', 'replay', file, '--ima-banks', 'sha1,sha256', '--json']);
      assert.equal(r.code, 2, r.stdout);
      assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, c.refused);
    });
    continue;
  }
  if (c.evmctl !== true) continue;
  test(`${name}: evmctl accepts mrstack's sha1 and sha256 PCR10 and rejects a wrong one`, async (t) => {
    const regs = await cliReplay(file, c.partialTail === true ? ['--allow-partial-tail'] : []);
    const v = regs['pcr10'];
    assert.ok(v?.['sha1'] !== undefined && v['sha256'] !== undefined, JSON.stringify(regs));
    const list = await binaryOf(t, file);
    const flags = c.violations === true ? ['--ignore-violations'] : [];
    const ok = evmctl(list, { sha1: v['sha1'], sha256: v['sha256'] }, flags);
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, /Matched per TPM bank/);
    assert.notEqual(evmctl(list, { sha1: v['sha1'], sha256: WRONG_SHA256 }, flags).status, 0);
    // (evmctl 1.4 accepts a wrong SHA-1 value given alone for some of these short lists, so the
    // SHA-1 bank's negative check is the one on the written lists below; the captures' SHA-1
    // PCR10 values are the provenance's, checked in golden/ima.test.ts.)
  });
}

test('the tpm2-tss capture re-encodes byte-exact (evmctl reads what the kernel wrote)', () => {
  const orig = new Uint8Array(
    readFileSync(fixture('eventlogs', 'ima', 'debian-ima-ng-sha1.binary_runtime_measurements')),
  );
  const written = encodeImaBinary(parseImaBinary(orig, { partialTail: 'stop' }));
  assert.deepEqual(written, orig.subarray(0, written.length));
  assert.equal(written.length, orig.length - 1);
});

const enc = new TextEncoder();
function dng(alg: string, d: Uint8Array): Uint8Array {
  const p = enc.encode(`${alg}:`);
  const o = new Uint8Array(p.length + 1 + d.length);
  o.set(p);
  o.set(d, p.length + 1);
  return o;
}
function nng(s: string): Uint8Array {
  const b = enc.encode(s);
  const o = new Uint8Array(b.length + 1);
  o.set(b);
  return o;
}
function entry(
  index: number,
  templateName: string,
  fields: ImaField[],
  violation = false,
): ImaEntry {
  const templateData = encodeImaTemplateData(templateName, fields);
  const templateHash = violation
    ? new Uint8Array(20)
    : new Uint8Array(createHash('sha1').update(templateData).digest());
  return {
    index,
    offset: 0,
    pcr: 10,
    templateHash,
    templateName,
    templateData,
    littleEndian: true,
  };
}

function written(withViolation: boolean): ImaEntry[] {
  const d = (b: number): Uint8Array => new Uint8Array(32).fill(b);
  const list = [
    entry(0, 'ima-ng', [
      { id: 'd-ng', data: dng('sha256', d(1)) },
      { id: 'n-ng', data: nng('boot_aggregate') },
    ]),
    entry(1, 'ima-ng', [
      { id: 'd-ng', data: dng('sha256', d(2)) },
      { id: 'n-ng', data: nng('/usr/bin/with space') },
    ]),
    entry(2, 'ima-sig', [
      { id: 'd-ng', data: dng('sha256', d(3)) },
      { id: 'n-ng', data: nng('/usr/lib/x.so') },
      {
        id: 'sig',
        data: new Uint8Array([0x03, 0x02, 0x04, 0xaa, 0xbb, 0xcc, 0xdd, 0x00, 0x02, 0x11, 0x22]),
      },
    ]),
    entry(3, 'ima-buf', [
      { id: 'd-ng', data: dng('sha256', d(5)) },
      { id: 'n-ng', data: nng('kexec-cmdline') },
      { id: 'buf', data: enc.encode('root=/dev/vda1 ro') },
    ]),
    entry(4, 'ima-ng', [
      { id: 'd-ng', data: dng('sha512', new Uint8Array(64).fill(6)) },
      { id: 'n-ng', data: nng('/etc/hosts') },
    ]),
  ];
  if (withViolation) {
    list.push(
      entry(
        5,
        'ima-ng',
        [
          { id: 'd-ng', data: dng('sha256', d(0)) },
          { id: 'n-ng', data: nng('/tmp/race') },
        ],
        true,
      ),
    );
  }
  return list;
}

/** Writes a list to a temp file and replays it with the CLI, per-bank and padded. */
async function replayWritten(
  t: TestContext,
  list: Uint8Array,
): Promise<{ perBank: Record<string, string>; padded: Record<string, string> }> {
  const file = join(tempDir(t, 'mrstack-evmctl-list-'), 'list.bin');
  writeFileSync(file, list);
  const perBank = (await cliReplay(file))['pcr10']!;
  const padded = (await cliReplay(file, ['--ima-bank-mode', 'padded']))['pcr10']!;
  return { perBank, padded };
}

test('lists mrstack writes: evmctl accepts per-bank SHA-256 and padded SHA-256 values', async (t) => {
  const list = encodeImaBinary(written(false));
  const { perBank, padded } = await replayWritten(t, list);
  const sha1 = perBank['sha1']!;
  assert.equal(padded['sha1'], sha1);
  const ok = evmctl(list, { sha1, sha256: perBank['sha256']! });
  assert.equal(ok.status, 0, ok.out);
  assert.match(ok.out, /Matched per TPM bank/);
  // Older kernels: SHA-1 template hash zero-padded into the SHA-256 bank.
  assert.notEqual(padded['sha256'], perBank['sha256']);
  const pad = evmctl(list, { sha1, sha256: padded['sha256']! });
  assert.equal(pad.status, 0, pad.out);
  assert.match(pad.out, /padded/i);
  assert.notEqual(evmctl(list, { sha1, sha256: WRONG_SHA256 }).status, 0);
  assert.notEqual(evmctl(list, { sha1: WRONG_SHA1 }).status, 0);
});

test('violations: evmctl (with --ignore-violations) extends all ones, as mrstack does', async (t) => {
  const list = encodeImaBinary(written(true));
  const { perBank, padded } = await replayWritten(t, list);
  const flags = ['--ignore-violations'];
  const ok = evmctl(list, { sha1: perBank['sha1']!, sha256: perBank['sha256']! }, flags);
  assert.equal(ok.status, 0, ok.out);
  const pad = evmctl(list, { sha1: padded['sha1']!, sha256: padded['sha256']! }, flags);
  assert.equal(pad.status, 0, pad.out);
  // Without the flag evmctl treats the violation itself as a failure.
  assert.notEqual(evmctl(list, { sha1: perBank['sha1']!, sha256: perBank['sha256']! }).status, 0);
  assert.notEqual(evmctl(list, { sha1: WRONG_SHA1 }, flags).status, 0);
});
