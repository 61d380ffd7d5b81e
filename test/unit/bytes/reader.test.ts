import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader } from '../../../src/bytes/reader.js';
import { ParseError } from '../../../src/errors.js';

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

test('reads integers in both byte orders at absolute offsets', () => {
  const r = new ByteReader(bytes(0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09), {
    format: 'tcg2',
    origin: 0x100,
  });
  assert.equal(r.offset, 0x100);
  assert.equal(r.u8('a'), 0x01);
  assert.equal(r.u16le('b'), 0x0302);
  assert.equal(r.u16be('c'), 0x0405);
  assert.equal(r.offset, 0x105);
  assert.equal(r.u32le('d'), 0x09080706);
  assert.equal(r.remaining, 0);
  r.expectEnd('end');
});

test('64-bit fields are bigint', () => {
  const r = new ByteReader(bytes(1, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0, 0, 0, 0, 0, 0, 1), {
    format: 'tcg2',
  });
  assert.equal(r.u64le('x'), 0x8000000000000001n);
  assert.equal(r.u64be('y'), 0x8000000000000001n);
});

test('running off the end is ERR_TRUNCATED at the absolute offset, marked incomplete', () => {
  const r = new ByteReader(bytes(1, 2, 3), { format: 'ima-binary', origin: 16, record: 4 });
  r.u16le('first');
  assert.throws(
    () => r.u32le('event.size'),
    (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.code, 'ERR_TRUNCATED');
      assert.equal(e.offset, 18);
      assert.equal(e.field, 'event.size');
      assert.equal(e.record, 4);
      assert.equal(e.incomplete, true);
      assert.equal(e.message, 'ima-binary @0x12 event.size: expected 4 bytes, found 1 left');
      return true;
    },
  );
  // A failed read leaves the cursor where it was.
  assert.equal(r.offset, 18);
  assert.equal(r.u8('last'), 3);
});

test('take() checks the named limit before the bytes left, and children keep absolute offsets', () => {
  const r = new ByteReader(new Uint8Array(32), { format: 'cel-tlv', origin: 1000 });
  r.skip(4, 'hdr');
  assert.throws(() => r.take(0xffffffff, 'record.length', 1024), {
    code: 'ERR_LENGTH_LIMIT',
    offset: 1004,
    expected: '<= 1024',
    actual: '4294967295',
  });
  assert.throws(() => r.take(29, 'record.length', 1024), { code: 'ERR_TRUNCATED' });
  const child = r.take(8, 'record', 1024);
  assert.equal(child.offset, 1004);
  child.skip(8, 'all');
  assert.throws(() => child.u8('past'), { code: 'ERR_TRUNCATED', offset: 1012 });
  assert.equal(r.offset, 1012);
});

test('checkLength multiplies counts by element size without allocating', () => {
  const r = new ByteReader(new Uint8Array(10), { format: 'tpm2' });
  assert.throws(() => r.checkLength(3, 'count', 100, 4), { code: 'ERR_TRUNCATED' });
  r.checkLength(2, 'count', 100, 4);
  assert.throws(() => r.checkLength(-1, 'neg'), { code: 'ERR_TRUNCATED' });
  assert.throws(() => r.checkLength(Number.NaN, 'nan'), { code: 'ERR_TRUNCATED' });
});

test('zeros() names the first non-zero byte of a reserved range', () => {
  const r = new ByteReader(bytes(0, 0, 0, 7, 0), { format: 'snp-report', origin: 0x2a });
  assert.throws(() => r.zeros(5, 'reserved1'), {
    code: 'ERR_RESERVED_NONZERO',
    offset: 0x2d,
    field: 'reserved1[3]',
    actual: '0x07',
  });
});

test('expectEnd reports trailing bytes', () => {
  const r = new ByteReader(bytes(1, 2), { format: 'tdx-quote' });
  r.u8('x');
  assert.throws(() => r.expectEnd('quote'), {
    code: 'ERR_TRAILING_BYTES',
    actual: '1 extra bytes',
  });
});

test('utf8() is fatal on malformed UTF-8', () => {
  const r = new ByteReader(bytes(0x61, 0xc3, 0x28), { format: 'ima-binary' });
  assert.throws(() => r.utf8(3, 'filename'), { code: 'ERR_BAD_ENCODING', offset: 0 });
  const ok = new ByteReader(bytes(0xc3, 0xa9), { format: 'ima-binary' });
  assert.equal(ok.utf8(2, 'name'), '\u00e9');
});

test('bytes() returns a view, copy() an independent copy', () => {
  const src = bytes(1, 2, 3, 4);
  const r = new ByteReader(src, { format: 'tcg2' });
  const view = r.bytes(2, 'v');
  const cp = r.copy(2, 'c');
  src[0] = 9;
  src[2] = 9;
  assert.equal(view[0], 9);
  assert.equal(cp[0], 3);
});

test('copy() copies even from a node Buffer (whose slice() is a view) and hands out a plain Uint8Array', () => {
  const src = Buffer.from([1, 2, 3, 4, 5]);
  const r = new ByteReader(src.subarray(1), { format: 'tcg2' });
  const c = r.copy(3, 'field');
  src.fill(0);
  assert.deepEqual([...c], [2, 3, 4]);
  assert.equal(Object.getPrototypeOf(c), Uint8Array.prototype);
});
