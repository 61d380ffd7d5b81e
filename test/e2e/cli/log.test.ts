// `mrstack log parse|replay|convert` end to end through the built CLI: JSON shapes, exit codes,
// expected values from the captures' provenance.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliError, runCli, runCliJson } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';
import { fixture } from '../../_support/paths.js';

const OVMF = fixture('eventlogs', 'ccel', 'tdx-ovmf.ccel.bin');
const AAEL1 = fixture('eventlogs', 'aael', 'coco-aael-text-v1-sample1.aael.txt');
const RHEL = fixture('eventlogs', 'tcg', 'gce-rhel8-secureboot.binary_bios_measurements');
const OVMF_RTMR = {
  rtmr0:
    '8566f998798db09443b244c62de9a3041fb02e2e6936c4396d784bba2e90177329ec5aba3bb484404f2ab9cc90abe193',
  rtmr1:
    '775b9f6bfe99f8a31396f0d0218e67ffa796d3b96ccf961cbb0deba48c79c00f082cda1a5567c1c16305f1fc210c13c6',
  rtmr2:
    '94eaf7a7bf398ed8d888c91057ae0261802e4f3df084213a76ca7f0b5055ac9d2241de43cd58d9e8b49c503bbf25f34a',
};

/** What `log replay --json` prints for one log (or for `--combine`d logs). */
interface ReplayJson {
  format: string;
  events: number;
  registers: Record<string, Record<string, string>>;
  anchors: Record<string, string>;
}

const tmp = (t: TestContext): string => tempDir(t, 'mrstack-log-');

test('log replay --json: trustee-asserted RTMRs of the OVMF CCEL, anchors, record count', async () => {
  const { result, json } = await runCliJson(['log', 'replay', OVMF, '--json']);
  assert.equal(result.code, 0);
  const j = json as ReplayJson;
  assert.equal(j.format, 'ccel');
  assert.equal(j.events, 21);
  for (const [reg, hex] of Object.entries(OVMF_RTMR))
    assert.equal(j.registers[reg]?.['sha384'], hex);
  assert.deepEqual(j.anchors, { rtmr0: 'reset', rtmr1: 'reset', rtmr2: 'reset' });
});

test('log replay --expect: match exits 0; a mismatch exits 1 naming register, expected, computed', async (t) => {
  const dir = tmp(t);
  const good = join(dir, 'good.json');
  writeFileSync(
    good,
    JSON.stringify({ rtmr1: { sha384: OVMF_RTMR.rtmr1 }, rtmr3: { sha384: '00'.repeat(48) } }),
  );
  assert.equal((await runCli(['log', 'replay', OVMF, '--expect', good])).code, 0);
  // trustee's test_rtmr_integrity_error: RTMR1 given as 2fa3be56… for the old TDVF log.
  const bad = join(dir, 'bad.json');
  const given =
    '2fa3be56af61208bbd179dc7b124988eb929319154663c539d6f46445ecac2fec287075047ff7bd1922829fec28cd3cf';
  writeFileSync(bad, JSON.stringify({ rtmr1: { sha384: given } }));
  const old = fixture('eventlogs', 'ccel', 'tdx-old-tdvf-1mib-zero-padded.ccel.bin');
  const { result, json } = await runCliJson(['log', 'replay', old, '--expect', bad, '--json']);
  assert.equal(result.code, 1);
  const err = cliError(json);
  assert.equal(err.code, 'ERR_REPLAY_MISMATCH');
  assert.equal(err['register'], 'rtmr1');
  assert.equal(err['expected'], given);
  assert.equal(
    err['computed'],
    '0fa3be56af61208bbd179dc7b124988eb929319154663c539d6f46445ecac2fec287075047ff7bd1922829fec28cd3cf',
  );
  assert.equal(typeof err['last_index'], 'number');
});

test('log replay --combine: a CCEL then an AAEL v1 of RTMR3 replay into the same registers', async () => {
  const { result, json } = await runCliJson(['log', 'replay', OVMF, AAEL1, '--combine', '--json']);
  assert.equal(result.code, 0);
  const j = json as ReplayJson;
  assert.equal(j.format, 'ccel+aael');
  assert.equal(j.events, 23);
  assert.equal(j.registers['rtmr0']?.['sha384'], OVMF_RTMR.rtmr0);
  // trustee's aael_integrity_check case 1 value; INIT (zeros) continues RTMR3's reset value.
  assert.equal(
    j.registers['rtmr3']?.['sha384'],
    '71563a23b430b8637970b866169052815ef9434056516dc9f78c1b3bfb745cee18a2ca92aa53c8122be5cbe59a100764',
  );
  assert.equal(j.anchors['rtmr3'], 'reset');
  // Without --combine each file is replayed on its own.
  const sep = await runCliJson(['log', 'replay', OVMF, AAEL1, '--json']);
  const logs = (sep.json as { logs: { format: string; events: number }[] }).logs;
  assert.deepEqual(
    logs.map((l) => [l.format, l.events]),
    [
      ['ccel', 21],
      ['aael', 2],
    ],
  );
});

test('a truncated log: ERR_TRUNCATED exit 2; --allow-partial-tail replays the complete records', async (t) => {
  const dir = tmp(t);
  const cut = join(dir, 'cut.bin');
  const full = readFileSync(RHEL);
  writeFileSync(cut, full.subarray(0, full.length - 5));
  const r1 = await runCliJson(['log', 'replay', cut, '--json']);
  assert.equal(r1.result.code, 2);
  const err = cliError(r1.json);
  assert.equal(err.code, 'ERR_TRUNCATED');
  assert.equal(err['incomplete'], true);
  assert.equal(err['complete_records'], 82);
  const r2 = await runCliJson(['log', 'replay', cut, '--allow-partial-tail', '--json']);
  assert.equal(r2.result.code, 0);
  const j = r2.json as { events: number; warnings: { code: string }[] };
  assert.equal(j.events, 82);
  assert.ok(j.warnings.some((w) => w.code === 'ERR_TRUNCATED'));
});

test('log parse on a truncated log: --json stays one valid JSON document with the error inside; --allow-partial-tail lists the 82 complete records', async (t) => {
  const dir = tmp(t);
  const cut = join(dir, 'cut.bin');
  const full = readFileSync(RHEL);
  // 83 records (PROVENANCE): cutting 5 bytes leaves record 82 incomplete.
  writeFileSync(cut, full.subarray(0, full.length - 5));
  const r1 = await runCli(['log', 'parse', cut, '--json']);
  assert.equal(r1.code, 2);
  // Streamed output that was already open must still parse as a whole.
  const j1 = JSON.parse(r1.stdout) as {
    count: number;
    events: unknown[];
    error?: { code: string; record?: number };
  };
  assert.equal(j1.count, 82);
  assert.equal(j1.events.length, 82);
  assert.equal(j1.error?.code, 'ERR_TRUNCATED');
  assert.equal(j1.error.record, 82);
  const r2 = await runCli(['log', 'parse', cut, '--json', '--allow-partial-tail']);
  assert.equal(r2.code, 0);
  const j2 = JSON.parse(r2.stdout) as {
    count: number;
    error?: unknown;
    warnings: { code: string }[];
  };
  assert.equal(j2.count, 82);
  assert.equal(j2.error, undefined);
  assert.ok(j2.warnings.some((w) => w.code === 'ERR_TRUNCATED'));
  // The table prints the complete records before the error that stops it.
  const r3 = await runCli(['log', 'parse', cut, '--wide']);
  assert.equal(r3.code, 2);
  assert.match(r3.stdout, /^81 +pcr/m);
  assert.match(r3.stderr, /ERR_TRUNCATED/);
});

test('log parse --json: every record with register, type name and number, digests, decoded data', async () => {
  const { result, json } = await runCliJson(['log', 'parse', RHEL, '--json']);
  assert.equal(result.code, 0);
  const j = json as { format: string; count: number; events: Record<string, unknown>[] };
  assert.equal(j.format, 'tcg2');
  assert.equal(j.count, 83);
  assert.equal(j.events.length, 83);
  const e1 = j.events[1]!;
  assert.equal(e1['type_name'], 'EV_S_CRTM_VERSION');
  assert.equal(e1['type'], 8);
  assert.equal(e1['register'], 'pcr0');
  assert.deepEqual(
    (e1['decoded'] as Record<string, unknown>)['version'],
    'GCE Virtual Firmware v1',
  );
  const app = j.events.filter((e) => e['type_name'] === 'EV_EFI_BOOT_SERVICES_APPLICATION');
  assert.equal(
    (app[0]!['digests'] as Record<string, string>)['sha256'],
    '40d6cae02973789080cf4c3a9ad11b5a0a4d8bba4438ab96e276cc784454dee7',
  );
});

test('unknown input is ERR_UNKNOWN_FORMAT (exit 2); a missing file is ERR_NOT_FOUND', async (t) => {
  const dir = tmp(t);
  const junk = join(dir, 'junk');
  writeFileSync(junk, 'bogus\ninvalid\nevent\nlog\n');
  const r = await runCliJson(['log', 'parse', junk, '--json']);
  assert.equal(r.result.code, 2);
  assert.equal(cliError(r.json).code, 'ERR_UNKNOWN_FORMAT');
  const m = await runCliJson(['log', 'replay', join(dir, 'nope'), '--json']);
  assert.equal(m.result.code, 2);
  assert.equal(cliError(m.json).code, 'ERR_NOT_FOUND');
  const txt = await runCli(['log', 'parse', junk]);
  assert.equal(txt.code, 2);
  assert.match(txt.stderr, /^mrstack: ERR_UNKNOWN_FORMAT: /);
});

test('log convert: tcg2 to tcg2 is byte-exact; to aael it is refused as lossy; aael round-trips', async (t) => {
  const dir = tmp(t);
  const out = join(dir, 'out.bin');
  const r = await runCliJson(['log', 'convert', RHEL, '--to', 'tcg2', '--out', out, '--json']);
  assert.equal(r.result.code, 0);
  assert.deepEqual(readFileSync(out), readFileSync(RHEL));
  const lossy = await runCliJson([
    'log',
    'convert',
    RHEL,
    '--to',
    'aael',
    '--out',
    join(dir, 'x'),
    '--json',
  ]);
  assert.equal(lossy.result.code, 2);
  assert.equal(cliError(lossy.json).code, 'ERR_LOSSY_CONVERSION');
  const ccelToTcg = await runCliJson([
    'log',
    'convert',
    OVMF,
    '--to',
    'tcg2',
    '--out',
    join(dir, 'y'),
    '--json',
  ]);
  assert.equal(cliError(ccelToTcg.json).code, 'ERR_LOSSY_CONVERSION');
  const a = join(dir, 'a.txt');
  assert.equal((await runCli(['log', 'convert', AAEL1, '--to', 'aael', '--out', a])).code, 0);
  const before = await runCliJson(['log', 'replay', AAEL1, '--json']);
  const after = await runCliJson(['log', 'replay', a, '--json']);
  assert.deepEqual(
    (after.json as { registers: unknown }).registers,
    (before.json as { registers: unknown }).registers,
  );
});

test('log parse --acpi-table: the table is shown and its LAML checked against the log size', async () => {
  const intel = fixture('eventlogs', 'ccel', 'intel-tdx.acpi-ccel-table.bin');
  const gcp = fixture('eventlogs', 'ccel', 'gcp-cos113-tdx.acpi-ccel-table.bin');
  const log64k = fixture('eventlogs', 'ccel', 'intel-tdx-64k.ccel.bin');
  const ok = await runCliJson(['log', 'parse', log64k, '--acpi-table', intel, '--json']);
  assert.equal(ok.result.code, 0);
  const j = ok.json as {
    acpi_table: Record<string, unknown>;
    warnings: { code: string }[];
    count: number;
  };
  assert.equal(j.acpi_table['laml'], '65536');
  assert.equal(j.acpi_table['cc_type'], 2);
  assert.equal(j.count, 28);
  assert.equal(
    j.warnings.some((w) => w.code === 'CCEL_SIZE_MISMATCH'),
    false,
  );
  const off = await runCliJson(['log', 'parse', log64k, '--acpi-table', gcp, '--json']);
  const w = (off.json as { warnings: { code: string }[] }).warnings;
  assert.ok(w.some((x) => x.code === 'CCEL_SIZE_MISMATCH'));
});
