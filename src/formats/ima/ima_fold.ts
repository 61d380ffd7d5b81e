/**
 * IMA's PCR 10 fold, incrementally, in any set of banks: per bank b, from all-zero bytes,
 * `bank_b ← H_b(bank_b ‖ H_b(template data))` for each entry in list order, and `0xFF × size_b`
 * in place of the inner hash for a violation (all-zero template hash column). It is the fold an
 * IMA tool replays against PCR 10, so a bank value given to evmctl as PCR 10 verifies the list.
 *
 * The one fold of the IMA vMR (`docs/mr-ima.md`): the agent's bridge folds the kernel's list as
 * it mirrors it, and the verifier refolds the list a bundle carries. Pure: no I/O.
 *
 * @module
 */
import * as nodeCrypto from 'node:crypto';
import { ParseError } from '../../errors.js';
import { digestSize, hashInfo, type HashAlg } from '../../crypto/hash_alg.js';
import { isImaViolation, type ImaEntry } from './ima_template.js';

/** The PCR IMA extends; entries naming another register are refused. */
export const IMA_PCR = 10;

/**
 * Checks that an entry may be folded into `mr_ima`: PCR 10, and a template whose template hash
 * covers its template data (every template but the legacy `ima`, which hashes a padded name).
 * @throws ParseError `ERR_BAD_VALUE` naming `event[<index>].pcr` or `.template_name`
 */
export function checkImaFoldable(e: ImaEntry): void {
  if (e.pcr !== IMA_PCR) {
    throw new ParseError({
      code: 'ERR_BAD_VALUE',
      format: 'ima-binary',
      offset: e.offset,
      record: e.index,
      field: `event[${e.index}].pcr`,
      expected: String(IMA_PCR),
      actual: String(e.pcr),
    });
  }
  if (e.templateName === 'ima') {
    throw new ParseError({
      code: 'ERR_BAD_VALUE',
      format: 'ima-binary',
      offset: e.offset,
      record: e.index,
      field: `event[${e.index}].template_name`,
      expected: 'a template hashing its template data (ima-ng, ima-sig, ima-buf, …)',
      actual: '"ima" (the legacy template)',
    });
  }
}

type OneShot = (alg: string, data: Uint8Array, enc: 'latin1') => string;
const oneShot: OneShot | undefined =
  typeof (nodeCrypto as { hash?: unknown }).hash === 'function'
    ? (nodeCrypto as unknown as { hash: OneShot }).hash
    : undefined;

/**
 * Writes H(data) into `out` at `at`, without allocating the digest: a million-entry list is six
 * million small hashes, and the one-shot latin1 form is the cheapest Node call (crypto/hash.ts).
 */
function hashInto(name: string, data: Buffer, out: Buffer, at: number): void {
  if (oneShot === undefined) {
    nodeCrypto.createHash(name).update(data).digest().copy(out, at);
    return;
  }
  const s = oneShot(name, data, 'latin1');
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
}

/** Running IMA PCR 10 values in a fixed list of banks. */
export class ImaBankFold {
  readonly #algs: readonly HashAlg[];
  readonly #names: readonly string[];
  // Per bank: [value ‖ inner digest], so one extend is one hash of this buffer, no allocation.
  readonly #bufs: Buffer[];
  #count = 0;

  /** @param banks - the banks to keep, in the order {@link ImaBankFold.values} returns them. */
  constructor(banks: readonly HashAlg[]) {
    this.#algs = [...banks];
    this.#names = banks.map((b) => hashInfo(b).nodeName);
    this.#bufs = banks.map((b) => Buffer.alloc(2 * digestSize(b)));
  }

  /** The banks, in order. */
  get banks(): readonly HashAlg[] {
    return this.#algs;
  }

  /** Entries folded so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Folds the next entry (checked by {@link checkImaFoldable}).
   * @returns whether the entry's logged template hash is H(template data) in the first folded
   *   bank of its size other than sm3 (true for a violation, and when no bank has its size): the
   *   check IMA tools make, at no extra hash
   * @throws ParseError for a PCR other than 10 or the legacy `ima` template; the fold is
   *   unchanged then
   */
  push(e: ImaEntry): boolean {
    checkImaFoldable(e);
    const violation = isImaViolation(e);
    const th = e.templateHash;
    const data = Buffer.from(
      e.templateData.buffer,
      e.templateData.byteOffset,
      e.templateData.length,
    );
    let column = violation;
    let columnChecked = violation;
    for (let i = 0; i < this.#bufs.length; i++) {
      const buf = this.#bufs[i]!;
      const size = buf.length >> 1;
      if (violation) buf.fill(0xff, size);
      else {
        hashInto(this.#names[i]!, data, buf, size);
        if (!columnChecked && size === th.length && this.#algs[i] !== 'sm3') {
          columnChecked = true;
          column = true;
          for (let k = 0; k < size; k++)
            if (buf[size + k] !== th[k]) {
              column = false;
              break;
            }
        }
      }
      hashInto(this.#names[i]!, buf, buf, 0);
    }
    this.#count++;
    return column || !columnChecked;
  }

  /** Copies of the current values, in the order of {@link ImaBankFold.banks}. */
  values(): Uint8Array[] {
    return this.#bufs.map((b) => new Uint8Array(b.subarray(0, b.length >> 1)));
  }

  /** The current value of one bank (a copy). */
  value(alg: HashAlg): Uint8Array {
    const i = this.#algs.indexOf(alg);
    if (i < 0) throw new RangeError(`bank ${alg} not folded`);
    const b = this.#bufs[i]!;
    return new Uint8Array(b.subarray(0, b.length >> 1));
  }

  /** An independent fold at the same point. */
  clone(): ImaBankFold {
    const c = new ImaBankFold(this.#algs);
    this.#bufs.forEach((b, i) => c.#bufs[i]!.set(b));
    c.#count = this.#count;
    return c;
  }
}
