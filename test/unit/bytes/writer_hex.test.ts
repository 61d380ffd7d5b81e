import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter } from '../../../src/bytes/writer.js';
import { ByteReader } from '../../../src/bytes/reader.js';
import { fromHex, toHex, bytesEqual, concatBytes } from '../../../src/bytes/hex.js';

test('writer output reads back field for field, growing past its initial capacity', () => {
  const w = new ByteWriter(16);
  w.u8(0xab).u16le(0x1234).u16be(0x1234).u32le(0xdeadbeef).u32be(0xdeadbeef);
  w.u64le(0x0102030405060708n)
    .u64be(0x0102030405060708n)
    .zeros(3)
    .utf8('hé')
    .bytes(new Uint8Array(40).fill(7));
  const out = w.finish();
  assert.equal(out.length, 1 + 2 + 2 + 4 + 4 + 8 + 8 + 3 + 3 + 40);
  assert.equal(toHex(out.subarray(0, 13)), 'ab34121234efbeaddedeadbeef');
  const r = new ByteReader(out, { format: 'tcg2' });
  assert.equal(r.u8('a'), 0xab);
  assert.equal(r.u16le('b'), 0x1234);
  assert.equal(r.u16be('c'), 0x1234);
  assert.equal(r.u32le('d'), 0xdeadbeef);
  assert.equal(r.u32be('e'), 0xdeadbeef);
  assert.equal(r.u64le('f'), 0x0102030405060708n);
  assert.equal(r.u64be('g'), 0x0102030405060708n);
  r.zeros(3, 'z');
  assert.equal(r.utf8(3, 's'), 'hé');
});

test('writer refuses values that do not fit and patches lengths in place', () => {
  const w = new ByteWriter();
  assert.throws(() => w.u8(256), { code: 'ERR_INTERNAL' });
  assert.throws(() => w.u16le(-1), { code: 'ERR_INTERNAL' });
  assert.throws(() => w.u32le(1.5), { code: 'ERR_INTERNAL' });
  w.u32le(0).bytes(new Uint8Array([1, 2, 3]));
  w.patchU32le(0, 3);
  assert.equal(toHex(w.finish()), '03000000010203');
  assert.throws(() => w.patchU32le(5, 1), { code: 'ERR_INTERNAL' });
});

test('hex decoding is strict and names the bad position', () => {
  assert.equal(toHex(fromHex('00ff10')), '00ff10');
  assert.equal(toHex(fromHex('0xABcd')), 'abcd');
  assert.throws(() => fromHex('abc', 'digest'), {
    code: 'ERR_BAD_HEX',
    field: 'digest',
    expected: 'an even number of hex digits',
  });
  assert.throws(() => fromHex('a g1'), { code: 'ERR_BAD_HEX', offset: 1 });
  assert.equal(fromHex('').length, 0);
});

test('bytesEqual and concatBytes', () => {
  assert.ok(bytesEqual(fromHex('0102'), concatBytes(fromHex('01'), fromHex('02'))));
  assert.ok(!bytesEqual(fromHex('0102'), fromHex('010203')));
  assert.ok(!bytesEqual(fromHex('0102'), fromHex('0103')));
});
