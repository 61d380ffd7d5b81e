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
import { ParseError } from '../../errors.js';
import { hash } from '../../crypto/hash.js';
import { digestSize, type HashAlg } from '../../crypto/hash_alg.js';
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

/** Running IMA PCR 10 values in a fixed list of banks. */
export class ImaBankFold {
  readonly #algs: readonly HashAlg[];
  // Per bank: [value ‖ inner digest], so one extend is one hash of this buffer, no allocation.
  readonly #bufs: Uint8Array[];
  readonly #ones: Uint8Array[];
  #count = 0;

  /** @param banks - the banks to keep, in the order {@link ImaBankFold.values} returns them. */
  constructor(banks: readonly HashAlg[]) {
    this.#algs = [...banks];
    this.#bufs = banks.map((b) => new Uint8Array(2 * digestSize(b)));
    this.#ones = banks.map((b) => new Uint8Array(digestSize(b)).fill(0xff));
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
   * @throws ParseError for a PCR other than 10 or the legacy `ima` template; the fold is
   *   unchanged then
   */
  push(e: ImaEntry): void {
    checkImaFoldable(e);
    const violation = isImaViolation(e);
    for (let i = 0; i < this.#algs.length; i++) {
      const alg = this.#algs[i]!;
      const buf = this.#bufs[i]!;
      const size = buf.length >> 1;
      buf.set(violation ? this.#ones[i]! : hash(alg, e.templateData), size);
      buf.set(hash(alg, buf), 0);
    }
    this.#count++;
  }

  /** Copies of the current values, in the order of {@link ImaBankFold.banks}. */
  values(): Uint8Array[] {
    return this.#bufs.map((b) => b.slice(0, b.length >> 1));
  }

  /** The current value of one bank (a copy). */
  value(alg: HashAlg): Uint8Array {
    const i = this.#algs.indexOf(alg);
    if (i < 0) throw new RangeError(`bank ${alg} not folded`);
    const b = this.#bufs[i]!;
    return b.slice(0, b.length >> 1);
  }

  /** An independent fold at the same point. */
  clone(): ImaBankFold {
    const c = new ImaBankFold(this.#algs);
    this.#bufs.forEach((b, i) => c.#bufs[i]!.set(b));
    c.#count = this.#count;
    return c;
  }
}
