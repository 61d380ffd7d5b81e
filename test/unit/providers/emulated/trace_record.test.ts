// The trace record's byte layout, checked against the table documented in trace_record.ts and
// docs/emulated-tvm.md: the expected bytes are assembled here by hand, field by field, and the
// checksum is computed by openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeTraceRecord,
  encodeTraceRecord,
  TRACE_RECORD_SIZE,
} from '../../../../src/providers/emulated/trace_record.js';
import { ParseError } from '../../../../src/errors.js';
import { opensslDigest } from '../../../_support/peers.js';

const nonce = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

/** The documented layout, written out independently of the encoder. */
function handBuilt(opts: {
  profile: number;
  register: number;
  algId: number;
  data: Uint8Array;
}): Uint8Array {
  const b = new Uint8Array(128);
  b.set([0x4d, 0x52, 0x54, 0x52], 0x00); // "MRTR"
  b[0x04] = 1; // version
  b[0x05] = opts.profile;
  b[0x06] = opts.register;
  b[0x07] = opts.data.length;
  b[0x08] = opts.algId & 0xff; // little-endian TPM_ALG_ID
  b[0x09] = opts.algId >> 8;
  // 0x0a..0x0f reserved zero
  b.set(nonce, 0x10);
  b.set(opts.data, 0x20);
  b.set(opensslDigest('sha256', b.subarray(0, 0x60)), 0x60);
  return b;
}

test('a TDX RTMR2 record is byte-exact with the documented layout', () => {
  const digest = Uint8Array.from({ length: 48 }, (_, i) => i + 1);
  const got = encodeTraceRecord({
    profile: 'tdx',
    register: 2,
    alg: 'sha384',
    data: digest,
    nonce,
  });
  assert.equal(got.length, TRACE_RECORD_SIZE);
  assert.equal(TRACE_RECORD_SIZE, 128);
  assert.deepEqual(got, handBuilt({ profile: 1, register: 2, algId: 0x000c, data: digest }));
});

test('a CCA REM record with 5 bytes of data zero-pads the rest', () => {
  const data = new Uint8Array([1, 2, 3, 4, 5]);
  const got = encodeTraceRecord({ profile: 'cca', register: 3, alg: 'sha512', data, nonce });
  const want = handBuilt({ profile: 3, register: 3, algId: 0x000d, data });
  assert.deepEqual(got, want);
  assert.deepEqual(got.subarray(0x25, 0x60), new Uint8Array(0x60 - 0x25));
});

test('a TPM PCR23 sha1 record carries profile 4 and TPM_ALG_SHA1', () => {
  const data = new Uint8Array(20).fill(0x5a);
  const got = encodeTraceRecord({ profile: 'tpm', register: 23, alg: 'sha1', data, nonce });
  assert.deepEqual(got, handBuilt({ profile: 4, register: 23, algId: 0x0004, data }));
});

test('decode returns the encoded fields', () => {
  const data = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
  const rec = decodeTraceRecord(
    handBuilt({ profile: 4, register: 14, algId: 0x000b, data }),
    0x80,
    'x.bin',
  );
  assert.equal(rec.profile, 'tpm');
  assert.equal(rec.register, 14);
  assert.equal(rec.alg, 'sha256');
  assert.deepEqual(rec.data, data);
  assert.deepEqual(rec.nonce, nonce);
});

function assertCorrupt(buf: Uint8Array, offset: number, field: RegExp, at: number): void {
  assert.throws(
    () => decodeTraceRecord(buf, offset, '/state/trace.bin'),
    (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.code, 'ERR_TRACE_CORRUPT');
      assert.equal(e.format, 'trace');
      assert.equal(e.offset, at);
      assert.match(e.field, /^\/state\/trace\.bin: record\[\d+\]\./);
      assert.match(e.field, field);
      assert.equal(e.exitCode, 2);
      return true;
    },
  );
}

test('every flipped byte of a record is detected as ERR_TRACE_CORRUPT', () => {
  const good = handBuilt({
    profile: 1,
    register: 0,
    algId: 0x000c,
    data: new Uint8Array(48).fill(7),
  });
  for (let i = 0; i < 128; i++) {
    const bad = new Uint8Array(good);
    bad[i]! ^= 0x01;
    assert.throws(
      () => decodeTraceRecord(bad, 256, 't'),
      (e: unknown) => e instanceof ParseError && e.code === 'ERR_TRACE_CORRUPT',
      `flip at byte ${i}`,
    );
  }
});

test('errors name the field and the absolute offset', () => {
  const good = handBuilt({ profile: 1, register: 0, algId: 0x000c, data: new Uint8Array(48) });
  const badMagic = new Uint8Array(good);
  badMagic[0] = 0x4e;
  assertCorrupt(badMagic, 0x300, /record\[6\]\.magic$/, 0x300);
  const badCheck = new Uint8Array(good);
  badCheck[0x20]! ^= 0xff; // data changed, checksum no longer matches
  assertCorrupt(badCheck, 0x300, /\.check$/, 0x360);
  // A record whose checksum is valid but whose reserved bytes are not zero (a writer bug).
  const reserved = new Uint8Array(good);
  reserved[0x0b] = 1;
  reserved.set(opensslDigest('sha256', reserved.subarray(0, 0x60)), 0x60);
  assertCorrupt(reserved, 0, /\.reserved$/, 0x0a);
  const padding = new Uint8Array(
    handBuilt({ profile: 3, register: 0, algId: 0x000b, data: new Uint8Array([9]) }),
  );
  padding[0x40] = 1;
  padding.set(opensslDigest('sha256', padding.subarray(0, 0x60)), 0x60);
  assertCorrupt(padding, 0, /\.data\.padding$/, 0x21);
});

test('a partial record is ERR_TRACE_CORRUPT marked incomplete', () => {
  const good = handBuilt({ profile: 1, register: 0, algId: 0x000c, data: new Uint8Array(48) });
  assert.throws(
    () => decodeTraceRecord(good.subarray(0, 77), 0x200, 't'),
    (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.code, 'ERR_TRACE_CORRUPT');
      assert.equal(e.offset, 0x200);
      assert.equal(e.incomplete, true);
      assert.equal(e.completeRecords, 4);
      return true;
    },
  );
});

test('encode refuses out-of-range fields', () => {
  // CCA extend data of 0 bytes or more than 64 does not fit a trace record.
  for (const size of [65, 0]) {
    assert.throws(
      () =>
        encodeTraceRecord({
          profile: 'cca',
          register: 0,
          alg: 'sha256',
          data: new Uint8Array(size),
          nonce,
        }),
      RangeError,
      `${size} bytes`,
    );
  }
});
