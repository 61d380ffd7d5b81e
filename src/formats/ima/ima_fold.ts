/**
 * IMA's PCR-10 fold, incrementally and in several banks at once: the value of the `mr_ima` vMR
 * (DESIGN §4, `/work` spec "mr_ima wire format"). Per bank b, from all-zero bytes, each entry in
 * list order extends `bank ← H_b(bank ‖ H_b(template data))`; a violation (the logged template
 * hash all zeros) extends `0xFF × size_b` instead — what the kernel extends into PCR 10 in every
 * allocated bank, so an IMA tool given a bank value as PCR 10 agrees.
 *
 * Both the agent (mirroring the kernel's list) and the verifier (replaying a bundle's list) use
 * this one fold. Entries whose PCR field is not 10 and the legacy `ima` template (whose template
 * hash covers a padded name, not the stored data) are refused; so is an entry whose logged
 * template hash is not the hash of its data in the list's bank (the list would then not be what
 * the kernel logged, and IMA tools reading that column would disagree).
 *
 * @module
 */
import * as nodeCrypto from 'node:crypto';
import { ParseError, ReplayError } from '../../errors.js';
import { hashInfo, type HashAlg } from '../../crypto/hash_alg.js';
import { isAllZero, type ImaEntry } from './ima_template.js';

/** The PCR every entry folded into `mr_ima` must name. */
export const IMA_PCR = 10;

type OneShot = (alg: string, data: Uint8Array, enc: 'latin1') => string;
const oneShot: OneShot | undefined =
  typeof (nodeCrypto as { hash?: unknown }).hash === 'function'
    ? (nodeCrypto as unknown as { hash: OneShot }).hash
    : undefined;

/** One bank's running state: `[value ‖ digest]` in one buffer, so an extend hashes it in place. */
interface BankState {
  readonly alg: HashAlg;
  readonly nodeName: string;
  readonly size: number;
  /** value in [0, size), the entry's digest in [size, 2·size). */
  readonly buf: Buffer;
}

/** Writes H(data) (node name `name`) into `out` at `at`. */
function hashInto(name: string, data: Buffer, out: Buffer, at: number): void {
  if (oneShot === undefined) {
    nodeCrypto.createHash(name).update(data).digest().copy(out, at);
    return;
  }
  // one-shot hash as latin1 text: no Hash object (see crypto/hash.ts)
  const s = oneShot(name, data, 'latin1');
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
}

/** True when H(data) in `name` equals `b` at `at` (the bytes just written by hashInto). */
function sameAt(b: Uint8Array, buf: Buffer, at: number): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== buf[at + i]) return false;
  return true;
}

function refuse(e: ImaEntry, field: string, expected: string, actual: string): ParseError {
  return new ParseError({
    code: 'ERR_BAD_VALUE',
    format: 'ima-binary',
    offset: e.offset,
    field: `event[${e.index}].${field}`,
    expected,
    actual,
    record: e.index,
  });
}

function columnMismatch(e: ImaEntry, alg: HashAlg): ReplayError {
  return new ReplayError(
    'ERR_EVENT_DIGEST_MISMATCH',
    `IMA entry ${e.index} (offset ${e.offset}): the logged template hash is not the ${alg} of its template data`,
    {
      details: {
        record: e.index,
        offset: e.offset,
        field: `event[${e.index}].template_hash`,
        found: Buffer.from(e.templateHash).toString('hex'),
      },
    },
  );
}

/**
 * The incremental multi-bank fold. Push entries in list order; read {@link ImaBankFold.values}
 * at any count.
 *
 * ```ts
 * const fold = new ImaBankFold(['sha1', 'sha256', 'sha384']);
 * for (const e of parseImaBinary(list)) fold.push(e);
 * fold.values().get('sha256'); // IMA's PCR 10 in the sha256 bank
 * ```
 */
export class ImaBankFold {
  readonly #banks: BankState[];
  /** The bank of a template-hash column of this size, when it is one of ours. */
  readonly #columnBank = new Map<number, BankState>();
  #count = 0;

  /**
   * @param banks - the banks to fold, each once, in order (the order {@link values} keeps).
   * @param start - resume from these values at `start.count` entries (all banks given).
   */
  constructor(
    banks: readonly HashAlg[],
    start?: { readonly count: number; readonly values: ReadonlyMap<HashAlg, Uint8Array> },
  ) {
    if (banks.length === 0 || new Set(banks).size !== banks.length) {
      throw new ParseError({
        code: 'ERR_BAD_VALUE',
        format: 'ima-binary',
        offset: 0,
        field: 'banks',
        expected: 'one or more distinct banks',
        actual: banks.join(',') || 'none',
      });
    }
    this.#banks = banks.map((alg) => {
      const info = hashInfo(alg);
      const buf = Buffer.alloc(2 * info.size);
      const v = start?.values.get(alg);
      if (start !== undefined) {
        if (v?.length !== info.size) {
          throw new ParseError({
            code: 'ERR_BAD_VALUE',
            format: 'ima-binary',
            offset: 0,
            field: `start.${alg}`,
            expected: `${info.size} bytes`,
            actual: v === undefined ? 'nothing' : `${v.length} bytes`,
          });
        }
        buf.set(v, 0);
      }
      return { alg, nodeName: info.nodeName, size: info.size, buf };
    });
    // sha1 is the only 20-byte bank and the default list's column; sha256 the 32-byte one
    for (const b of this.#banks) if (b.alg !== 'sm3') this.#columnBank.set(b.size, b);
    this.#count = start?.count ?? 0;
  }

  /** Entries folded so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Folds one entry (the next in list order).
   * @throws ParseError `ERR_BAD_VALUE` (PCR ≠ 10, or the legacy `ima` template), the field
   *   named `event[<index>]`; ReplayError `ERR_EVENT_DIGEST_MISMATCH` (logged template hash ≠
   *   H(template data)) with `record` and `offset`
   */
  push(e: ImaEntry): void {
    if (e.pcr !== IMA_PCR) throw refuse(e, 'pcr', String(IMA_PCR), String(e.pcr));
    if (e.templateName === 'ima') {
      throw refuse(
        e,
        'template_name',
        'ima-ng, ima-sig, ima-buf or another template with length-prefixed fields',
        'the legacy template "ima"',
      );
    }
    const violation = isAllZero(e.templateHash);
    const data = Buffer.from(
      e.templateData.buffer,
      e.templateData.byteOffset,
      e.templateData.length,
    );
    // every digest first, the column checked, then the extends: a refused entry changes nothing
    for (const b of this.#banks) {
      if (violation) b.buf.fill(0xff, b.size);
      else hashInto(b.nodeName, data, b.buf, b.size);
    }
    if (!violation) {
      const col = this.#columnBank.get(e.templateHash.length);
      if (col === undefined) this.#checkColumnElsewhere(e, data);
      else if (!sameAt(e.templateHash, col.buf, col.size)) throw columnMismatch(e, col.alg);
    }
    for (const b of this.#banks) hashInto(b.nodeName, b.buf, b.buf, 0);
    this.#count++;
  }

  // A column in a bank this fold does not keep (a sha512 list folded into sha1+sha256, say).
  #checkColumnElsewhere(e: ImaEntry, data: Buffer): void {
    const alg = (['sha1', 'sha256', 'sha384', 'sha512'] as const).find(
      (a) => hashInfo(a).size === e.templateHash.length,
    );
    if (alg === undefined) return; // an unknown column size never reaches here (the reader refuses it)
    const d = nodeCrypto.createHash(hashInfo(alg).nodeName).update(data).digest();
    if (!d.equals(Buffer.from(e.templateHash))) {
      throw columnMismatch(e, alg);
    }
  }

  /** The banks' values now, in the order given (fresh copies). */
  values(): Map<HashAlg, Uint8Array> {
    return new Map(this.#banks.map((b) => [b.alg, new Uint8Array(b.buf.subarray(0, b.size))]));
  }
}
