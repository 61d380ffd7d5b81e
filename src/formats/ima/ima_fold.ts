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
import { isAllZero, imaTemplateHashInput, type ImaEntry } from './ima_template.js';
import type { ImaRecordView } from './ima_binary.js';

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
 * H(data) as a latin1 string: the one-shot form is the cheapest Node call for small inputs (no
 * Buffer per digest; about 0.6 µs for 85 bytes against 2 µs for the Buffer form, measured here).
 */
function digestLatin1(name: string, data: Uint8Array): string {
  if (oneShot !== undefined) return oneShot(name, data, 'latin1');
  return nodeCrypto.createHash(name).update(data).digest('binary');
}

/**
 * H(template data) of one entry in bank `alg` into `out[at, at + size)`: what the fold extends
 * for an entry that is no violation, worked out by a thread other than the one folding
 * ({@link ImaFold.pushViewInner}).
 */
export function imaDataDigestInto(
  alg: HashAlg,
  data: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  const d = digestLatin1(hashInfo(alg).nodeName, data);
  for (let k = 0; k < d.length; k++) out[at + k] = d.charCodeAt(k);
}

/**
 * Buffer's latin1 writer, which `buf.write(s, at, n, 'latin1')` reaches after normalising its
 * arguments: called directly, twice per bank and entry (not in @types/node).
 */
type Latin1Writable = Buffer & { latin1Write(s: string, at: number, n: number): number };

/** Options of an {@link ImaFold}. */
export interface ImaFoldOptions {
  /** The banks to fold, in the order {@link ImaFold.values} returns them. */
  readonly banks: readonly HashAlg[];
  /**
   * The bank of the list's template-hash column. Default: told by the column's size (sha1,
   * sha256, sha384, sha512; never sm3).
   */
  readonly column?: HashAlg;
  /**
   * What the column's own bank extends: `computed` — H(template data), the `mr_ima` definition
   * (default); `logged` — the logged template hash, as log replay does (it extends what the log
   * says was extended, and reports a column that is not the hash of its data).
   */
  readonly columnExtends?: 'computed' | 'logged';
  /**
   * The banks other than the column's: `per-bank` hashes the template data in the bank (a
   * violation extends all ones of its size; default); `padded` extends the SHA-1 column
   * zero-padded to the bank's size (a violation: 20 bytes of 0xff, zero-padded), which only a
   * SHA-1 list can give.
   */
  readonly mode?: 'per-bank' | 'padded';
  /**
   * Checking the column against H(template data): `if-folded` compares it with a folded bank of
   * its size when there is one, at no extra hash (default); `always` hashes in the column's bank
   * when no folded bank did; `off`.
   */
  readonly columnCheck?: 'if-folded' | 'always' | 'off';
  /**
   * `mr-ima` (default): PCR 10 and templates hashing their data only ({@link checkImaFoldable});
   * `log`: any PCR, one register each, and the legacy `ima` template (its template hash covers
   * the digest and the zero-padded name).
   */
  readonly rule?: 'mr-ima' | 'log';
  /** A register's value in a bank before the first entry (default all zeros). */
  readonly initial?: (pcr: number, alg: HashAlg) => Uint8Array;
}

/** One register of a fold: per bank, `[value ‖ inner digest]`, extended in place. */
interface FoldRegister {
  readonly bufs: Buffer[];
  entries: number;
  lastIndex: number;
}

/** One folded register, as {@link ImaFold.registers} reports it. */
export interface ImaFoldedRegister {
  /** The PCR the entries name. */
  readonly pcr: number;
  /** Values per bank (copies). */
  readonly values: ReadonlyMap<HashAlg, Uint8Array>;
  /** Entries folded into it. */
  readonly entries: number;
  /** Index of the last entry folded into it. */
  readonly lastIndex: number;
}

const BY_SIZE: Readonly<Record<number, HashAlg>> = {
  20: 'sha1',
  32: 'sha256',
  48: 'sha384',
  64: 'sha512',
};

/**
 * The IMA fold, the one replay of IMA entries: per register and bank b, `value_b ←
 * H_b(value_b ‖ d_b)` for each entry in list order, where d_b is H_b(template data) — or the
 * logged column, or all ones for a violation (see {@link ImaFoldOptions}). Entries come as
 * parsed entries ({@link ImaFold.push}) or as records in place ({@link ImaFold.pushView}, no
 * allocation per bank). Pure: no I/O.
 */
export class ImaFold {
  readonly #algs: readonly HashAlg[];
  readonly #names: readonly string[];
  readonly #sizes: readonly number[];
  readonly #column: HashAlg | undefined;
  readonly #logged: boolean;
  readonly #padded: boolean;
  readonly #check: 'if-folded' | 'always' | 'off';
  readonly #strict: boolean;
  readonly #initial: ((pcr: number, alg: HashAlg) => Uint8Array) | undefined;
  readonly #regs = new Map<number, FoldRegister>();
  #lastPcr = -1;
  #last: FoldRegister | undefined;
  #count = 0;

  constructor(opts: ImaFoldOptions) {
    this.#algs = [...opts.banks];
    this.#names = opts.banks.map((b) => hashInfo(b).nodeName);
    this.#sizes = opts.banks.map((b) => digestSize(b));
    this.#column = opts.column;
    this.#logged = opts.columnExtends === 'logged';
    this.#padded = opts.mode === 'padded';
    this.#check = opts.columnCheck ?? 'if-folded';
    this.#strict = (opts.rule ?? 'mr-ima') === 'mr-ima';
    this.#initial = opts.initial;
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
   * Folds the next entry.
   * @returns whether the logged template hash is H(template data) (true for a violation and
   *   when unchecked)
   * @throws ParseError under the `mr-ima` rule for a PCR other than 10 or the legacy `ima`
   *   template; `ERR_BAD_VALUE` for the padded rule on a list that is not SHA-1; the fold is
   *   unchanged then
   */
  push(e: ImaEntry): boolean {
    if (this.#strict) checkImaFoldable(e);
    const th = e.templateHash;
    const input = imaTemplateHashInput(e);
    return this.#fold(e.pcr, e.index, e.offset, th, 0, th.length, input, isAllZero(th));
  }

  /**
   * Folds the next record, read in place (`ImaBinaryScanner`). Same rules and results as
   * {@link ImaFold.push}.
   */
  pushView(v: ImaRecordView): boolean {
    const input = this.#viewInput(v);
    return this.#fold(v.pcr, v.index, v.offset, v.bytes, v.hashAt, v.hashSize, input, v.violation);
  }

  /**
   * {@link ImaFold.pushView} with H(template data) in the fold's first bank already worked out
   * (`inner[at, at + size)`, by another thread: the hashes of the entries' data are independent
   * of each other, only the extends are a chain). Same rules and results, given that digest.
   */
  pushViewInner(v: ImaRecordView, inner: Uint8Array, at: number): boolean {
    const input = this.#viewInput(v);
    return this.#fold(
      v.pcr,
      v.index,
      v.offset,
      v.bytes,
      v.hashAt,
      v.hashSize,
      input,
      v.violation,
      inner,
      at,
    );
  }

  /**
   * What a record read in place extends with (its template data, or the legacy `ima`
   * template's digest and padded name), after the strict checks {@link ImaFold.push} makes.
   */
  #viewInput(v: ImaRecordView): Uint8Array {
    if (this.#strict && (v.pcr !== IMA_PCR || v.templateName === 'ima')) {
      checkImaFoldable(v.entry());
    }
    const b = v.bytes;
    return v.templateName === 'ima'
      ? imaTemplateHashInput(v.entry())
      : new Uint8Array(b.buffer, b.byteOffset + v.dataAt, v.dataLen);
  }

  #register(pcr: number): FoldRegister {
    if (pcr === this.#lastPcr) return this.#last!;
    let r = this.#regs.get(pcr);
    if (r === undefined) {
      r = {
        bufs: this.#algs.map((alg, i) => {
          const buf = Buffer.alloc(2 * this.#sizes[i]!);
          if (this.#initial !== undefined) buf.set(this.#initial(pcr, alg), 0);
          return buf;
        }),
        entries: 0,
        lastIndex: -1,
      };
      this.#regs.set(pcr, r);
    }
    this.#lastPcr = pcr;
    this.#last = r;
    return r;
  }

  #fold(
    pcr: number,
    index: number,
    offset: number,
    hb: Uint8Array,
    ha: number,
    hs: number,
    input: Uint8Array,
    violation: boolean,
    given?: Uint8Array,
    givenAt = 0,
  ): boolean {
    const column = this.#column ?? BY_SIZE[hs];
    if (this.#padded && !violation && hs !== 20 && this.#algs.some((a) => a !== column)) {
      throw new ParseError({
        code: 'ERR_BAD_VALUE',
        format: 'ima-binary',
        offset,
        field: 'imaBankMode',
        expected: 'a SHA-1 list for the padded rule',
        actual: `a ${column ?? `${hs}-byte`} list`,
      });
    }
    const reg = this.#register(pcr);
    const check = this.#check;
    let checked = violation || check === 'off';
    let ok = true;
    const bufs = reg.bufs;
    for (let i = 0; i < bufs.length; i++) {
      const buf = bufs[i]!;
      const size = this.#sizes[i]!;
      const isColumn = this.#algs[i] === column;
      if (violation) {
        if (this.#padded && !isColumn) {
          buf.fill(0xff, size, size + 20);
          buf.fill(0, size + 20);
        } else buf.fill(0xff, size);
      } else if (isColumn && this.#logged) {
        for (let k = 0; k < size; k++) buf[size + k] = hb[ha + k]!;
        if (!checked) {
          checked = true;
          ok = sameLatin1(digestLatin1(this.#names[i]!, input), hb, ha, hs);
        }
      } else if (this.#padded && !isColumn) {
        for (let k = 0; k < 20; k++) buf[size + k] = hb[ha + k]!;
        buf.fill(0, size + 20);
      } else if (i === 0 && given !== undefined) {
        // H(template data) worked out elsewhere (pushViewInner)
        for (let k = 0; k < size; k++) buf[size + k] = given[givenAt + k]!;
        if (
          !checked &&
          size === hs &&
          this.#algs[i] !== 'sm3' &&
          (isColumn || this.#column === undefined)
        ) {
          checked = true;
          ok = true;
          for (let k = 0; k < size; k++) if (given[givenAt + k] !== hb[ha + k]) ok = false;
        }
      } else {
        const d = digestLatin1(this.#names[i]!, input);
        (buf as Latin1Writable).latin1Write(d, size, size);
        if (
          !checked &&
          size === hs &&
          this.#algs[i] !== 'sm3' &&
          (isColumn || this.#column === undefined)
        ) {
          checked = true;
          ok = sameLatin1(d, hb, ha, hs);
        }
      }
      (buf as Latin1Writable).latin1Write(digestLatin1(this.#names[i]!, buf), 0, size);
    }
    if (!checked && check === 'always' && column !== undefined) {
      ok = sameLatin1(digestLatin1(hashInfo(column).nodeName, input), hb, ha, hs);
    }
    reg.entries++;
    reg.lastIndex = index;
    this.#count++;
    return ok;
  }

  /** Copies of the current values of PCR 10 (the `mr_ima` register), in bank order. */
  values(): Uint8Array[] {
    const r = this.#regs.get(IMA_PCR);
    return this.#algs.map((alg, i) =>
      r === undefined
        ? (this.#initial?.(IMA_PCR, alg) ?? new Uint8Array(this.#sizes[i]!))
        : new Uint8Array(r.bufs[i]!.subarray(0, this.#sizes[i])),
    );
  }

  /**
   * Whether PCR 10 holds `want` in every bank it names (banks the fold does not keep never
   * match), compared in place: the per-entry test of prefix matching against a quote.
   */
  pcr10Is(want: ReadonlyMap<HashAlg, Uint8Array>): boolean {
    const r = this.#regs.get(IMA_PCR);
    for (const [alg, v] of want) {
      const i = this.#algs.indexOf(alg);
      if (i < 0 || v.length !== this.#sizes[i]) return false;
      const cur =
        r === undefined ? (this.#initial?.(IMA_PCR, alg) ?? new Uint8Array(v.length)) : r.bufs[i]!;
      for (let k = 0; k < v.length; k++) if (cur[k] !== v[k]) return false;
    }
    return want.size > 0;
  }

  /** The current value of PCR 10 in one bank (a copy). */
  value(alg: HashAlg): Uint8Array {
    const i = this.#algs.indexOf(alg);
    if (i < 0) throw new RangeError(`bank ${alg} not folded`);
    return this.values()[i]!;
  }

  /** Every register entries were folded into, in PCR order. */
  registers(): ImaFoldedRegister[] {
    return [...this.#regs.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([pcr, r]) => ({
        pcr,
        values: new Map(
          this.#algs.map((alg, i) => [alg, new Uint8Array(r.bufs[i]!.subarray(0, this.#sizes[i]))]),
        ),
        entries: r.entries,
        lastIndex: r.lastIndex,
      }));
  }

  /** An independent fold at the same point. */
  clone(): ImaFold {
    const c = new ImaFold({
      banks: this.#algs,
      ...(this.#column === undefined ? {} : { column: this.#column }),
      columnExtends: this.#logged ? 'logged' : 'computed',
      mode: this.#padded ? 'padded' : 'per-bank',
      columnCheck: this.#check,
      rule: this.#strict ? 'mr-ima' : 'log',
      ...(this.#initial === undefined ? {} : { initial: this.#initial }),
    });
    c.copyStateFrom(this);
    return c;
  }

  /** Takes the registers and count of a fold with the same options. */
  protected copyStateFrom(o: ImaFold): void {
    this.#regs.clear();
    for (const [pcr, r] of o.#regs) {
      this.#regs.set(pcr, {
        bufs: r.bufs.map((b) => Buffer.from(b)),
        entries: r.entries,
        lastIndex: r.lastIndex,
      });
    }
    this.#lastPcr = -1;
    this.#last = undefined;
    this.#count = o.#count;
  }
}

/**
 * What IMA extends for a violation (an entry whose logged template hash is all zeros): all ones
 * of the bank's size. The one home of that rule outside the fold's scratch buffers; CEL's
 * `ima_template` records use it too.
 */
export function imaViolationDigest(size: number): Uint8Array {
  return new Uint8Array(size).fill(0xff);
}

/**
 * What {@link ImaFold} extends into bank `alg` for one entry of a list whose template-hash
 * column is in bank `column` (`columnExtends: 'logged'`, the rule of log replay): the logged
 * template hash in the column's bank; in another bank H_alg(template data) (`per-bank`) or the
 * SHA-1 column zero-padded (`padded`); all ones of the bank's size for a violation (`padded`:
 * 20 bytes of 0xff, zero-padded). Parsed events carry these digests; replaying them extends
 * what this fold extends.
 * @throws ParseError `ERR_BAD_VALUE` for the padded rule on a list that is not SHA-1
 */
export function imaExtendedDigest(
  e: ImaEntry,
  alg: HashAlg,
  column: HashAlg,
  mode: 'per-bank' | 'padded' = 'per-bank',
): Uint8Array {
  const size = digestSize(alg);
  const violation = isAllZero(e.templateHash);
  if (alg === column) return violation ? imaViolationDigest(size) : e.templateHash;
  if (mode === 'per-bank') {
    if (violation) return imaViolationDigest(size);
    return new Uint8Array(
      nodeCrypto.createHash(hashInfo(alg).nodeName).update(imaTemplateHashInput(e)).digest(),
    );
  }
  if (column !== 'sha1') {
    throw new ParseError({
      code: 'ERR_BAD_VALUE',
      format: 'ima-binary',
      offset: e.offset,
      field: 'imaBankMode',
      expected: 'a SHA-1 list for the padded rule',
      actual: `a ${column} list`,
    });
  }
  const out = new Uint8Array(size);
  out.set(violation ? imaViolationDigest(20) : e.templateHash.subarray(0, size), 0);
  return out;
}

/** Whether a latin1 digest string equals `size` bytes of `b` at `at`. */
function sameLatin1(s: string, b: Uint8Array, at: number, size: number): boolean {
  if (s.length !== size) return false;
  for (let i = 0; i < size; i++) if (s.charCodeAt(i) !== b[at + i]) return false;
  return true;
}

/**
 * IMA's PCR 10 fold in a fixed list of banks, as the `mr_ima` vMR defines it: an {@link ImaFold}
 * with the `mr-ima` rule (PCR 10 only, H(template data) in every bank, the column checked
 * against a folded bank of its size).
 */
export class ImaBankFold extends ImaFold {
  /**
   * @param banks - the banks to keep, in the order {@link ImaFold.values} returns them.
   * @param start - PCR 10's values before the first entry, in bank order (default all zeros):
   *   a trusted running value to continue from (incremental verification)
   */
  constructor(banks: readonly HashAlg[], start?: readonly Uint8Array[]) {
    super(
      start === undefined
        ? { banks }
        : { banks, initial: (_pcr, alg) => new Uint8Array(start[banks.indexOf(alg)]!) },
    );
  }

  /** An independent fold at the same point. */
  override clone(): ImaBankFold {
    const c = new ImaBankFold(this.banks);
    c.copyStateFrom(this);
    return c;
  }
}
