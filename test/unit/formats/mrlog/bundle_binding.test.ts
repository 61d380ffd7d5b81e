// The evidence binding and the Merkle tree of shared reports (docs/bundle.md), against openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { evidenceBinding } from '../../../../src/formats/envelope/binding.js';
import {
  merkleProof,
  merkleRoot,
  verifyMerkleProof,
} from '../../../../src/formats/bundle/merkle.js';

function sha512(data: Uint8Array): Buffer {
  const r = spawnSync('openssl', ['dgst', '-sha512', '-binary'], { input: data });
  assert.equal(r.status, 0);
  return r.stdout;
}
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

test('binding = SHA-512(label ‖ u32be len ‖ tenant ‖ u32be len ‖ nonce ‖ u32be len ‖ user data)', () => {
  const nonce = Buffer.from('00112233445566778899', 'hex');
  const ud = Buffer.from('cafe', 'hex');
  // The lengths are written out (5: "alice", 10: the nonce) rather than computed.
  const expectedFor = (udLen: number, userData: Buffer): Buffer =>
    sha512(
      Buffer.concat([
        Buffer.from('mrstack-evidence-v1'),
        u32(5),
        Buffer.from('alice'),
        u32(10),
        nonce,
        u32(udLen),
        userData,
      ]),
    );
  const expected = expectedFor(2, ud);
  assert.equal(
    Buffer.from(evidenceBinding('alice', nonce, ud)).toString('hex'),
    expected.toString('hex'),
  );
  const noUd = expectedFor(0, Buffer.alloc(0));
  assert.equal(Buffer.from(evidenceBinding('alice', nonce)).toString('hex'), noUd.toString('hex'));
  // lengths separate the fields: moving a byte from tenant to nonce changes the binding
  assert.notDeepEqual(
    evidenceBinding('alic', Buffer.from('65', 'hex')),
    evidenceBinding('alice', new Uint8Array(0)),
  );
});

test('Merkle root of three bindings is RFC 9162 with SHA-512 (openssl)', () => {
  const b = [1, 2, 3].map((i) => Buffer.alloc(64, i));
  const leaf = (x: Buffer): Buffer => sha512(Buffer.concat([Buffer.from([0]), x]));
  const node = (l: Buffer, r: Buffer): Buffer => sha512(Buffer.concat([Buffer.from([1]), l, r]));
  const expected = node(node(leaf(b[0]!), leaf(b[1]!)), leaf(b[2]!));
  assert.equal(Buffer.from(merkleRoot(b)).toString('hex'), expected.toString('hex'));
  assert.equal(Buffer.from(merkleRoot([b[0]!])).toString('hex'), b[0]!.toString('hex'));
});

test('every inclusion proof verifies for 1..33 leaves; a wrong leaf or index does not', () => {
  for (let n = 1; n <= 33; n++) {
    const leaves = Array.from({ length: n }, (_, i) => new Uint8Array(64).fill(i + 1));
    const root = merkleRoot(leaves);
    for (let i = 0; i < n; i++) {
      const p = merkleProof(leaves, i);
      assert.ok(verifyMerkleProof(leaves[i]!, i, n, p, root), `n=${n} i=${i}`);
      assert.ok(!verifyMerkleProof(new Uint8Array(64).fill(0xee), i, n, p, root));
      if (n > 1)
        assert.ok(!verifyMerkleProof(leaves[i]!, (i + 1) % n, n, p, root), `index n=${n} i=${i}`);
    }
  }
});
