/**
 * Replaying CEL records into registers, and checking record digests where the content type
 * defines what they cover.
 *
 * Every digest of a record extends its register's bank (`pcr<N>`, or a CC MR named as the
 * kernel names it); registers start at zero. NV-index records are not replayed (an NV index is
 * not an extend-only register). Digest rules: Google's COS content (80) is measured as its whole
 * content TLV, header included; systemd records as the UTF-8 `string` member. Other content
 * types carry digests computed elsewhere (firmware, IMA) and are not re-derived here.
 *
 * @module
 */
import { hash, extend } from '../../crypto/hash.js';
import { hashInfo, type HashAlg } from '../../crypto/hash_alg.js';
import { bytesEqual, toHex } from '../../bytes/hex.js';
import { celDigestAlg, celRegisterName, CEL_TLV_TYPES, type CelRecord } from './cel_record.js';
import { encodeCelContentTlv } from './cel_tlv.js';

/** A digest that is not the hash of what the content type says it covers. */
export interface CelDigestMismatch {
  readonly index: number;
  readonly alg: HashAlg;
  readonly logged: string;
  readonly computed: string;
}

/** What a CEL replay produced. */
export interface CelReplayResult {
  readonly events: number;
  readonly registers: Record<string, Partial<Record<HashAlg, string>>>;
  readonly digestMismatches: readonly CelDigestMismatch[];
  /** Records not replayed (NV-index handles, digests of unknown algorithms). */
  readonly skipped: readonly number[];
}

/** The bytes a record's digests cover, when its content type defines it. */
export function celMeasuredBytes(r: CelRecord): Uint8Array | undefined {
  const c = r.content;
  if (c.type === 'cos') return encodeCelContentTlv(c, CEL_TLV_TYPES.cos);
  if (c.type === 'systemd') {
    const s = c.value['string'];
    return typeof s === 'string' ? new TextEncoder().encode(s) : undefined;
  }
  return undefined;
}

/** Incremental CEL replay. */
export class CelReplay {
  readonly #regs = new Map<string, Map<HashAlg, Uint8Array>>();
  readonly #mismatches: CelDigestMismatch[] = [];
  readonly #skipped: number[] = [];
  #events = 0;

  /** Replays one record. */
  add(r: CelRecord): void {
    this.#events++;
    if (r.register.kind === 'nv_index') {
      this.#skipped.push(r.index);
      return;
    }
    const name = celRegisterName(r.register);
    const measured = celMeasuredBytes(r);
    let bank = this.#regs.get(name);
    if (bank === undefined) {
      bank = new Map();
      this.#regs.set(name, bank);
    }
    for (const d of r.digests) {
      const alg = celDigestAlg(d);
      if (alg === undefined || d.digest.length !== hashInfo(alg).size) {
        this.#skipped.push(r.index);
        continue;
      }
      if (measured !== undefined) {
        const computed = hash(alg, measured);
        if (!bytesEqual(computed, d.digest)) {
          this.#mismatches.push({
            index: r.index,
            alg,
            logged: toHex(d.digest),
            computed: toHex(computed),
          });
        }
      }
      const old = bank.get(alg) ?? new Uint8Array(hashInfo(alg).size);
      bank.set(alg, extend(alg, old, d.digest));
    }
  }

  /** The replayed registers. */
  result(): CelReplayResult {
    const registers: Record<string, Partial<Record<HashAlg, string>>> = {};
    for (const [name, bank] of this.#regs) {
      if (bank.size === 0) continue;
      const out: Partial<Record<HashAlg, string>> = {};
      for (const [alg, v] of bank) out[alg] = toHex(v);
      registers[name] = out;
    }
    return {
      events: this.#events,
      registers,
      digestMismatches: this.#mismatches,
      skipped: this.#skipped,
    };
  }
}

/** Replays records held in memory. */
export function replayCel(records: Iterable<CelRecord>): CelReplayResult {
  const r = new CelReplay();
  for (const x of records) r.add(x);
  return r.result();
}
