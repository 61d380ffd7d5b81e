// Malformed TCG logs written field by field: each gives its typed error at the right offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter } from '../../../../src/bytes/writer.js';
import { ParseError } from '../../../../src/errors.js';
import { withLimits } from '../../../../src/limits.js';
import { tcg2Format } from '../../../../src/eventlog/tcg2_format.js';
import type { LogEvent } from '../../../../src/eventlog/event.js';
import { bytesInput } from '../../../../src/formats/stream/framer.js';
import type { Limits } from '../../../../src/limits.js';

/** A Spec ID Event03 header record declaring the given (algId, size) banks. */
function header(algs: [number, number][], vendor: number[] = []): ByteWriter {
  const w = new ByteWriter();
  w.u32le(0).u32le(3).zeros(20); // PCR 0, EV_NO_ACTION, zero SHA-1 digest
  w.u32le(28 + 4 * algs.length + 1 + vendor.length); // eventSize
  w.utf8('Spec ID Event03').u8(0); // signature
  w.u32le(0).u8(0).u8(2).u8(0).u8(2); // platformClass, minor, major, errata, uintnSize
  w.u32le(algs.length);
  for (const [id, size] of algs) w.u16le(id).u16le(size);
  w.u8(vendor.length);
  for (const b of vendor) w.u8(b);
  return w;
}

async function parse(buf: Uint8Array, limits?: Limits): Promise<LogEvent[]> {
  const out: LogEvent[] = [];
  for await (const e of tcg2Format.parse(bytesInput(buf), limits === undefined ? {} : { limits }))
    out.push(e);
  return out;
}

const SHA256: [number, number] = [0x000b, 32];

test('a minimal crypto-agile log: header + one EV_SEPARATOR in PCR7', async () => {
  const w = header([SHA256]);
  const hdrLen = w.length;
  w.u32le(7).u32le(4).u32le(1).u16le(0x000b).zeros(32).u32le(4).u32le(0);
  const evs = await parse(w.finish());
  assert.equal(evs.length, 2);
  const e = evs[1]!;
  assert.ok(e.kind === 'tcg2');
  assert.equal(e.register, 'pcr7');
  assert.equal(e.untrustedType, 4);
  assert.equal(e.source.offset, hdrLen);
  assert.deepEqual([...e.digests.keys()], ['sha256']);
});

test('eventSize over the record limit: ERR_RECORD_TOO_LARGE at the eventSize field, before allocating', async () => {
  const w = header([SHA256]);
  const at = w.length;
  w.u32le(0).u32le(1).u32le(1).u16le(0x000b).zeros(32).u32le(0xbdbdbdbd);
  await assert.rejects(parse(w.finish()), (e: unknown) => {
    assert.ok(e instanceof ParseError);
    assert.equal(e.code, 'ERR_RECORD_TOO_LARGE');
    assert.equal(e.offset, at + 12 + 34);
    assert.equal(e.field, 'eventSize');
    assert.equal(e.record, 1);
    return true;
  });
});

test('digest count over maxDigestsPerEvent: ERR_LENGTH_LIMIT at digests.count', async () => {
  const w = header([SHA256]);
  const at = w.length;
  w.u32le(0).u32le(1).u32le(1000);
  await assert.rejects(parse(w.finish(), withLimits({ maxDigestsPerEvent: 8 })), {
    code: 'ERR_LENGTH_LIMIT',
    offset: at + 8,
    field: 'digests.count',
  });
});

test('a digest algorithm missing from the Spec ID table: ERR_UNKNOWN_ALGORITHM', async () => {
  const w = header([SHA256]);
  const at = w.length;
  w.u32le(0).u32le(1).u32le(1).u16le(0x0004).zeros(20).u32le(0);
  await assert.rejects(parse(w.finish()), {
    code: 'ERR_UNKNOWN_ALGORITHM',
    offset: at + 12,
    actual: '0x4',
  });
});

test('Spec ID with no algorithms, or a wrong size for a known one: ERR_BAD_VALUE', async () => {
  await assert.rejects(parse(header([]).finish()), {
    code: 'ERR_BAD_VALUE',
    field: 'specId.numberOfAlgorithms',
    offset: 32 + 24,
  });
  await assert.rejects(parse(header([[0x000b, 20]]).finish()), {
    code: 'ERR_BAD_VALUE',
    field: 'specId.digestSizes[0].digestSize',
  });
});

test('a log cut inside its second record: ERR_TRUNCATED, incomplete, one complete record', async () => {
  const w = header([SHA256]);
  const at = w.length;
  w.u32le(7).u32le(4).u32le(1).u16le(0x000b).zeros(32).u32le(4).u32le(0);
  const full = w.finish();
  for (const cut of [at + 3, at + 13, at + 40, full.length - 1]) {
    await assert.rejects(parse(full.subarray(0, cut)), (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.code, 'ERR_TRUNCATED', `cut ${cut}`);
      assert.equal(e.incomplete, true);
      assert.equal(e.completeRecords, 1);
      assert.equal(e.offset, at);
      return true;
    });
  }
});

test('SHA-1 layout log: records of 32 bytes + event; a cut one is truncation', async () => {
  const w = new ByteWriter();
  w.u32le(0).u32le(8).zeros(20).u32le(3).utf8('abc');
  w.u32le(4).u32le(4).zeros(20).u32le(4).u32le(0);
  const buf = w.finish();
  const evs = await parse(buf);
  assert.equal(evs.length, 2);
  assert.deepEqual([...evs[1]!.digests.keys()], ['sha1']);
  await assert.rejects(parse(buf.subarray(0, buf.length - 2)), {
    code: 'ERR_TRUNCATED',
    completeRecords: 1,
  });
});
