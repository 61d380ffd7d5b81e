// Bad input for CEL: cuts in the first and last records and ±16 bytes around every boundary of
// the Confidential Space capture (clean count or ERR_TRUNCATED with the count), then seeded byte
// flips and length edits (TLV) and character edits (JSON): parse or ParseError, nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../../../_support/paths.js';
import { ParseError } from '../../../../src/errors.js';
import { parseCelTlv } from '../../../../src/formats/cel/cel_tlv.js';
import { encodeCelJson, parseCelJson } from '../../../../src/formats/cel/cel_json.js';
import { replayCel } from '../../../../src/formats/cel/cel_replay.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parsesOrParseError(fn: () => unknown, what: string): ParseError | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof ParseError, `${what}: ${e instanceof Error ? e.stack : String(e)}`);
    return e;
  }
}

const capture = new Uint8Array(
  readFileSync(fixture('eventlogs', 'cel', 'gce-confidential-space-tdx-rtmr3.cel-tlv.bin')),
);

test('TLV cuts around every record boundary: clean count or ERR_TRUNCATED with the count', () => {
  const recs = parseCelTlv(capture);
  const ends = recs.map((_r, i) => recs[i + 1]?.offset ?? capture.length);
  const cuts = new Set<number>();
  for (let o = 0; o <= ends[0]!; o++) cuts.add(o);
  for (let o = recs[recs.length - 1]!.offset; o <= capture.length; o++) cuts.add(o);
  for (const b of ends)
    for (let d = -16; d <= 16; d++) if (b + d >= 0 && b + d <= capture.length) cuts.add(b + d);
  for (const cut of cuts) {
    const complete = ends.filter((e) => e <= cut).length;
    const input = capture.subarray(0, cut);
    if (cut === 0 || ends.includes(cut)) {
      assert.equal(parseCelTlv(input).length, complete, `cut ${cut}`);
    } else {
      const e = parsesOrParseError(() => parseCelTlv(input), `cut ${cut}`);
      assert.ok(e?.code === 'ERR_TRUNCATED', `cut ${cut}: ${e?.message ?? 'parsed'}`);
      assert.equal(e.completeRecords, complete, `cut ${cut}`);
    }
  }
});

test('TLV: seeded byte flips and length edits parse or give a ParseError', () => {
  const rand = rng(0xce1);
  const recs = parseCelTlv(capture);
  for (let i = 0; i < 1500; i++) {
    const m = capture.slice();
    if (rand() < 0.5) {
      const at = Math.floor(rand() * m.length);
      m[at] = m[at]! ^ (1 << Math.floor(rand() * 8));
    } else {
      const r = recs[Math.floor(rand() * recs.length)]!;
      // recnum, register, digests, inner digest and content length fields of the record.
      const fields = [1, 14, 20, 25, 78].map((o) => r.offset + o);
      const at = fields[Math.floor(rand() * fields.length)]!;
      const v = [0, 1, 7, 8, 9, 48, 0xff, 0xffff, 0x7fffffff, 0xffffffff][Math.floor(rand() * 10)]!;
      new DataView(m.buffer).setUint32(at, v, false);
    }
    parsesOrParseError(() => replayCel(parseCelTlv(m, { partialTail: 'stop' })), `mutation ${i}`);
  }
});

test('JSON: seeded character edits parse or give a ParseError', () => {
  const rand = rng(0x15e);
  const text = encodeCelJson(parseCelTlv(capture));
  const chars = ['{', '}', '[', ']', ',', ':', '"', '0', 'f', '-', ' ', '\x1e', 'x'];
  for (let i = 0; i < 600; i++) {
    const at = Math.floor(rand() * text.length);
    const m = text.slice(0, at) + chars[Math.floor(rand() * chars.length)]! + text.slice(at + 1);
    parsesOrParseError(() => replayCel(parseCelJson(m)), `mutation ${i}`);
  }
});
