/**
 * The on-disk index of one tenant log's request ids (DESIGN §5, idempotent appends), so that
 * the agent's memory stays bounded whatever the number of ids a client sends while a retry of
 * any id of the boot is still found. It is derived data: the tenant log's `#id` lines are the
 * truth, and {@link TenantLog} rebuilds the index from them at every start (no fsync needed,
 * nothing to reconcile after a crash).
 *
 * Layout (in the agent's `ids/` folder, one set per vMR):
 *
 * | file | content |
 * | --- | --- |
 * | `<vmr>.entries` | one fixed-size entry per id, in log order: offset of the `#id` line (8 bytes, big-endian), record number (8), the vMR after the record (digest size) |
 * | `<vmr>.<level>.slots` | an open-addressing table (linear probing) of 8-byte slots: 32-bit tag, entry number + 1 (0: empty) |
 *
 * Tables are never rehashed: when the newest one is half full, a four times larger one is
 * added and new ids go there. A lookup probes each table (newest first), one `pread` of a run of
 * slots per table for an id that is not there — 5 tables hold 1.4 million ids — unless a
 * fixed-size in-memory filter already says the id is new. Tags and home
 * slots come from SHA-256 keyed with a random per-process key, so a client cannot aim its ids
 * at one probe run; a tag match is confirmed against the `#id` line in the log, so the answer
 * is exact.
 *
 * @module
 */
import * as fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AgentError } from '../errors.js';

/** Where an indexed id's event landed. */
export interface IndexedPosition {
  /** 1-based number of the event among the log's extended records. */
  readonly record: number;
  /** The vMR right after it. */
  readonly value: Uint8Array;
}

/** One id to index. */
export interface IndexedId extends IndexedPosition {
  readonly id: string;
  /** Byte offset of the id's `#id` line in the tenant log. */
  readonly offset: number;
}

const FIRST_SLOTS = 1 << 15;
const GROWTH = 4;
const SLOT = 8;
/** Slots read per probe step; at most half full, a miss almost always ends in the first run. */
const RUN = 16;
const MISSED_CACHE = 4096;
/**
 * Bytes of the in-memory filter (one hash bit per id, a one-hash Bloom filter): a new id whose
 * bit is clear is known absent without reading the tables. Fixed size, so memory stays bounded;
 * as ids accumulate more bits are set and more lookups read the tables (half of them after
 * about 360,000 ids of one tenant).
 */
const FILTER_BYTES = 64 * 1024;

interface Table {
  readonly fd: number;
  readonly slots: number;
  count: number;
}

function ioError(e: unknown, what: string): AgentError {
  const msg = e instanceof Error ? e.message : String(e);
  return new AgentError('ERR_IO', `${what}: ${msg}`, { cause: e });
}

/** A tenant log's request-id index; create with {@link RequestIdIndex.create}. */
export class RequestIdIndex {
  readonly #dir: string;
  readonly #vmr: string;
  readonly #digestSize: number;
  readonly #entrySize: number;
  readonly #key = randomBytes(16);
  readonly #entries: number;
  readonly #tables: Table[] = [];
  readonly #run = Buffer.alloc(RUN * SLOT);
  readonly #slot = Buffer.alloc(SLOT);
  readonly #filter = new Uint8Array(FILTER_BYTES);
  /**
   * Hashes of ids looked up and not found, kept until they are added (a new id is looked up
   * when it arrives, then added once written): one SHA-256 per new id instead of two. Bounded:
   * cleared when it grows past {@link MISSED_CACHE} (ids refused after their lookup).
   */
  readonly #missed = new Map<string, { tag: number; home: number; bit: number }>();
  readonly #entry: Buffer;
  #count = 0;
  #open = true;

  private constructor(dir: string, vmr: string, digestSize: number, entries: number) {
    this.#dir = dir;
    this.#vmr = vmr;
    this.#digestSize = digestSize;
    this.#entrySize = 16 + digestSize;
    this.#entry = Buffer.alloc(this.#entrySize);
    this.#entries = entries;
  }

  /**
   * Starts an empty index for a vMR in `dir`, replacing any files an earlier run left.
   * @throws AgentError `ERR_IO`
   */
  static create(dir: string, vmr: string, digestSize: number): RequestIdIndex {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
      removeFiles(dir, vmr);
      const fd = fs.openSync(join(dir, `${vmr}.entries`), 'w+', 0o640);
      return new RequestIdIndex(dir, vmr, digestSize, fd);
    } catch (e) {
      throw ioError(e, `creating the request-id index of ${vmr} in ${dir}`);
    }
  }

  /** Ids indexed. */
  get size(): number {
    return this.#count;
  }

  /** Tables in use (each costs one read for an id that is not indexed). */
  get tables(): number {
    return this.#tables.length;
  }

  #hash(id: string): { tag: number; home: number; bit: number } {
    const known = this.#missed.get(id);
    if (known !== undefined) return known;
    const h = createHash('sha256').update(this.#key).update(id, 'utf8').digest();
    return {
      tag: h.readUInt32BE(0) || 1,
      home: h.readUInt32BE(4),
      bit: h.readUInt32BE(8) % (FILTER_BYTES * 8),
    };
  }

  /**
   * Finds an id; `confirm(offset)` says whether the `#id` line at that log offset names it.
   * @throws AgentError `ERR_IO`
   */
  find(id: string, confirm: (offset: number) => boolean): IndexedPosition | undefined {
    const { tag, home, bit } = this.#hash(id);
    const maybe = (this.#filter[bit >>> 3]! & (1 << (bit & 7))) !== 0;
    for (let k = maybe ? this.#tables.length - 1 : -1; k >= 0; k--) {
      const t = this.#tables[k]!;
      let found: IndexedPosition | undefined;
      this.#probe(t, home, (slotTag, entry) => {
        if (slotTag !== tag) return false;
        const e = this.#readEntry(entry);
        if (!confirm(e.offset)) return false;
        found = { record: e.record, value: e.value };
        return true;
      });
      if (found !== undefined) return found;
    }
    if (this.#missed.size >= MISSED_CACHE) this.#missed.clear();
    this.#missed.set(id, { tag, home, bit });
    return undefined;
  }

  /**
   * Indexes ids (one write for their entries, one per slot).
   * @throws AgentError `ERR_IO`
   */
  add(ids: readonly IndexedId[]): void {
    if (ids.length === 0) return;
    const buf = Buffer.alloc(ids.length * this.#entrySize);
    ids.forEach((it, i) => {
      const at = i * this.#entrySize;
      buf.writeUIntBE(it.offset, at + 2, 6);
      buf.writeUIntBE(it.record, at + 10, 6);
      buf.set(it.value.subarray(0, this.#digestSize), at + 16);
    });
    try {
      let off = 0;
      const pos = this.#count * this.#entrySize;
      while (off < buf.length)
        off += fs.writeSync(this.#entries, buf, off, buf.length - off, pos + off);
    } catch (e) {
      throw ioError(e, `writing the request-id index of ${this.#vmr}`);
    }
    for (const it of ids) {
      const { tag, home, bit } = this.#hash(it.id);
      this.#missed.delete(it.id);
      this.#filter[bit >>> 3]! |= 1 << (bit & 7);
      this.#insert(this.#newestTable(), tag, home, this.#count + 1);
      this.#count++;
    }
  }

  #newestTable(): Table {
    const last = this.#tables[this.#tables.length - 1];
    if (last !== undefined && last.count * 2 < last.slots) return last;
    const slots = last === undefined ? FIRST_SLOTS : last.slots * GROWTH;
    const path = join(this.#dir, `${this.#vmr}.${this.#tables.length}.slots`);
    try {
      const fd = fs.openSync(path, 'w+', 0o640);
      // sparse: only the pages that get slots take space
      fs.ftruncateSync(fd, slots * SLOT);
      const t = { fd, slots, count: 0 };
      this.#tables.push(t);
      return t;
    } catch (e) {
      throw ioError(e, `creating ${path}`);
    }
  }

  /** Visits occupied slots from `home` on until `visit` returns true or an empty slot ends the run. */
  #probe(
    t: Table,
    home: number,
    visit: (tag: number, entry: number) => boolean,
    onEmpty?: (slot: number) => void,
  ): void {
    const mask = t.slots - 1;
    let slot = home & mask;
    for (let seen = 0; seen < t.slots;) {
      const n = Math.min(RUN, t.slots - slot);
      this.#pread(t.fd, this.#run, n * SLOT, slot * SLOT);
      for (let i = 0; i < n; i++) {
        const entry = this.#run.readUInt32BE(i * SLOT + 4);
        if (entry === 0) {
          onEmpty?.(slot + i);
          return;
        }
        if (visit(this.#run.readUInt32BE(i * SLOT), entry - 1)) return;
      }
      seen += n;
      slot = (slot + n) & mask;
    }
  }

  #insert(t: Table, tag: number, home: number, entryPlusOne: number): void {
    let free = -1;
    this.#probe(
      t,
      home,
      () => false,
      (s) => (free = s),
    );
    // cannot happen below half load; a full table would be a bug, not bad input
    if (free < 0) throw new AgentError('ERR_IO', `request-id table of ${this.#vmr} is full`);
    this.#slot.writeUInt32BE(tag, 0);
    this.#slot.writeUInt32BE(entryPlusOne, 4);
    try {
      fs.writeSync(t.fd, this.#slot, 0, SLOT, free * SLOT);
    } catch (e) {
      throw ioError(e, `writing the request-id index of ${this.#vmr}`);
    }
    t.count++;
  }

  #readEntry(n: number): { offset: number; record: number; value: Uint8Array } {
    this.#pread(this.#entries, this.#entry, this.#entrySize, n * this.#entrySize);
    return {
      offset: this.#entry.readUIntBE(2, 6),
      record: this.#entry.readUIntBE(10, 6),
      value: new Uint8Array(this.#entry.subarray(16)),
    };
  }

  #pread(fd: number, buf: Buffer, length: number, position: number): void {
    try {
      const n = fs.readSync(fd, buf, 0, length, position);
      if (n !== length) throw new Error(`short read (${n} of ${length} bytes at ${position})`);
    } catch (e) {
      throw ioError(e, `reading the request-id index of ${this.#vmr}`);
    }
  }

  /** Closes the files (idempotent). */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const t of this.#tables.splice(0)) fs.closeSync(t.fd);
    fs.closeSync(this.#entries);
  }

  /** Closes and deletes the files. */
  remove(): void {
    this.close();
    removeFiles(this.#dir, this.#vmr);
  }
}

function removeFiles(dir: string, vmr: string): void {
  if (!fs.existsSync(dir)) return;
  // vMR names have no dot, so the prefix names this vMR's files only
  for (const f of fs.readdirSync(dir)) {
    if (f.startsWith(`${vmr}.`) && (f.endsWith('.entries') || f.endsWith('.slots')))
      fs.rmSync(join(dir, f), { force: true });
  }
}
