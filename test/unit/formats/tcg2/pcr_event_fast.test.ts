// The one-pass crypto-agile decoder (replay's hot path) against the ByteReader path: same
// records on every capture, and a fall-back (undefined) on every input the reader path must
// judge, so the typed errors stay the reader path's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader } from '../../../../src/bytes/reader.js';
import { ByteWriter } from '../../../../src/bytes/writer.js';
import {
  agileDigestTable,
  parsePcrEvent2,
  tryDecodePcrEvent2,
} from '../../../../src/formats/tcg2/pcr_event.js';
import type { LogEvent } from '../../../../src/eventlog/event.js';
import { captureNames, logFixture, parseAll } from '../../eventlog/support.js';

const SIZES = new Map([
  [0x0004, 20],
  [0x000b, 32],
]);
const TABLE = agileDigestTable(SIZES);

/** PCR 7, EV_EFI_VARIABLE_AUTHORITY, SHA-1 digest 0x11…, SHA-256 digest 0x22…, data "abc". */
function record(): Uint8Array {
  const w = new ByteWriter();
  w.u32le(7).u32le(0x800000e0).u32le(2);
  w.u16le(0x0004).bytes(new Uint8Array(20).fill(0x11));
  w.u16le(0x000b).bytes(new Uint8Array(32).fill(0x22));
  w.u32le(3).bytes(new Uint8Array([0x61, 0x62, 0x63]));
  return w.finish();
}

test('a record decodes to the same fields as the reader path, with its length', () => {
  const rec = record();
  const tail = new Uint8Array([9, 9, 9, 9]); // the next record's first bytes
  const input = new Uint8Array([...rec, ...tail]);
  const fast = tryDecodePcrEvent2(input, TABLE, 8, 1 << 20);
  assert.ok(fast !== undefined);
  assert.equal(fast.length, 12 + 22 + 34 + 4 + 3);
  const slow = parsePcrEvent2(new ByteReader(rec, { format: 'tcg2' }), TABLE);
  assert.equal(fast.record.pcrIndex, 7);
  assert.equal(fast.record.eventType, 0x800000e0);
  assert.deepEqual(
    fast.record.digests.map((d) => [d.algId, d.alg, [...d.digest]]),
    slow.digests.map((d) => [d.algId, d.alg, [...d.digest]]),
  );
  assert.deepEqual([...fast.record.data], [0x61, 0x62, 0x63]);
  // Plain Uint8Array views, like every other parser's output (not node Buffers).
  assert.equal(Object.getPrototypeOf(fast.record.data), Uint8Array.prototype);
  // An owned copy: reusing the input buffer does not change the record.
  input.fill(0);
  assert.equal(fast.record.digests[1]!.digest[0], 0x22);
  assert.deepEqual([...fast.record.data], [0x61, 0x62, 0x63]);
});

test('falls back on every prefix of a record (too few bytes to decode it whole)', () => {
  const rec = record();
  for (let n = 0; n < rec.length; n++) {
    assert.equal(tryDecodePcrEvent2(rec.subarray(0, n), TABLE, 8, 1 << 20), undefined, `n=${n}`);
  }
});

test('falls back on an algorithm outside the table, a digest count or an eventSize over the limit', () => {
  const unknownAlg = record();
  unknownAlg[12 + 22] = 0x0c; // second digest claims SHA-384, not in this header's table
  assert.equal(tryDecodePcrEvent2(unknownAlg, TABLE, 8, 1 << 20), undefined);
  assert.equal(tryDecodePcrEvent2(record(), TABLE, 1, 1 << 20), undefined); // 2 digests > 1
  assert.equal(tryDecodePcrEvent2(record(), TABLE, 8, 2), undefined); // 3 data bytes > 2
  const huge = record();
  new DataView(huge.buffer).setUint32(12 + 22 + 34, 0xffffffff, true);
  assert.equal(tryDecodePcrEvent2(huge, TABLE, 8, 1 << 20), undefined);
});

/** What a test compares of an event: everything the parser decodes. */
function shape(e: LogEvent): unknown {
  if (e.kind !== 'tcg2') return e;
  return {
    index: e.index,
    register: e.register,
    extend: e.extend,
    offset: e.source.offset,
    length: e.source.length,
    mrIndex: e.mrIndex,
    type: e.untrustedType,
    digests: e.digestList.map((d) => [d.algId, Buffer.from(d.digest).toString('hex')]),
    data: Buffer.from(e.data).toString('hex'),
    anchor: e.anchor?.kind,
  };
}

type Parsed = Awaited<ReturnType<typeof parseAll>>;

async function parseOrError(buf: Uint8Array, chunk: number): Promise<Parsed | Error> {
  try {
    return await parseAll(buf, { chunk });
  } catch (e) {
    assert.ok(e instanceof Error);
    return e;
  }
}

// Seven-byte chunks never hold a whole record (16 bytes at least) when its parse starts, so
// every record takes the reader path; one whole chunk lets the fast path take every record
// after the header.
for (const folder of ['tcg', 'ccel'] as const) {
  const names = captureNames(folder);
  test(`${folder}: every capture gives the same events through the fast and the reader path`, async () => {
    assert.ok(names.length >= 5, `captures in ${folder}`);
    for (const name of names) {
      const buf = logFixture(`${folder}/${name}`);
      const whole = await parseOrError(buf, buf.length);
      const pieces = await parseOrError(buf, 7);
      if (whole instanceof Error || pieces instanceof Error) {
        assert.ok(whole instanceof Error && pieces instanceof Error, `${name}: both fail`);
        assert.equal(
          (whole as { code?: string }).code,
          (pieces as { code?: string }).code,
          `${name}: same error code`,
        );
        continue;
      }
      assert.equal(whole.events.length, pieces.events.length, name);
      assert.deepEqual(whole.events.map(shape), pieces.events.map(shape), name);
      assert.deepEqual(
        whole.warnings.map((w) => w.code),
        pieces.warnings.map((w) => w.code),
        `${name}: warnings`,
      );
    }
  });
}
