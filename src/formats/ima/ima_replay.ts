/**
 * Replaying an IMA measurement list into PCR values, per bank, as the kernel extended them.
 *
 * Rules (kernel `ima_pcr_extend`, `ima_add_violation`; evmctl `ima_measurement`):
 * - every entry extends the PCR named in its record (PCR10 by default configuration);
 * - a violation (logged template hash all zeros) extends every bank with all ones (0xFF…);
 * - the list's own bank is extended with the logged template hash, which is first recomputed
 *   from the template data and checked;
 * - other banks: kernels since 5.x extend H_bank(template data) (`per-bank`); older kernels
 *   extended the SHA-1 template hash zero-padded to the bank's size (`padded`). Both are
 *   computed when asked, as evmctl does, since only the quote tells which one the kernel used.
 *
 * Pure computation; the entries come from `ima_binary` or `ima_ascii`.
 *
 * @module
 */
import * as nodeCrypto from 'node:crypto';
import { hashInfo, type HashAlg } from '../../crypto/hash_alg.js';
import { toHex } from '../../bytes/hex.js';
import { imaTemplateHashInput, isAllZero, type ImaEntry } from './ima_template.js';

/** How banks other than the list's own were extended. */
export type ImaBankMode = 'per-bank' | 'padded';

/** Options for {@link ImaReplay}. */
export interface ImaReplayOptions {
  /** Bank of the list's template-hash column (`sha1` for the default list). */
  readonly logBank: HashAlg;
  /** Banks to compute (default: the log bank only). */
  readonly banks?: readonly HashAlg[];
  /** Extension rule for the other banks (default `per-bank`; `both` computes the two). */
  readonly mode?: ImaBankMode | 'both';
  /** Recompute and check each template hash against the data (default true). */
  readonly verifyTemplateHashes?: boolean;
}

/** A template hash that does not match its template data. */
export interface ImaTemplateHashMismatch {
  readonly index: number;
  readonly offset: number;
  readonly logged: string;
  readonly computed: string;
}

/** What a replay produced. */
export interface ImaReplayResult {
  /** Entries replayed. */
  readonly events: number;
  /** Violations seen (extended as all ones). */
  readonly violations: number;
  /** `pcr<N>` → bank → hex, with the `per-bank` rule for non-log banks. */
  readonly registers: Record<string, Partial<Record<HashAlg, string>>>;
  /** The same with the `padded` rule, when `mode` asked for it. */
  readonly registersPadded?: Record<string, Partial<Record<HashAlg, string>>>;
  readonly templateHashMismatches: readonly ImaTemplateHashMismatch[];
}

type OneShot = (alg: string, data: Uint8Array, enc: 'latin1') => string;
const oneShot: OneShot | undefined =
  typeof (nodeCrypto as { hash?: unknown }).hash === 'function'
    ? (nodeCrypto as unknown as { hash: OneShot }).hash
    : undefined;

/**
 * A hash returning its digest as a latin1 string (one char per byte). On Node 20 the one-shot
 * `crypto.hash` with string output costs about a third of the same call returning a Buffer
 * (no ArrayBuffer per call, less GC) — the difference dominates a million-entry replay.
 */
function makeHasher(alg: HashAlg): (data: Uint8Array) => string {
  const name = hashInfo(alg).nodeName;
  if (oneShot !== undefined) {
    const f = oneShot;
    return (data) => f(name, data, 'latin1');
  }
  return (data) => nodeCrypto.createHash(name).update(data).digest('binary');
}

/** True when the latin1 digest string equals the bytes. */
function digestEquals(s: string, b: Uint8Array): boolean {
  if (s.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (s.charCodeAt(i) !== b[i]) return false;
  return true;
}

function latin1Bytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

const PADDED_VIOLATION = new Uint8Array(20).fill(0xff);

/** One bank's running PCRs: per PCR a buffer `value ‖ digest` hashed in place. */
class BankState {
  readonly alg: HashAlg;
  readonly size: number;
  readonly h: (data: Uint8Array) => string;
  readonly pcrs = new Map<number, Buffer>();
  readonly ones: Uint8Array;

  constructor(alg: HashAlg) {
    this.alg = alg;
    this.size = hashInfo(alg).size;
    this.h = makeHasher(alg);
    this.ones = new Uint8Array(this.size).fill(0xff);
  }

  #buf(pcr: number): Buffer {
    let buf = this.pcrs.get(pcr);
    if (buf === undefined) {
      buf = Buffer.alloc(this.size * 2);
      this.pcrs.set(pcr, buf);
    }
    return buf;
  }

  /** Extends with digest bytes (zero-padded or cut to the bank's size). */
  extend(pcr: number, digest: Uint8Array): void {
    const buf = this.#buf(pcr);
    buf.fill(0, this.size);
    buf.set(digest.length > this.size ? digest.subarray(0, this.size) : digest, this.size);
    buf.write(this.h(buf), 0, 'latin1');
  }

  /** Extends with a digest given as a latin1 string of the bank's size. */
  extendLatin1(pcr: number, digest: string): void {
    const buf = this.#buf(pcr);
    buf.write(digest, this.size, 'latin1');
    buf.write(this.h(buf), 0, 'latin1');
  }

  values(): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    for (const [pcr, buf] of this.pcrs) out.set(pcr, new Uint8Array(buf.subarray(0, this.size)));
    return out;
  }
}

/** Incremental replay: `add()` each entry, then `result()`. */
export class ImaReplay {
  readonly #logBank: BankState;
  readonly #perBank: BankState[];
  readonly #padded: BankState[];
  readonly #verify: boolean;
  readonly #withLog: boolean;
  readonly #mismatches: ImaTemplateHashMismatch[] = [];
  #events = 0;
  #violations = 0;

  constructor(opts: ImaReplayOptions) {
    const banks = opts.banks ?? [opts.logBank];
    const mode = opts.mode ?? 'per-bank';
    this.#logBank = new BankState(opts.logBank);
    const others = banks.filter((b) => b !== opts.logBank);
    this.#perBank = mode === 'padded' ? [] : others.map((b) => new BankState(b));
    this.#padded = mode === 'per-bank' ? [] : others.map((b) => new BankState(b));
    this.#verify = opts.verifyTemplateHashes ?? true;
    this.#withLog = banks.includes(opts.logBank);
  }

  /** Replays one entry. */
  add(e: ImaEntry): void {
    this.#events++;
    const th = e.templateHash;
    if (isAllZero(th)) {
      this.#violations++;
      if (this.#withLog) this.#logBank.extend(e.pcr, this.#logBank.ones);
      for (const b of this.#perBank) b.extend(e.pcr, b.ones);
      // evmctl's padded rule for a violation: 20 bytes of 0xFF, zero-padded.
      for (const b of this.#padded) b.extend(e.pcr, PADDED_VIOLATION);
      return;
    }
    const input = this.#verify || this.#perBank.length > 0 ? imaTemplateHashInput(e) : undefined;
    if (this.#verify) {
      const computed = this.#logBank.h(input!);
      if (!digestEquals(computed, th)) {
        this.#mismatches.push({
          index: e.index,
          offset: e.offset,
          logged: toHex(th),
          computed: toHex(latin1Bytes(computed)),
        });
      }
    }
    if (this.#withLog) this.#logBank.extend(e.pcr, th);
    for (const b of this.#perBank) b.extendLatin1(e.pcr, b.h(input!));
    // Padded: the SHA-1 template hash zero-padded (only meaningful for a sha1 list).
    for (const b of this.#padded) b.extend(e.pcr, th);
  }

  /** The replayed values. */
  result(): ImaReplayResult {
    const regs = (
      banks: readonly BankState[],
    ): Record<string, Partial<Record<HashAlg, string>>> => {
      const out: Record<string, Partial<Record<HashAlg, string>>> = {};
      for (const b of banks) {
        for (const [pcr, v] of b.values()) (out[`pcr${pcr}`] ??= {})[b.alg] = toHex(v);
      }
      return out;
    };
    const log = this.#withLog ? [this.#logBank] : [];
    return {
      events: this.#events,
      violations: this.#violations,
      registers: regs([...log, ...this.#perBank]),
      ...(this.#padded.length > 0 ? { registersPadded: regs([...log, ...this.#padded]) } : {}),
      templateHashMismatches: this.#mismatches,
    };
  }
}

/** Replays a list held in memory. */
export function replayIma(entries: Iterable<ImaEntry>, opts: ImaReplayOptions): ImaReplayResult {
  const r = new ImaReplay(opts);
  for (const e of entries) r.add(e);
  return r.result();
}

/**
 * `boot_aggregate` as the kernel computes it (`ima_calc_boot_aggregate`): the hash, in the
 * bank's algorithm, of PCR0…PCR7 of that bank, plus PCR8 and PCR9 for banks other than SHA-1
 * (kernels since 5.8). Missing PCRs count as zeros. Without a TPM the kernel logs all zeros
 * instead ({@link bootAggregateWithoutTpm}).
 */
export function computeBootAggregate(
  bank: HashAlg,
  pcrs: ReadonlyMap<number, Uint8Array> | Readonly<Record<number, Uint8Array>>,
  opts: { includePcr8And9?: boolean } = {},
): Uint8Array {
  const size = hashInfo(bank).size;
  const get = (i: number): Uint8Array | undefined =>
    pcrs instanceof Map
      ? (pcrs as ReadonlyMap<number, Uint8Array>).get(i)
      : (pcrs as Readonly<Record<number, Uint8Array>>)[i];
  const last = (opts.includePcr8And9 ?? bank !== 'sha1') ? 9 : 7;
  const buf = new Uint8Array(size * (last + 1));
  for (let i = 0; i <= last; i++) {
    const v = get(i);
    if (v !== undefined) buf.set(v.subarray(0, size), i * size);
  }
  return latin1Bytes(makeHasher(bank)(buf));
}

/** The boot_aggregate digest logged when no TPM was found at boot: zeros. */
export function bootAggregateWithoutTpm(bank: HashAlg): Uint8Array {
  return new Uint8Array(hashInfo(bank).size);
}
