/**
 * CEL in JSON encoding, and systemd's JSON-SEQ `tpm2-measure.log`: read and write.
 *
 * A record is an object `{"recnum", "pcr" | "nv_index" | "cc_mr", "digests": [{"hashAlg",
 * "digest"}], "content_type", "content"}` (member names and hex bytes as libcel writes them;
 * `cc_mr` is mrstack's name for Google's register type 108). A log is a JSON array of records,
 * a single record, or a sequence of records — RFC 7464 JSON text sequences (each text preceded
 * by the RS byte 0x1E, as systemd writes `tpm2-measure.log`) or one record per line. Records
 * without `recnum` (systemd's) are numbered in order. Parsing is strict: input that is not JSON
 * (trailing commas, comments) is `ERR_BAD_JSON`.
 *
 * @module
 */
import { ParseError } from '../../errors.js';
import { fromHex, toHex } from '../../bytes/hex.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import { hashAlgFromId, hashAlgId, hashInfo, lookupHashAlg } from '../../crypto/hash_alg.js';
import {
  CEL_MGT_TYPES,
  CEL_STATE_TRANS,
  CEL_TLV_TYPES,
  PCCLIENT_EVENT_TYPES,
  type CelContent,
  type CelDigest,
  type CelMgtEvent,
  type CelRecord,
  type CelRegister,
  type CelTlv,
} from './cel_record.js';

/** Options for reading CEL-JSON. */
export interface CelJsonOptions {
  readonly limits?: Partial<Limits>;
}

const RS = 0x1e;

/** Content-type names accepted in JSON (and the number each stands for). */
const CONTENT_TYPES: Readonly<Record<string, number>> = Object.freeze({
  cel: CEL_TLV_TYPES.celMgt,
  cel_mgt: CEL_TLV_TYPES.celMgt,
  pcclient_std: CEL_TLV_TYPES.pcclientStd,
  ima_template: CEL_TLV_TYPES.imaTemplate,
  ima_tlv: CEL_TLV_TYPES.imaTlv,
  cos: CEL_TLV_TYPES.cos,
});

class Ctx {
  readonly offset: number;
  readonly record: number;

  constructor(offset: number, record: number) {
    this.offset = offset;
    this.record = record;
  }

  err(field: string, expected: string, actual?: unknown): ParseError {
    return new ParseError({
      code: 'ERR_BAD_JSON',
      format: 'cel-json',
      offset: this.offset,
      record: this.record,
      field: `event[${this.record}].${field}`,
      expected,
      ...(actual === undefined ? {} : { actual: describe(actual) }),
    });
  }
}

function describe(v: unknown): string {
  const json = JSON.stringify(v) as string | undefined;
  const s = json ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function uint(c: Ctx, v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw c.err(field, `an integer 0..${max}`, v);
  }
  return v;
}

function hex(c: Ctx, v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) throw c.err(field, 'hex bytes', v);
  return fromHex(v);
}

function digestsFrom(c: Ctx, v: unknown): CelDigest[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw c.err('digests', 'an array', v);
  return v.map((d: unknown, i) => {
    const f = `digests[${i}]`;
    if (!isObject(d)) throw c.err(f, 'an object {hashAlg, digest}', d);
    const algName = d['hashAlg'];
    const alg = typeof algName === 'string' ? lookupHashAlg(algName) : undefined;
    if (alg === undefined) {
      throw new ParseError({
        code: 'ERR_UNKNOWN_ALGORITHM',
        format: 'cel-json',
        offset: c.offset,
        record: c.record,
        field: `event[${c.record}].${f}.hashAlg`,
        expected: 'sha1, sha256, sha384, sha512 or sm3',
        actual: describe(algName),
      });
    }
    const digest = hex(c, d['digest'], `${f}.digest`);
    if (digest.length !== hashInfo(alg).size) {
      throw c.err(
        `${f}.digest`,
        `${hashInfo(alg).size} bytes for ${alg}`,
        `${digest.length} bytes`,
      );
    }
    return { algId: hashAlgId(alg), digest };
  });
}

function registerFrom(c: Ctx, o: Record<string, unknown>): CelRegister {
  const present = (['pcr', 'nv_index', 'cc_mr'] as const).filter((k) => o[k] !== undefined);
  if (present.length !== 1) {
    throw c.err(
      'pcr',
      'exactly one of pcr, nv_index, cc_mr',
      present.length === 0 ? 'none' : present,
    );
  }
  const kind = present[0]!;
  return { kind, index: uint(c, o[kind], kind, kind === 'nv_index' ? 0xffffffff : 0xff) };
}

function mgtFrom(c: Ctx, v: unknown, field: string): CelMgtEvent {
  if (!isObject(v)) throw c.err(field, 'a management event object', v);
  const t = v['type'];
  const names = Object.keys(CEL_MGT_TYPES) as (keyof typeof CEL_MGT_TYPES)[];
  const name =
    typeof t === 'string'
      ? names.find((n) => n === t)
      : typeof t === 'number'
        ? names.find((n) => CEL_MGT_TYPES[n] === t)
        : undefined;
  if (name === undefined) {
    throw c.err(`${field}.type`, 'cel_version, firmware_end, cel_timestamp or state_trans', t);
  }
  const data = v['data'];
  switch (name) {
    case 'cel_version': {
      if (!isObject(data)) throw c.err(`${field}.data`, 'an object {major, minor}', data);
      return {
        type: 'cel_version',
        major: uint(c, data['major'], `${field}.data.major`, 0xffffffff),
        minor: uint(c, data['minor'], `${field}.data.minor`, 0xffffffff),
      };
    }
    case 'firmware_end':
      return { type: 'firmware_end' };
    case 'cel_timestamp':
      return {
        type: 'cel_timestamp',
        value: BigInt(uint(c, data, `${field}.data`, Number.MAX_SAFE_INTEGER)),
      };
    case 'state_trans': {
      const keys = Object.keys(CEL_STATE_TRANS) as (keyof typeof CEL_STATE_TRANS)[];
      const k = keys.find((x) => x === data);
      if (k === undefined) throw c.err(`${field}.data`, 'suspend, hibernate or kexec', data);
      return { type: 'state_trans', value: k };
    }
  }
}

function tlvListFrom(c: Ctx, v: unknown, field: string): CelTlv[] {
  const items = Array.isArray(v) ? v : [v];
  return items.map((x: unknown, i) => {
    if (!isObject(x)) throw c.err(`${field}[${i}]`, 'an object {type, data}', x);
    return {
      type: uint(c, x['type'], `${field}[${i}].type`, 0xff),
      value: hex(c, x['data'] ?? '', `${field}[${i}].data`),
    };
  });
}

function contentFrom(c: Ctx, ct: unknown, v: unknown): CelContent {
  if (ct === 'systemd') {
    if (!isObject(v)) throw c.err('content', 'an object', v);
    return { type: 'systemd', value: v };
  }
  const num = typeof ct === 'string' ? CONTENT_TYPES[ct] : typeof ct === 'number' ? ct : undefined;
  if (num === undefined || !Number.isInteger(num) || num < 0 || num > 0xff) {
    throw c.err(
      'content_type',
      'cel, pcclient_std, ima_template, ima_tlv, cos, systemd or 0..255',
      ct,
    );
  }
  switch (num) {
    case CEL_TLV_TYPES.celMgt: {
      const items = Array.isArray(v) ? v : [v];
      return {
        type: 'cel_mgt',
        events: items.map((x: unknown, i) => mgtFrom(c, x, `content[${i}]`)),
      };
    }
    case CEL_TLV_TYPES.pcclientStd: {
      if (!isObject(v)) throw c.err('content', 'an object {event_type, event_data}', v);
      const et = v['event_type'];
      const eventType =
        typeof et === 'string'
          ? PCCLIENT_EVENT_TYPES[et.toLowerCase()]
          : typeof et === 'number'
            ? et
            : undefined;
      if (eventType === undefined)
        throw c.err('content.event_type', 'an event type name or number', et);
      return {
        type: 'pcclient_std',
        eventType: uint(c, eventType, 'content.event_type', 0xffffffff),
        eventData: hex(c, v['event_data'], 'content.event_data'),
      };
    }
    case CEL_TLV_TYPES.imaTemplate: {
      if (!isObject(v)) throw c.err('content', 'an object {template_name, template_data}', v);
      const n = v['template_name'];
      if (typeof n !== 'string') throw c.err('content.template_name', 'a string', n);
      return {
        type: 'ima_template',
        templateName: n,
        templateData: hex(c, v['template_data'], 'content.template_data'),
      };
    }
    case CEL_TLV_TYPES.imaTlv:
      return { type: 'ima_tlv', fields: tlvListFrom(c, v, 'content') };
    case CEL_TLV_TYPES.cos:
      return { type: 'cos', events: tlvListFrom(c, v, 'content') };
    default:
      return { type: 'unknown', contentType: num, raw: hex(c, v, 'content') };
  }
}

/**
 * One record from its parsed JSON value.
 * @throws ParseError `ERR_BAD_JSON` (wrong shape), `ERR_UNKNOWN_ALGORITHM`
 */
export function celRecordFromJson(v: unknown, index: number, offset: number): CelRecord {
  const c = new Ctx(offset, index);
  if (!isObject(v)) throw c.err('record', 'an object', v);
  const recnum =
    v['recnum'] === undefined ? index : uint(c, v['recnum'], 'recnum', Number.MAX_SAFE_INTEGER);
  if (!('content_type' in v)) throw c.err('content_type', 'a content type');
  if (!('content' in v)) throw c.err('content', 'a content');
  return {
    index,
    offset,
    recnum,
    register: registerFrom(c, v),
    digests: digestsFrom(c, v['digests']),
    content: contentFrom(c, v['content_type'], v['content']),
  };
}

function parseText(text: string, offset: number, record: number): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ParseError({
      code: 'ERR_BAD_JSON',
      format: 'cel-json',
      offset,
      record,
      field: `event[${record}]`,
      expected: 'strict JSON',
      actual: cause instanceof Error ? cause.message : String(cause),
      cause,
    });
  }
}

/**
 * Parses CEL-JSON: an array of records, one record, a JSON text sequence (RS-separated, as
 * systemd writes), or one record per line.
 */
export function parseCelJson(input: string | Uint8Array, opts: CelJsonOptions = {}): CelRecord[] {
  const max = opts.limits?.maxWholeFile ?? DEFAULT_LIMITS.maxWholeFile;
  if (input.length > max) {
    throw new ParseError({
      code: 'ERR_LENGTH_LIMIT',
      format: 'cel-json',
      offset: 0,
      field: 'input',
      expected: `<= ${max} bytes`,
      actual: String(input.length),
    });
  }
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch (cause) {
      throw new ParseError({
        code: 'ERR_BAD_ENCODING',
        format: 'cel-json',
        offset: 0,
        field: 'input',
        expected: 'UTF-8 text',
        cause,
      });
    }
  }
  // Offsets below count characters, which equal bytes for ASCII input.
  const pieces: { text: string; offset: number }[] = [];
  if (text.charCodeAt(text.search(/\S/)) === RS) {
    let at = 0;
    for (const part of text.split('\x1e')) {
      if (part.trim() !== '') pieces.push({ text: part, offset: at });
      at += part.length + 1;
    }
  } else {
    const trimmed = text.trim();
    if (trimmed === '') return [];
    let whole: unknown;
    let ok = true;
    try {
      whole = JSON.parse(text) as unknown;
    } catch {
      ok = false;
    }
    if (ok) {
      const items = Array.isArray(whole) ? whole : [whole];
      return items.map((v: unknown, i) => celRecordFromJson(v, i, 0));
    }
    // Not one JSON text: one record per line, or (if that fails too) a JSON error.
    if (!trimmed.startsWith('{') || !trimmed.includes('\n')) parseText(text, 0, 0);
    let at = 0;
    for (const line of text.split('\n')) {
      if (line.trim() !== '') pieces.push({ text: line, offset: at });
      at += line.length + 1;
    }
  }
  return pieces.map((p, i) => celRecordFromJson(parseText(p.text, p.offset, i), i, p.offset));
}

function contentToJson(c: CelContent): { content_type: string | number; content: unknown } {
  switch (c.type) {
    case 'cel_mgt': {
      const ev = c.events.map((e) => {
        switch (e.type) {
          case 'cel_version':
            return { type: e.type, data: { major: e.major, minor: e.minor } };
          case 'firmware_end':
            return { type: e.type };
          case 'cel_timestamp':
            return { type: e.type, data: Number(e.value) };
          case 'state_trans':
            return { type: e.type, data: e.value };
        }
      });
      return { content_type: 'cel', content: ev.length === 1 ? ev[0] : ev };
    }
    case 'pcclient_std':
      return {
        content_type: 'pcclient_std',
        content: { event_type: c.eventType, event_data: toHex(c.eventData) },
      };
    case 'ima_template':
      return {
        content_type: 'ima_template',
        content: { template_name: c.templateName, template_data: toHex(c.templateData) },
      };
    case 'ima_tlv':
      return {
        content_type: 'ima_tlv',
        content: c.fields.map((f) => ({ type: f.type, data: toHex(f.value) })),
      };
    case 'cos':
      return {
        content_type: 'cos',
        content: c.events.map((f) => ({ type: f.type, data: toHex(f.value) })),
      };
    case 'systemd':
      return { content_type: 'systemd', content: c.value };
    case 'unknown':
      return { content_type: c.contentType, content: toHex(c.raw) };
  }
}

/** A record as its JSON value. */
export function celRecordToJson(r: CelRecord): Record<string, unknown> {
  return {
    recnum: r.recnum,
    [r.register.kind]: r.register.index,
    digests: r.digests.map((d) => ({
      hashAlg: hashAlgFromId(d.algId) ?? `0x${d.algId.toString(16)}`,
      digest: toHex(d.digest),
    })),
    ...contentToJson(r.content),
  };
}

/** A whole log as a JSON array (one record per line). */
export function encodeCelJson(records: Iterable<CelRecord>): string {
  const lines = [...records].map((r) => `  ${JSON.stringify(celRecordToJson(r))}`);
  return lines.length === 0 ? '[]\n' : `[\n${lines.join(',\n')}\n]\n`;
}

/** A whole log as an RFC 7464 JSON text sequence (RS, record, LF), as systemd writes. */
export function encodeCelJsonSeq(records: Iterable<CelRecord>): string {
  let s = '';
  for (const r of records) s += `\x1e${JSON.stringify(celRecordToJson(r))}\n`;
  return s;
}
