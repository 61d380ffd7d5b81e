// Strict CBOR (RFC 8949): duplicate map keys, trailing bytes, stray breaks and reserved
// additional information are refused; the byte strings below are written by hand from the RFC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkStrictCbor } from '../../../../src/formats/cca/cbor_strict.js';

const ok = (hex: string): void => checkStrictCbor(Buffer.from(hex, 'hex'), 'cca-token', 't');
const refused = (hex: string, why: RegExp): void =>
  assert.throws(
    () => ok(hex),
    (e: { code?: string; message?: string }) => {
      assert.equal(e.code, 'ERR_BAD_ENCODING', hex);
      assert.match(String(e.message), why);
      return true;
    },
  );

test('well-formed items pass: nested maps with distinct keys, indefinite lengths, tags', () => {
  ok('a201020304'); // {1: 2, 3: 4}
  ok('a2616101616202'); // {"a": 1, "b": 2}
  ok('a1 01 a1 01 02'.replace(/ /g, '')); // {1: {1: 2}}: the same key in different maps
  ok('bf0102 0304 ff'.replace(/ /g, '')); // {_ 1: 2, 3: 4}
  ok('5f42010243030405ff'); // (_ h'0102', h'030405')
  ok('d8184101'); // 24(h'01')
  ok('a2 20 01 01 02'.replace(/ /g, '')); // {-1: 1, 1: 2}
});

test('a map with a duplicate key is refused, whatever the encoding of the key', () => {
  refused('a201020103', /duplicate keys/); // {1: 2, 1: 3}
  refused('a2180a01 0a02'.replace(/ /g, ''), /duplicate keys/); // 10 as 0x18 0x0a and as 0x0a
  refused('a2616101616102', /duplicate keys/); // {"a": 1, "a": 2}
  refused('a2 4101 01 4101 02'.replace(/ /g, ''), /duplicate keys/); // {h'01': 1, h'01': 2}
  refused('bf0102 0103 ff'.replace(/ /g, ''), /duplicate keys/); // indefinite map
  refused('81 a2 01 02 01 03'.replace(/ /g, ''), /duplicate keys/); // nested in an array
  refused('a2 5f4101ff 01 4101 02'.replace(/ /g, ''), /duplicate keys/); // chunked h'01' twice
});

test('trailing bytes, stray breaks, reserved values and truncation are refused', () => {
  refused('0100', /nothing after it/);
  refused('ff', /break code outside/);
  refused('1c', /additional information/);
  refused('a10102ff', /nothing after it/);
  refused('43 0102'.replace(/ /g, ''), /more bytes/);
  refused('5f 6161 ff'.replace(/ /g, ''), /same string type/);
  refused('81'.repeat(70) + '00', /nesting/);
});
