/**
 * A tenant's vMR log (DESIGN §4): `SALT`, `TENANT`, then the tenant's application events, each
 * extended into the vMR as `vMR ← H(vMR ‖ H(line))`. A request id travels with its event as an
 * informative `#id <id>` line written in the same write(2), so that after a crash the ids of
 * every durable event are known again and a retry never appends twice.
 *
 * @module
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { AgentError } from '../errors.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import { toHex } from '../bytes/hex.js';
import { parseMrlog } from '../formats/mrlog/parse.js';
import { formatMrlogRecord } from '../formats/mrlog/record.js';
import { vmrExtend, vmrInitial } from '../eventlog/mrlog_vmr.js';
import { AppendFile, type Durability } from './append_file.js';

/** Request ids: 1–128 of `[A-Za-z0-9_.:-]`. */
export const REQUEST_ID_RE: Readonly<RegExp> = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Where an event landed in its tenant log. */
export interface TenantPosition {
  /** 1-based number of the event among the log's extended records (SALT is 1, TENANT 2). */
  readonly record: number;
  /** The vMR right after it. */
  readonly value: Uint8Array;
}

/** One open tenant log. */
export class TenantLog {
  readonly name: string;
  readonly vmr: string;
  readonly alg: HashAlg;
  readonly path: string;
  readonly #file: AppendFile;
  #value: Uint8Array;
  #records: number;
  #lines: number;
  readonly #ids = new Map<string, TenantPosition>();
  /** Values after each record, kept only from the last covered record on (for coverage). */
  #recent: Uint8Array[] = [];
  #recentStart = 0;

  private constructor(name: string, vmr: string, alg: HashAlg, path: string, file: AppendFile) {
    this.name = name;
    this.vmr = vmr;
    this.alg = alg;
    this.path = path;
    this.#file = file;
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
    durability: Durability,
  ): Promise<TenantLog> {
    if (fs.existsSync(path)) throw new AgentError('ERR_CONFLICT', `${path} exists already`);
    const { file } = AppendFile.open(path, durability);
    const log = new TenantLog(name, vmr, alg, path, file);
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

  /** Opens an existing log, truncating a torn tail, and replays it. */
  static open(
    path: string,
    alg: HashAlg,
    durability: Durability,
  ): { log: TenantLog; torn: number } {
    const { file, torn } = AppendFile.open(path, durability);
    const data = fs.readFileSync(path);
    const parsed = parseMrlog(data, { role: 'tenant' });
    const head = parsed.records.find((r) => r.kind === 'tenant');
    if (head?.kind !== 'tenant') {
      file.close();
      throw new AgentError('ERR_BAD_VALUE', `${path}: no TENANT record`);
    }
    const log = new TenantLog(head.name, head.vmr, alg, path, file);
    let pendingId: string | undefined;
    for (const r of parsed.records) {
      log.#lines++;
      if (r.kind === 'comment') {
        pendingId = r.text.startsWith('id ') ? r.text.slice(3) : undefined;
        continue;
      }
      log.#value = vmrExtend(alg, log.#value, r.line);
      log.#records++;
      log.#remember(log.#value);
      if (pendingId !== undefined)
        log.#ids.set(pendingId, { record: log.#records, value: log.#value });
      pendingId = undefined;
    }
    return { log, torn };
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

  /** The first result of a request id, when it was appended. */
  lookup(id: string): TenantPosition | undefined {
    return this.#ids.get(id);
  }

  #remember(v: Uint8Array): void {
    this.#recent.push(v);
    if (this.#recent.length > 4096) {
      this.#recent = this.#recent.slice(2048);
      this.#recentStart += 2048;
    }
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
    let value = this.#value;
    let records = this.#records;
    let lines = this.#lines;
    for (const it of items) {
      if (it.id !== undefined) {
        text += `#id ${it.id}\n`;
        lines++;
      }
      text += `${it.line}\n`;
      lines++;
      value = vmrExtend(this.alg, value, it.line);
      records++;
      out.push({ record: records, value });
    }
    this.#file.write(Buffer.from(text, 'utf8'));
    // only after the write succeeded
    for (const [i, it] of items.entries()) {
      this.#remember(out[i]!.value);
      if (it.id !== undefined) this.#ids.set(it.id, out[i]!);
    }
    this.#value = value;
    this.#records = records;
    this.#lines = lines;
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

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}
