// Bad input for CEL: cuts in the first and last records and ±16 bytes around every boundary of
// the Confidential Space capture (clean count or ERR_TRUNCATED with the count), then seeded byte
// flips and length edits (TLV) and character edits (JSON): parse or ParseError, nothing else.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fixture } from '../../../_support/paths.js';
import { parseCelTlv } from '../../../../src/formats/cel/cel_tlv.js';
import { encodeCelJson, parseCelJson } from '../../../../src/formats/cel/cel_json.js';
import { replayCel } from '../../../../src/formats/cel/cel_replay.js';
import { flipRandomBit, pick, randomIndex, seededRng } from '../../../_support/rng.js';
import { assertCutsTruncateCleanly, parsesOrParseError } from '../../../_support/parse_sweep.js';

const capture = new Uint8Array(
  readFileSync(fixture('eventlogs', 'cel', 'gce-confidential-space-tdx-rtmr3.cel-tlv.bin')),
);

test('TLV cuts around every record boundary: clean count or ERR_TRUNCATED with the count', () => {
  const recs = parseCelTlv(capture);
  const ends = recs.map((_r, i) => recs[i + 1]?.offset ?? capture.length);
  assertCutsTruncateCleanly(capture, ends, (input) => parseCelTlv(input), 'TLV');
});

test('TLV: seeded byte flips and length edits parse or give a ParseError', () => {
  const rand = seededRng(0xce1);
  const recs = parseCelTlv(capture);
  for (let i = 0; i < 1500; i++) {
    const m = capture.slice();
    if (rand() < 0.5) {
      flipRandomBit(rand, m);
    } else {
      const r = pick(rand, recs);
      // recnum, register, digests, inner digest and content length fields of the record.
      const at = pick(rand, [1, 14, 20, 25, 78]) + r.offset;
      const v = pick(rand, [0, 1, 7, 8, 9, 48, 0xff, 0xffff, 0x7fffffff, 0xffffffff]);
      new DataView(m.buffer).setUint32(at, v, false);
    }
    parsesOrParseError(() => replayCel(parseCelTlv(m, { partialTail: 'stop' })), `mutation ${i}`);
  }
});

test('JSON: seeded character edits parse or give a ParseError', () => {
  const rand = seededRng(0x15e);
  const text = encodeCelJson(parseCelTlv(capture));
  const chars = ['{', '}', '[', ']', ',', ':', '"', '0', 'f', '-', ' ', '\x1e', 'x'];
  for (let i = 0; i < 600; i++) {
    const at = randomIndex(rand, text.length);
    const m = text.slice(0, at) + pick(rand, chars) + text.slice(at + 1);
    parsesOrParseError(() => replayCel(parseCelJson(m)), `mutation ${i}`);
  }
});
