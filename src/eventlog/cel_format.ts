/**
 * The `cel-tlv` and `cel-json` log formats (TCG Canonical Event Log; see `formats/cel/`).
 * Each record becomes a `cel` event of its register (`pcr<N>`; Google's CC MR handles as
 * `mrtd`/`rtmr<N>`; NV indexes are shown but not replayed) with its digests per bank.
 *
 * Replay rules carried over from the content types: a `pcclient_std` EV_NO_ACTION record is not
 * extended (as in PC Client logs); an `ima_template` record whose digest is all zeros is an IMA
 * violation and extends all ones (the rules live in `formats/cel/cel_replay.ts`, shared with
 * `replayCel`). Digest checks: COS content (type 80) and systemd records (see
 * `formats/cel/cel_replay.ts`).
 *
 * Replay also applies the PC Client starting values a `pcclient_std` record on PCR0 carries, as
 * in a TCG log: EV_NO_ACTION `StartupLocality` L starts PCR0 at 00…0L, EV_EFI_HCRTM_EVENT at
 * 00…04 (PC Client PFP §10.4.5.3), in the record's banks.
 *
 * Conversions: CEL-TLV ⇄ CEL-JSON (systemd records have no TLV form and are refused), IMA →
 * CEL (`ima_template`), TCG/CCEL → CEL (`pcclient_std`, StartupLocality and H-CRTM included;
 * only the Spec ID size quirk is refused), CEL → TCG/CCEL (`pcclient_std` records; in
 * `tcg2_stream.ts`).
 *
 * @module
 */
import { hashEquals } from '../crypto/hash.js';
import { hashAlgId } from '../crypto/hash_alg.js';
import { ParseError } from '../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import {
  celRegisterName,
  type CelDigest,
  type CelRecord,
  type CelRegister,
} from '../formats/cel/cel_record.js';
import { CelTlvReader, encodeCelTlvRecord } from '../formats/cel/cel_tlv.js';
import { celRecordToJson, parseCelJson } from '../formats/cel/cel_json.js';
import {
  celMeasuredBytes,
  celRecordDigests,
  celRecordExtends,
  celReplayedRegister,
  celStartValues,
} from '../formats/cel/cel_replay.js';
import { imaEntryDetails } from '../formats/ima/ima_template.js';
import type { AnyIterable, EventBase, LogEvent } from './event.js';
import type { DigestCheck, LogFormat, LogParseOptions } from './log_format.js';

/** A CEL record as an event. */
export interface CelEvent extends EventBase {
  readonly kind: 'cel';
  readonly record: CelRecord;
}

declare module './event.js' {
  interface EventKindMap {
    cel: CelEvent;
  }
}

function toEvent(r: CelRecord, logName: string, format: string, length: number): CelEvent {
  const digests = celRecordDigests(r);
  const replayed = celReplayedRegister(r);
  // NV-index records keep their name for display; they are never extended.
  const register =
    replayed ?? (r.register.kind === 'nv_index' ? celRegisterName(r.register) : undefined);
  const start = replayed === undefined ? undefined : celStartValues(r, digests.keys());
  return {
    kind: 'cel',
    index: r.index,
    register,
    digests,
    extend: celRecordExtends(r) && digests.size > 0,
    ...(start === undefined ? {} : { anchor: { kind: 'reset' as const, values: start } }),
    source: { log: logName, format, offset: r.offset, length },
    record: r,
  };
}

async function* parseTlv(
  input: AnyIterable<Uint8Array>,
  opts: LogParseOptions,
): AsyncIterable<LogEvent> {
  const logName = opts.logName ?? '-';
  const rd = new CelTlvReader(opts.limits === undefined ? {} : { limits: opts.limits });
  for await (const chunk of input) {
    for (const r of rd.push(chunk)) yield toEvent(r, logName, 'cel-tlv', 0);
  }
  rd.end();
}

async function* parseJson(
  input: AnyIterable<Uint8Array>,
  opts: LogParseOptions,
): AsyncIterable<LogEvent> {
  const logName = opts.logName ?? '-';
  const max = opts.limits?.maxWholeFile ?? DEFAULT_LIMITS.maxWholeFile;
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of input) {
    size += chunk.length;
    if (size > max) {
      throw new ParseError({
        code: 'ERR_LENGTH_LIMIT',
        format: 'cel-json',
        offset: size,
        field: 'input',
        expected: `<= ${max} bytes`,
        actual: `more than ${max} bytes`,
      });
    }
    parts.push(new Uint8Array(chunk));
  }
  const buf = new Uint8Array(size);
  let p = 0;
  for (const c of parts) {
    buf.set(c, p);
    p += c.length;
  }
  for (const r of parseCelJson(buf, opts.limits === undefined ? {} : { limits: opts.limits })) {
    yield toEvent(r, logName, 'cel-json', 0);
  }
}

function lossy(e: LogEvent, target: string, expected: string): ParseError {
  return new ParseError({
    code: 'ERR_LOSSY_CONVERSION',
    format: target === 'cel-json' ? 'cel-json' : 'cel-tlv',
    offset: e.source.offset,
    field: `event[${e.index}]`,
    expected,
    actual: `a ${e.kind} event from ${e.source.format}`,
  });
}

/** A CEL record for an event of a format CEL can carry losslessly. */
export function celRecordOfEvent(e: LogEvent, target: string): CelRecord {
  if (e.kind === 'cel') return e.record;
  if (e.kind === 'ima') {
    return {
      index: e.index,
      offset: e.source.offset,
      recnum: e.index,
      register: { kind: 'pcr', index: e.entry.pcr },
      digests: [{ algId: hashAlgId(e.bank), digest: e.entry.templateHash }],
      content: {
        type: 'ima_template',
        templateName: e.entry.templateName,
        // CEL carries template data in the canonical (little-endian) layout.
        templateData: e.entry.littleEndian ? e.entry.templateData : leTemplateData(e),
      },
    };
  }
  if (e.kind === 'tcg2') {
    // StartupLocality and H-CRTM records keep their meaning: CEL replay applies the same
    // PC Client starting values (pcclientAnchor). The Spec ID size quirk has no CEL form.
    if (e.declaredSize !== undefined) {
      throw lossy(e, target, 'records without the Spec ID size quirk');
    }
    const register: CelRegister =
      e.source.format === 'ccel'
        ? { kind: 'cc_mr', index: e.mrIndex }
        : { kind: 'pcr', index: e.mrIndex };
    const digests: CelDigest[] = e.digestList.map((d) => ({ algId: d.algId, digest: d.digest }));
    return {
      index: e.index,
      offset: e.source.offset,
      recnum: e.index,
      register,
      digests,
      content: { type: 'pcclient_std', eventType: e.untrustedType, eventData: e.data },
    };
  }
  throw lossy(e, target, 'CEL, IMA, TCG or CCEL events');
}

function leTemplateData(e: Extract<LogEvent, { kind: 'ima' }>): Uint8Array {
  const out = new Uint8Array(e.entry.templateData);
  const v = new DataView(out.buffer);
  if (e.entry.templateName === 'ima') {
    v.setUint32(20, v.getUint32(20, false), true);
    return out;
  }
  let p = 0;
  while (p + 4 <= out.length) {
    const len = v.getUint32(p, false);
    v.setUint32(p, len, true);
    p += 4 + len;
  }
  return out;
}

function checkCelDigest(e: LogEvent): DigestCheck {
  if (e.kind !== 'cel') return 'n/a';
  const measured = celMeasuredBytes(e.record);
  if (measured === undefined) return 'n/a';
  for (const [alg, d] of e.digests) if (!hashEquals(alg, measured, d)) return 'mismatch';
  return 'match';
}

function describeCel(e: LogEvent): Record<string, unknown> {
  if (e.kind !== 'cel') return {};
  const json = celRecordToJson(e.record);
  const out: Record<string, unknown> = {
    recnum: e.record.recnum,
    content_type: json['content_type'],
    content: json['content'],
  };
  const c = e.record.content;
  if (c.type === 'ima_template') {
    try {
      Object.assign(
        out,
        imaEntryDetails({
          index: e.index,
          offset: e.source.offset,
          pcr: e.record.register.index,
          templateHash: new Uint8Array(0),
          templateName: c.templateName,
          templateData: c.templateData,
          littleEndian: true,
        }),
      );
    } catch {
      // Not a well-formed IMA template: shown as hex only.
    }
  }
  return out;
}

function celTypeName(e: LogEvent): string | undefined {
  if (e.kind !== 'cel') return undefined;
  const c = e.record.content;
  return c.type === 'unknown' ? `content_type ${c.contentType}` : c.type;
}

/** The `cel-tlv` format. */
export const celTlvFormat: LogFormat = {
  id: 'cel-tlv',
  description: 'TCG Canonical Event Log, TLV encoding (incl. Google CC MR / COS records)',
  detect(head: Uint8Array): number {
    // recnum TLV (type 0, length 1..8), then a register TLV (1, 2 or 108).
    if (head.length < 10 || head[0] !== 0) return 0;
    const len = ((head[1]! << 24) | (head[2]! << 16) | (head[3]! << 8) | head[4]!) >>> 0;
    if (len < 1 || len > 8 || head.length < 5 + len + 1) return 0;
    const t = head[5 + len]!;
    return t === 1 || t === 2 || t === 108 ? 70 : 0;
  },
  parse(input: AnyIterable<Uint8Array>, opts: LogParseOptions = {}): AsyncIterable<LogEvent> {
    return parseTlv(input, opts);
  },
  async *encode(events: AnyIterable<LogEvent>): AsyncIterable<Uint8Array> {
    for await (const e of events) yield encodeCelTlvRecord(celRecordOfEvent(e, 'cel-tlv'));
  },
  describe: describeCel,
  checkDigest: checkCelDigest,
  typeName: celTypeName,
};

/** The `cel-json` format (also JSON-SEQ, systemd's `tpm2-measure.log`). */
export const celJsonFormat: LogFormat = {
  id: 'cel-json',
  description: 'TCG Canonical Event Log, JSON encoding (arrays, JSON-SEQ as systemd writes)',
  detect(head: Uint8Array): number {
    const text = new TextDecoder('latin1').decode(head.subarray(0, 4096));
    const first = text.search(/[^\s]/);
    if (first < 0) return 0;
    const c = text[first];
    if (c !== '[' && c !== '{' && c !== '\x1e') return 0;
    return text.includes('"content_type"') ? 85 : 0;
  },
  parse(input: AnyIterable<Uint8Array>, opts: LogParseOptions = {}): AsyncIterable<LogEvent> {
    return parseJson(input, opts);
  },
  async *encode(events: AnyIterable<LogEvent>): AsyncIterable<Uint8Array> {
    const enc = new TextEncoder();
    let first = true;
    for await (const e of events) {
      const line = JSON.stringify(celRecordToJson(celRecordOfEvent(e, 'cel-json')));
      yield enc.encode(`${first ? '[\n' : ',\n'}  ${line}`);
      first = false;
    }
    yield enc.encode(first ? '[]\n' : '\n]\n');
  },
  describe: describeCel,
  checkDigest: checkCelDigest,
  typeName: celTypeName,
};
