/**
 * The physical register's mrlog on disk: a chain of segment files
 * `<dir>/<register>.<seq>.mrlog` (seq 0 starts with `BOOT`, every later one with `CHECKPOINT`
 * and `SYNC`). Appends go to the last segment; opening scans the chain once, keeping only what
 * recovery and the agent need (the last values per vMR, the records since the last SYNC), so
 * memory does not grow with the log.
 *
 * Archived segments may be gzip-compressed (`compressArchives`, off by default): when a
 * checkpoint closes a segment it is written to `<name>.mrlog.gz` (via a `.tmp` file, renamed, then
 * the plain file removed), in the background. Every reader here takes either form, and the
 * `CHECKPOINT prev=` digest is always over the uncompressed bytes (it is computed before the
 * segment is closed). A crash between the steps leaves the plain file, which wins.
 *
 * @module
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
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

const SEG_RE = /^(.+)\.([0-9]{6})\.mrlog(\.gz)?$/;
const gzipAsync = promisify(gzip);

/** Options of {@link PhysicalLog.open}. */
export interface PhysicalLogOptions {
  /** gzip a segment once a checkpoint closes it (default false). */
  readonly compressArchives?: boolean;
}

/**
 * Reads a log file written by the agent, plain or gzip-compressed: `path` names the plain file;
 * when it is absent, `path.gz` is read and decompressed.
 */
export function readLogFile(path: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync(`${path}.gz`)) throw e;
    return gunzipSync(fs.readFileSync(`${path}.gz`));
  }
}

/** Size on disk of a plain-or-gzip log file. */
function fileSize(path: string): number {
  try {
    return fs.statSync(path).size;
  } catch {
    return fs.existsSync(`${path}.gz`) ? fs.statSync(`${path}.gz`).size : 0;
  }
}

/**
 * gzips one closed log file: `path.gz.tmp` (fdatasync'ed with `sync`), renamed to `path.gz`,
 * then `path` removed. Returns the compressed size.
 */
export async function compressLogFile(path: string, sync = false): Promise<number> {
  const data = await fs.promises.readFile(path);
  const gz = await gzipAsync(data, { level: 6 });
  const tmp = `${path}.gz.tmp`;
  const fh = await fs.promises.open(tmp, 'w', 0o640);
  try {
    await fh.writeFile(gz);
    if (sync) await fh.datasync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, `${path}.gz`);
  await fs.promises.unlink(path);
  return gz.length;
}

/**
 * gzips every `*.mrlog` file under `dir` (recursively): the agent's logs of an earlier boot
 * once they are archived.
 */
export async function compressArchivedLogs(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += await compressArchivedLogs(p);
    else if (e.isFile() && e.name.endsWith('.mrlog')) {
      await compressLogFile(p);
      n++;
    }
  }
  return n;
}

/** The physical log of one register. */
export class PhysicalLog {
  readonly dir: string;
  readonly register: string;
  readonly durability: Durability;
  readonly compressArchives: boolean;
  readonly #segments: SegmentInfo[];
  readonly #compressing = new Set<Promise<void>>();
  #file: AppendFile | undefined;
  #records: number;
  #segmentOpened: number;

  private constructor(
    dir: string,
    register: string,
    durability: Durability,
    opts: PhysicalLogOptions,
  ) {
    this.dir = dir;
    this.register = register;
    this.durability = durability;
    this.compressArchives = opts.compressArchives === true;
    this.#segments = [];
    this.#records = 0;
    this.#segmentOpened = Date.now();
  }

  /** Opens (creating the directory) and scans the chain. */
  static open(
    dir: string,
    register: string,
    durability: Durability,
    opts: PhysicalLogOptions = {},
  ): { log: PhysicalLog; scan: PhysicalScan } {
    fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
    const log = new PhysicalLog(dir, register, durability, opts);
    const names = fs.readdirSync(dir);
    for (const n of names) {
      // an interrupted compression: the plain file is still there
      if (n.startsWith(`${register}.`) && n.endsWith('.mrlog.gz.tmp')) fs.unlinkSync(join(dir, n));
    }
    const found = new Map<number, { plain: boolean; gz: boolean }>();
    for (const m of names.map((n) => SEG_RE.exec(n))) {
      if (m?.[1] !== register) continue;
      const f = found.get(Number(m[2])) ?? { plain: false, gz: false };
      if (m[3] === undefined) f.plain = true;
      else f.gz = true;
      found.set(Number(m[2]), f);
    }
    const seqs = [...found.keys()].sort((a, b) => a - b);
    for (const [i, seq] of seqs.entries()) {
      const f = found.get(seq)!;
      const plain = log.#pathOf(seq);
      // a crash after the rename but before the unlink: both forms, the plain one wins
      if (f.plain && f.gz) fs.unlinkSync(`${plain}.gz`);
      // the segment appended to must be plain
      else if (!f.plain && i === seqs.length - 1)
        fs.writeFileSync(plain, gunzipSync(fs.readFileSync(`${plain}.gz`)));
      else if (f.plain && i < seqs.length - 1 && log.compressArchives) log.#compressLater(plain);
    }
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
      const data = readLogFile(path);
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

  #compressLater(path: string): void {
    const p: Promise<void> = compressLogFile(path, this.durability === 'os')
      .then(
        () => undefined,
        () => undefined, // left plain: read as it is, compressed at the next start
      )
      .finally(() => this.#compressing.delete(p));
    this.#compressing.add(p);
  }

  /** Waits for background compressions of closed segments to finish. */
  async flushArchives(): Promise<void> {
    while (this.#compressing.size > 0) await Promise.all([...this.#compressing]);
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
      n += s === this.#segments[this.#segments.length - 1] ? this.currentSize : fileSize(s.path);
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
    const closed = this.#segments[this.#segments.length - 1];
    if (closed !== undefined && this.compressArchives) this.#compressLater(closed.path);
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
      const text = readLogFile(s.path).toString('utf8');
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
