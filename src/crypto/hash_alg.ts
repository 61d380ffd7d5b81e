/**
 * The hash-algorithm registry: TPM_ALG_ID ↔ kernel name ↔ digest size ↔ node:crypto name.
 *
 * Names print as the kernel spells them (`hash_algo_name[]`: `sha1`, `sha256`, `sha384`,
 * `sha512`, `sm3`); input also accepts `sm3-256` and `sm3_256` (TCG spelling) and is
 * case-insensitive. Algorithm IDs are from the TCG Algorithm Registry (TPM_ALG_ID).
 *
 * @module
 */
import { ParseError } from '../errors.js';

/** A hash algorithm mrstack knows, by its kernel name. */
export type HashAlg = 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'sm3';

/** Facts about one algorithm. */
export interface HashAlgInfo {
  readonly name: HashAlg;
  /** TPM_ALG_ID (TCG Algorithm Registry). */
  readonly algId: number;
  /** Digest size in bytes. */
  readonly size: number;
  /** The name node:crypto knows it by. */
  readonly nodeName: string;
}

/** Every algorithm, in TPM_ALG_ID order. */
export const HASH_ALGS: readonly HashAlgInfo[] = Object.freeze([
  { name: 'sha1', algId: 0x0004, size: 20, nodeName: 'sha1' },
  { name: 'sha256', algId: 0x000b, size: 32, nodeName: 'sha256' },
  { name: 'sha384', algId: 0x000c, size: 48, nodeName: 'sha384' },
  { name: 'sha512', algId: 0x000d, size: 64, nodeName: 'sha512' },
  { name: 'sm3', algId: 0x0012, size: 32, nodeName: 'sm3' },
] as const satisfies readonly HashAlgInfo[]);

const BY_NAME = new Map<string, HashAlgInfo>();
for (const a of HASH_ALGS) BY_NAME.set(a.name, a);
BY_NAME.set('sm3-256', BY_NAME.get('sm3')!);
BY_NAME.set('sm3_256', BY_NAME.get('sm3')!);
const BY_ID = new Map<number, HashAlgInfo>(HASH_ALGS.map((a) => [a.algId, a]));

/** Info for a known algorithm. */
export function hashInfo(alg: HashAlg): HashAlgInfo {
  return BY_NAME.get(alg)!;
}

/** Digest size in bytes of an algorithm. */
export function digestSize(alg: HashAlg): number {
  return hashInfo(alg).size;
}

/** The algorithm for a name as a user or a file may spell it, or undefined. */
export function lookupHashAlg(name: string): HashAlg | undefined {
  return BY_NAME.get(name.toLowerCase())?.name;
}

/**
 * Parses an algorithm name (`sha384`, `SHA256`, `sm3_256` …).
 * @throws ParseError `ERR_UNKNOWN_ALGORITHM`
 */
export function parseHashAlg(name: string, field = 'algorithm'): HashAlg {
  const alg = lookupHashAlg(name);
  if (alg === undefined) {
    throw new ParseError({
      code: 'ERR_UNKNOWN_ALGORITHM',
      format: 'hex',
      offset: 0,
      field,
      expected: 'one of sha1, sha256, sha384, sha512, sm3',
      actual: JSON.stringify(name),
    });
  }
  return alg;
}

/** The algorithm for a TPM_ALG_ID, or undefined when it is not a known hash. */
export function hashAlgFromId(algId: number): HashAlg | undefined {
  return BY_ID.get(algId)?.name;
}

/** The TPM_ALG_ID of an algorithm. */
export function hashAlgId(alg: HashAlg): number {
  return hashInfo(alg).algId;
}
