/**
 * The Merkle tree that lets concurrent evidence requests share one report (`docs/bundle.md`):
 * RFC 9162 §2.1 with SHA-512 — leaf hash `SHA-512(0x00 ‖ binding)`, node hash
 * `SHA-512(0x01 ‖ left ‖ right)`, the tree over n leaves split at the largest power of two
 * below n. A report for one request carries the binding itself; for n ≥ 2 it carries the root.
 *
 * @module
 */
import { hashParts } from '../../crypto/hash.js';
import { bytesEqual } from '../../bytes/hex.js';

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

/** SHA-512(0x00 ‖ data). */
export function merkleLeaf(data: Uint8Array): Uint8Array {
  return hashParts('sha512', [LEAF, data]);
}

/** SHA-512(0x01 ‖ left ‖ right). */
export function merkleNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  return hashParts('sha512', [NODE, left, right]);
}

function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function mth(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return merkleNode(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** The root over bindings (leaf hashes applied); for one binding, the binding itself. */
export function merkleRoot(bindings: readonly Uint8Array[]): Uint8Array {
  if (bindings.length === 0) throw new RangeError('merkleRoot: no leaves');
  if (bindings.length === 1) return bindings[0]!;
  return mth(bindings.map(merkleLeaf));
}

function path(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  if (m < k) return [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))];
  return [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

/** The inclusion proof (audit path, leaf to root) of binding `index` among `bindings`. */
export function merkleProof(bindings: readonly Uint8Array[], index: number): Uint8Array[] {
  if (index < 0 || index >= bindings.length)
    throw new RangeError('merkleProof: index out of range');
  if (bindings.length === 1) return [];
  return path(index, bindings.map(merkleLeaf));
}

/** The root a proof leads to (RFC 9162 §2.1.3.2), or undefined when the proof is malformed. */
export function merkleRootFromProof(
  binding: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    return undefined;
  if (size === 1) return proof.length === 0 ? binding : undefined;
  let fn = index;
  let sn = size - 1;
  let r = merkleLeaf(binding);
  for (const p of proof) {
    if (sn === 0) return undefined;
    if ((fn & 1) === 1 || fn === sn) {
      r = merkleNode(p, r);
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = merkleNode(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? r : undefined;
}

/** True when `proof` shows `binding` at `index` in a tree of `size` with root `root`. */
export function verifyMerkleProof(
  binding: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const r = merkleRootFromProof(binding, index, size, proof);
  return r !== undefined && bytesEqual(r, root);
}
