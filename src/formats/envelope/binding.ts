/**
 * The report-data bindings: the bytes mrstack asks a TEE to sign in its report data, so that a
 * verifier can tell which request a report answers. Both are written and checked here, nowhere
 * else (`docs/evidence.md`, `docs/bundle.md`).
 *
 * - **report binding** (`mrstack report --nonce N [--user-data U]`): N itself (the verifier
 *   zero-pads it) without user data, else
 *   SHA-512("mrstack-report-v1" ‖ u16be(len N) ‖ N ‖ u16be(len U) ‖ U);
 * - **evidence binding** (an agent's bundle, DESIGN §5):
 *   SHA-512("mrstack-evidence-v1" ‖ u32be(len T) ‖ T ‖ u32be(len N) ‖ N ‖ u32be(len U) ‖ U)
 *   with T the tenant name in UTF-8 and U empty when there is none.
 *
 * Labels carry no length: each is a fixed prefix. A length that does not fit its field is
 * refused (`ERR_LENGTH_LIMIT`) — a wrapped length would let two different inputs share a
 * binding.
 *
 * @module
 */
import { hashParts } from '../../crypto/hash.js';
import { ParseError } from '../../errors.js';

/** The domain-separation label of the evidence binding. */
export const EVIDENCE_LABEL = 'mrstack-evidence-v1';

/** The domain-separation label of the report binding. */
export const REPORT_BINDING_LABEL = 'mrstack-report-v1';

function lengthField(n: number, bytes: 2 | 4, field: string): Uint8Array {
  const max = bytes === 2 ? 0xffff : 0xffffffff;
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new ParseError({
      code: 'ERR_LENGTH_LIMIT',
      format: 'bundle',
      offset: 0,
      field,
      expected: `<= ${max} bytes (a u${bytes * 8} length)`,
      actual: `${n} bytes`,
    });
  }
  const b = new Uint8Array(bytes);
  const v = new DataView(b.buffer);
  if (bytes === 2) v.setUint16(0, n, false);
  else v.setUint32(0, n, false);
  return b;
}

/**
 * The evidence binding of one agent request.
 * @throws ParseError `ERR_LENGTH_LIMIT` for a part longer than a u32 length can say
 */
export function evidenceBinding(
  tenant: string,
  nonce: Uint8Array,
  userData: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const t = new TextEncoder().encode(tenant);
  return hashParts('sha512', [
    new TextEncoder().encode(EVIDENCE_LABEL),
    lengthField(t.length, 4, 'tenant'),
    t,
    lengthField(nonce.length, 4, 'nonce'),
    nonce,
    lengthField(userData.length, 4, 'user_data'),
    userData,
  ]);
}

/**
 * The report data `mrstack report` asks for: the nonce itself when there is no user data,
 * else the SHA-512 report binding.
 * @throws ParseError `ERR_LENGTH_LIMIT` for a nonce or user data over 65,535 bytes
 */
export function reportDataBinding(nonce: Uint8Array, userData?: Uint8Array): Uint8Array {
  if (userData === undefined) return nonce;
  return hashParts('sha512', [
    new TextEncoder().encode(REPORT_BINDING_LABEL),
    lengthField(nonce.length, 2, 'nonce'),
    nonce,
    lengthField(userData.length, 2, 'user_data'),
    userData,
  ]);
}
