/**
 * Replaying CEL records into registers, and checking record digests where the content type
 * defines what they cover.
 *
 * Every digest of a record extends its register's bank (`pcr<N>`, or a CC MR named as the
 * kernel names it); registers start at zero. The extend rules ({@link celRecordDigests},
 * {@link celRecordExtends}, {@link celStartValues}) are the one home of what `log replay` does with CEL too: NV-index
 * records and the `pcr` handle 0xFFFFFFFF are not replayed (not extend-only registers); a
 * `pcclient_std` EV_NO_ACTION record is not extended (as in a PC Client log), but a
 * StartupLocality one on PCR0 starts PCR0 at 00…0L and an EV_EFI_HCRTM_EVENT at 00…04 (PC
 * Client PFP §10.4.5.3), in the record's banks; an `ima_template` record whose digests are all
 * zeros is an IMA violation and extends all ones. Digest rules: Google's COS content (80) is measured as its whole
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
import { imaViolationDigest } from '../ima/ima_fold.js';
import { isAllZero } from '../ima/ima_template.js';
import { isStartupLocality } from '../tcg2/spec_id_event.js';

const EV_NO_ACTION = 3;
const EV_EFI_HCRTM_EVENT = 0x80000010;
const PCR_HANDLE_NONE = 0xffffffff;

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
  /**
   * Records not (wholly) replayed: NV-index and 0xFFFFFFFF handles, digests of unknown
   * algorithms, a PCR0 start value after PCR0 was extended.
   */
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

/** The register a record's digests go to, or undefined when it names no extend-only register. */
export function celReplayedRegister(r: CelRecord): string | undefined {
  if (r.register.kind === 'nv_index') return undefined;
  if (r.register.kind === 'pcr' && r.register.index === PCR_HANDLE_NONE) return undefined;
  return celRegisterName(r.register);
}

/**
 * A record's digests per bank as replay extends them: digests of an unknown algorithm or a
 * wrong size left out, all ones for an IMA violation. Whether they are extended at all is
 * {@link celRecordExtends}.
 */
export function celRecordDigests(r: CelRecord): Map<HashAlg, Uint8Array> {
  const out = new Map<HashAlg, Uint8Array>();
  const violation =
    r.content.type === 'ima_template' && r.digests.every((d) => isAllZero(d.digest));
  for (const d of r.digests) {
    const alg = celDigestAlg(d);
    if (alg === undefined || d.digest.length !== hashInfo(alg).size) continue;
    out.set(alg, violation ? imaViolationDigest(d.digest.length) : d.digest);
  }
  return out;
}

/** Whether a record's digests are extended (see the module comment). */
export function celRecordExtends(r: CelRecord): boolean {
  if (celReplayedRegister(r) === undefined) return false;
  const c = r.content;
  return !(c.type === 'pcclient_std' && c.eventType === EV_NO_ACTION);
}

/**
 * PCR0's starting value set by a `pcclient_std` record on PCR0 (StartupLocality, H-CRTM), per
 * bank of `banks`; undefined for every other record.
 */
export function celStartValues(
  r: CelRecord,
  banks: Iterable<HashAlg>,
): Map<HashAlg, Uint8Array> | undefined {
  const c = r.content;
  if (c.type !== 'pcclient_std' || r.register.kind !== 'pcr' || r.register.index !== 0)
    return undefined;
  let last: number;
  if (c.eventType === EV_NO_ACTION && isStartupLocality(c.eventData)) last = c.eventData[16]!;
  else if (c.eventType === EV_EFI_HCRTM_EVENT) last = 4;
  else return undefined;
  const values = new Map<HashAlg, Uint8Array>();
  for (const b of banks) {
    const v = new Uint8Array(hashInfo(b).size);
    v[v.length - 1] = last;
    values.set(b, v);
  }
  return values;
}

/** Incremental CEL replay, by the rules of {@link celRecordExtends}, {@link celRecordDigests} and
 * {@link celStartValues}. */
export class CelReplay {
  readonly #regs = new Map<string, Map<HashAlg, Uint8Array>>();
  readonly #mismatches: CelDigestMismatch[] = [];
  readonly #skipped: number[] = [];
  #events = 0;

  /** Replays one record. */
  add(r: CelRecord): void {
    this.#events++;
    const name = celReplayedRegister(r);
    if (name === undefined) {
      this.#skipped.push(r.index);
      return;
    }
    let bank = this.#regs.get(name);
    if (bank === undefined) {
      bank = new Map();
      this.#regs.set(name, bank);
    }
    const digests = celRecordDigests(r);
    if (digests.size < r.digests.length) this.#skipped.push(r.index);
    const start = celStartValues(r, digests.keys());
    // A start value counts only before the register's first extend (mid-log it is a gap, which
    // `log replay` refuses with ERR_LOG_GAP); here such a record is listed as skipped.
    if (start !== undefined) {
      if (bank.size === 0) for (const [alg, v] of start) bank.set(alg, v);
      else this.#skipped.push(r.index);
    }
    const measured = celMeasuredBytes(r);
    if (measured !== undefined) {
      for (const [alg, digest] of digests) {
        const computed = hash(alg, measured);
        if (!bytesEqual(computed, digest)) {
          this.#mismatches.push({
            index: r.index,
            alg,
            logged: toHex(digest),
            computed: toHex(computed),
          });
        }
      }
    }
    if (!celRecordExtends(r)) return;
    for (const [alg, digest] of digests) {
      const old = bank.get(alg) ?? new Uint8Array(hashInfo(alg).size);
      bank.set(alg, extend(alg, old, digest));
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
