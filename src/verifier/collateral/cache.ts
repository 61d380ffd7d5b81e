/**
 * The on-disk collateral cache that `mrstack collateral fetch` fills and `evidence verify
 * --collateral DIR` reads. One directory per entry holding the responses exactly as served (a
 * TDX entry is a directory of Intel PCS responses; an SNP entry holds the VCEK and its KDS
 * certificate chain), and beside it `<entry>.meta.json` recording each item's URL, digest,
 * fetch time and `nextUpdate`, so a later fetch asks again only for what went stale.
 *
 * Layout: `<root>/tdx/<fmspc>/…`, `<root>/snp/<product>/<hwid>_<tcb>/…`,
 * `<root>/snp/<product>/crl/…`. Files are written atomically (temporary sibling + rename).
 *
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { homedir } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { ParseError, fromErrno } from '../../errors.js';

/** The meta file's `format`. */
export const COLLATERAL_META_FORMAT = 'mrstack-collateral-v1';

/** One cached item. */
export interface CachedItem {
  /** File name inside the entry directory. */
  readonly file: string;
  readonly url: string;
  readonly sha256: string;
  readonly fetched_at: string;
  /** When the issuer says the item should be refreshed (absent: kept until forced). */
  readonly next_update?: string;
  /** The service had no such item (HTTP 404): remembered until `next_update`, no file. */
  readonly absent?: true;
}

/** An entry's meta file. */
export interface CacheEntryMeta {
  readonly format: typeof COLLATERAL_META_FORMAT;
  readonly kind: 'tdx' | 'snp';
  readonly key: string;
  readonly items: Readonly<Record<string, CachedItem>>;
}

/** An item to store: its record without the hash, its name and its bytes. */
export type NewCachedItem = Omit<CachedItem, 'sha256'> & {
  readonly name: string;
  readonly data: Uint8Array;
};

/** A fetched document to store, with its next update when the document names one. */
export function fetchedItem(
  name: string,
  file: string,
  url: string,
  data: Uint8Array,
  fetchedAt: string,
  nextUpdate?: string,
): NewCachedItem {
  return {
    name,
    file,
    url,
    data,
    fetched_at: fetchedAt,
    ...(nextUpdate === undefined ? {} : { next_update: nextUpdate }),
  };
}

/**
 * A document the service does not have (404), recorded so that it is not asked for again
 * before `nextUpdate`.
 */
export function absentItem(
  name: string,
  url: string,
  fetchedAt: string,
  nextUpdate?: string,
): NewCachedItem {
  return {
    name,
    file: '',
    url,
    data: new Uint8Array(0),
    fetched_at: fetchedAt,
    ...(nextUpdate === undefined ? {} : { next_update: nextUpdate }),
    absent: true,
  };
}

/**
 * The default cache root: `$MRSTACK_COLLATERAL_CACHE`, else `$XDG_CACHE_HOME/mrstack/collateral`,
 * else `~/.cache/mrstack/collateral`.
 */
export function defaultCollateralCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env['MRSTACK_COLLATERAL_CACHE'];
  if (own !== undefined && own !== '') return own;
  const xdg = env['XDG_CACHE_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : path.join(homedir(), '.cache');
  return path.join(base, 'mrstack', 'collateral');
}

/** Writes bytes atomically (temporary sibling, then rename). */
export function writeAtomic(file: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** The collateral cache under one root directory. */
export class CollateralCache {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The directory of an entry (`<root>/<kind>/<key>`). */
  entryDir(kind: 'tdx' | 'snp', key: string): string {
    return path.join(this.root, kind, ...key.split('/'));
  }

  #metaPath(kind: 'tdx' | 'snp', key: string): string {
    return `${this.entryDir(kind, key)}.meta.json`;
  }

  /**
   * An entry's meta, or undefined when it was never fetched.
   * @throws ParseError `ERR_BAD_JSON` for a corrupt meta file
   */
  readMeta(kind: 'tdx' | 'snp', key: string): CacheEntryMeta | undefined {
    const p = this.#metaPath(kind, key);
    let text: string;
    try {
      text = fs.readFileSync(p, 'utf8');
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw fromErrno(e, p);
    }
    try {
      const j = JSON.parse(text) as { format?: unknown };
      if (j.format !== COLLATERAL_META_FORMAT) throw new Error('wrong format');
      return j as CacheEntryMeta;
    } catch (cause) {
      throw new ParseError({
        code: 'ERR_BAD_JSON',
        format: 'json',
        offset: 0,
        field: p,
        expected: COLLATERAL_META_FORMAT,
        cause,
      });
    }
  }

  /** True when an item is cached, its file is intact, and `now` is before its `next_update`. */
  isFresh(meta: CacheEntryMeta | undefined, name: string, now: Date, kind: 'tdx' | 'snp'): boolean {
    const it = meta?.items[name];
    if (meta === undefined || it === undefined) return false;
    if (it.absent === true) {
      return it.next_update !== undefined && now.getTime() < Date.parse(it.next_update);
    }
    const file = path.join(this.entryDir(kind, meta.key), it.file);
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      return false;
    }
    if (createHash('sha256').update(data).digest('hex') !== it.sha256) return false;
    return it.next_update === undefined || now.getTime() < Date.parse(it.next_update);
  }

  /** Stores items and merges their records into the entry's meta. */
  store(kind: 'tdx' | 'snp', key: string, items: readonly NewCachedItem[]): CacheEntryMeta {
    const dir = this.entryDir(kind, key);
    try {
      const old = this.readMeta(kind, key);
      const merged: Record<string, CachedItem> = { ...(old?.items ?? {}) };
      for (const it of items) {
        if (it.absent !== true) writeAtomic(path.join(dir, it.file), it.data);
        const { name, data, ...rec } = it;
        merged[name] = { ...rec, sha256: createHash('sha256').update(data).digest('hex') };
      }
      const meta: CacheEntryMeta = { format: COLLATERAL_META_FORMAT, kind, key, items: merged };
      writeAtomic(this.#metaPath(kind, key), `${JSON.stringify(meta, null, 2)}\n`);
      return meta;
    } catch (e) {
      if (e instanceof ParseError) throw e;
      throw fromErrno(e, dir);
    }
  }
}
