/**
 * The Spec ID event that opens a crypto-agile log (TCG PC Client PFP 1.05 §10.4.5.1,
 * `TCG_EfiSpecIDEvent`). It is the event data of the first record, which is written in the
 * SHA-1 format (`TCG_PCClientPCREvent`, PCR 0, EV_NO_ACTION, zero SHA-1 digest).
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 16 | signature: `Spec ID Event03\0` (crypto-agile); `Spec ID Event02\0` / `…00\0` older |
 * | 16 | 4 | platformClass (0 client, 1 server) |
 * | 20 | 1 | specVersionMinor |
 * | 21 | 1 | specVersionMajor (2 for crypto-agile) |
 * | 22 | 1 | specErrata |
 * | 23 | 1 | uintnSize (1 = 32-bit UINTN, 2 = 64-bit) |
 * | 24 | 4 | numberOfAlgorithms (≥ 1) |
 * | 28 | 4·n | digestSizes[n]: algorithmId u16, digestSize u16 |
 * | … | 1 | vendorInfoSize |
 * | … | v | vendorInfo |
 *
 * @module
 */
import type { ByteReader } from '../../bytes/reader.js';
import type { ByteWriter } from '../../bytes/writer.js';
import { digestSize, hashAlgFromId, type HashAlg } from '../../crypto/hash_alg.js';

/** The signature of a crypto-agile log's Spec ID event (16 bytes, NUL-terminated). */
export const SPEC_ID_EVENT03 = 'Spec ID Event03\0';

/** One entry of the Spec ID algorithm table. */
export interface SpecIdAlgorithm {
  readonly algId: number;
  readonly digestSize: number;
  /** The algorithm when mrstack knows it (others are carried through, not replayed). */
  readonly alg: HashAlg | undefined;
}

/** `TCG_EfiSpecIDEvent`. */
export interface SpecIdEvent {
  readonly signature: string;
  readonly platformClass: number;
  readonly specVersionMinor: number;
  readonly specVersionMajor: number;
  readonly specErrata: number;
  readonly uintnSize: number;
  readonly algorithms: readonly SpecIdAlgorithm[];
  readonly vendorInfo: Uint8Array;
}

const STARTUP_LOCALITY = 'StartupLocality\0';

/**
 * True for a PC Client `StartupLocality\0` EV_NO_ACTION body (signature and one locality byte;
 * PC Client PFP §10.4.5.3): PCR0 then starts at 00…0L instead of zero.
 */
export function isStartupLocality(data: Uint8Array): boolean {
  if (data.length !== 17) return false;
  for (let i = 0; i < 16; i++) if (data[i] !== STARTUP_LOCALITY.charCodeAt(i)) return false;
  return true;
}

/** True when event data starts with the crypto-agile signature. */
export function isSpecIdEvent03(data: Uint8Array): boolean {
  if (data.length < 16) return false;
  for (let i = 0; i < 16; i++) if (data[i] !== SPEC_ID_EVENT03.charCodeAt(i)) return false;
  return true;
}

/** The fixed part's size for `n` algorithms, up to and including vendorInfoSize. */
export function specIdFixedSize(n: number): number {
  return 28 + 4 * n + 1;
}

/**
 * Parses a Spec ID event from a reader positioned at its first byte. Reads the vendor info
 * only as far as `vendorAvailable` allows; returns how many vendor bytes were missing from the
 * reader so the caller can apply the "size leaves out vendor info" rule.
 * @throws ParseError `ERR_BAD_MAGIC`, `ERR_BAD_VALUE`, `ERR_LENGTH_LIMIT`, `ERR_TRUNCATED`
 */
export function parseSpecIdEvent(
  r: ByteReader,
  maxAlgorithms: number,
): {
  readonly event: SpecIdEvent;
  readonly vendorMissing: number;
  readonly vendorInfoSize: number;
} {
  const sigAt = r.offset;
  const sig = r.bytes(16, 'specId.signature');
  if (!isSpecIdEvent03(sig)) {
    throw r.errorAt(sigAt, 'ERR_BAD_MAGIC', 'specId.signature', {
      expected: JSON.stringify(SPEC_ID_EVENT03),
    });
  }
  const platformClass = r.u32le('specId.platformClass');
  const specVersionMinor = r.u8('specId.specVersionMinor');
  const specVersionMajor = r.u8('specId.specVersionMajor');
  const specErrata = r.u8('specId.specErrata');
  const uintnSize = r.u8('specId.uintnSize');
  const nAt = r.offset;
  const n = r.u32le('specId.numberOfAlgorithms');
  if (n === 0) {
    throw r.errorAt(nAt, 'ERR_BAD_VALUE', 'specId.numberOfAlgorithms', {
      expected: '>= 1',
      actual: '0',
    });
  }
  r.checkLength(n, 'specId.numberOfAlgorithms', maxAlgorithms, 4);
  const algorithms: SpecIdAlgorithm[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    const at = r.offset;
    const algId = r.u16le(`specId.digestSizes[${i}].algorithmId`);
    const size = r.u16le(`specId.digestSizes[${i}].digestSize`);
    const alg = hashAlgFromId(algId);
    if (alg !== undefined && digestSize(alg) !== size) {
      throw r.errorAt(at + 2, 'ERR_BAD_VALUE', `specId.digestSizes[${i}].digestSize`, {
        expected: `${digestSize(alg)} for ${alg}`,
        actual: String(size),
      });
    }
    if (size === 0 || size > 64) {
      throw r.errorAt(at + 2, 'ERR_BAD_VALUE', `specId.digestSizes[${i}].digestSize`, {
        expected: '1..64',
        actual: String(size),
      });
    }
    if (seen.has(algId)) {
      throw r.errorAt(at, 'ERR_BAD_VALUE', `specId.digestSizes[${i}].algorithmId`, {
        expected: 'each algorithm once',
        actual: `0x${algId.toString(16)} twice`,
      });
    }
    seen.add(algId);
    algorithms.push({ algId, digestSize: size, alg });
  }
  const vendorInfoSize = r.u8('specId.vendorInfoSize');
  const have = Math.min(vendorInfoSize, r.remaining);
  const vendorInfo = r.copy(have, 'specId.vendorInfo');
  return {
    event: {
      signature: SPEC_ID_EVENT03,
      platformClass,
      specVersionMinor,
      specVersionMajor,
      specErrata,
      uintnSize,
      algorithms,
      vendorInfo,
    },
    vendorMissing: vendorInfoSize - have,
    vendorInfoSize,
  };
}

/** Writes a Spec ID event (the event data of the header record). */
export function encodeSpecIdEvent(w: ByteWriter, e: SpecIdEvent): void {
  for (let i = 0; i < 16; i++) w.u8(SPEC_ID_EVENT03.charCodeAt(i));
  w.u32le(e.platformClass)
    .u8(e.specVersionMinor)
    .u8(e.specVersionMajor)
    .u8(e.specErrata)
    .u8(e.uintnSize)
    .u32le(e.algorithms.length);
  for (const a of e.algorithms) w.u16le(a.algId).u16le(a.digestSize);
  w.u8(e.vendorInfo.length).bytes(e.vendorInfo);
}
