/**
 * Streaming reader and writer of TCG PC Client record streams, shared by the `tcg2`
 * (`binary_bios_measurements`) and `ccel` (TDX / CSV CC event log) formats: they differ only in
 * what the index field names and in the padding after the last record.
 *
 * Quirk rules applied here (each documented in `docs/eventlog-quirks.md`):
 * `SPECID_SIZE_OMITS_VENDOR_INFO`, `LEGACY_SHA1_LOG`, `TRAILING_PADDING`, `FEWER_DIGESTS`,
 * `STARTUP_LOCALITY`, `HCRTM_PCR0`, `PCR_INDEX_NONE`, `NO_ACTION_ANYWHERE`.
 *
 * @module
 */
import { ByteReader } from '../bytes/reader.js';
import { ByteWriter } from '../bytes/writer.js';
import { digestSize, hashAlgFromId, type HashAlg } from '../crypto/hash_alg.js';
import { MrstackError, ParseError, type FormatId } from '../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import { EventType } from '../formats/tcg2/event_types.js';
import {
  encodePcrEvent,
  encodePcrEvent2,
  agileDigestTable,
  measurePcrEvent2,
  parsePcrEvent,
  parsePcrEvent2,
  PCR_EVENT_HEADER_SIZE,
  tryDecodePcrEvent2,
  type AgileDigestTable,
  type LoggedDigest,
  type TcgPcrRecord,
} from '../formats/tcg2/pcr_event.js';
import {
  isSpecIdEvent03,
  isStartupLocality,
  parseSpecIdEvent,
  type SpecIdEvent,
} from '../formats/tcg2/spec_id_event.js';
import type { AnyIterable, EventAnchor, LogEvent, Tcg2Event } from './event.js';
import { Framer } from '../formats/stream/framer.js';
import type { LogWarning } from './log_format.js';
import type { TcgFold } from './tcg2_fold.js';
import { TcgLogWriter } from './tcg2_writer.js';

/** What the index field of a record names, per format. */
export interface IndexMapping {
  readonly register: string | undefined;
  /** False when replay must not extend it (MRTD, unknown CC index). */
  readonly extendable: boolean;
}

/** Options of {@link parseTcgRecordBatches}. */
export interface TcgStreamOptions {
  readonly format: Extract<FormatId, 'tcg2' | 'ccel'>;
  readonly logName: string;
  readonly limits?: Limits;
  /** Maps the index field of a record to a register. */
  readonly mapIndex: (index: number) => IndexMapping;
  /** Whether 8 zero bytes at a record boundary start padding (CCEL of old TDVF). */
  readonly zeroPadding: boolean;
  readonly onWarning?: (w: LogWarning) => void;
  /**
   * Replay records in place where it can (see {@link TcgFold}): records it folds are not
   * handed over as events, and every event is handed over alone, after the fold's flush.
   */
  readonly fold?: TcgFold;
}

function knownDigests(list: readonly LoggedDigest[]): Map<HashAlg, Uint8Array> {
  const m = new Map<HashAlg, Uint8Array>();
  for (const d of list) if (d.alg !== undefined) m.set(d.alg, d.digest);
  return m;
}

function anchorValue(alg: HashAlg, last: number): Uint8Array {
  const v = new Uint8Array(digestSize(alg));
  v[v.length - 1] = last;
  return v;
}

/**
 * Parses a TCG record stream (SHA-1 layout, or a Spec ID header then crypto-agile records) as
 * events in batches, in constant memory: every record decoded from the bytes at hand is handed
 * over before the parser waits for more input (a batch per input chunk, roughly). Events before
 * an error are delivered before it is thrown. `flattenBatches` gives them one at a time.
 * @throws ParseError (see the record parsers); `ERR_TRUNCATED` (incomplete) when the input ends
 * inside a record; `ERR_TRAILING_BYTES` for data after padding.
 */
export async function* parseTcgRecordBatches(
  input: AnyIterable<Uint8Array>,
  opts: TcgStreamOptions,
): AsyncIterable<readonly Tcg2Event[]> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const f = new Framer(input, { format: opts.format, limits });
  const warn = (w: Omit<LogWarning, 'log'>): void => opts.onWarning?.({ ...w, log: opts.logName });
  const src = (offset: number, length: number) => ({
    log: opts.logName,
    format: opts.format,
    offset,
    length,
  });
  const mapCache = new Map<number, IndexMapping>();
  const mapIndex = (pcr: number): IndexMapping => {
    let map = mapCache.get(pcr);
    if (map === undefined) {
      map = opts.mapIndex(pcr);
      if (mapCache.size < 64) mapCache.set(pcr, map);
    }
    return map;
  };
  const fold = opts.fold;
  let index = 0;
  if (await f.atEnd()) {
    throw new ParseError({
      code: 'ERR_TRUNCATED',
      format: opts.format,
      offset: 0,
      field: 'record[0]',
      expected: 'at least one record',
      actual: 'empty input',
      incomplete: true,
      completeRecords: 0,
      record: 0,
    });
  }

  // The first record is always in the SHA-1 layout; a Spec ID Event03 in it makes the log
  // crypto-agile.
  let banks: HashAlg[] = ['sha1'];
  // The Spec ID table's digest sizes; undefined for a SHA-1-layout log.
  let table: AgileDigestTable | undefined;
  {
    const at = f.offset;
    await f.require(PCR_EVENT_HEADER_SIZE, at, 'record[0]', 0, 0);
    const head = new ByteReader(f.peek(PCR_EVENT_HEADER_SIZE), { format: opts.format, origin: at });
    const pcr = head.u32le('pcrIndex');
    const type = head.u32le('eventType');
    head.skip(20, 'digest');
    const size = head.u32le('eventSize');
    f.checkRecordSize(size, at + 28, 'record[0].eventSize', 0);
    await f.require(PCR_EVENT_HEADER_SIZE + size, at, 'record[0]', 0, 0);
    const peekData = f.peek(PCR_EVENT_HEADER_SIZE + size).subarray(PCR_EVENT_HEADER_SIZE);
    let spec: SpecIdEvent | undefined;
    let length = PCR_EVENT_HEADER_SIZE + size;
    let declaredSize: number | undefined;
    // CCELs put the header at MR index 1 (or 0); PC Client logs at PCR 0.
    if (type === EventType.EV_NO_ACTION && pcr <= 1 && isSpecIdEvent03(peekData)) {
      const sr = new ByteReader(peekData, { format: opts.format, origin: at + 32, record: 0 });
      const parsed = parseSpecIdEvent(sr, limits.maxDigestsPerEvent);
      spec = parsed.event;
      if (parsed.vendorMissing > 0) {
        // Quirk SPECID_SIZE_OMITS_VENDOR_INFO: eventSize stops after vendorInfoSize; the vendor
        // bytes follow outside the declared event (tpm2-tools' fixture, some firmware).
        length += parsed.vendorMissing;
        declaredSize = size;
        await f.require(length, at, 'record[0].vendorInfo', 0, 0);
        warn({
          code: 'SPECID_SIZE_OMITS_VENDOR_INFO',
          message: `Spec ID eventSize ${size} leaves out ${parsed.vendorMissing} vendor-info bytes`,
          offset: at + 28,
          index: 0,
        });
      } else if (sr.remaining !== 0) {
        throw sr.error('ERR_TRAILING_BYTES', 'specId', { actual: `${sr.remaining} extra bytes` });
      }
      table = agileDigestTable(new Map(spec.algorithms.map((a) => [a.algId, a.digestSize])));
      banks = spec.algorithms.flatMap((a) => (a.alg === undefined ? [] : [a.alg]));
      fold?.start(table, banks, mapIndex);
    }
    const r = f.reader(length, 0);
    const rec = declaredSize === undefined ? parsePcrEvent(r) : parseHeaderWithOmittedVendor(r);
    const header = toEvent(rec, 0, at, length, spec !== undefined, declaredSize);
    index = 1;
    if (spec === undefined) {
      warn({
        code: 'LEGACY_SHA1_LOG',
        message: 'no Spec ID Event03 header: SHA-1 layout (TPM 1.2 or SHA-1-only log)',
        offset: 0,
        index: 0,
      });
    }
    yield [header];
  }

  // The hot loop awaits only when the buffer lacks bytes (an await per record costs more than
  // parsing it), and hands over the records decoded so far just before it does.
  let batch: Tcg2Event[] = [];
  for (;;) {
    const at = f.offset;
    if (table !== undefined && f.buffered >= 8 && !isPaddingStart(f.peek(8), opts.zeroPadding)) {
      if (fold !== undefined) {
        const folded = fold.tryRecord(f.peek(f.buffered), index, at);
        if (folded > 0) {
          f.skip(folded);
          index++;
          continue;
        }
      }
      const fast = tryDecodePcrEvent2(
        f.peek(f.buffered),
        table,
        limits.maxDigestsPerEvent,
        limits.maxRecordSize,
      );
      if (fast !== undefined) {
        f.skip(fast.length);
        const ev = toEvent(fast.record, index, at, fast.length, false, undefined);
        checkBanks(ev, at);
        batch.push(ev);
        index++;
        if (fold !== undefined) {
          // The event must meet the registers as the records before it left them.
          fold.flush();
          yield batch;
          batch = [];
        }
        continue;
      }
    }
    // Everything below may wait for input or throw: hand over what is decoded first.
    if (batch.length > 0) {
      fold?.flush();
      yield batch;
      batch = [];
    }
    const avail = f.buffered >= 8 ? f.buffered : await f.fill(8);
    if (avail === 0) return;
    if (avail >= 8 && isPaddingStart(f.peek(8), opts.zeroPadding)) {
      await consumePadding(f, index, warn);
      return;
    }
    let length: number;
    if (table === undefined) {
      if (f.buffered < PCR_EVENT_HEADER_SIZE) {
        await f.require(PCR_EVENT_HEADER_SIZE, at, `record[${index}]`, index, index);
      }
      const hv = f.peek(PCR_EVENT_HEADER_SIZE);
      const size = new DataView(hv.buffer, hv.byteOffset, hv.byteLength).getUint32(28, true);
      f.checkRecordSize(size, at + 28, `record[${index}].eventSize`, index);
      length = PCR_EVENT_HEADER_SIZE + size;
    } else {
      let have = f.buffered;
      for (;;) {
        const m = measurePcrEvent2(
          new ByteReader(f.peek(have), { format: opts.format, origin: at, record: index }),
          table,
          limits.maxDigestsPerEvent,
          limits.maxRecordSize,
        );
        if (m.length !== undefined) {
          length = m.length;
          break;
        }
        have = await f.fill(m.need);
        if (have < m.need) throw f.truncated(at, `record[${index}]`, index, m.need, index);
      }
    }
    if (f.buffered < length) await f.require(length, at, `record[${index}]`, index, index);
    const r = f.reader(length, index);
    const rec = table === undefined ? parsePcrEvent(r) : parsePcrEvent2(r, table);
    const ev = toEvent(rec, index, at, length, false, undefined);
    if (table !== undefined) checkBanks(ev, at);
    batch.push(ev);
    index++;
    if (fold !== undefined) {
      fold.flush();
      yield batch;
      batch = [];
    }
  }

  /** Quirk FEWER_DIGESTS: a crypto-agile record without a digest for a bank of the header. */
  function checkBanks(ev: Tcg2Event, at: number): void {
    if (ev.untrustedType === EventType.EV_NO_ACTION) return;
    if (banks.every((b) => ev.digests.has(b))) return;
    const missing = banks.filter((b) => !ev.digests.has(b));
    warn({
      code: 'FEWER_DIGESTS',
      message: `record ${ev.index} carries no digest for ${missing.join(', ')}`,
      offset: at,
      index: ev.index,
    });
  }

  function parseHeaderWithOmittedVendor(r: ByteReader): TcgPcrRecord {
    const pcrIndex = r.u32le('pcrIndex');
    const eventType = r.u32le('eventType');
    const digest = r.copy(20, 'digest');
    r.skip(4, 'eventSize');
    const data = r.copy(r.remaining, 'event');
    return { pcrIndex, eventType, digests: [{ algId: 4, alg: 'sha1', digest }], data };
  }

  function toEvent(
    rec: TcgPcrRecord,
    i: number,
    offset: number,
    length: number,
    header: boolean,
    declaredSize: number | undefined,
  ): Tcg2Event {
    const map = mapIndex(rec.pcrIndex);
    const noAction = rec.eventType === EventType.EV_NO_ACTION;
    let anchor: EventAnchor | undefined;
    if (noAction && rec.pcrIndex === 0 && isStartupLocality(rec.data)) {
      // Quirk STARTUP_LOCALITY: PCR0 starts at 00…0L (PC Client PFP §10.4.5.3).
      const loc = rec.data[16]!;
      warn({
        code: 'STARTUP_LOCALITY',
        message: `record ${i}: StartupLocality ${loc}: PCR0 starts at 00…0${loc} in every bank`,
        offset,
        index: i,
      });
      anchor = {
        kind: 'reset',
        values: new Map(banks.map((b) => [b, anchorValue(b, loc)])),
      };
    } else if (rec.eventType === EventType.EV_EFI_HCRTM_EVENT && rec.pcrIndex === 0) {
      // Quirk HCRTM_PCR0: an H-CRTM sequence starts PCR0 at 00…04 (locality 4).
      warn({
        code: 'HCRTM_PCR0',
        message: `record ${i}: EV_EFI_HCRTM_EVENT: PCR0 starts at 00…04 in every bank`,
        offset,
        index: i,
      });
      anchor = { kind: 'reset', values: new Map(banks.map((b) => [b, anchorValue(b, 4)])) };
    }
    return {
      kind: 'tcg2',
      index: i,
      register: map.register,
      digests: knownDigests(rec.digests),
      extend: !noAction && !header && map.register !== undefined && map.extendable,
      ...(anchor === undefined || map.register === undefined ? {} : { anchor }),
      source: src(offset, length),
      mrIndex: rec.pcrIndex,
      untrustedType: rec.eventType,
      data: rec.data,
      header,
      digestList: rec.digests,
      ...(declaredSize === undefined ? {} : { declaredSize }),
    };
  }
}

function isPaddingStart(head: Uint8Array, zeroPadding: boolean): boolean {
  let ff = true;
  let zero = true;
  for (let i = 0; i < 8; i++) {
    if (head[i] !== 0xff) ff = false;
    if (head[i] !== 0) zero = false;
  }
  return ff || (zeroPadding && zero);
}

async function consumePadding(
  f: Framer,
  index: number,
  warn: (w: Omit<LogWarning, 'log'>) => void,
): Promise<void> {
  const start = f.offset;
  const pad = f.peek(1)[0]!;
  for (;;) {
    const n = await f.fill(1);
    if (n === 0) break;
    const view = f.peek(n);
    for (let i = 0; i < view.length; i++) {
      if (view[i] !== pad) {
        throw new ParseError({
          code: 'ERR_TRAILING_BYTES',
          format: f.format,
          offset: f.offset + i,
          field: `padding after record[${index - 1}]`,
          expected: `0x${pad.toString(16).padStart(2, '0')} padding to the end`,
          actual: `0x${view[i]!.toString(16).padStart(2, '0')}`,
          record: index,
        });
      }
    }
    f.skip(n);
  }
  warn({
    code: 'TRAILING_PADDING',
    message: `${f.offset - start} bytes of 0x${pad.toString(16).padStart(2, '0')} padding after the last record`,
    offset: start,
    index,
  });
}

/** One TCG record of an event: a TCG/CCEL record as parsed, or a CEL record TCG can hold. */
function tcgRecordOf(
  e: LogEvent,
  format: 'tcg2' | 'ccel',
): { rec: TcgPcrRecord; header: boolean; declaredSize?: number } {
  // A record's index means a PCR in a tcg2 log and a CC MR in a CCEL: carrying records from
  // one to the other would change the registers they extend, so only same-format is lossless.
  if (e.kind === 'tcg2' && e.source.format === format) {
    return {
      rec: { pcrIndex: e.mrIndex, eventType: e.untrustedType, digests: e.digestList, data: e.data },
      header: e.header,
      ...(e.declaredSize === undefined ? {} : { declaredSize: e.declaredSize }),
    };
  }
  const want = format === 'ccel' ? 'cc_mr' : 'pcr';
  if (e.kind === 'cel') {
    // PC Client content on the register kind of the target is a TCG record, field for field
    // (TCG CEL spec: `pcclient_std` is TCG_PCR_EVENT2's type and data).
    const r = e.record;
    const c = r.content;
    if (c.type === 'pcclient_std' && r.register.kind === want) {
      const rec: TcgPcrRecord = {
        pcrIndex: r.register.index,
        eventType: c.eventType,
        digests: r.digests.map((d) => ({
          algId: d.algId,
          alg: hashAlgFromId(d.algId),
          digest: d.digest,
        })),
        data: c.eventData,
      };
      return {
        rec,
        header:
          // index 0, or 1 as CCELs write it (the parser accepts both)
          c.eventType === EventType.EV_NO_ACTION &&
          r.register.index <= 1 &&
          isSpecIdEvent03(c.eventData),
      };
    }
  }
  throw new ParseError({
    code: 'ERR_LOSSY_CONVERSION',
    format,
    offset: e.source.offset,
    field: `event[${e.index}]`,
    expected: `${format} records, or CEL pcclient_std records on a ${want === 'pcr' ? 'PCR' : 'CC MR'}`,
    actual:
      e.kind === 'cel'
        ? `a CEL ${e.record.content.type} record on a ${e.record.register.kind}`
        : `a ${e.kind} event from ${e.source.format}`,
  });
}

/**
 * Writes TCG records back, byte-exact for logs this module parsed: the header record in the
 * SHA-1 layout (with its declared size kept), then every record in the layout the header
 * implies. CEL records with PC Client content on a PCR (tcg2) or CC MR (ccel) are written as
 * the TCG records they stand for; a CEL that does not start with the Spec ID header is written
 * in the SHA-1 layout when its first record has one SHA-1 digest (as a SHA-1 TCG log converts),
 * else it gets a header listing the first record's banks, so the result is a crypto-agile log
 * whose records after the header are the CEL's. CEL record numbers must be consecutive (TCG records
 * carry none). Other events are refused with `ERR_LOSSY_CONVERSION`.
 */
export async function* encodeTcgRecords(
  events: AnyIterable<LogEvent>,
  format: 'tcg2' | 'ccel',
): AsyncIterable<Uint8Array> {
  let agile = false;
  let first = true;
  let recnum: number | undefined;
  for await (const e of events) {
    const { rec, header, declaredSize } = tcgRecordOf(e, format);
    if (e.kind === 'cel') {
      if (recnum !== undefined && e.record.recnum !== recnum + 1) {
        throw new ParseError({
          code: 'ERR_LOSSY_CONVERSION',
          format,
          offset: e.source.offset,
          field: `event[${e.index}].recnum`,
          expected: `recnum ${recnum + 1} (TCG records carry no number: only consecutive CEL records convert)`,
          actual: String(e.record.recnum),
        });
      }
      recnum = e.record.recnum;
    }
    const w = new ByteWriter(64 + rec.data.length);
    if (first) {
      first = false;
      if (
        e.kind === 'cel' &&
        !header &&
        !(rec.digests.length === 1 && rec.digests[0]!.digest.length === 20)
      ) {
        // A native CEL: the Spec ID header a crypto-agile log starts with, for its banks.
        const banks = rec.digests.map((d) => d.alg);
        if (banks.length === 0 || banks.some((b) => b === undefined)) {
          throw new ParseError({
            code: 'ERR_LOSSY_CONVERSION',
            format,
            offset: e.source.offset,
            field: `event[${e.index}].digests`,
            expected: 'digests of known hash algorithms (for the Spec ID header)',
            actual: rec.digests.map((d) => `0x${d.algId.toString(16)}`).join(', ') || 'none',
          });
        }
        yield new TcgLogWriter(banks as HashAlg[]).header();
        agile = true;
      } else {
        // a CEL of one SHA-1 digest per record without a header: the SHA-1 layout (TCG 1.2)
        agile = header && isSpecIdEvent03(rec.data);
        encodePcrEvent(w, rec, declaredSize);
        yield w.finish();
        continue;
      }
    }
    if (agile) {
      encodePcrEvent2(w, rec);
    } else {
      if (rec.digests.length !== 1 || rec.digests[0]!.digest.length !== 20) {
        throw new MrstackError(
          'ERR_LOSSY_CONVERSION',
          `record ${e.index}: a SHA-1-layout log holds exactly one SHA-1 digest per record`,
        );
      }
      encodePcrEvent(w, rec);
    }
    yield w.finish();
  }
}
