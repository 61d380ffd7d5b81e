// Bad input: cuts at every offset inside the first and last records and ±16 bytes around every
// record boundary, then a seeded run of byte flips and length-field edits. A binary list cut
// anywhere but a boundary must be ERR_TRUNCATED with the number of complete records; any input
// must parse or throw a ParseError, never another exception. (The every-offset sweep over all
// captures is bench/eventlog/sweep.ts, outside CI.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../../../_support/paths.js';
import {
  ImaBinaryReader,
  encodeImaBinary,
  parseImaBinary,
} from '../../../../src/formats/ima/ima_binary.js';
import { parseImaAscii } from '../../../../src/formats/ima/ima_ascii.js';
import { decodeImaFields } from '../../../../src/formats/ima/ima_template.js';
import { ParseError } from '../../../../src/errors.js';
import { replayImaBytes } from '../../../_support/ima_replay.js';
import { flipRandomBit, pick, randomIndex, seededRng } from '../../../_support/rng.js';
import { assertCutsTruncateCleanly, parsesOrParseError } from '../../../_support/parse_sweep.js';

const BINARY = [
  'debian-ima-ng-sha1.binary_runtime_measurements',
  'debian-ima-legacy-template-sha1.binary_runtime_measurements',
  'ima-legacy-template-invalidated.binary_runtime_measurements',
  'ima-sig-sha256-invalidated.binary_runtime_measurements',
];

test('binary lists: every cut near a record boundary is a clean count or ERR_TRUNCATED', () => {
  for (const name of BINARY) {
    const full = new Uint8Array(readFileSync(fixture('eventlogs', 'ima', name)));
    const rd = new ImaBinaryReader({ partialTail: 'stop' });
    const entries = rd.push(full);
    rd.end();
    const dataEnd = rd.partialTail?.offset ?? full.length;
    const ends = entries.map((_, i) => entries[i + 1]?.offset ?? dataEnd);
    assertCutsTruncateCleanly(full.subarray(0, dataEnd), ends, (b) => parseImaBinary(b), name);
  }
});

test('binary lists: seeded byte flips and length edits parse or give a ParseError', async () => {
  const rand = seededRng(0x1ae);
  for (const name of BINARY) {
    const full = new Uint8Array(readFileSync(fixture('eventlogs', 'ima', name)));
    const entries = parseImaBinary(full, { partialTail: 'stop' });
    for (let i = 0; i < 400; i++) {
      const m = full.slice();
      const kind = rand();
      if (kind < 0.5) {
        flipRandomBit(rand, m);
      } else {
        // Overwrite a length field (template name / data length) of a random record.
        const e = pick(rand, entries);
        const at = e.offset + 4 + 20 + (rand() < 0.5 ? 0 : 4 + e.templateName.length);
        const v = pick(rand, [0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, randomIndex(rand, 600)]);
        if (at + 4 <= m.length) new DataView(m.buffer).setUint32(at, v, true);
      }
      let out: ReturnType<typeof parseImaBinary> = [];
      parsesOrParseError(() => {
        out = parseImaBinary(m, { partialTail: 'stop' });
        // Decoding what parsed must not throw anything but ParseError either.
        for (const x of out) decodeImaFields(x);
      }, `${name} mutation ${i}`);
      // Nor may replaying what parsed (through the CLI's path, both banks).
      if (out.length > 0) {
        try {
          await replayImaBytes(encodeImaBinary(out), { imaBanks: ['sha1', 'sha256'] });
        } catch (e) {
          assert.ok(e instanceof ParseError, `${name} mutation ${i}: ${String(e)}`);
        }
      }
    }
  }
});

test('ascii lists: cuts and seeded mutations parse or give a ParseError', () => {
  const rand = seededRng(0xa5c11);
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
      const at = randomIndex(rand, m.length);
      m[at] = pick(rand, [0x20, 0x0a, 0x00, 0x3a, 0x7c, 0xff, randomIndex(rand, 256)]);
      parsesOrParseError(() => {
        for (const x of parseImaAscii(m)) decodeImaFields(x, 'ima-ascii');
      }, `${name} mutation ${i}`);
    }
  }
});
