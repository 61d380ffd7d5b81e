// mrlog → CEL export: each record becomes a pcclient_std EV_IPL record carrying the line, the CEL
// parsers read it back, and a CEL replay gives the register values computed here with
// node:crypto over the lines (MR ← H(MR ‖ H(line)) from the reset value). What CEL cannot carry
// (a log served from a checkpoint, an off-log SYNC, a tenant log) is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mrlogFormat } from '../../../../src/eventlog/mrlog_format.js';
import { bytesInput } from '../../../../src/formats/stream/framer.js';
import { getLogFormat } from '../../../../src/eventlog/registry.js';
import { parseCelTlv } from '../../../../src/formats/cel/cel_tlv.js';
import { parseCelJson } from '../../../../src/formats/cel/cel_json.js';
import { replayCel } from '../../../../src/formats/cel/cel_replay.js';
import type { CelRecord } from '../../../../src/formats/cel/cel_record.js';
import { ParseError } from '../../../../src/errors.js';
import { runCli } from '../../../_support/cli.js';

const H = (alg: string, ...parts: Uint8Array[]): Buffer => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
};
const chain = (alg: string, size: number, lines: string[]): Buffer =>
  lines.reduce<Buffer>(
    (v, l) => (l.startsWith('#') ? v : H(alg, v, H(alg, Buffer.from(l)))),
    Buffer.alloc(size),
  );
const text = (lines: string[]): Uint8Array => Buffer.from(lines.map((l) => `${l}\n`).join(''));

async function exportTo(id: string, lines: string[], register?: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const events = mrlogFormat.parse(
    bytesInput(text(lines)),
    register === undefined ? {} : { register },
  );
  for await (const c of getLogFormat(id).encode!(events)) parts.push(c);
  return Buffer.concat(parts);
}

const boot = 'BOOT b-1 1700000000';
const rtmrLines = (): string[] => [
  boot,
  `SYNC sha384/${chain('sha384', 48, [boot]).toString('hex')}`,
  `VMR alice=sha384/${'ab'.repeat(48)}`,
  '#id req-1',
  'example.org/app start ünïcode content with spaces',
];

function checkRecords(recs: readonly CelRecord[], lines: string[]): void {
  assert.equal(recs.length, lines.length);
  for (const [i, r] of recs.entries()) {
    assert.equal(r.recnum, i);
    assert.equal(r.register.kind, 'cc_mr');
    assert.equal(r.register.index, 4); // RTMR3 in CCEL numbering
    assert.ok(r.content.type === 'pcclient_std');
    assert.equal(Buffer.from(r.content.eventData).toString('utf8'), lines[i]);
    const comment = lines[i]!.startsWith('#');
    assert.equal(r.content.eventType, comment ? 0x03 : 0x0d);
    if (comment) assert.equal(r.digests.length, 0);
    else {
      assert.equal(r.digests.length, 1);
      assert.equal(r.digests[0]!.algId, 0x000c); // TPM_ALG_SHA384
      assert.deepEqual(Buffer.from(r.digests[0]!.digest), H('sha384', Buffer.from(lines[i]!)));
    }
  }
}

test('mrlog → CEL-TLV: lossless records, CEL replay equals the mrlog chain', async () => {
  const lines = rtmrLines();
  const tlv = await exportTo('cel-tlv', lines);
  const recs = parseCelTlv(tlv);
  checkRecords(recs, lines);
  const r = replayCel(recs);
  assert.equal(r.registers['rtmr3']?.sha384, chain('sha384', 48, lines).toString('hex'));
});

test('mrlog → CEL-JSON: same records, and the CEL-JSON replays through the core', async () => {
  const lines = rtmrLines();
  const json = await exportTo('cel-json', lines);
  const recs = parseCelJson(json);
  checkRecords(recs, lines);
  assert.equal(
    replayCel(recs).registers['rtmr3']?.sha384,
    chain('sha384', 48, lines).toString('hex'),
  );
});

test('a two-bank PCR mrlog exports one digest per bank', async () => {
  const l0 = 'BOOT b-2 1700000001';
  const sync = `SYNC sha1/${chain('sha1', 20, [l0]).toString('hex')} sha256/${chain('sha256', 32, [l0]).toString('hex')}`;
  const lines = [l0, sync, 'a.b op c'];
  const recs = parseCelTlv(await exportTo('cel-tlv', lines, 'pcr14'));
  assert.equal(recs[0]!.register.kind, 'pcr');
  assert.equal(recs[0]!.register.index, 14);
  const p14 = replayCel(recs).registers['pcr14'];
  assert.ok(p14);
  assert.equal(p14.sha1, chain('sha1', 20, lines).toString('hex'));
  assert.equal(p14.sha256, chain('sha256', 32, lines).toString('hex'));
});

test('what CEL cannot carry is refused with ERR_LOSSY_CONVERSION', async () => {
  const lossy = (e: unknown): boolean =>
    e instanceof ParseError && e.code === 'ERR_LOSSY_CONVERSION';
  // served from a checkpoint: the starting value is the SYNC's, CEL cannot state it
  const cp = `CHECKPOINT 1 prev=sha384/${'00'.repeat(48)}`;
  await assert.rejects(exportTo('cel-tlv', [cp, `SYNC sha384/${'11'.repeat(48)}`]), lossy);
  // an off-log extend: the SYNC differs from the running value
  const lines = rtmrLines();
  lines.push(`SYNC sha384/${'22'.repeat(48)}`);
  await assert.rejects(exportTo('cel-json', lines), lossy);
  // a tenant log: a vMR is no CEL register
  const tenant = [`SALT ${'5'.repeat(64)}`, 'TENANT alice alice 2026-01-01T00:00:00Z', 'a.b op c'];
  await assert.rejects(exportTo('cel-tlv', tenant), lossy);
});

test('mrstack log convert --to cel-tlv writes the export', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-mrlog-cel-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines = rtmrLines();
  writeFileSync(join(dir, 'rtmr3.000000.mrlog'), text(lines));
  const out = join(dir, 'out.cel');
  const r = await runCli([
    'log',
    'convert',
    join(dir, 'rtmr3.000000.mrlog'),
    '--to',
    'cel-tlv',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { events: number }).events, lines.length);
  const recs = parseCelTlv(new Uint8Array(readFileSync(out)));
  checkRecords(recs, lines);
});
