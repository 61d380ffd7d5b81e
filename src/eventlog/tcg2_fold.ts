/**
 * Replay of TCG record streams (`tcg2`, `ccel`) where the records lie, without an event object
 * per record: what `mrstack log replay` runs on a PC Client log or a CCEL.
 *
 * {@link parseTcgRecordBatches} hands every crypto-agile record to {@link TcgFold.tryRecord}
 * first. A record the fold can replay exactly as `Replay.add` would — it extends a replayable
 * register, carries exactly one digest for each bank of the Spec ID header with the size its
 * algorithm has, and is neither EV_NO_ACTION nor an H-CRTM start — is folded in place (checked
 * against its data where the format says its digest is the data's hash, then extended into
 * per-register scratch buffers). Everything else becomes an event as before, and the fold first
 * hands its values to the `Replay` (`flush`) so that the event meets the registers it would
 * have met. At 1M records this removes the parse's allocations, which cost more than the parse.
 *
 * @module
 */
import { u32leAt } from '../bytes/reader.js';
import { extendInPlace, hashEquals } from '../crypto/hash.js';
import { digestSize, hashInfo, type HashAlg } from '../crypto/hash_alg.js';
import { EventType } from '../formats/tcg2/event_types.js';
import type { AgileDigestTable } from '../formats/tcg2/pcr_event.js';
import type { AnyIterable, LogEvent } from './event.js';
import type { LogWarning } from './log_format.js';
import { isReplayable } from './mr_map.js';
import type { Replay } from './replay.js';
import type { IndexMapping } from './tcg2_stream.js';

/** Options of a {@link TcgFold}. */
export interface TcgFoldOptions {
  /** The replay the folded values go to (its values are where folding starts). */
  readonly replay: Replay;
  readonly logName: string;
  /** Extend only these banks (default: every bank of the header). */
  readonly banks?: readonly HashAlg[];
  /** Check digests against the event data where `digestIsDataHash` says they are its hash. */
  readonly checkDigests: boolean;
  /** The format's rule: is a record's digest the hash of its data (see `LogFormat.checkDigest`). */
  readonly digestIsDataHash: (eventType: number, data: Uint8Array) => boolean;
  readonly onWarning?: (w: LogWarning) => void;
  readonly maxDigests: number;
  readonly maxEventSize: number;
}

/** One bank of one register: `value ‖ digest`, extended in place. */
interface BankFold {
  readonly alg: HashAlg;
  readonly buf: Buffer;
  readonly size: number;
  readonly nodeName: string;
}

/** One register folded since the last flush. */
interface RegisterFold {
  readonly register: string;
  /** Per header bank (by its position in the header); undefined for banks not replayed. */
  readonly banks: (BankFold | undefined)[];
  extended: number;
  lastIndex: number;
}

/** The header's banks as the fold needs them, fixed by {@link TcgFold.start}. */
interface HeaderBanks {
  readonly table: AgileDigestTable;
  /** algId → position in the header's bank list (only algorithms with their true size). */
  readonly position: ReadonlyMap<number, number>;
  readonly algs: readonly HashAlg[];
  /** Digest size per position. */
  readonly sizes: readonly number[];
  readonly replayed: readonly boolean[];
  readonly mapIndex: (index: number) => IndexMapping;
}

/** See the module comment. One fold per log. */
export class TcgFold {
  readonly #opts: TcgFoldOptions;
  #header: HeaderBanks | undefined;
  /** By the record's index field; `null` when that index is never folded (not extendable). */
  readonly #regs = new Map<number, RegisterFold | null>();
  #records = 0;
  /** The current record's header position per digest, found once by the validation loop. */
  readonly #at = new Uint8Array(32);

  constructor(opts: TcgFoldOptions) {
    this.#opts = opts;
  }

  /**
   * Called by the parser once it has read the Spec ID header: the banks every record must carry
   * to be folded, and what the index field names.
   */
  start(
    table: AgileDigestTable,
    headerBanks: readonly HashAlg[],
    mapIndex: (index: number) => IndexMapping,
  ): void {
    const position = new Map<number, number>();
    const algs: HashAlg[] = [];
    for (const [algId, entry] of table) {
      const alg = entry.alg;
      // A bank the header names twice, or with a size its algorithm does not have, goes the
      // event path (which reports it).
      if (alg === undefined || !headerBanks.includes(alg) || algs.includes(alg)) continue;
      if (entry.size !== digestSize(alg)) continue;
      position.set(algId, algs.length);
      algs.push(alg);
    }
    if (algs.length !== headerBanks.length) return; // leave #header unset: nothing is folded
    const only = this.#opts.banks;
    this.#header = {
      table,
      position,
      algs,
      sizes: algs.map(digestSize),
      replayed: algs.map((a) => only === undefined || only.includes(a)),
      mapIndex,
    };
  }

  /**
   * Folds the record at the start of `bytes` when it lies wholly there and can be folded; returns
   * its length, or 0 when the parser must take it as an event.
   */
  tryRecord(bytes: Uint8Array, index: number, offset: number): number {
    const h = this.#header;
    if (h === undefined) return 0;
    const n = bytes.length;
    if (n < 12) return 0;
    const pcr = u32leAt(bytes, 0);
    const type = u32leAt(bytes, 4);
    if (type === EventType.EV_NO_ACTION) return 0;
    if (type === EventType.EV_EFI_HCRTM_EVENT && pcr === 0) return 0;
    const reg = this.#register(pcr);
    if (reg === null) return 0;
    const count = u32leAt(bytes, 8);
    // Exactly one digest per header bank: fewer is a FEWER_DIGESTS warning, more an unknown or
    // repeated algorithm — both for the event path.
    if (count !== h.algs.length || count > this.#opts.maxDigests) return 0;
    const ats = this.#at;
    let pos = 12;
    let seen = 0;
    for (let i = 0; i < count; i++) {
      if (pos + 2 > n) return 0;
      const at = h.position.get(bytes[pos]! | (bytes[pos + 1]! << 8));
      if (at === undefined || (seen & (1 << at)) !== 0) return 0;
      seen |= 1 << at;
      ats[i] = at;
      pos += 2 + h.sizes[at]!;
    }
    if (pos + 4 > n) return 0;
    const eventSize = u32leAt(bytes, pos);
    if (eventSize > this.#opts.maxEventSize) return 0;
    const length = pos + 4 + eventSize;
    if (length > n) return 0;
    const data = bytes.subarray(pos + 4, length);

    if (this.#opts.checkDigests && this.#opts.digestIsDataHash(type, data)) {
      let d = 12;
      for (let i = 0; i < count; i++) {
        const at = ats[i]!;
        const size = h.sizes[at]!;
        if (!hashEquals(h.algs[at]!, data, bytes.subarray(d + 2, d + 2 + size))) {
          this.#mismatch(index, offset, reg.register);
          break;
        }
        d += 2 + size;
      }
    }
    let d = 12;
    for (let i = 0; i < count; i++) {
      const at = ats[i]!;
      const size = h.sizes[at]!;
      if (h.replayed[at]) {
        const bank = reg.banks[at] ?? this.#bank(reg, at);
        bank.buf.set(bytes.subarray(d + 2, d + 2 + size), size);
        extendInPlace(bank.alg, bank.nodeName, bank.buf, size);
      }
      d += 2 + size;
    }
    reg.extended++;
    reg.lastIndex = index;
    this.#records++;
    return length;
  }

  /** Hands what was folded since the last flush to the replay (before it replays an event). */
  flush(): void {
    if (this.#records === 0) return;
    const registers = [];
    for (const reg of this.#regs.values()) {
      if (reg === null || reg.extended === 0) continue;
      const values = new Map<HashAlg, Uint8Array>();
      for (const b of reg.banks) if (b !== undefined) values.set(b.alg, b.buf.subarray(0, b.size));
      registers.push({
        register: reg.register,
        values,
        extended: reg.extended,
        lastIndex: reg.lastIndex,
      });
    }
    this.#opts.replay.addReplayed(this.#opts.logName, this.#records, registers);
    this.#records = 0;
    // The replay now holds the values; fold on from them next time.
    for (const [k, reg] of this.#regs) if (reg !== null) this.#regs.delete(k);
  }

  #register(pcr: number): RegisterFold | null {
    let reg = this.#regs.get(pcr);
    if (reg !== undefined) return reg;
    const map = this.#header!.mapIndex(pcr);
    reg =
      map.register === undefined || !map.extendable || !isReplayable(map.register)
        ? null
        : { register: map.register, banks: [], extended: 0, lastIndex: -1 };
    this.#regs.set(pcr, reg);
    return reg;
  }

  #bank(reg: RegisterFold, at: number): BankFold {
    const alg = this.#header!.algs[at]!;
    const size = digestSize(alg);
    // A Buffer: node:crypto hashes it without a conversion.
    const buf = Buffer.alloc(2 * size);
    buf.set(this.#opts.replay.value(reg.register, alg), 0);
    const bank = { alg, buf, size, nodeName: hashInfo(alg).nodeName };
    reg.banks[at] = bank;
    return bank;
  }

  #mismatch(index: number, offset: number, register: string): void {
    // The words Replay.add uses for the same finding.
    this.#opts.onWarning?.({
      code: 'ERR_EVENT_DIGEST_MISMATCH',
      message: `record ${index} (${register}): the logged digest is not the hash of the event data`,
      log: this.#opts.logName,
      offset,
      index,
      register,
    });
  }
}

/**
 * Replays a TCG record stream's events into `replay`, with `fold` taking the records it can
 * (the parser was given the same fold): every event the parser hands over is replayed by
 * `Replay.add` after the fold's values, and the fold's last values reach the replay even when
 * the stream ends in an error (records before an error are replayed).
 */
export async function replayTcgBatches(
  batches: AnyIterable<readonly LogEvent[]>,
  fold: TcgFold,
  replay: Replay,
): Promise<void> {
  try {
    for await (const batch of batches) for (const e of batch) replay.add(e);
  } finally {
    fold.flush();
  }
}
