/**
 * IMA `binary_runtime_measurements` (and the per-bank `…_<alg>` lists): read and write.
 *
 * Record layout (kernel `ima_measurements_show`): u32 PCR, the template hash (20 bytes in the
 * default list, the bank's digest size in `binary_runtime_measurements_<alg>`), u32 template
 * name length, the name, then — for every template except the legacy `ima` — u32 template-data
 * length and the data; for `ima`, a 20-byte digest, u32 name length and the name without NUL.
 * Integers are in the host's byte order, or little-endian when the kernel runs with
 * `ima_canonical_fmt`; {@link detectImaBinaryLayout} tells the two apart from the first record.
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
import { hashInfo, type HashAlg } from '../../crypto/hash_alg.js';
import {
  IMA_LEGACY_DIGEST_SIZE,
  IMA_LEGACY_NAME_MAX,
  IMA_TEMPLATE_NAME_MAX,
  type ImaEntry,
} from './ima_template.js';

/** How a binary list is laid out: template-hash size and byte order. */
export interface ImaBinaryLayout {
  /** The bank of the template-hash column (`sha1` for the default list). */
  readonly bank: HashAlg;
  readonly littleEndian: boolean;
}

/** Options for reading a binary list. */
export interface ImaBinaryOptions {
  /** Bank of the template-hash column; detected from the first record when absent. */
  readonly bank?: HashAlg;
  /** Byte order; detected from the first record when absent. */
  readonly littleEndian?: boolean;
  readonly limits?: Partial<Limits>;
  /**
   * A final record cut short: `error` (default) throws `ERR_TRUNCATED` with the number of
   * complete records; `stop` ends the list before it (see {@link ImaBinaryReader.partialTail}).
   */
  readonly partialTail?: 'error' | 'stop';
}

const CANDIDATE_BANKS: readonly HashAlg[] = ['sha1', 'sha256', 'sha384', 'sha512'];
const TEMPLATE_NAME_RE = /^[\x21-\x7e]+$/;

function plausibleAt(buf: Uint8Array, size: number, le: boolean): 'yes' | 'no' | 'short' {
  if (buf.length < 4) return 'short';
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const pcr = v.getUint32(0, le);
  if (pcr > 0xffff) return 'no';
  if (buf.length < 4 + size + 4) return 'short';
  const nameLen = v.getUint32(4 + size, le);
  if (nameLen === 0 || nameLen > IMA_TEMPLATE_NAME_MAX) return 'no';
  const have = Math.min(nameLen, buf.length - 8 - size);
  const name = new TextDecoder('latin1').decode(buf.subarray(8 + size, 8 + size + have));
  if (have > 0 && !TEMPLATE_NAME_RE.test(name)) return 'no';
  return have < nameLen ? 'short' : 'yes';
}

/**
 * Works out the template-hash size and byte order from the start of a binary list: the one
 * combination where the PCR is small and a printable template name follows the hash.
 * @throws ParseError `ERR_BAD_MAGIC` when no combination fits
 */
export function detectImaBinaryLayout(
  head: Uint8Array,
  hint: { bank?: HashAlg; littleEndian?: boolean } = {},
): ImaBinaryLayout {
  const banks = hint.bank !== undefined ? [hint.bank] : CANDIDATE_BANKS;
  const orders = hint.littleEndian !== undefined ? [hint.littleEndian] : [true, false];
  let short = false;
  for (const le of orders) {
    for (const bank of banks) {
      const p = plausibleAt(head, hashInfo(bank).size, le);
      if (p === 'yes') return { bank, littleEndian: le };
      if (p === 'short') short = true;
    }
  }
  // Too short to decide: report truncation (more bytes could make it valid).
  if (short) {
    throw new ParseError({
      code: 'ERR_TRUNCATED',
      format: 'ima-binary',
      offset: head.length,
      field: 'event[0]',
      expected: 'a complete first record',
      actual: `${head.length} bytes`,
      record: 0,
      incomplete: true,
      completeRecords: 0,
    });
  }
  throw new ParseError({
    code: 'ERR_BAD_MAGIC',
    format: 'ima-binary',
    offset: 0,
    field: 'event[0]',
    expected: 'u32 PCR, template hash, template name length and a printable template name',
    record: 0,
  });
}

/**
 * Reads one record at the reader's position.
 * @throws ParseError (`ERR_TRUNCATED` with `incomplete` when the bytes end inside it), its field
 * named `event[<index>].<field>`
 */
export function readImaBinaryRecord(
  r: ByteReader,
  index: number,
  layout: ImaBinaryLayout,
  maxRecordSize: number,
  names: TemplateNameCache = new TemplateNameCache(),
): ImaEntry {
  try {
    return readRecord(r, index, layout, maxRecordSize, names);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    // Field names are built only here, on failure: the hot path stays free of string work.
    throw new ParseError({
      code: e.code,
      format: e.format,
      offset: e.offset,
      field: `event[${index}].${e.field}`,
      ...(e.expected === undefined ? {} : { expected: e.expected }),
      ...(e.actual === undefined ? {} : { actual: e.actual }),
      record: index,
      ...(e.incomplete ? { incomplete: true } : {}),
    });
  }
}

/**
 * The last template name decoded and its bytes: a list repeats one name, so decoding (and
 * validating) it once saves a string build per record. One per reader, never shared.
 */
export class TemplateNameCache {
  bytes: Uint8Array = new Uint8Array(0);
  name = '';
}

function readRecord(
  r: ByteReader,
  index: number,
  layout: ImaBinaryLayout,
  maxRecordSize: number,
  names: TemplateNameCache,
): ImaEntry {
  const offset = r.offset;
  const le = layout.littleEndian;
  const pcr = le ? r.u32le('pcr') : r.u32be('pcr');
  const templateHash = r.bytes(hashInfo(layout.bank).size, 'template_hash');
  const nameLen = le ? r.u32le('template_name.length') : r.u32be('template_name.length');
  if (nameLen === 0) {
    throw r.error('ERR_BAD_VALUE', 'template_name.length', { expected: '1..255', actual: '0' });
  }
  r.checkLength(nameLen, 'template_name', IMA_TEMPLATE_NAME_MAX);
  const nameAt = r.offset;
  const nameBytes = r.bytes(nameLen, 'template_name');
  let templateName: string;
  if (sameBytes(nameBytes, names.bytes)) templateName = names.name;
  else {
    templateName = '';
    for (let i = 0; i < nameBytes.length; i++) {
      const c = nameBytes[i]!;
      if (c < 0x21 || c > 0x7e) {
        throw r.errorAt(nameAt + i, 'ERR_BAD_ENCODING', 'template_name', {
          expected: 'printable ASCII',
          actual: `0x${c.toString(16).padStart(2, '0')}`,
        });
      }
      templateName += String.fromCharCode(c);
    }
    names.bytes = new Uint8Array(nameBytes);
    names.name = templateName;
  }
  let templateData: Uint8Array;
  if (templateName === 'ima') {
    const start = r.position;
    r.skip(IMA_LEGACY_DIGEST_SIZE, 'template_data.d');
    const n = le ? r.u32le('template_data.n.length') : r.u32be('template_data.n.length');
    r.checkLength(n, 'template_data.n', IMA_LEGACY_NAME_MAX);
    r.skip(n, 'template_data.n');
    const end = r.position;
    r.seek(start, 'template_data');
    templateData = r.bytes(end - start, 'template_data');
  } else {
    const len = le ? r.u32le('template_data.length') : r.u32be('template_data.length');
    r.checkLength(len, 'template_data', maxRecordSize);
    templateData = r.bytes(len, 'template_data');
  }
  return { index, offset, pcr, templateHash, templateName, templateData, littleEndian: le };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The framing of a binary list, shared by {@link ImaBinaryReader} (entries) and
 * {@link ImaBinaryScanner} (records in place): layout detection on the first bytes, the
 * whole-record test from the length fields, and the description of a cut final record.
 */
abstract class ImaBinaryFraming<T> extends RecordReader<T> {
  protected readonly opts: ImaBinaryOptions;
  protected readonly maxRecord: number;
  protected readonly names: TemplateNameCache = new TemplateNameCache();
  protected layoutKnown: ImaBinaryLayout | undefined;
  protected hashSize = 0;
  protected view: DataView | undefined;
  /** The buffer `complete` last looked at (the one `readRecord` reads next). */
  protected buf: Uint8Array = new Uint8Array(0);

  protected constructor(opts: ImaBinaryOptions) {
    super('ima-binary', opts.partialTail);
    this.opts = opts;
    this.maxRecord = opts.limits?.maxRecordSize ?? DEFAULT_LIMITS.maxRecordSize;
  }

  /** The layout once known (after the first complete record header). */
  get layout(): ImaBinaryLayout | undefined {
    return this.layoutKnown;
  }

  protected override start(buf: Uint8Array): void {
    this.layoutKnown = detectImaBinaryLayout(buf, this.opts);
    this.hashSize = hashInfo(this.layoutKnown.bank).size;
  }

  // Whether the record at `pos` is whole in `buf`, from its length fields alone: a record cut
  // by the chunk boundary then waits for the next chunk without a thrown (and discarded)
  // truncation error. Lengths over their limits count as whole: readRecord reports them.
  protected override complete(buf: Uint8Array, pos: number): boolean {
    const le = this.layoutKnown!.littleEndian;
    let v = this.view;
    if (this.buf !== buf) {
      this.buf = buf;
      v = this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    let p = pos + 4 + this.hashSize;
    if (p + 4 > buf.length) return false;
    const nameLen = v!.getUint32(p, le);
    if (nameLen === 0 || nameLen > IMA_TEMPLATE_NAME_MAX) return true;
    p += 4 + nameLen;
    // The legacy template: a 20-byte digest, then its own name length.
    const legacy =
      nameLen === 3 && buf[p - 3] === 0x69 && buf[p - 2] === 0x6d && buf[p - 1] === 0x61;
    if (legacy) p += IMA_LEGACY_DIGEST_SIZE;
    if (p + 4 > buf.length) return false;
    const len = v!.getUint32(p, le);
    if (len > (legacy ? IMA_LEGACY_NAME_MAX : this.maxRecord)) return true;
    return p + 4 + len <= buf.length;
  }

  // Re-parses the cut record to name the field the input ended in.
  protected override describeTail(
    tail: Uint8Array,
    origin: number,
    index: number,
  ): TailDescription {
    try {
      const layout = this.layoutKnown ?? detectImaBinaryLayout(tail, this.opts);
      readImaBinaryRecord(
        new ByteReader(tail, { format: 'ima-binary', origin }),
        index,
        layout,
        this.maxRecord,
      );
    } catch (e) {
      if (!(e instanceof ParseError) || !e.incomplete) throw e;
      return {
        field: e.field,
        ...(e.expected === undefined ? {} : { expected: e.expected }),
        ...(e.actual === undefined ? {} : { actual: e.actual }),
      };
    }
    return { field: `event[${index}]` };
  }
}

/**
 * Incremental reader: feed chunks, take entries. Memory is bounded by one record (checked
 * against `maxRecordSize`) plus the chunk, whatever the list's length. Entries returned by
 * `push` view the chunk's bytes: a caller that reuses its chunk buffer must consume (or copy)
 * them before the next read.
 */
export class ImaBinaryReader extends ImaBinaryFraming<ImaEntry> {
  constructor(opts: ImaBinaryOptions = {}) {
    super(opts);
  }

  protected override readRecord(r: ByteReader, index: number): ImaEntry {
    // start() has run before any record is read.
    return readImaBinaryRecord(r, index, this.layoutKnown!, this.maxRecord, this.names);
  }
}

/**
 * One record of a binary list seen where it lies in the input: its fields as positions in
 * `bytes`. A scanner hands the same object to every visit, so it is valid only during the visit
 * (take {@link ImaRecordView.entry} to keep a record).
 */
export class ImaRecordView {
  /** The bytes the record lies in (a chunk, or the carry buffer). */
  bytes: Uint8Array = new Uint8Array(0);
  index = 0;
  /** Absolute offset of the record's first byte. */
  offset = 0;
  /** Length of the whole record in bytes. */
  length = 0;
  pcr = 0;
  /** Position of the template hash in `bytes`, and its size. */
  hashAt = 0;
  hashSize = 0;
  templateName = '';
  /** Position and length of the template data in `bytes`. */
  dataAt = 0;
  dataLen = 0;
  littleEndian = true;

  /** Whether the template hash is all zeros (a violation). */
  get violation(): boolean {
    const b = this.bytes;
    for (let i = this.hashAt, end = this.hashAt + this.hashSize; i < end; i++) {
      if (b[i] !== 0) return false;
    }
    return true;
  }

  /** The template hash (a view). */
  templateHash(): Uint8Array {
    return this.bytes.subarray(this.hashAt, this.hashAt + this.hashSize);
  }

  /** The template data (a view). */
  templateData(): Uint8Array {
    return this.bytes.subarray(this.dataAt, this.dataAt + this.dataLen);
  }

  /** The record as an entry whose fields are copies (safe to keep). */
  entry(): ImaEntry {
    return {
      index: this.index,
      offset: this.offset,
      pcr: this.pcr,
      templateHash: this.templateHash().slice(),
      templateName: this.templateName,
      templateData: this.templateData().slice(),
      littleEndian: this.littleEndian,
    };
  }
}

/**
 * Reads a binary list in place: feed chunks with {@link RecordReader.pushEach}, each record is
 * handed over as one reused {@link ImaRecordView} — no object, copy or string per record, for
 * the replay of million-entry lists. Records are checked as {@link ImaBinaryReader} checks them
 * (the same errors), the first time a template name is met through that reader's own code.
 */
export class ImaBinaryScanner extends ImaBinaryFraming<ImaRecordView> {
  readonly #v = new ImaRecordView();

  constructor(opts: ImaBinaryOptions = {}) {
    super(opts);
  }

  protected override readRecord(r: ByteReader, index: number): ImaRecordView {
    // complete() has seen this buffer and found the record whole
    const buf = this.buf;
    const dv = this.view!;
    const le = this.layoutKnown!.littleEndian;
    const pos = r.position;
    const hs = this.hashSize;
    const nameAt = pos + 8 + hs;
    const nameLen = dv.getUint32(pos + 4 + hs, le);
    const cached = this.names.bytes;
    let same = nameLen === cached.length && this.names.name !== 'ima';
    for (let i = 0; same && i < nameLen; i++) same = buf[nameAt + i] === cached[i];
    const dataLen = same ? dv.getUint32(nameAt + nameLen, le) : 0;
    const v = this.#v;
    if (!same || dataLen > this.maxRecord) {
      // a new template name, the legacy template, or a length to refuse: the full reader
      // validates (and throws its errors)
      const e = readImaBinaryRecord(r, index, this.layoutKnown!, this.maxRecord, this.names);
      v.dataAt = e.templateData.byteOffset - buf.byteOffset;
      v.dataLen = e.templateData.length;
      v.templateName = e.templateName;
    } else {
      v.dataAt = nameAt + nameLen + 4;
      v.dataLen = dataLen;
      v.templateName = this.names.name;
      r.skip(v.dataAt + dataLen - pos, 'event');
    }
    v.bytes = buf;
    v.index = index;
    v.offset = r.offset - (r.position - pos);
    v.length = r.position - pos;
    v.pcr = dv.getUint32(pos, le);
    v.hashAt = pos + 4;
    v.hashSize = hs;
    v.littleEndian = le;
    return v;
  }
}

/**
 * At most how many records `bytes` bytes of a binary list hold (plus one), to size per-record
 * tables before the list is read: a record is at least 33 bytes (u32 PCR, a 20-byte SHA-1 hash,
 * u32 name length, a name, u32 data length).
 */
export function imaBinaryMaxRecords(bytes: number): number {
  return Math.floor(bytes / 33) + 1;
}

/** Parses a whole binary list held in memory. */
export function parseImaBinary(buf: Uint8Array, opts: ImaBinaryOptions = {}): ImaEntry[] {
  return readAllRecords(new ImaBinaryReader(opts), buf);
}

/** Reads entries from a stream of chunks (constant memory). */
export async function* readImaBinaryStream(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: ImaBinaryOptions = {},
): AsyncGenerator<ImaEntry, void, undefined> {
  yield* streamRecords(new ImaBinaryReader(opts), chunks);
}

/** Encodes one entry as a binary record, in the entry's byte order unless told otherwise. */
export function encodeImaBinaryEntry(
  e: ImaEntry,
  littleEndian: boolean = e.littleEndian,
): Uint8Array {
  const name = new TextEncoder().encode(e.templateName);
  const w = new ByteWriter(16 + e.templateHash.length + name.length + e.templateData.length);
  const u32 = (v: number): void => {
    if (littleEndian) w.u32le(v);
    else w.u32be(v);
  };
  u32(e.pcr);
  w.bytes(e.templateHash);
  u32(name.length);
  w.bytes(name);
  if (e.templateName !== 'ima') u32(e.templateData.length);
  w.bytes(reorderTemplateData(e, littleEndian));
  return w.finish();
}

/** Template data with its internal u32 lengths in the wanted byte order. */
function reorderTemplateData(e: ImaEntry, littleEndian: boolean): Uint8Array {
  if (e.littleEndian === littleEndian) return e.templateData;
  const out = new Uint8Array(e.templateData);
  const v = new DataView(out.buffer);
  if (e.templateName === 'ima') {
    v.setUint32(
      IMA_LEGACY_DIGEST_SIZE,
      v.getUint32(IMA_LEGACY_DIGEST_SIZE, e.littleEndian),
      littleEndian,
    );
    return out;
  }
  let p = 0;
  while (p + 4 <= out.length) {
    const len = v.getUint32(p, e.littleEndian);
    v.setUint32(p, len, littleEndian);
    p += 4 + len;
  }
  return out;
}

/** Encodes a whole list. */
export function encodeImaBinary(entries: Iterable<ImaEntry>, littleEndian?: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const e of entries) {
    const b = encodeImaBinaryEntry(e, littleEndian ?? e.littleEndian);
    parts.push(b);
    size += b.length;
  }
  const out = new Uint8Array(size);
  let p = 0;
  for (const b of parts) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}
