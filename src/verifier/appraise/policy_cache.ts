/**
 * Validated policies kept between runs, keyed by the SHA-256 of the policy file's bytes: a
 * keylime runtime policy of a million paths is 140 MB of JSON whose parse, schema check, id and
 * freeze cost seconds on every `mrstack appraise`. The first load validates it as
 * {@link parsePolicy} does and writes, under the cache directory, the policy's id, the policy
 * without its IMA allowlist (JSON), and the allowlist as an open-addressing hash table over the
 * paths' bytes; later loads of the same bytes read that file and look paths up in place — no
 * object per path. Small policies are not cached (parsing them is cheaper than the file).
 *
 * The cache file is checked whole before use (a SHA-256 of everything before it ends the file,
 * and the header names the policy file's SHA-256); a file that fails a check is ignored and
 * rewritten, never trusted. That check finds corruption, not an author: whoever can write the
 * cache can change what appraisal allows, as whoever can write the policy file can. So the
 * directory is made private (0700, files 0600), and an entry is only read when it and its
 * directory belong to this user and are writable by no one else (as ssh treats `~/.ssh`);
 * otherwise the policy file is parsed as if there were no cache.
 *
 * @module
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { homedir } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { fromErrno } from '../../errors.js';
import {
  parsePolicy,
  pathHash,
  type DigestLookup,
  type LoadedPolicy,
  type PolicyV1,
} from './policy.js';

/** Policy files at least this large are cached (smaller ones parse faster than a cache read). */
export const POLICY_CACHE_MIN_BYTES: number = 1 << 20;

// 3: digests as bytes, paths hashed over their UTF-8 (2: hex text, hashed over UTF-16 units);
// 2: the trailing SHA-256 covers the header too (1 hashed only the body).
const MAGIC = 'mrstack-policy-cache-3\n';
const TRAILER = 32;

/**
 * The default cache directory: `$MRSTACK_POLICY_CACHE`, else `$XDG_CACHE_HOME/mrstack/policy`,
 * else `~/.cache/mrstack/policy`.
 */
export function defaultPolicyCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env['MRSTACK_POLICY_CACHE'];
  if (own !== undefined && own !== '') return own;
  const xdg = env['XDG_CACHE_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : path.join(homedir(), '.cache');
  return path.join(base, 'mrstack', 'policy');
}

/** Options of {@link loadPolicyFile}. */
export interface LoadPolicyFileOptions {
  /** Cache directory (default {@link defaultPolicyCacheDir}); `false`: no cache. */
  readonly cacheDir?: string | false;
  /** Read the files off this thread (`fs.promises`), so that other work runs meanwhile. */
  readonly async?: boolean;
  /**
   * Read and hash the files on a worker thread (a 100 MB policy and its entry are two SHA-256
   * passes and reads of their size), so that this thread's work runs beside them; the
   * validation of a missed policy stays here.
   */
  readonly thread?: boolean;
}

/** What a load reads from disk ({@link readPolicyFiles}). */
export interface PolicyFiles {
  /** The policy file's bytes; absent when `entry` is given. */
  readonly bytes?: Uint8Array;
  /** The policy file's SHA-256 (hex), with `entry`. */
  readonly key?: string;
  /** The cache entry for `key`, private to this user and whole (its SHA-256 checked). */
  readonly entry?: Uint8Array;
}

/**
 * Reads a policy file and, if it is large enough to be cached, its cache entry in `dir` when
 * that entry is private to this user and whole: what {@link loadPolicyFile} then decodes (the
 * part of a load a worker thread does).
 * @throws a file-system error of the policy file
 */
export function readPolicyFiles(file: string, dir: string): PolicyFiles {
  // a large file is hashed as it is read, a slice at a time into one buffer: on a hit its
  // bytes are not needed (a 100 MB policy would be 100 MB of new memory to fault in)
  const fd = fs.openSync(file, 'r');
  let key: string | undefined;
  try {
    const size = fs.fstatSync(fd).size;
    if (size < POLICY_CACHE_MIN_BYTES) return { bytes: fs.readFileSync(fd) };
    const h = createHash('sha256');
    const slice = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = fs.readSync(fd, slice, 0, slice.length, null)) > 0;)
      h.update(slice.subarray(0, n));
    key = h.digest('hex');
  } finally {
    fs.closeSync(fd);
  }
  const entry = path.join(dir, `${key}.bin`);
  try {
    if (privateToUs(dir) && privateToUs(entry)) {
      const e = fs.readFileSync(entry);
      if (wholeEntry(e)) return { key, entry: e };
    }
  } catch {
    // no entry: a miss
  }
  // a miss: the bytes read again, and hashed again by the caller (the file may have changed
  // since: the entry written must be that of the bytes parsed)
  return { bytes: fs.readFileSync(file) };
}

/** {@link readPolicyFiles} on a worker thread; undefined when it failed there (read again here). */
async function readPolicyFilesOnWorker(
  file: string,
  dir: string,
): Promise<PolicyFiles | undefined> {
  const { Worker } = await import('node:worker_threads');
  return new Promise((resolve) => {
    const w = new Worker(new URL('./policy_cache_worker.js', import.meta.url), {
      workerData: { file, dir },
    });
    w.once('message', (m: PolicyFiles | null) => resolve(m ?? undefined));
    w.once('error', () => resolve(undefined));
    w.once('exit', () => resolve(undefined));
  });
}

/** A whole file: read on the thread pool (`async`) or here. */
async function readWhole(file: string | 0, async: boolean): Promise<Buffer> {
  return async && file !== 0 ? fsp.readFile(file) : fs.readFileSync(file);
}

/**
 * Loads and validates a policy file (JSON or YAML), through the cache for large files.
 * @throws MrstackError `ERR_POLICY_INVALID`, `ERR_REGEX_UNSUPPORTED`; a file-system error naming
 *   the path
 */
export async function loadPolicyFile(
  file: string,
  opts: LoadPolicyFileOptions = {},
): Promise<LoadedPolicy> {
  return finishLoad(file, opts, startRead(file, opts));
}

/**
 * Starts {@link loadPolicyFile} with `thread: true` now — the files read and hashed on a worker
 * thread — and returns what finishes it: the decode of a hit, or the parse and validation of a
 * miss, which run on the calling thread only when it is called (`verifier serve` opens its store
 * meanwhile, and parses a missed million-path policy only once the store's engine is up).
 */
export function prefetchPolicyFile(
  file: string,
  opts: Omit<LoadPolicyFileOptions, 'thread'> = {},
): () => Promise<LoadedPolicy> {
  const o = { ...opts, thread: true };
  const read = startRead(file, o);
  return () => finishLoad(file, o, read);
}

/** The worker thread's read of {@link loadPolicyFile}, when it takes one. */
async function startRead(
  file: string,
  opts: LoadPolicyFileOptions,
): Promise<PolicyFiles | undefined> {
  const dir = opts.cacheDir ?? defaultPolicyCacheDir();
  return opts.thread === true && file !== '-' && dir !== false
    ? readPolicyFilesOnWorker(file, dir)
    : undefined;
}

async function finishLoad(
  file: string,
  opts: LoadPolicyFileOptions,
  reading: Promise<PolicyFiles | undefined>,
): Promise<LoadedPolicy> {
  const async = opts.async === true;
  const dir = opts.cacheDir ?? defaultPolicyCacheDir();
  const read = await reading;
  if (read?.entry !== undefined) {
    const hit = decodeCache(asBuffer(read.entry), read.key!, true);
    if (hit !== undefined) return hit;
  }
  let bytes: Buffer;
  try {
    bytes =
      read?.bytes !== undefined
        ? asBuffer(read.bytes)
        : await readWhole(file === '-' ? 0 : file, async);
  } catch (e) {
    throw fromErrno(e, file);
  }
  if (dir === false || bytes.length < POLICY_CACHE_MIN_BYTES) {
    return parsePolicy(bytes.toString('utf8'));
  }
  const key = read?.key ?? createHash('sha256').update(bytes).digest('hex');
  if (read === undefined) {
    const hit = await readCacheFile(path.join(dir, `${key}.bin`), key, async);
    if (hit !== undefined) return hit;
  }
  // a miss: validated once, then used through the table just made (as the next load will be);
  // the parsed object is dropped, so it is not frozen
  const text = bytes.toString('utf8');
  const loaded = await parsePolicy(text, { freeze: false });
  let data: Buffer;
  try {
    data = encodeCache(key, loaded);
  } catch {
    return parsePolicy(text); // not cacheable: the policy as parsed
  }
  writeCacheEntry(dir, key, data);
  return decodeCache(data, key, true) ?? parsePolicy(text);
}

/**
 * Writes the cache entry of a validated policy whose file bytes hash to `fileSha256` (what
 * `policy import --out` does for the file it writes). Best effort: a cache that cannot be
 * written is skipped.
 */
export function writePolicyCache(dir: string, fileSha256: string, loaded: LoadedPolicy): void {
  let data: Buffer;
  try {
    data = encodeCache(fileSha256, loaded);
  } catch {
    return; // not cacheable
  }
  writeCacheEntry(dir, fileSha256, data);
}

/** Writes an encoded entry (best effort, as {@link writePolicyCache}). */
function writeCacheEntry(dir: string, fileSha256: string, data: Buffer): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${fileSha256}.bin`);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    // a read-only or full cache directory only costs the next run its parse
  }
}

/**
 * Writes the cache entry for a policy file about to hold `text` (UTF-8), when it is large enough
 * to be cached: `policy import --out` validated the policy already, so the first appraisal
 * with it need not.
 */
export function primePolicyCache(
  text: string,
  loaded: LoadedPolicy,
  dir: string = defaultPolicyCacheDir(),
): void {
  if (Buffer.byteLength(text, 'utf8') < POLICY_CACHE_MIN_BYTES) return;
  writePolicyCache(dir, createHash('sha256').update(text, 'utf8').digest('hex'), loaded);
}

/** {@link pathHash} of a path given as text: over its UTF-8 bytes (ASCII: its char codes). */
function textHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      const b = Buffer.from(s, 'utf8');
      return pathHash(b, 0, b.length);
    }
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}

const pad4 = (n: number): number => (n + 3) & ~3;

interface Header {
  readonly file_sha256: string;
  readonly id: string;
  readonly policy: PolicyV1;
  readonly paths: number;
  readonly digests: number;
  readonly slots: number;
  readonly path_bytes: number;
  readonly digest_bytes: number;
}

/** Thrown while encoding a policy the cache cannot hold exactly (then nothing is written). */
class NotCacheable extends Error {}

/**
 * The cache file: MAGIC, u32le header length, the header (JSON), padding to 4 bytes, then the
 * body: `slots` pairs of u32 (entry + 1, 0 empty; the path's hash: a probe dereferences only
 * entries whose hash is the one sought), per path its end in the path bytes and the end of its
 * digests in the digest list (u32 each), per digest `2 × its end in the digest bytes + 1 if its
 * hex has an odd length` (u32), the paths (UTF-8) and the digests (bytes; an odd-length hex
 * digest's last nibble in a byte's high half); last, the SHA-256 of everything before it.
 */
function encodeCache(fileSha256: string, loaded: LoadedPolicy): Buffer {
  const p = loaded.policy;
  const digests = p.ima?.digests ?? {};
  // keys and values once each (a million-key record is slow to index into)
  const keys = Object.keys(digests);
  const lists: (readonly string[])[] = [];
  for (const k of keys) lists.push(digests[k]!);
  const n = keys.length;
  let slots = 8;
  while (slots < 2 * n) slots *= 2;
  const table = new Uint32Array(2 * slots);
  const pathEnd = new Uint32Array(n);
  const digEnd = new Uint32Array(n);
  let m = 0;
  let digBytes = 0;
  for (const l of lists) {
    for (const x of l) digBytes += (x.length + 1) >> 1;
    m += l.length;
  }
  if (digBytes >= 2 ** 31) throw new NotCacheable();
  const digByteEnd = new Uint32Array(m);
  const pathParts: string[] = [];
  let pathBytes = 0;
  for (const k of keys) {
    pathParts.push(k);
    pathBytes += Buffer.byteLength(k, 'utf8');
  }
  const bodyLen = 4 * (2 * slots + 2 * n + m) + pad4(pathBytes) + pad4(digBytes);
  const body = Buffer.alloc(bodyLen);
  const pathAt = 4 * (2 * slots + 2 * n + m);
  const digAt = pathAt + pad4(pathBytes);
  body.write(pathParts.join(''), pathAt, 'utf8');
  let pathPos = pathAt;
  let digPos = digAt;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    const kEnd = pathPos + Buffer.byteLength(k, 'utf8');
    pathEnd[i] = kEnd - pathAt;
    for (const x of lists[i]!) {
      // lower-case hex (the schema); the decoder stops at anything else, which is refused here
      const whole = x.length >> 1;
      if (body.write(x, digPos, whole, 'hex') !== whole) throw new NotCacheable();
      digPos += whole;
      const odd = x.length & 1;
      if (odd === 1) {
        const nib = HEX_CHARS.indexOf(x[x.length - 1]!);
        if (nib < 0) throw new NotCacheable();
        body[digPos++] = nib << 4;
      }
      digByteEnd[d++] = 2 * (digPos - digAt) + odd;
    }
    digEnd[i] = d;
    const h = pathHash(body, pathPos, kEnd);
    for (let s = h & (slots - 1); ; s = (s + 1) & (slots - 1)) {
      if (table[2 * s] === 0) {
        table[2 * s] = i + 1;
        table[2 * s + 1] = h;
        break;
      }
    }
    pathPos = kEnd;
  }
  let at = 0;
  for (const a of [table, pathEnd, digEnd, digByteEnd]) {
    body.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  const rest: PolicyV1 =
    p.ima?.digests === undefined ? p : { ...p, ima: { ...p.ima, digests: {} } };
  const header: Header = {
    file_sha256: fileSha256,
    id: loaded.id,
    policy: rest,
    paths: n,
    digests: m,
    slots,
    path_bytes: pathBytes,
    digest_bytes: digBytes,
  };
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const lead = Buffer.alloc(pad4(MAGIC.length + 4 + head.length));
  lead.write(MAGIC, 0, 'latin1');
  lead.writeUInt32LE(head.length, MAGIC.length);
  head.copy(lead, MAGIC.length + 4);
  const sum = createHash('sha256').update(lead).update(body).digest();
  return Buffer.concat([lead, body, sum]);
}

const HEX_CHARS = '0123456789abcdef';

/** The cached policy, or undefined when there is none or it fails a check. */
async function readCacheFile(
  file: string,
  fileSha256: string,
  async: boolean,
): Promise<LoadedPolicy | undefined> {
  let buf: Buffer;
  try {
    if (!privateToUs(path.dirname(file)) || !privateToUs(file)) return undefined;
    buf = await readWhole(file, async);
  } catch {
    return undefined;
  }
  try {
    return decodeCache(buf, fileSha256);
  } catch {
    return undefined; // not ours, cut or changed: parsed again and rewritten
  }
}

/**
 * Whether a cache path is ours alone: not a symbolic link, owned by this user, writable by no
 * group or other (on systems without uids, only the mode bits are checked).
 */
function privateToUs(p: string): boolean {
  const st = fs.lstatSync(p);
  if (st.isSymbolicLink()) return false;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return false;
  return (st.mode & 0o022) === 0;
}

/** Whether a cache file is whole: its magic, and the SHA-256 of all before it at its end. */
function wholeEntry(whole: Buffer): boolean {
  if (whole.length < MAGIC.length + 4 + TRAILER) return false;
  if (whole.toString('latin1', 0, MAGIC.length) !== MAGIC) return false;
  const buf = whole.subarray(0, whole.length - TRAILER);
  return createHash('sha256').update(buf).digest().equals(whole.subarray(buf.length));
}

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** The policy of a cache file (`checked`: {@link wholeEntry} was), or undefined. */
function decodeCache(whole: Buffer, fileSha256: string, checked = false): LoadedPolicy | undefined {
  if (!checked && !wholeEntry(whole)) return undefined;
  const buf = whole.subarray(0, whole.length - TRAILER);
  const headLen = buf.readUInt32LE(MAGIC.length);
  const headEnd = MAGIC.length + 4 + headLen;
  if (headEnd > buf.length) return undefined;
  const h = JSON.parse(buf.toString('utf8', MAGIC.length + 4, headEnd)) as Header;
  const bodyAt = pad4(headEnd);
  const { slots, paths: n, digests: m } = h;
  const bodyLen = 4 * (2 * slots + 2 * n + m) + pad4(h.path_bytes) + pad4(h.digest_bytes);
  if (
    h.file_sha256 !== fileSha256 ||
    buf.length !== bodyAt + bodyLen ||
    slots < 8 ||
    (slots & (slots - 1)) !== 0 ||
    slots < 2 * n
  )
    return undefined;
  const body = buf.subarray(bodyAt);
  // readFileSync gives the file its own ArrayBuffer, so the u32 arrays view it in place
  const u32 = (at: number, count: number): Uint32Array =>
    new Uint32Array(body.buffer, body.byteOffset + at, count);
  if ((body.byteOffset & 3) !== 0) return undefined;
  const table = u32(0, 2 * slots);
  const pathEnd = u32(8 * slots, n);
  const digEnd = u32(4 * (2 * slots + n), n);
  const digByteEnd = u32(4 * (2 * slots + 2 * n), m);
  const pathAt = 4 * (2 * slots + 2 * n + m);
  const digAt = pathAt + pad4(h.path_bytes);
  const lookup = new TableLookup(body, table, pathEnd, digEnd, digByteEnd, pathAt, digAt);
  const p = h.policy;
  const ima = p.ima;
  let policy: PolicyV1 = p;
  if (ima !== undefined && n > 0) {
    let all: Record<string, readonly string[]> | undefined;
    const imaLazy = { ...ima };
    // the allowlist as a record only if someone reads it (compilePolicy uses the table)
    Object.defineProperty(imaLazy, 'digests', {
      enumerable: true,
      get: () => (all ??= Object.freeze(lookup.toRecord())),
    });
    policy = { ...p, ima: imaLazy };
  }
  freezeCached(policy);
  return { id: h.id, policy, imaDigests: lookup };
}

/** Freezes the policy read from the cache, getters aside (the allowlist is frozen when built). */
function freezeCached(v: unknown): void {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const k of Object.keys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, k);
    if (d !== undefined && 'value' in d) freezeCached(d.value);
  }
}

/** Buffer's hex writer, called on a range of the body (no Buffer object per digest). */
type HexSlice = (this: Uint8Array, from: number, to: number) => string;
const hexSlice = (Buffer.prototype as unknown as { hexSlice: HexSlice }).hexSlice;

/** {@link DigestLookup} over the cache file's table. */
class TableLookup implements DigestLookup {
  private readonly body: Buffer;
  private readonly table: Uint32Array;
  private readonly pathEnd: Uint32Array;
  private readonly digEnd: Uint32Array;
  private readonly digByteEnd: Uint32Array;
  private readonly pathAt: number;
  private readonly digAt: number;

  constructor(
    body: Buffer,
    table: Uint32Array,
    pathEnd: Uint32Array,
    digEnd: Uint32Array,
    digByteEnd: Uint32Array,
    pathAt: number,
    digAt: number,
  ) {
    this.body = body;
    this.table = table;
    this.pathEnd = pathEnd;
    this.digEnd = digEnd;
    this.digByteEnd = digByteEnd;
    this.pathAt = pathAt;
    this.digAt = digAt;
  }

  get(p: string): readonly string[] | undefined {
    const i = this.find(p);
    return i < 0 ? undefined : this.digestsOf(i);
  }

  allows(p: string, digest: string): boolean | undefined {
    const i = this.find(p);
    if (i < 0) return undefined;
    const b = this.body;
    for (let d = i === 0 ? 0 : this.digEnd[i - 1]!; d < this.digEnd[i]!; d++) {
      const a = this.digestAt(d);
      const e = this.digestEnd(d);
      if (2 * (e - a) - (this.digByteEnd[d]! & 1) !== digest.length) continue;
      let k = 0;
      while (k < digest.length) {
        const byte = b[a + (k >> 1)]!;
        if (digest.charCodeAt(k) !== HEX_CHARS.charCodeAt((k & 1) === 0 ? byte >> 4 : byte & 15))
          break;
        k++;
      }
      if (k === digest.length) return true;
    }
    return false;
  }

  allowsBytes(
    x: Uint8Array,
    pathAt: number,
    pathEnd: number,
    hash: number,
    digestAt: number,
    digestEnd: number,
  ): boolean | undefined {
    const i = this.findBytes(x, pathAt, pathEnd, hash);
    if (i < 0) return undefined;
    const b = this.body;
    const len = digestEnd - digestAt;
    for (let d = i === 0 ? 0 : this.digEnd[i - 1]!; d < this.digEnd[i]!; d++) {
      // an odd-length hex digest is never the hex of bytes
      if ((this.digByteEnd[d]! & 1) !== 0) continue;
      const a = this.digestAt(d);
      if (this.digestEnd(d) - a !== len) continue;
      let k = 0;
      while (k < len && b[a + k] === x[digestAt + k]) k++;
      if (k === len) return true;
    }
    return false;
  }

  /** What {@link TableLookup.prefetch} last read (kept, so that the reads are not dropped). */
  sink = 0;

  prefetch(hashes: Uint32Array, count: number): void {
    const t = this.table;
    const mask = (t.length >> 1) - 1;
    const pathEnd = this.pathEnd;
    const digEnd = this.digEnd;
    let acc = 0;
    // three rounds, each read of a round independent of the others in it: the slots, then the
    // entries the slots name, then the path and digest bytes those entries point at
    for (let j = 0; j < count; j++) acc += t[2 * (hashes[j]! & mask)]!;
    for (let j = 0; j < count; j++) {
      const s = hashes[j]! & mask;
      const e = t[2 * s]!;
      if (e !== 0 && t[2 * s + 1] === hashes[j]) acc += pathEnd[e - 1]! + digEnd[e - 1]!;
    }
    for (let j = 0; j < count; j++) {
      const s = hashes[j]! & mask;
      const e = t[2 * s]!;
      if (e === 0 || t[2 * s + 1] !== hashes[j]) continue;
      const i = e - 1;
      const d = i === 0 ? 0 : digEnd[i - 1]!;
      acc += this.body[this.pathAt + (i === 0 ? 0 : pathEnd[i - 1]!)]!;
      if (d < this.digByteEnd.length) acc += this.body[this.digestAt(d)]!;
    }
    this.sink = acc;
  }

  /** Where digest `d` starts and ends in the body. */
  private digestAt(d: number): number {
    return this.digAt + (d === 0 ? 0 : this.digByteEnd[d - 1]! >>> 1);
  }

  private digestEnd(d: number): number {
    return this.digAt + (this.digByteEnd[d]! >>> 1);
  }

  /** The entry of a path, or -1. */
  private find(p: string): number {
    const mask = (this.table.length >> 1) - 1;
    const hash = textHash(p);
    let bytes: Buffer | undefined;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const e = this.table[2 * s]!;
      if (e === 0) return -1;
      if (this.table[2 * s + 1] !== hash) continue;
      const i = e - 1;
      const start = this.pathAt + (i === 0 ? 0 : this.pathEnd[i - 1]!);
      const end = this.pathAt + this.pathEnd[i]!;
      bytes ??= asciiOrUtf8(p);
      if (bytes === ASCII ? this.sameAscii(p, start, end) : this.sameBytes(bytes, start, end))
        return i;
    }
  }

  /** The entry of a path given as bytes with its hash, or -1. */
  private findBytes(x: Uint8Array, at: number, end: number, hash: number): number {
    const mask = (this.table.length >> 1) - 1;
    const b = this.body;
    const len = end - at;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const e = this.table[2 * s]!;
      if (e === 0) return -1;
      if (this.table[2 * s + 1] !== hash) continue;
      const i = e - 1;
      const start = this.pathAt + (i === 0 ? 0 : this.pathEnd[i - 1]!);
      if (this.pathAt + this.pathEnd[i]! - start !== len) continue;
      let k = 0;
      while (k < len && b[start + k] === x[at + k]) k++;
      if (k === len) return i;
    }
  }

  private sameAscii(p: string, start: number, end: number): boolean {
    if (end - start !== p.length) return false;
    const b = this.body;
    for (let k = 0; k < p.length; k++) if (b[start + k] !== p.charCodeAt(k)) return false;
    return true;
  }

  private sameBytes(x: Buffer, start: number, end: number): boolean {
    return end - start === x.length && this.body.compare(x, 0, x.length, start, end) === 0;
  }

  private digestsOf(i: number): string[] {
    const from = i === 0 ? 0 : this.digEnd[i - 1]!;
    const to = this.digEnd[i]!;
    const out: string[] = [];
    for (let d = from; d < to; d++) {
      const hex = hexSlice.call(this.body, this.digestAt(d), this.digestEnd(d));
      out.push((this.digByteEnd[d]! & 1) === 0 ? hex : hex.slice(0, -1));
    }
    return out;
  }

  /** The allowlist as a record, in the policy file's order. */
  toRecord(): Record<string, readonly string[]> {
    const out: Record<string, readonly string[]> = {};
    for (let i = 0; i < this.pathEnd.length; i++) {
      const start = this.pathAt + (i === 0 ? 0 : this.pathEnd[i - 1]!);
      const k = this.body.toString('utf8', start, this.pathAt + this.pathEnd[i]!);
      Object.defineProperty(out, k, {
        value: Object.freeze(this.digestsOf(i)),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
}

/** Marks a path that is ASCII (compared by char codes, no encoding). */
const ASCII: Buffer = Buffer.alloc(0);

function asciiOrUtf8(p: string): Buffer {
  for (let k = 0; k < p.length; k++) if (p.charCodeAt(k) > 0x7f) return Buffer.from(p, 'utf8');
  return ASCII;
}
