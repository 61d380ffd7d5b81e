/**
 * Builds crypto-agile TCG PC Client logs from plain records: for tests, benches (a 1M-event
 * log) and emulated firmware logs. The header is a Spec ID Event03 naming the banks; each
 * record carries one digest per bank, H(data) unless given.
 *
 * @module
 */
import { ByteWriter } from '../bytes/writer.js';
import { hash } from '../crypto/hash.js';
import { digestSize, hashAlgId, type HashAlg } from '../crypto/hash_alg.js';
import { EventType } from '../formats/tcg2/event_types.js';
import { encodePcrEvent, encodePcrEvent2 } from '../formats/tcg2/pcr_event.js';
import { encodeSpecIdEvent } from '../formats/tcg2/spec_id_event.js';

/** One record to write. */
export interface TcgRecordInput {
  /** PCR index (or CC MR index for a CCEL). */
  readonly pcr: number;
  /** EV_* type. */
  readonly type: number;
  readonly data: Uint8Array;
  /** Digests per bank; banks missing here get H(data). */
  readonly digests?: ReadonlyMap<HashAlg, Uint8Array>;
}

/** Options of a {@link TcgLogWriter}. */
export interface TcgLogWriterOptions {
  /** Index of the header record (0 for PC Client logs, 1 for TDVF CCELs). */
  readonly headerIndex?: number;
  readonly vendorInfo?: Uint8Array;
  /** uintnSize of the Spec ID event (default 2: 64-bit). */
  readonly uintnSize?: number;
}

/** Writes a crypto-agile log record by record. */
export class TcgLogWriter {
  readonly #banks: readonly HashAlg[];
  readonly #opts: TcgLogWriterOptions;

  constructor(banks: readonly HashAlg[], opts: TcgLogWriterOptions = {}) {
    this.#banks = banks;
    this.#opts = opts;
  }

  /** The Spec ID header record (the first record of the log). */
  header(): Uint8Array {
    const spec = new ByteWriter(64);
    encodeSpecIdEvent(spec, {
      signature: 'Spec ID Event03\0',
      platformClass: 0,
      specVersionMinor: 0,
      specVersionMajor: 2,
      specErrata: 0,
      uintnSize: this.#opts.uintnSize ?? 2,
      algorithms: this.#banks.map((a) => ({
        algId: hashAlgId(a),
        digestSize: digestSize(a),
        alg: a,
      })),
      vendorInfo: this.#opts.vendorInfo ?? new Uint8Array(0),
    });
    const w = new ByteWriter(96);
    encodePcrEvent(w, {
      pcrIndex: this.#opts.headerIndex ?? 0,
      eventType: EventType.EV_NO_ACTION,
      digests: [{ algId: 4, alg: 'sha1', digest: new Uint8Array(20) }],
      data: spec.finish(),
    });
    return w.finish();
  }

  /** One `TCG_PCR_EVENT2` record. */
  record(rec: TcgRecordInput): Uint8Array {
    const w = new ByteWriter(16 + rec.data.length + this.#banks.length * 66);
    encodePcrEvent2(w, {
      pcrIndex: rec.pcr,
      eventType: rec.type,
      digests: this.#banks.map((alg) => ({
        algId: hashAlgId(alg),
        alg,
        digest: rec.digests?.get(alg) ?? hash(alg, rec.data),
      })),
      data: rec.data,
    });
    return w.finish();
  }
}

/** A whole crypto-agile log: the header, then the records. */
export function encodeTcgLog(
  banks: readonly HashAlg[],
  records: Iterable<TcgRecordInput>,
  opts: TcgLogWriterOptions = {},
): Uint8Array {
  const tw = new TcgLogWriter(banks, opts);
  const w = new ByteWriter(4096);
  w.bytes(tw.header());
  for (const r of records) w.bytes(tw.record(r));
  return w.finish();
}
