import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Framer } from '../../../../src/formats/stream/framer.js';
import { readLines } from '../../../../src/formats/stream/lines.js';
import { ParseError } from '../../../../src/errors.js';
import { withLimits } from '../../../../src/limits.js';
import { chunked } from '../../eventlog/support.js';

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

test('fill/reader across 1-byte chunks keeps absolute offsets and never copies more than asked', async () => {
  const f = new Framer(chunked(bytes(100), 1), { format: 'tcg2', origin: 1000 });
  assert.equal(await f.fill(10), 10);
  const r = f.reader(10, 0);
  assert.equal(r.offset, 1000);
  assert.equal(r.u8('a'), 0);
  r.skip(8, 'b');
  assert.equal(r.u8('c'), 9);
  assert.equal(f.offset, 1010);
  // The framer buffers only what was asked (plus at most the last chunk).
  assert.ok(f.buffered <= 1);
  assert.equal(await f.fill(200), 90);
  assert.equal(f.peek(1)[0], 10);
  f.skip(90);
  assert.equal(await f.atEnd(), true);
});

test('a borrowed chunk is never written to when later chunks arrive', async () => {
  const a = new Uint8Array([1, 2, 3, 4]);
  const b = new Uint8Array([5, 6, 7, 8]);
  const f = new Framer([a, b], { format: 'tcg2' });
  await f.fill(2);
  f.skip(2);
  assert.equal(await f.fill(6), 6);
  assert.deepEqual([...f.peek(6)], [3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...a], [1, 2, 3, 4]);
  assert.deepEqual([...b], [5, 6, 7, 8]);
});

test('require() at end of input is ERR_TRUNCATED, incomplete, with the complete-record count', async () => {
  const f = new Framer(chunked(bytes(20), 7), { format: 'ccel' });
  f.skip(0);
  await assert.rejects(f.require(32, 0, 'record[3]', 3, 3), (e: unknown) => {
    assert.ok(e instanceof ParseError);
    assert.equal(e.code, 'ERR_TRUNCATED');
    assert.equal(e.incomplete, true);
    assert.equal(e.completeRecords, 3);
    assert.equal(e.record, 3);
    assert.equal(e.offset, 0);
    assert.equal(e.format, 'ccel');
    return true;
  });
});

test('checkRecordSize refuses a length over maxRecordSize before anything is buffered', () => {
  const f = new Framer([], { format: 'tcg2', limits: withLimits({ maxRecordSize: 100 }) });
  assert.throws(() => f.checkRecordSize(101, 28, 'record[1].eventSize', 1), {
    code: 'ERR_RECORD_TOO_LARGE',
    offset: 28,
    expected: '<= 100',
    actual: '101',
  });
  f.checkRecordSize(100, 28, 'x');
});

test('readLines: LF-terminated lines, a last line without LF, CR kept, offsets and numbers', async () => {
  const text = new TextEncoder().encode('a b c\r\n\nlast');
  const got: [string, number, number, boolean][] = [];
  for await (const l of readLines(chunked(text, 2), { format: 'aael' })) {
    got.push([new TextDecoder().decode(l.bytes), l.offset, l.line, l.terminated]);
  }
  assert.deepEqual(got, [
    ['a b c\r', 0, 1, true],
    ['', 7, 2, true],
    ['last', 8, 3, false],
  ]);
});

test('readLines: a line over maxLineLength is ERR_RECORD_TOO_LARGE by line number, terminated or not', async () => {
  const limits = withLimits({ maxLineLength: 8 });
  const run = async (s: string): Promise<number> => {
    let n = 0;
    for await (const l of readLines(chunked(new TextEncoder().encode(s), 3), {
      format: 'aael',
      limits,
    })) {
      n += l.bytes.length;
    }
    return n;
  };
  assert.equal(await run('12345678\n'), 8);
  for (const s of ['ok\n123456789\n', 'ok\n1234567890123']) {
    await assert.rejects(run(s), (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.code, 'ERR_RECORD_TOO_LARGE');
      assert.equal(e.offset, 2);
      assert.equal(e.details['unit'], 'line');
      return true;
    });
  }
});
