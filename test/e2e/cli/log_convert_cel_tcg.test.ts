// CEL ⇄ TCG where lossless (issue 18, "Format edges"): a TCG or CCEL record is a CEL
// `pcclient_std` record field for field, so every capture converts to CEL and back to the very
// same bytes (the original file is the expected value; CCEL buffers up to their padding); a TCG
// log with StartupLocality (or H-CRTM) converts to CEL and the CEL replays PCR0 to the value its
// PROVENANCE states; a native CEL without a Spec ID header becomes a crypto-agile TCG log that
// tpm2_eventlog reads to the PCR values computed here with node:crypto. What TCG cannot hold (an
// IMA record, a gap in record numbers) is still ERR_LOSSY_CONVERSION.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getLogFormat } from '../../../src/eventlog/registry.js';
import { runCliJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';
import { tempDir } from '../../_support/tmp.js';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** format A → CEL-TLV → format A, through the formats' encoders `log convert` runs. */
async function roundTrip(bytes: Uint8Array, format: 'tcg2' | 'ccel'): Promise<Buffer> {
  const src = getLogFormat(format);
  const cel = getLogFormat('cel-tlv');
  const asCel = await collect(cel.encode!(src.parse([bytes], { logName: 'x' })));
  return collect(getLogFormat(format).encode!(cel.parse([asCel], { logName: 'x.cel' })));
}

const TCG_DIR = fixture('eventlogs', 'tcg');
const CCEL_DIR = fixture('eventlogs', 'ccel');
const expected = JSON.parse(readFileSync(join(TCG_DIR, 'expected.json'), 'utf8')) as Record<
  string,
  { records: number; registers?: Record<string, Record<string, Record<string, string>>> }
>;

test('every TCG capture → CEL → TCG is byte-identical (StartupLocality, H-CRTM, SHA-1 layout included)', async () => {
  let n = 0;
  for (const name of readdirSync(TCG_DIR).filter((f) => f.endsWith('.binary_bios_measurements'))) {
    if (name.startsWith('malformed-bogus') || name === 'malformed-empty.binary_bios_measurements')
      continue; // not TCG logs at all
    const orig = readFileSync(join(TCG_DIR, name));
    const back = await roundTrip(orig, 'tcg2');
    assert.ok(back.equals(orig), `${name}: ${back.length} vs ${orig.length} bytes`);
    n++;
  }
  assert.ok(n >= 25, `${n} logs`);
});

test('every CCEL capture → CEL → CCEL is its records byte for byte (the buffer padding is not a record)', async () => {
  for (const name of readdirSync(CCEL_DIR).filter((f) => f.endsWith('.ccel.bin'))) {
    const orig = readFileSync(join(CCEL_DIR, name));
    const back = await roundTrip(orig, 'ccel');
    assert.ok(back.length > 0 && back.equals(orig.subarray(0, back.length)), name);
    // what follows the last record is padding only (0xff, or zeros in the old TDVF buffer)
    const rest = orig.subarray(back.length);
    assert.ok(
      rest.every((b) => b === rest[0]) && (rest[0] === 0xff || rest[0] === 0 || rest.length === 0),
      name,
    );
  }
});

test('StartupLocality 3 and H-CRTM survive TCG → CEL: the CEL replays PCR0 to the captures’ stated values', async (t) => {
  const dir = tempDir(t, 'mrstack-cel-locality-');
  const cases = [
    // go-tpm-tools asserts this PCR0 (PROVENANCE: gdc-host.bin, 11 asserted register values)
    ['gdc-host-sha256-only-locality3.binary_bios_measurements', 'sha256', 'asserted'],
    // tpm2-tss H-CRTM log: PCR0 computed in the shared PROVENANCE
    ['hygon-dhyana-hcrtm-sm3.binary_bios_measurements', 'sha1', 'computed'],
  ] as const;
  for (const [name, alg, kind] of cases) {
    const want = expected[name]!.registers![kind]!['pcr0']![alg]!;
    const cel = join(dir, `${name}.cel.json`);
    const c = await runCliJson([
      'log',
      'convert',
      join(TCG_DIR, name),
      '--to',
      'cel-json',
      '--out',
      cel,
      '--json',
    ]);
    assert.equal(c.result.code, 0, c.result.stderr);
    const r = await runCliJson(['log', 'replay', cel, '--json']);
    assert.equal(r.result.code, 0, r.result.stderr);
    const regs = (r.json as { registers: Record<string, Record<string, string>> }).registers;
    assert.equal(regs['pcr0']![alg], want, name);
    // the record is there as PC Client content, not dropped
    const recs = JSON.parse(readFileSync(cel, 'utf8')) as {
      content: { event_type: number; event_data: string };
    }[];
    assert.ok(
      recs.some(
        (x) =>
          (x.content.event_type === 3 &&
            x.content.event_data.startsWith(Buffer.from('StartupLocality\0').toString('hex'))) ||
          x.content.event_type === 0x80000010,
      ),
      name,
    );
  }
});

test('a native CEL (no Spec ID header) → a crypto-agile TCG log that tpm2_eventlog replays to the extends computed here', async (t) => {
  const dir = tempDir(t, 'mrstack-cel-native-');
  const sha256 = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest();
  const d1 = sha256('firmware volume');
  const d2 = sha256('secure boot db');
  const d3 = sha256('kernel');
  const rec = (
    recnum: number,
    pcr: number,
    type: number,
    digest: Buffer,
    data: string,
  ): unknown => ({
    recnum,
    pcr,
    digests: [{ hashAlg: 'sha256', digest: digest.toString('hex') }],
    content_type: 'pcclient_std',
    content: { event_type: type, event_data: Buffer.from(data).toString('hex') },
  });
  const records = [
    rec(0, 0, 0x0d, d1, 'firmware'), // EV_IPL (free-form data)
    rec(1, 7, 0x80000007, d2, 'Secure boot db'), // EV_EFI_ACTION
    rec(2, 4, 0x0d, d3, 'vmlinuz'), // EV_IPL
  ];
  const cel = join(dir, 'native.cel.json');
  writeFileSync(cel, JSON.stringify(records));
  const tcg = join(dir, 'native.tcg');
  const c = await runCliJson(['log', 'convert', cel, '--to', 'tcg2', '--out', tcg, '--json']);
  assert.equal(c.result.code, 0, c.result.stderr);
  assert.equal((c.json as { events: number }).events, 3);
  const ext = (d: Buffer): string => sha256(Buffer.concat([Buffer.alloc(32), d])).toString('hex');
  const tool = spawnSync('tpm2_eventlog', [tcg], { encoding: 'utf8' });
  assert.equal(tool.status, 0, tool.stderr);
  const pcr = (n: number): string | undefined =>
    new RegExp(`\\n {4}${n}\\s*: 0x([0-9A-Fa-f]{64})`)
      .exec(tool.stdout.slice(tool.stdout.indexOf('pcrs:')))?.[1]
      ?.toLowerCase();
  assert.equal(pcr(0), ext(d1));
  assert.equal(pcr(7), ext(d2));
  assert.equal(pcr(4), ext(d3));
  assert.match(tool.stdout, /Spec ID Event03/);

  // what TCG cannot hold: a gap in record numbers, an IMA record
  const gap = join(dir, 'gap.cel.json');
  writeFileSync(gap, JSON.stringify([records[0], { ...(records[1] as object), recnum: 5 }]));
  const ima = join(dir, 'ima.cel.json');
  writeFileSync(
    ima,
    JSON.stringify([
      records[0],
      { recnum: 1, pcr: 10, digests: [{ hashAlg: 'sha256', digest: d1.toString('hex') }],
        content_type: 'ima_template', content: { template_name: 'ima-ng', template_data: 'aabb' } },
    ]),
  ); // prettier-ignore
  for (const [f, field] of [
    [gap, 'event[1].recnum'],
    [ima, 'event[1]'],
  ] as const) {
    const r = await runCliJson([
      'log',
      'convert',
      f,
      '--to',
      'tcg2',
      '--out',
      join(dir, 'x.tcg'),
      '--json',
    ]);
    assert.equal(r.result.code, 2, r.result.stdout);
    const e = (r.json as { error: { code: string; field: string } }).error;
    assert.deepEqual([e.code, e.field], ['ERR_LOSSY_CONVERSION', field]);
  }
});
