// Bad input: cuts at every offset inside the first and last records and ±16 bytes around every
// record boundary, then a seeded run of byte flips and length-field edits. A binary list cut
// anywhere but a boundary must be ERR_TRUNCATED with the number of complete records; any input
// must parse or throw a ParseError, never another exception. (The every-offset sweep over all
// captures is bench/eventlog/sweep.ts, outside CI.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../../../_support/paths.js';
import { ParseError } from '../../../../src/errors.js';
import { ImaBinaryReader, parseImaBinary } from '../../../../src/formats/ima/ima_binary.js';
import { parseImaAscii } from '../../../../src/formats/ima/ima_ascii.js';
import { decodeImaFields } from '../../../../src/formats/ima/ima_template.js';
import { replayIma } from '../../../../src/formats/ima/ima_replay.js';

/** Deterministic PRNG (mulberry32). */
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

/** Runs `fn`; it must return or throw a ParseError. Returns the error, if any. */
function parsesOrParseError(fn: () => unknown, what: string): ParseError | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof ParseError, `${what}: ${e instanceof Error ? e.stack : String(e)}`);
    return e;
  }
}

const BINARY = [
  'debian-ima-ng-sha1.binary_runtime_measurements',
  'debian-ima-legacy-template-sha1.binary_runtime_measurements',
  'ima-legacy-template-invalidated.binary_runtime_measurements',
  'ima-sig-sha256-invalidated.binary_runtime_measurements',
];

function cutsFor(ends: readonly number[], size: number): number[] {
  const set = new Set<number>();
  const starts = [0, ...ends.slice(0, -1)];
  for (let o = 0; o <= (ends[0] ?? 0); o++) set.add(o);
  const lastStart = starts[starts.length - 1] ?? 0;
  for (let o = lastStart; o <= size; o++) set.add(o);
  for (const b of ends)
    for (let d = -16; d <= 16; d++) if (b + d >= 0 && b + d <= size) set.add(b + d);
  return [...set].sort((a, b) => a - b);
}

test('binary lists: every cut near a record boundary is a clean count or ERR_TRUNCATED', () => {
  for (const name of BINARY) {
    const full = new Uint8Array(readFileSync(fixture('eventlogs', 'ima', name)));
    const rd = new ImaBinaryReader({ partialTail: 'stop' });
    const entries = rd.push(full);
    rd.end();
    const dataEnd = rd.partialTail?.offset ?? full.length;
    const ends = entries.map((_, i) => entries[i + 1]?.offset ?? dataEnd);
    const buf = full.subarray(0, dataEnd);
    for (const cut of cutsFor(ends, buf.length)) {
      const complete = ends.filter((e) => e <= cut).length;
      const input = buf.subarray(0, cut);
      if (cut === 0 || ends.includes(cut)) {
        assert.equal(parseImaBinary(input).length, complete, `${name} cut ${cut}`);
      } else {
        const e = parsesOrParseError(() => parseImaBinary(input), `${name} cut ${cut}`);
        assert.ok(e !== undefined, `${name} cut ${cut}: a cut record must not parse`);
        assert.equal(e.code, 'ERR_TRUNCATED', `${name} cut ${cut}: ${e.message}`);
        assert.equal(e.completeRecords, complete, `${name} cut ${cut}`);
      }
    }
  }
});

test('binary lists: seeded byte flips and length edits parse or give a ParseError', () => {
  const rand = rng(0x1ae);
  for (const name of BINARY) {
    const full = new Uint8Array(readFileSync(fixture('eventlogs', 'ima', name)));
    const entries = parseImaBinary(full, { partialTail: 'stop' });
    for (let i = 0; i < 400; i++) {
      const m = full.slice();
      const kind = rand();
      if (kind < 0.5) {
        const at = Math.floor(rand() * m.length);
        m[at] = m[at]! ^ (1 << Math.floor(rand() * 8));
      } else {
        // Overwrite a length field (template name / data length) of a random record.
        const e = entries[Math.floor(rand() * entries.length)]!;
        const at = e.offset + 4 + 20 + (rand() < 0.5 ? 0 : 4 + e.templateName.length);
        const v = [0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, Math.floor(rand() * 600)][
          Math.floor(rand() * 7)
        ]!;
        if (at + 4 <= m.length) new DataView(m.buffer).setUint32(at, v, true);
      }
      parsesOrParseError(() => {
        const out = parseImaBinary(m, { partialTail: 'stop' });
        // Decoding and replaying what parsed must not throw anything but ParseError either.
        for (const x of out) decodeImaFields(x);
        replayIma(out, { logBank: 'sha1', banks: ['sha1', 'sha256'] });
      }, `${name} mutation ${i}`);
    }
  }
});

test('ascii lists: cuts and seeded mutations parse or give a ParseError', () => {
  const rand = rng(0xa5c11);
  for (const name of [
    'rust-keylime-one-line.ascii_runtime_measurements',
    'keylime-policy-sha384.ascii_runtime_measurements',
    'tdx-rtmr-ima-ng-sha384.ascii_runtime_measurements',
  ]) {
    const full = new Uint8Array(readFileSync(fixture('eventlogs', 'ima', name)));
    for (let cut = 0; cut <= full.length; cut++) {
      parsesOrParseError(() => parseImaAscii(full.subarray(0, cut)), `${name} cut ${cut}`);
    }
    for (let i = 0; i < 300; i++) {
      const m = full.slice();
      const at = Math.floor(rand() * m.length);
      m[at] = [0x20, 0x0a, 0x00, 0x3a, 0x7c, 0xff, Math.floor(rand() * 256)][
        Math.floor(rand() * 7)
      ]!;
      parsesOrParseError(() => {
        for (const x of parseImaAscii(m)) decodeImaFields(x, 'ima-ascii');
      }, `${name} mutation ${i}`);
    }
  }
});
