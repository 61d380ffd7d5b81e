/**
 * The evidence binding (DESIGN §5, `docs/bundle.md`): the 64 bytes an agent puts in a report's
 * report data for one request,
 *
 *     SHA-512("mrstack-evidence-v1" ‖ u32be(len T) ‖ T ‖ u32be(len N) ‖ N ‖ u32be(len U) ‖ U)
 *
 * with T the tenant name in UTF-8, N the nonce, U the user data (empty when none) and each
 * length a 4-byte big-endian byte count. The label has no length: it is a fixed prefix.
 *
 * @module
 */
import { hashParts } from '../../crypto/hash.js';

/** The domain-separation label. */
export const EVIDENCE_LABEL = 'mrstack-evidence-v1';

function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

/** The binding of one evidence request. */
export function evidenceBinding(
  tenant: string,
  nonce: Uint8Array,
  userData: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const t = new TextEncoder().encode(tenant);
  return hashParts('sha512', [
    new TextEncoder().encode(EVIDENCE_LABEL),
    u32be(t.length),
    t,
    u32be(nonce.length),
    nonce,
    u32be(userData.length),
    userData,
  ]);
}
