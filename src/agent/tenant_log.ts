/**
 * A tenant's vMR log (DESIGN §4): `SALT`, `TENANT`, then the tenant's application events, each
 * extended into the vMR as `vMR ← H(vMR ‖ H(line))`. A request id travels with its event as an
 * informative `#id <id>` line written in the same write(2), so that after a crash the ids of
 * every durable event are known again and a retry never appends twice.
 *
 * Memory stays bounded whatever the number of ids: the most recent ones
 * (`limits.maxRecentRequestIds`) are kept in memory, every id of the boot is in an on-disk index
 * ({@link RequestIdIndex}) rebuilt from the `#id` lines when the log is opened, and opening
 * streams the log instead of reading it whole.
 *
 * @module
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { AgentError } from '../errors.js';
import { digestSize, type HashAlg } from '../crypto/hash_alg.js';
import { toHex } from '../bytes/hex.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { decodeLine, readLines } from '../formats/stream/lines.js';
import { checkMrlogStructure } from '../formats/mrlog/parse.js';
import { parseMrlogLine, formatMrlogRecord, type MrlogRecord } from '../formats/mrlog/record.js';
import { vmrExtend, vmrInitial } from '../eventlog/mrlog_vmr.js';
import { AppendFile, type Durability } from './append_file.js';
import { RequestIdIndex, type IndexedId } from './request_id_index.js';

/** Request ids: 1–128 of `[A-Za-z0-9_.:-]`. */
export const REQUEST_ID_RE: Readonly<RegExp> = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Where an event landed in its tenant log. */
export interface TenantPosition {
  /** 1-based number of the event among the log's extended records (SALT is 1, TENANT 2). */
  readonly record: number;
  /** The vMR right after it. */
  readonly value: Uint8Array;
}

/** How a tenant log is kept. */
export interface TenantLogOptions {
  readonly durability: Durability;
  /** Folder of the on-disk request-id indexes (derived data, rebuilt at every open). */
  readonly idDir: string;
  /** Request ids kept in memory (default `DEFAULT_LIMITS.maxRecentRequestIds`). */
  readonly recentIds?: number;
}

/** One open tenant log. */
export class TenantLog {
  readonly name: string;
  readonly vmr: string;
  readonly alg: HashAlg;
  readonly path: string;
  readonly #file: AppendFile;
  readonly #index: RequestIdIndex;
  readonly #maxRecentIds: number;
  #value: Uint8Array;
  #records: number;
  #lines: number;
  /**
   * The most recent ids, oldest first (a Map keeps insertion order). The disk index receives an
   * id when it leaves this window, a quarter of the window at a time (one write for the entries):
   * a lookup tries memory first, so an id is always in one of the two.
   */
  readonly #recentIds = new Map<string, IndexedId>();
  /** Values after each record, kept only from the last covered record on (for coverage). */
  #recent: Uint8Array[] = [];
  /** Beside `#recent`: the lines and bytes of the log up to and including each record. */
  #recentEnd: { line: number; offset: number }[] = [];
  #recentStart = 0;

  private constructor(
    name: string,
    vmr: string,
    alg: HashAlg,
    path: string,
    file: AppendFile,
    opts: TenantLogOptions,
  ) {
    this.name = name;
    this.vmr = vmr;
    this.alg = alg;
    this.path = path;
    this.#file = file;
    this.#maxRecentIds = Math.max(0, opts.recentIds ?? DEFAULT_LIMITS.maxRecentRequestIds);
    this.#index = RequestIdIndex.create(opts.idDir, vmr, digestSize(alg));
    this.#value = vmrInitial(alg);
    this.#records = 0;
    this.#lines = 0;
  }

  /** Creates a new log with its SALT and TENANT header (one write). */
  static async create(
    path: string,
    name: string,
    vmr: string,
    alg: HashAlg,
    created: Date,
    opts: TenantLogOptions,
  ): Promise<TenantLog> {
    if (fs.existsSync(path)) throw new AgentError('ERR_CONFLICT', `${path} exists already`);
    const { file } = AppendFile.open(path, opts.durability);
    const log = new TenantLog(name, vmr, alg, path, file, opts);
    const salt = new Uint8Array(randomBytes(32));
    const iso = created.toISOString().replace(/\.[0-9]+Z$/, 'Z');
    const lines = [
      formatMrlogRecord({ kind: 'salt', salt }),
      formatMrlogRecord({ kind: 'tenant', name, vmr, created: iso }),
    ];
    log.#appendLines(lines.map((l) => ({ line: l })));
    await file.sync();
    return log;
  }

  /**
   * Opens an existing log, truncating a torn tail, replays it (streaming: memory does not grow
   * with the log) and rebuilds its request-id index.
   * @throws ParseError for a line that is not mrlog or a misplaced record; AgentError `ERR_IO`
   */
  static async open(
    path: string,
    alg: HashAlg,
    opts: TenantLogOptions,
  ): Promise<{ log: TenantLog; torn: number }> {
    const { file, torn } = AppendFile.open(path, opts.durability);
    let log: TenantLog | undefined;
    try {
      // the structure check of parse.ts, fed one record at a time: SALT, TENANT, then events
      const head: MrlogRecord[] = [];
      let headerComments = 0;
      let pendingId: { id: string; offset: number } | undefined;
      const stream = fs.createReadStream(path, { highWaterMark: 64 * 1024 });
      for await (const l of readLines(stream, { format: 'mrlog' })) {
        const r = parseMrlogLine(decodeLine(l, 'mrlog'), l.line);
        if (log === undefined) {
          // SALT, then TENANT: the header names the log's owner
          if (r.kind === 'comment') {
            headerComments++;
            continue;
          }
          head.push(r);
          checkMrlogStructure(head, 'tenant');
          if (r.kind === 'tenant') {
            log = new TenantLog(r.name, r.vmr, alg, path, file, opts);
            log.#lines += headerComments;
            for (const h of head) log.#replay(h.line, undefined);
          }
          continue;
        }
        if (r.kind === 'comment') {
          log.#lines++;
          pendingId = r.text.startsWith('id ')
            ? { id: r.text.slice(3), offset: l.offset }
            : undefined;
          continue;
        }
        if (r.kind !== 'event') checkMrlogStructure([...head, r], 'tenant');
        const pos = log.#replay(r.line, l.offset + l.bytes.length + (l.terminated ? 1 : 0));
        if (pendingId !== undefined) log.#rememberId({ ...pendingId, ...pos });
        pendingId = undefined;
      }
      if (log === undefined) throw new AgentError('ERR_BAD_VALUE', `${path}: no TENANT record`);
      return { log, torn };
    } catch (e) {
      if (log === undefined) file.close();
      else log.close();
      throw e;
    }
  }

  /** Extends the vMR by one line read back at open (`end`: its end offset, if known). */
  #replay(line: string, end: number | undefined): TenantPosition {
    this.#lines++;
    this.#value = vmrExtend(this.alg, this.#value, line);
    this.#records++;
    this.#remember(this.#value, this.#lines, end ?? -1);
    return { record: this.#records, value: this.#value };
  }

  /** The vMR now. */
  get value(): Uint8Array {
    return this.#value;
  }

  /** Extended records (SALT and TENANT included). */
  get records(): number {
    return this.#records;
  }

  /** Lines (with `#id` comments). */
  get lines(): number {
    return this.#lines;
  }

  /** Bytes in the log. */
  get size(): number {
    return this.#file.size;
  }

  /** Request ids held in memory now (at most `recentIds`). */
  get idsInMemory(): number {
    return this.#recentIds.size;
  }

  /** Request ids of this log (in memory or in the on-disk index). */
  get ids(): number {
    return this.#index.size + this.#recentIds.size;
  }

  /**
   * The first result of a request id, when it was appended: from memory for a recent id, else
   * from the on-disk index (exact: a match is checked against the `#id` line in the log).
   * @throws AgentError `ERR_IO`
   */
  lookup(id: string): TenantPosition | undefined {
    const mem = this.#recentIds.get(id);
    if (mem !== undefined) return { record: mem.record, value: mem.value };
    return this.#index.find(id, (offset) => this.#idLineAt(offset, id));
  }

  #idLineAt(offset: number, id: string): boolean {
    const want = Buffer.from(`#id ${id}\n`, 'utf8');
    const got = Buffer.alloc(want.length);
    return this.#file.readAt(got, offset) === want.length && got.equals(want);
  }

  #rememberId(entry: IndexedId): void {
    if (this.#maxRecentIds === 0) {
      this.#index.add([entry]);
      return;
    }
    this.#recentIds.set(entry.id, entry);
    if (this.#recentIds.size <= this.#maxRecentIds) return;
    const out: IndexedId[] = [];
    for (const e of this.#recentIds.values()) {
      out.push(e);
      if (out.length >= Math.max(1, this.#maxRecentIds >> 2)) break;
    }
    // indexed first: if the write fails, the ids are still in memory (and the queue stops)
    this.#index.add(out);
    for (const e of out) this.#recentIds.delete(e.id);
  }

  #remember(v: Uint8Array, line: number, offset: number): void {
    this.#recent.push(v);
    this.#recentEnd.push({ line, offset });
    if (this.#recent.length > 4096) {
      this.#recent = this.#recent.slice(2048);
      this.#recentEnd = this.#recentEnd.slice(2048);
      this.#recentStart += 2048;
    }
  }

  /**
   * The log from just after extended record `record` (≥ 2: SALT and TENANT stay out) up to
   * `lines` lines of the whole log: where it starts (lines and records left out, the vMR after
   * them) and its lines. A recent record is found without reading what precedes it; an older
   * one by folding the log from its start.
   * @throws AgentError `ERR_NOT_FOUND` when the log has fewer records; `ERR_IO`
   */
  tail(
    record: number,
    lines: number = this.#lines,
  ): { since: { line: number; record: number; value: Uint8Array }; lines: string[] } {
    if (!Number.isSafeInteger(record) || record < 2 || record > this.#records) {
      throw new AgentError(
        'ERR_NOT_FOUND',
        `tenant ${this.name}: no record ${record} to send the log since (it has ${this.#records})`,
      );
    }
    const i = record - this.#recentStart - 1;
    const end = i >= 0 && i < this.#recent.length ? this.#recentEnd[i]! : undefined;
    if (end !== undefined && end.offset >= 0) {
      const size = this.#file.size - end.offset;
      const buf = Buffer.alloc(size);
      const got = this.#file.readAt(buf, end.offset);
      const text = buf.toString('utf8', 0, got);
      const parts = text.split('\n');
      parts.pop();
      return {
        since: { line: end.line, record, value: this.#recent[i]! },
        lines: parts.slice(0, Math.max(0, lines - end.line)),
      };
    }
    // an old record: the log is folded from its start up to it
    const all = this.readLines(lines);
    let value = vmrInitial(this.alg);
    let n = 0;
    for (const [k, l] of all.entries()) {
      if (l.startsWith('#')) continue;
      value = vmrExtend(this.alg, value, l);
      if (++n === record) return { since: { line: k + 1, record, value }, lines: all.slice(k + 1) };
    }
    throw new AgentError(
      'ERR_NOT_FOUND',
      `tenant ${this.name}: no record ${record} among the first ${lines} lines`,
    );
  }

  /**
   * Which record a vMR value (from a VMR record) covers: its 1-based number, 0 for the initial
   * value, or undefined when the value is not a recent running value.
   */
  recordOf(value: Uint8Array): number | undefined {
    if (Buffer.compare(value, vmrInitial(this.alg)) === 0) return 0;
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      if (Buffer.compare(this.#recent[i]!, value) === 0) return this.#recentStart + i + 1;
    }
    return undefined;
  }

  #appendLines(items: readonly { line: string; id?: string | undefined }[]): TenantPosition[] {
    let text = '';
    const out: TenantPosition[] = [];
    const ends: { line: number; offset: number }[] = [];
    const ids: { id: string; offset: number }[] = [];
    let value = this.#value;
    let records = this.#records;
    let lines = this.#lines;
    let offset = this.#file.size;
    for (const it of items) {
      if (it.id !== undefined) {
        const idLine = `#id ${it.id}\n`;
        text += idLine;
        lines++;
        ids.push({ id: it.id, offset });
        offset += Buffer.byteLength(idLine, 'utf8');
      }
      text += `${it.line}\n`;
      offset += Buffer.byteLength(it.line, 'utf8') + 1;
      lines++;
      value = vmrExtend(this.alg, value, it.line);
      records++;
      out.push({ record: records, value });
      ends.push({ line: lines, offset });
    }
    this.#file.write(Buffer.from(text, 'utf8'));
    // only after the write succeeded
    for (const [k, p] of out.entries()) this.#remember(p.value, ends[k]!.line, ends[k]!.offset);
    this.#value = value;
    this.#records = records;
    this.#lines = lines;
    // a failure here stops the agent's queue; the restart rebuilds the index from the log
    let k = 0;
    for (const [i, it] of items.entries())
      if (it.id !== undefined) this.#rememberId({ ...ids[k++]!, ...out[i]! });
    return out;
  }

  /** Appends events (one write(2)); returns where each landed. Call {@link sync} after. */
  append(items: readonly { line: string; id?: string | undefined }[]): TenantPosition[] {
    return this.#appendLines(items);
  }

  /** Makes appended lines durable per the policy. */
  sync(): Promise<void> {
    return this.#file.sync();
  }

  /** The log's lines (without LF), up to `lines` of them. */
  readLines(lines: number = this.#lines): string[] {
    const text = fs.readFileSync(this.path, 'utf8');
    const parts = text.split('\n');
    parts.pop();
    return parts.slice(0, lines);
  }

  /** Hex of the vMR now. */
  get valueHex(): string {
    return toHex(this.#value);
  }

  /** Closes the file and the id index. */
  close(): void {
    this.#file.close();
    this.#index.close();
  }

  /** Closes the log and deletes its id index (the tenant was removed). */
  closeAndDropIndex(): void {
    this.#file.close();
    this.#index.remove();
  }
}
