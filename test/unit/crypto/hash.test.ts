// Expected values come from openssl (an independent implementation) and from the TCG Algorithm
// Registry (TPM_ALG_ID values), never from mrstack's own output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  extend,
  extendWithTextHash,
  hash,
  hashEquals,
  hashParts,
} from '../../../src/crypto/hash.js';
import {
  HASH_ALGS,
  digestSize,
  hashAlgFromId,
  hashAlgId,
  lookupHashAlg,
  parseHashAlg,
  type HashAlg,
} from '../../../src/crypto/hash_alg.js';
import { opensslDigest } from '../../_support/peers.js';
import { toHex } from '../../../src/bytes/hex.js';

test('registry matches the TCG Algorithm Registry and the kernel names', () => {
  // TCG Algorithm Registry: TPM_ALG_SHA1 0x0004, SHA256 0x000B, SHA384 0x000C, SHA512 0x000D,
  // SM3_256 0x0012.
  const expected: [HashAlg, number, number][] = [
    ['sha1', 0x0004, 20],
    ['sha256', 0x000b, 32],
    ['sha384', 0x000c, 48],
    ['sha512', 0x000d, 64],
    ['sm3', 0x0012, 32],
  ];
  assert.equal(HASH_ALGS.length, expected.length);
  for (const [name, id, size] of expected) {
    assert.equal(hashAlgId(name), id);
    assert.equal(hashAlgFromId(id), name);
    assert.equal(digestSize(name), size);
  }
  assert.equal(hashAlgFromId(0x0010), undefined); // TPM_ALG_NULL is not a hash
});

test('input spellings: case-insensitive, sm3-256 and sm3_256 accepted', () => {
  assert.equal(lookupHashAlg('SHA384'), 'sha384');
  assert.equal(lookupHashAlg('sm3-256'), 'sm3');
  assert.equal(lookupHashAlg('sm3_256'), 'sm3');
  assert.equal(lookupHashAlg('md5'), undefined);
  assert.throws(() => parseHashAlg('sha3-256'), { code: 'ERR_UNKNOWN_ALGORITHM' });
});

test('hash and extend agree with openssl in every algorithm', () => {
  const openName: Record<HashAlg, string> = {
    sha1: 'sha1',
    sha256: 'sha256',
    sha384: 'sha384',
    sha512: 'sha512',
    sm3: 'sm3',
  };
  for (const { name, size } of HASH_ALGS) {
    const data = randomBytes(100);
    assert.equal(toHex(hash(name, data)), toHex(opensslDigest(openName[name], data)), name);
    const old = randomBytes(size);
    const digest = randomBytes(size);
    const joined = Buffer.concat([old, digest]);
    assert.equal(
      toHex(extend(name, old, digest)),
      toHex(opensslDigest(openName[name], joined)),
      `extend ${name}`,
    );
    assert.equal(
      toHex(hashParts(name, [old, digest])),
      toHex(opensslDigest(openName[name], joined)),
    );
  }
});

test('a well-known vector: SHA-384 extend of a zero RTMR with a zero digest', () => {
  // SHA-384 of 96 zero bytes, computed independently by openssl in this test.
  const zero = new Uint8Array(48);
  assert.equal(
    toHex(extend('sha384', zero, zero)),
    toHex(opensslDigest('sha384', new Uint8Array(96))),
  );
});

test('hashEquals agrees with openssl and rejects any other digest', () => {
  for (const { name } of HASH_ALGS) {
    const data = new Uint8Array(randomBytes(77)); // a plain Uint8Array, not a Buffer
    const good = opensslDigest(name, data);
    assert.ok(hashEquals(name, data, good), name);
    const flipped = good.slice();
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    assert.ok(!hashEquals(name, data, flipped), `${name} flipped`);
    assert.ok(!hashEquals(name, data, good.subarray(0, good.length - 1)), `${name} short`);
  }
});

test('extendWithTextHash is H(old ‖ H(UTF-8 text)) by openssl in every algorithm', () => {
  for (const { name, size } of HASH_ALGS) {
    for (const text of ['', 'a.example op content', 'é 漢字 😀 mixed']) {
      const old = randomBytes(size);
      const inner = opensslDigest(name, new TextEncoder().encode(text));
      const want = opensslDigest(name, Buffer.concat([old, inner]));
      assert.equal(toHex(extendWithTextHash(name, old, text)), toHex(want), `${name} ${text}`);
    }
  }
});
