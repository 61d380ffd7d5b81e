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
import { parsePolicy, type DigestLookup, type LoadedPolicy, type PolicyV1 } from './policy.js';

/** Policy files at least this large are cached (smaller ones parse faster than a cache read). */
export const POLICY_CACHE_MIN_BYTES: number = 1 << 20;

// 2: the trailing SHA-256 covers the header too (1 hashed only the body).
const MAGIC = 'mrstack-policy-cache-2\n';
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
  const async = opts.async === true;
  let bytes: Buffer;
  try {
    bytes = await readWhole(file === '-' ? 0 : file, async);
  } catch (e) {
    throw fromErrno(e, file);
  }
  const dir = opts.cacheDir ?? defaultPolicyCacheDir();
  if (dir === false || bytes.length < POLICY_CACHE_MIN_BYTES) {
    return parsePolicy(bytes.toString('utf8'));
  }
  const key = createHash('sha256').update(bytes).digest('hex');
  const entry = path.join(dir, `${key}.bin`);
  const hit = await readCacheFile(entry, key, async);
  if (hit !== undefined) return hit;
  const loaded = await parsePolicy(bytes.toString('utf8'));
  writePolicyCache(dir, key, loaded);
  return loaded;
}

/**
 * Writes the cache entry of a validated policy whose file bytes hash to `fileSha256` (what
 * `policy import --out` does for the file it writes). Best effort: a cache that cannot be
 * written is skipped.
 */
export function writePolicyCache(dir: string, fileSha256: string, loaded: LoadedPolicy): void {
  try {
    const data = encodeCache(fileSha256, loaded);
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

/** 32-bit FNV-1a over a path's UTF-16 code units: the table's hash, at build and lookup. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
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

/**
 * The cache file: MAGIC, u32le header length, the header (JSON), padding to 4 bytes, then the
 * body: `slots` u32 (entry + 1, 0 empty), per path its end in the path bytes and the end of its
 * digests in the digest list (u32 each), per digest its end in the digest bytes (u32), the
 * paths (UTF-8) and the digests (hex text); last, the SHA-256 of everything before it.
 */
function encodeCache(fileSha256: string, loaded: LoadedPolicy): Buffer {
  const p = loaded.policy;
  const digests = p.ima?.digests ?? {};
  const keys = Object.keys(digests);
  const n = keys.length;
  let slots = 8;
  while (slots < 2 * n) slots *= 2;
  const table = new Uint32Array(slots);
  const pathEnd = new Uint32Array(n);
  const digEnd = new Uint32Array(n);
  let m = 0;
  for (const k of keys) m += digests[k]!.length;
  const digTextEnd = new Uint32Array(m);
  const pathParts: string[] = [];
  const digParts: string[] = [];
  let pathBytes = 0;
  let digBytes = 0;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    pathParts.push(k);
    pathBytes += Buffer.byteLength(k, 'utf8');
    pathEnd[i] = pathBytes;
    for (const x of digests[k]!) {
      digParts.push(x);
      digBytes += x.length; // lower-case hex (the schema): one byte per character
      digTextEnd[d++] = digBytes;
    }
    digEnd[i] = d;
    for (let s = fnv(k) & (slots - 1); ; s = (s + 1) & (slots - 1)) {
      if (table[s] === 0) {
        table[s] = i + 1;
        break;
      }
    }
  }
  const rest: PolicyV1 =
    p.ima?.digests === undefined ? p : { ...p, ima: { ...p.ima, digests: {} } };
  const bodyLen = 4 * (slots + 2 * n + m) + pad4(pathBytes) + pad4(digBytes);
  const body = Buffer.alloc(bodyLen);
  let at = 0;
  for (const a of [table, pathEnd, digEnd, digTextEnd]) {
    body.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  body.write(pathParts.join(''), at, 'utf8');
  at += pad4(pathBytes);
  body.write(digParts.join(''), at, 'latin1');
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

function decodeCache(whole: Buffer, fileSha256: string): LoadedPolicy | undefined {
  if (whole.length < MAGIC.length + 4 + TRAILER) return undefined;
  if (whole.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
  const buf = whole.subarray(0, whole.length - TRAILER);
  const sum = createHash('sha256').update(buf).digest();
  if (!sum.equals(whole.subarray(buf.length))) return undefined;
  const headLen = buf.readUInt32LE(MAGIC.length);
  const headEnd = MAGIC.length + 4 + headLen;
  if (headEnd > buf.length) return undefined;
  const h = JSON.parse(buf.toString('utf8', MAGIC.length + 4, headEnd)) as Header;
  const bodyAt = pad4(headEnd);
  const { slots, paths: n, digests: m } = h;
  const bodyLen = 4 * (slots + 2 * n + m) + pad4(h.path_bytes) + pad4(h.digest_bytes);
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
  const table = u32(0, slots);
  const pathEnd = u32(4 * slots, n);
  const digEnd = u32(4 * (slots + n), n);
  const digTextEnd = u32(4 * (slots + 2 * n), m);
  const pathAt = 4 * (slots + 2 * n + m);
  const digAt = pathAt + pad4(h.path_bytes);
  const lookup = new TableLookup(body, table, pathEnd, digEnd, digTextEnd, pathAt, digAt);
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

/** {@link DigestLookup} over the cache file's table. */
class TableLookup implements DigestLookup {
  private readonly body: Buffer;
  private readonly table: Uint32Array;
  private readonly pathEnd: Uint32Array;
  private readonly digEnd: Uint32Array;
  private readonly digTextEnd: Uint32Array;
  private readonly pathAt: number;
  private readonly digAt: number;

  constructor(
    body: Buffer,
    table: Uint32Array,
    pathEnd: Uint32Array,
    digEnd: Uint32Array,
    digTextEnd: Uint32Array,
    pathAt: number,
    digAt: number,
  ) {
    this.body = body;
    this.table = table;
    this.pathEnd = pathEnd;
    this.digEnd = digEnd;
    this.digTextEnd = digTextEnd;
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
      const a = this.digAt + (d === 0 ? 0 : this.digTextEnd[d - 1]!);
      if (this.digAt + this.digTextEnd[d]! - a !== digest.length) continue;
      let k = 0;
      while (k < digest.length && b[a + k] === digest.charCodeAt(k)) k++;
      if (k === digest.length) return true;
    }
    return false;
  }

  /** The entry of a path, or -1. */
  private find(p: string): number {
    const mask = this.table.length - 1;
    let bytes: Buffer | undefined;
    for (let s = fnv(p) & mask; ; s = (s + 1) & mask) {
      const e = this.table[s]!;
      if (e === 0) return -1;
      const i = e - 1;
      const start = this.pathAt + (i === 0 ? 0 : this.pathEnd[i - 1]!);
      const end = this.pathAt + this.pathEnd[i]!;
      bytes ??= asciiOrUtf8(p);
      if (bytes === ASCII ? this.sameAscii(p, start, end) : this.sameBytes(bytes, start, end))
        return i;
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
      const a = this.digAt + (d === 0 ? 0 : this.digTextEnd[d - 1]!);
      out.push(this.body.toString('latin1', a, this.digAt + this.digTextEnd[d]!));
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
