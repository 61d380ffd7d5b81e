/**
 * The physical register's mrlog on disk: a chain of segment files
 * `<dir>/<register>.<seq>.mrlog` (seq 0 starts with `BOOT`, every later one with `CHECKPOINT`
 * and `SYNC`). Appends go to the last segment; opening scans the chain once, keeping only what
 * recovery and the agent need (the last values per vMR, the records since the last SYNC), so
 * memory does not grow with the log.
 *
 * @module
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { AgentError } from '../errors.js';
import { hash } from '../crypto/hash.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import { parseMrlog } from '../formats/mrlog/parse.js';
import type { MrlogRecord, MrlogVmrValue } from '../formats/mrlog/record.js';
import { AppendFile, type Durability } from './append_file.js';

/** One segment file. */
export interface SegmentInfo {
  readonly seq: number;
  readonly path: string;
  /** Index (0-based, in the chain) of the segment's first record. */
  readonly firstRecord: number;
}

/** What a scan of the chain found. */
export interface PhysicalScan {
  /** Records from the last SYNC on (with the one before it, if any), for recovery. */
  readonly tail: readonly MrlogRecord[];
  /** Chain index of `tail[0]`. */
  readonly tailStart: number;
  /** The last value each vMR was given by a VMR record (and that record's chain index). */
  readonly lastVmr: ReadonlyMap<string, MrlogVmrValue & { readonly record: number }>;
  /** The boot id of the chain's BOOT record, when present. */
  readonly bootId: string | undefined;
  /** Torn bytes truncated from the last segment. */
  readonly torn: number;
}

const SEG_RE = /^(.+)\.([0-9]{6})\.mrlog$/;

/** The physical log of one register. */
export class PhysicalLog {
  readonly dir: string;
  readonly register: string;
  readonly durability: Durability;
  readonly #segments: SegmentInfo[];
  #file: AppendFile | undefined;
  #records: number;
  #segmentOpened: number;

  private constructor(dir: string, register: string, durability: Durability) {
    this.dir = dir;
    this.register = register;
    this.durability = durability;
    this.#segments = [];
    this.#records = 0;
    this.#segmentOpened = Date.now();
  }

  /** Opens (creating the directory) and scans the chain. */
  static open(
    dir: string,
    register: string,
    durability: Durability,
  ): { log: PhysicalLog; scan: PhysicalScan } {
    fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
    const log = new PhysicalLog(dir, register, durability);
    const seqs = fs
      .readdirSync(dir)
      .map((n) => SEG_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null && m[1] === register)
      .map((m) => Number(m[2]))
      .sort((a, b) => a - b);
    let tail: MrlogRecord[] = [];
    let tailStart = 0;
    const lastVmr = new Map<string, MrlogVmrValue & { record: number }>();
    let bootId: string | undefined;
    let torn = 0;
    let lastSeq = -1;
    for (const [i, seq] of seqs.entries()) {
      const path = log.#pathOf(seq);
      const isLast = i === seqs.length - 1;
      if (isLast) {
        const o = AppendFile.open(path, durability);
        torn = o.torn;
        o.file.close();
      }
      const data = fs.readFileSync(path);
      if (isLast && data.length === 0 && seqs.length > 1) {
        fs.unlinkSync(path); // a segment created but never written: as if not created
        break;
      }
      const first = log.#records;
      const parsed = parseMrlog(data, { role: 'any', firstLine: 1 });
      log.#segments.push({ seq, path, firstRecord: first });
      lastSeq = seq;
      for (const [j, r] of parsed.records.entries()) {
        const idx = first + j;
        if (r.kind === 'boot' && bootId === undefined) bootId = r.bootId;
        if (r.kind === 'sync') {
          // keep the record before the SYNC: it may be a BOOT/CHECKPOINT written with it
          const prev = j > 0 ? parsed.records[j - 1] : tail[tail.length - 1];
          tail = prev === undefined ? [] : [prev];
          tailStart = prev === undefined ? idx : idx - 1;
        }
        tail.push(r);
        if (r.kind === 'vmr') for (const v of r.values) lastVmr.set(v.name, { ...v, record: idx });
      }
      log.#records += parsed.records.length;
    }
    if (lastSeq >= 0) {
      log.#file = AppendFile.open(log.#pathOf(lastSeq), durability).file;
      log.#segmentOpened = fs.statSync(log.#pathOf(lastSeq)).mtimeMs;
    }
    return { log, scan: { tail, tailStart, lastVmr, bootId, torn } };
  }

  #pathOf(seq: number): string {
    return join(this.dir, `${this.register}.${String(seq).padStart(6, '0')}.mrlog`);
  }

  /** Records in the chain. */
  get records(): number {
    return this.#records;
  }

  /** The segments, oldest first. */
  get segments(): readonly SegmentInfo[] {
    return this.#segments;
  }

  /** Sequence number of the current segment (-1 before the first). */
  get currentSeq(): number {
    return this.#segments[this.#segments.length - 1]?.seq ?? -1;
  }

  /** Bytes in the current segment. */
  get currentSize(): number {
    return this.#file?.size ?? 0;
  }

  /** When the current segment was started (ms since the epoch). */
  get currentOpened(): number {
    return this.#segmentOpened;
  }

  /** Total bytes in all segments. */
  get totalSize(): number {
    let n = 0;
    for (const s of this.#segments)
      n +=
        s === this.#segments[this.#segments.length - 1]
          ? this.currentSize
          : fs.statSync(s.path).size;
    return n;
  }

  /** Appends lines with one write(2); returns the chain index of the first. */
  write(lines: readonly string[]): number {
    if (this.#file === undefined)
      throw new AgentError('ERR_INTERNAL', 'physical log has no segment');
    const first = this.#records;
    this.#file.write(Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8'));
    this.#records += lines.length;
    return first;
  }

  /** Makes written lines durable per the policy. */
  sync(): Promise<void> {
    return this.#file?.sync() ?? Promise.resolve();
  }

  /** H(current segment file) in `alg`, for the next CHECKPOINT's `prev=`. */
  currentDigest(alg: HashAlg): Uint8Array {
    const s = this.#segments[this.#segments.length - 1];
    return hash(alg, s === undefined ? new Uint8Array(0) : fs.readFileSync(s.path));
  }

  /** Starts a new segment (the caller writes its header next). */
  startSegment(): number {
    const seq = this.currentSeq + 1;
    this.#file?.close();
    const path = this.#pathOf(seq);
    this.#file = AppendFile.open(path, this.durability).file;
    this.#segments.push({ seq, path, firstRecord: this.#records });
    this.#segmentOpened = Date.now();
    return seq;
  }

  /**
   * The lines from the start of segment `since` up to chain index `upto` (exclusive), for an
   * evidence bundle; and the chain index of the first.
   * @throws AgentError `ERR_NOT_FOUND` for a segment that does not exist (or was archived)
   */
  readLines(since: number, upto: number): { first: number; lines: string[] } {
    const startIdx = this.#segments.findIndex((s) => s.seq === since);
    if (startIdx < 0) {
      throw new AgentError(
        'ERR_NOT_FOUND',
        `no checkpoint ${since} in this boot's log (have ${this.#segments.map((s) => s.seq).join(', ')})`,
      );
    }
    const first = this.#segments[startIdx]!.firstRecord;
    const lines: string[] = [];
    let idx = first;
    for (const s of this.#segments.slice(startIdx)) {
      if (idx >= upto) break;
      const text = fs.readFileSync(s.path, 'utf8');
      const parts = text.split('\n');
      parts.pop();
      for (const l of parts) {
        if (idx >= upto) break;
        lines.push(l);
        idx++;
      }
    }
    return { first, lines };
  }

  /** Closes the current segment. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}
