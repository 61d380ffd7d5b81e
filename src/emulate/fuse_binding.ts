/**
 * The FUSE binding, loaded lazily: `fuse-native` (an optional dependency whose npm package ships
 * a prebuilt N-API addon; it links Debian's `libfuse2` and mounts through `fusermount`). Nothing
 * outside the mount command loads it, so a verifier-only user never needs FUSE.
 *
 * @module
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { MrstackError } from '../errors.js';

/** The callback-style operations fuse-native calls (only those the mount implements). */
export interface FuseOps {
  getattr(path: string, cb: (err: number, stat?: FuseStat) => void): void;
  readdir(path: string, cb: (err: number, names?: readonly string[]) => void): void;
  open(path: string, flags: number, cb: (err: number, fh?: number) => void): void;
  read(
    path: string,
    fh: number,
    buf: Buffer,
    len: number,
    pos: number,
    cb: (n: number) => void,
  ): void;
  write(
    path: string,
    fh: number,
    buf: Buffer,
    len: number,
    pos: number,
    cb: (n: number) => void,
  ): void;
  flush(path: string, fh: number, cb: (err: number) => void): void;
  release(path: string, fh: number, cb: (err: number) => void): void;
  truncate(path: string, size: number, cb: (err: number) => void): void;
  ftruncate(path: string, fh: number, size: number, cb: (err: number) => void): void;
  mkdir(path: string, mode: number, cb: (err: number) => void): void;
  rmdir(path: string, cb: (err: number) => void): void;
  create(path: string, mode: number, cb: (err: number, fh?: number) => void): void;
  unlink(path: string, cb: (err: number) => void): void;
  utimens(path: string, atime: number, mtime: number, cb: (err: number) => void): void;
}

/** The stat fuse-native expects. */
export interface FuseStat {
  readonly mode: number;
  readonly size: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  readonly mtime: Date;
  readonly atime: Date;
  readonly ctime: Date;
}

/** Mount options fuse-native understands (the subset used). */
export interface FuseOptions {
  readonly fsname?: string;
  readonly timeout?: number | false;
  readonly mkdir?: boolean;
  readonly force?: boolean;
}

/** One fuse-native mount. */
export interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}

/** The fuse-native module. */
export interface FuseModule {
  new (mountpoint: string, ops: FuseOps, opts: FuseOptions): FuseInstance;
  unmount(mountpoint: string, cb: (err: Error | null) => void): void;
}

let cached: FuseModule | undefined;

/** True when an executable of this name is on PATH. */
export function onPath(cmd: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Checks that this process can mount with FUSE, then loads the binding.
 * @throws MrstackError `ERR_MOUNT_FAILED` naming what is missing (`/dev/fuse`, `fusermount`, the
 *   binding)
 */
export function loadFuse(): FuseModule {
  try {
    accessSync('/dev/fuse', fsConstants.R_OK | fsConstants.W_OK);
  } catch (e) {
    throw new MrstackError(
      'ERR_MOUNT_FAILED',
      `/dev/fuse cannot be opened (${(e as { code?: string }).code ?? String(e)}): load the fuse module, or give the container /dev/fuse`,
      { cause: e },
    );
  }
  if (onPath('fusermount') === undefined && process.getuid?.() !== 0) {
    throw new MrstackError(
      'ERR_MOUNT_FAILED',
      'fusermount is not on PATH: install the fuse package (Debian: apt-get install fuse libfuse2)',
    );
  }
  if (cached !== undefined) return cached;
  try {
    const require = createRequire(import.meta.url);
    cached = require('fuse-native') as FuseModule;
    return cached;
  } catch (e) {
    throw new MrstackError(
      'ERR_MOUNT_FAILED',
      `the FUSE binding could not be loaded (the optional dependency fuse-native and Debian's libfuse2 are needed): ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}
