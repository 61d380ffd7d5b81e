/**
 * CEL in TLV encoding: read and write.
 *
 * Every field is a TLV: 1-byte type, 4-byte big-endian length, value. A record is the sequence
 * recnum (type 0) · register handle (1 PCR, 2 NV index, 108 CC MR) · digests (3; its value a list
 * of TLVs typed by TPM_ALG_ID, possibly empty) · content (typed by the content type). The next
 * record starts with the next recnum TLV. All four are required, as go-eventlog requires them.
 *
 * @module
 */
import { ParseError } from '../../errors.js';
import { ByteReader } from '../../bytes/reader.js';
import { ByteWriter } from '../../bytes/writer.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import {
  RecordReader,
  readAllRecords,
  streamRecords,
  type TailDescription,
} from '../stream/record_reader.js';
import {
  CEL_IMA_TEMPLATE_FIELDS,
  CEL_MGT_TYPES,
  CEL_PCCLIENT_FIELDS,
  CEL_STATE_TRANS,
  CEL_TLV_TYPES,
  CEL_VERSION_FIELDS,
  type CelContent,
  type CelDigest,
  type CelMgtEvent,
  type CelRecord,
  type CelRegister,
  type CelTlv,
} from './cel_record.js';

/** Options for reading CEL-TLV. */
export interface CelTlvOptions {
  readonly limits?: Partial<Limits>;
  /** As for IMA: `error` (default) or `stop` at a record cut short. */
  readonly partialTail?: 'error' | 'stop';
}

const TLV_HEADER = 5;

function readTlv(r: ByteReader, field: string, limit: number): CelTlv {
  const type = r.u8(`${field}.type`);
  const len = r.u32be(`${field}.length`);
  r.checkLength(len, `${field}.value`, limit);
  return { type, value: r.bytes(len, `${field}.value`) };
}

function readUint(value: Uint8Array, r: ByteReader, at: number, field: string, max = 8): bigint {
  if (value.length === 0 || value.length > max) {
    throw r.errorAt(at, 'ERR_BAD_VALUE', field, {
      expected: `1..${max} bytes`,
      actual: `${value.length} bytes`,
    });
  }
  let v = 0n;
  for (const b of value) v = (v << 8n) | BigInt(b);
  return v;
}

function nestedTlvs(value: Uint8Array, origin: number, field: string, record: number): CelTlv[] {
  const r = new ByteReader(value, { format: 'cel-tlv', origin, record });
  const out: CelTlv[] = [];
  while (r.remaining > 0) out.push(readTlv(r, `${field}[${out.length}]`, value.length));
  return out;
}

/** Decodes a content TLV value by its content type. */
export function decodeCelContent(
  contentType: number,
  value: Uint8Array,
  origin: number,
  record: number,
): CelContent {
  const f = `event[${record}].content`;
  const r = new ByteReader(value, { format: 'cel-tlv', origin, record });
  const dec = (): CelTlv[] => nestedTlvs(value, origin, f, record);
  switch (contentType) {
    case CEL_TLV_TYPES.pcclientStd: {
      const items = dec();
      const t = items.find((x) => x.type === CEL_PCCLIENT_FIELDS.event_type);
      const d = items.find((x) => x.type === CEL_PCCLIENT_FIELDS.event_data);
      if (t === undefined || d === undefined || items.length !== 2) {
        throw r.error('ERR_BAD_VALUE', `${f}.pcclient_std`, {
          expected: 'event_type (0) and event_data (1)',
        });
      }
      const eventType = Number(readUint(t.value, r, origin, `${f}.event_type`, 4));
      return { type: 'pcclient_std', eventType, eventData: d.value, raw: value };
    }
    case CEL_TLV_TYPES.imaTemplate: {
      const items = dec();
      const n = items.find((x) => x.type === CEL_IMA_TEMPLATE_FIELDS.template_name);
      const d = items.find((x) => x.type === CEL_IMA_TEMPLATE_FIELDS.template_data);
      if (n === undefined || d === undefined || items.length !== 2) {
        throw r.error('ERR_BAD_VALUE', `${f}.ima_template`, {
          expected: 'template_name (0) and template_data (1)',
        });
      }
      const nr = new ByteReader(n.value, { format: 'cel-tlv', origin, record });
      return {
        type: 'ima_template',
        templateName: nr.utf8(n.value.length, `${f}.template_name`),
        templateData: d.value,
        raw: value,
      };
    }
    case CEL_TLV_TYPES.celMgt: {
      const events: CelMgtEvent[] = [];
      for (const t of dec()) events.push(decodeMgt(t, r, origin, `${f}.cel_mgt`, record));
      return { type: 'cel_mgt', events, raw: value };
    }
    case CEL_TLV_TYPES.imaTlv:
      return { type: 'ima_tlv', fields: dec(), raw: value };
    case CEL_TLV_TYPES.cos:
      return { type: 'cos', events: dec(), raw: value };
    default:
      return { type: 'unknown', contentType, raw: value };
  }
}

function decodeMgt(t: CelTlv, r: ByteReader, at: number, f: string, record: number): CelMgtEvent {
  switch (t.type) {
    case CEL_MGT_TYPES.cel_version: {
      const items = nestedTlvs(t.value, at, `${f}.cel_version`, record);
      const ma = items.find((x) => x.type === CEL_VERSION_FIELDS.major);
      const mi = items.find((x) => x.type === CEL_VERSION_FIELDS.minor);
      if (ma === undefined || mi === undefined) {
        throw r.errorAt(at, 'ERR_BAD_VALUE', `${f}.cel_version`, { expected: 'major and minor' });
      }
      return {
        type: 'cel_version',
        major: Number(readUint(ma.value, r, at, `${f}.cel_version.major`, 4)),
        minor: Number(readUint(mi.value, r, at, `${f}.cel_version.minor`, 4)),
      };
    }
    case CEL_MGT_TYPES.firmware_end:
      return { type: 'firmware_end' };
    case CEL_MGT_TYPES.cel_timestamp:
      return { type: 'cel_timestamp', value: readUint(t.value, r, at, `${f}.cel_timestamp`) };
    case CEL_MGT_TYPES.state_trans: {
      const v = Number(readUint(t.value, r, at, `${f}.state_trans`, 1));
      const name = (Object.keys(CEL_STATE_TRANS) as (keyof typeof CEL_STATE_TRANS)[]).find(
        (k) => CEL_STATE_TRANS[k] === v,
      );
      if (name === undefined) {
        throw r.errorAt(at, 'ERR_BAD_VALUE', `${f}.state_trans`, {
          expected: 'suspend (0), hibernate (1) or kexec (2)',
          actual: String(v),
        });
      }
      return { type: 'state_trans', value: name };
    }
    default:
      throw r.errorAt(at, 'ERR_BAD_VALUE', `${f}.type`, {
        expected: 'cel_version (1), firmware_end (2), cel_timestamp (80) or state_trans (81)',
        actual: String(t.type),
      });
  }
}

/**
 * Reads one record at the reader's position.
 * @throws ParseError (`ERR_TRUNCATED` with `incomplete` when the input ends inside it)
 */
export function readCelTlvRecord(r: ByteReader, index: number, maxRecordSize: number): CelRecord {
  const offset = r.offset;
  const f = `event[${index}]`;
  const recAt = r.offset;
  const rec = readTlv(r, `${f}.recnum`, 8);
  if (rec.type !== CEL_TLV_TYPES.recnum) {
    throw r.errorAt(recAt, 'ERR_BAD_VALUE', `${f}.recnum.type`, {
      expected: '0 (recnum)',
      actual: String(rec.type),
    });
  }
  const recnum = readUint(rec.value, r, recAt, `${f}.recnum`);
  if (recnum > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw r.errorAt(recAt, 'ERR_BAD_VALUE', `${f}.recnum`, {
      expected: `<= ${Number.MAX_SAFE_INTEGER}`,
      actual: recnum.toString(),
    });
  }
  const regAt = r.offset;
  const reg = readTlv(r, `${f}.register`, 8);
  const kind =
    reg.type === CEL_TLV_TYPES.pcr
      ? 'pcr'
      : reg.type === CEL_TLV_TYPES.nvIndex
        ? 'nv_index'
        : reg.type === CEL_TLV_TYPES.ccMr
          ? 'cc_mr'
          : undefined;
  if (kind === undefined) {
    throw r.errorAt(regAt, 'ERR_BAD_VALUE', `${f}.register.type`, {
      expected: '1 (pcr), 2 (nv_index) or 108 (cc_mr)',
      actual: String(reg.type),
    });
  }
  const register: CelRegister = {
    kind,
    index: Number(readUint(reg.value, r, regAt, `${f}.register`, 4)),
    size: reg.value.length,
  };
  const digests: CelDigest[] = [];
  const dAt = r.offset;
  const dt = readTlv(r, `${f}.digests`, maxRecordSize);
  if (dt.type !== CEL_TLV_TYPES.digests) {
    throw r.errorAt(dAt, 'ERR_BAD_VALUE', `${f}.digests.type`, {
      expected: '3 (digests)',
      actual: String(dt.type),
    });
  }
  const dr = new ByteReader(dt.value, {
    format: 'cel-tlv',
    origin: dAt + TLV_HEADER,
    record: index,
  });
  while (dr.remaining > 0) {
    const d = readTlv(dr, `${f}.digests[${digests.length}]`, 64);
    digests.push({ algId: d.type, digest: d.value });
  }
  const contentAt = r.offset;
  const content = readTlv(r, `${f}.content`, maxRecordSize);
  if (content.type === CEL_TLV_TYPES.recnum) {
    throw r.errorAt(contentAt, 'ERR_BAD_VALUE', `${f}.content.type`, {
      expected: 'a content type',
      actual: '0 (recnum)',
    });
  }
  return {
    index,
    offset,
    recnum: Number(recnum),
    recnumSize: rec.value.length,
    register,
    digests,
    content: decodeCelContent(content.type, content.value, contentAt + TLV_HEADER, index),
  };
}

/** Incremental reader: feed chunks, take records (memory bounded by one record). */
export class CelTlvReader extends RecordReader<CelRecord> {
  readonly #maxRecord: number;

  constructor(opts: CelTlvOptions = {}) {
    super('cel-tlv', opts.partialTail);
    this.#maxRecord = opts.limits?.maxRecordSize ?? DEFAULT_LIMITS.maxRecordSize;
  }

  protected override readRecord(r: ByteReader, index: number): CelRecord {
    return readCelTlvRecord(r, index, this.#maxRecord);
  }

  // Only an end of input at the outer level is "more bytes needed"; a nested structure that
  // ends early is corruption (its length was given).
  protected override waitsForMore(buf: Uint8Array, pos: number): boolean {
    return isOuterTruncation(buf, pos);
  }

  protected override describeTail(
    tail: Uint8Array,
    origin: number,
    index: number,
  ): TailDescription {
    let field = `event[${index}]`;
    try {
      readCelTlvRecord(new ByteReader(tail, { format: 'cel-tlv', origin }), index, this.#maxRecord);
    } catch (e) {
      if (e instanceof ParseError) field = e.field;
    }
    return { field, expected: 'a complete record', actual: `${tail.length} bytes` };
  }
}

/**
 * True when the record starting at `start` runs past the end of `buf` at the outer level: its
 * top-level TLV headers and lengths are consistent but the bytes end.
 */
function isOuterTruncation(buf: Uint8Array, start: number): boolean {
  let p = start;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // recnum, register, digests, content.
  for (let i = 0; i < 4; i++) {
    if (p + TLV_HEADER > buf.length) return true;
    const len = v.getUint32(p + 1, false);
    if (p + TLV_HEADER + len > buf.length) return true;
    p += TLV_HEADER + len;
  }
  return false;
}

/** Parses a whole CEL-TLV log held in memory. */
export function parseCelTlv(buf: Uint8Array, opts: CelTlvOptions = {}): CelRecord[] {
  return readAllRecords(new CelTlvReader(opts), buf);
}

/** Reads records from a stream of chunks. */
export async function* readCelTlvStream(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: CelTlvOptions = {},
): AsyncGenerator<CelRecord, void, undefined> {
  yield* streamRecords(new CelTlvReader(opts), chunks);
}

function tlv(w: ByteWriter, type: number, value: Uint8Array): void {
  w.u8(type).u32be(value.length).bytes(value);
}

function uintBytes(v: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = v;
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function tlvBytes(items: readonly CelTlv[]): Uint8Array {
  const w = new ByteWriter();
  for (const t of items) tlv(w, t.type, t.value);
  return w.finish();
}

/**
 * The TLV value of a content (its `raw` bytes when it was read from TLV).
 * @throws ParseError `ERR_LOSSY_CONVERSION` for systemd content, which has no TLV form
 */
export function encodeCelContentValue(c: CelContent): Uint8Array {
  if (c.type === 'unknown') return c.raw;
  if (c.type !== 'systemd' && c.raw !== undefined) return c.raw;
  switch (c.type) {
    case 'pcclient_std':
      return tlvBytes([
        { type: CEL_PCCLIENT_FIELDS.event_type, value: uintBytes(BigInt(c.eventType), 4) },
        { type: CEL_PCCLIENT_FIELDS.event_data, value: c.eventData },
      ]);
    case 'ima_template':
      return tlvBytes([
        {
          type: CEL_IMA_TEMPLATE_FIELDS.template_name,
          value: new TextEncoder().encode(c.templateName),
        },
        { type: CEL_IMA_TEMPLATE_FIELDS.template_data, value: c.templateData },
      ]);
    case 'cel_mgt':
      return tlvBytes(c.events.map(encodeMgt));
    case 'ima_tlv':
      return tlvBytes(c.fields);
    case 'cos':
      return tlvBytes(c.events);
    case 'systemd':
      throw new ParseError({
        code: 'ERR_LOSSY_CONVERSION',
        format: 'cel-tlv',
        offset: 0,
        field: 'content_type',
        expected: 'a content type with a TLV encoding',
        actual: 'systemd',
      });
  }
}

function encodeMgt(e: CelMgtEvent): CelTlv {
  switch (e.type) {
    case 'cel_version':
      return {
        type: CEL_MGT_TYPES.cel_version,
        value: tlvBytes([
          { type: CEL_VERSION_FIELDS.major, value: uintBytes(BigInt(e.major), 4) },
          { type: CEL_VERSION_FIELDS.minor, value: uintBytes(BigInt(e.minor), 4) },
        ]),
      };
    case 'firmware_end':
      return { type: CEL_MGT_TYPES.firmware_end, value: new Uint8Array(0) };
    case 'cel_timestamp':
      return { type: CEL_MGT_TYPES.cel_timestamp, value: uintBytes(e.value, 8) };
    case 'state_trans':
      return {
        type: CEL_MGT_TYPES.state_trans,
        value: uintBytes(BigInt(CEL_STATE_TRANS[e.value]), 1),
      };
  }
}

/** The content TLV (header and value) of a record: what Google's COS digests cover. */
export function encodeCelContentTlv(c: CelContent, contentType: number): Uint8Array {
  const w = new ByteWriter();
  tlv(w, contentType, encodeCelContentValue(c));
  return w.finish();
}

/** The register-handle TLV type of a register. */
function registerType(r: CelRegister): number {
  return r.kind === 'pcr'
    ? CEL_TLV_TYPES.pcr
    : r.kind === 'nv_index'
      ? CEL_TLV_TYPES.nvIndex
      : CEL_TLV_TYPES.ccMr;
}

/**
 * Encodes one record. Widths read from TLV are kept; new records get an 8-byte recnum and a
 * 1-byte register index (4 bytes for NV indexes), as go-eventlog writes them.
 * @throws ParseError `ERR_LOSSY_CONVERSION` for content without a TLV form (systemd)
 */
export function encodeCelTlvRecord(rec: CelRecord): Uint8Array {
  const contentType =
    rec.content.type === 'unknown'
      ? rec.content.contentType
      : (
          {
            cel_mgt: CEL_TLV_TYPES.celMgt,
            pcclient_std: CEL_TLV_TYPES.pcclientStd,
            ima_template: CEL_TLV_TYPES.imaTemplate,
            ima_tlv: CEL_TLV_TYPES.imaTlv,
            cos: CEL_TLV_TYPES.cos,
            systemd: -1,
          } as const
        )[rec.content.type];
  const value = encodeCelContentValue(rec.content);
  const w = new ByteWriter(64 + value.length);
  tlv(w, CEL_TLV_TYPES.recnum, uintBytes(BigInt(rec.recnum), rec.recnumSize ?? 8));
  const regSize =
    rec.register.size ?? (rec.register.kind === 'nv_index' || rec.register.index > 0xff ? 4 : 1);
  tlv(w, registerType(rec.register), uintBytes(BigInt(rec.register.index), regSize));
  const dw = new ByteWriter();
  for (const d of rec.digests) tlv(dw, d.algId, d.digest);
  tlv(w, CEL_TLV_TYPES.digests, dw.finish());
  tlv(w, contentType, value);
  return w.finish();
}

/** Encodes a whole log. */
export function encodeCelTlv(records: Iterable<CelRecord>): Uint8Array {
  const w = new ByteWriter();
  for (const r of records) w.bytes(encodeCelTlvRecord(r));
  return w.finish();
}
