/**
 * A small in-memory file tree with kernel-style semantics, independent of FUSE: directories,
 * files whose behaviour is code (sysfs and configfs attributes), per-open handles, and the
 * permission rule sysfs/configfs apply at open (a file without write permission cannot be
 * opened for writing — EACCES, even for root). The FUSE adapter only translates calls.
 *
 * @module
 */
import { FsErrno } from './fs_errno.js';

/** How a file was opened. */
export interface OpenAccess {
  readonly read: boolean;
  readonly write: boolean;
}

/** One open file: what read/write/flush/release do for this open. */
export interface VHandle {
  read?(pos: number, len: number): Promise<Uint8Array>;
  /** Returns the count write(2) returns. */
  write?(pos: number, data: Uint8Array): Promise<number>;
  /** close(2) of any descriptor of this open (FUSE FLUSH); close waits for it. */
  flush?(): Promise<void>;
  /** The last close (FUSE RELEASE; close(2) does not wait for it). */
  release?(): Promise<void>;
}

/** A file whose content is code. */
export interface VFile {
  readonly type: 'file';
  /** Permission bits (`0o444`, `0o644`, `0o200` …). */
  readonly mode: number;
  /** The size stat reports (sysfs: the register size; configfs text: a page). */
  readonly size: number;
  open(access: OpenAccess): VHandle;
}

/** A directory; dynamic ones (configfs groups) accept mkdir/rmdir. */
export interface VDir {
  readonly type: 'dir';
  readonly mode: number;
  lookup(name: string): VNode | undefined;
  names(): readonly string[];
  mkdir?(name: string): void;
  rmdir?(name: string): void;
}

/** A node of the tree. */
export type VNode = VFile | VDir;

/** A directory with fixed children, added while the tree is built. */
export class StaticDir implements VDir {
  readonly type = 'dir' as const;
  readonly mode: number;
  readonly #children = new Map<string, VNode>();

  constructor(mode = 0o755) {
    this.mode = mode;
  }

  lookup(name: string): VNode | undefined {
    return this.#children.get(name);
  }

  names(): readonly string[] {
    return [...this.#children.keys()];
  }

  /** Adds a child. */
  add(name: string, node: VNode): void {
    this.#children.set(name, node);
  }

  /** The child directory `name`, created when missing. */
  dir(name: string): StaticDir {
    const n = this.#children.get(name);
    if (n instanceof StaticDir) return n;
    const d = new StaticDir();
    this.#children.set(name, d);
    return d;
  }

  /** The directory at a slash-separated path below this one, created as needed. */
  path(p: string): StaticDir {
    return p
      .split('/')
      .filter((s) => s !== '')
      .reduce<StaticDir>((d, part) => d.dir(part), this);
  }
}

/** Attributes stat reports. */
export interface VStat {
  /** File type and permission bits, as st_mode. */
  readonly mode: number;
  readonly size: number;
  readonly nlink: number;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** The tree and its open handles. */
export class VirtualTree {
  readonly root: VDir;
  readonly #handles = new Map<number, { readonly node: VFile; readonly handle: VHandle }>();
  #next = 1;

  constructor(root: VDir) {
    this.root = root;
  }

  /** The node at an absolute path (`/sys/…`). */
  resolve(path: string): VNode {
    let node: VNode = this.root;
    for (const part of path.split('/').filter((s) => s !== '')) {
      if (node.type !== 'dir') throw new FsErrno('ENOTDIR');
      const child = node.lookup(part);
      if (child === undefined) throw new FsErrno('ENOENT');
      node = child;
    }
    return node;
  }

  #parent(path: string): { dir: VDir; name: string } {
    const parts = path.split('/').filter((s) => s !== '');
    const name = parts.pop();
    if (name === undefined) throw new FsErrno('EBUSY');
    const dir = this.resolve(`/${parts.join('/')}`);
    if (dir.type !== 'dir') throw new FsErrno('ENOTDIR');
    return { dir, name };
  }

  getattr(path: string): VStat {
    const n = this.resolve(path);
    return n.type === 'dir'
      ? { mode: S_IFDIR | n.mode, size: 0, nlink: 2 }
      : { mode: S_IFREG | n.mode, size: n.size, nlink: 1 };
  }

  readdir(path: string): readonly string[] {
    const n = this.resolve(path);
    if (n.type !== 'dir') throw new FsErrno('ENOTDIR');
    return n.names();
  }

  /** Opens a file; returns the handle number. */
  open(path: string, access: OpenAccess): number {
    const n = this.resolve(path);
    if (n.type !== 'file') throw new FsErrno('EISDIR');
    // kernfs/configfs: EACCES when the attribute has no write (read) permission at all.
    if (access.write && (n.mode & 0o222) === 0) throw new FsErrno('EACCES');
    if (access.read && (n.mode & 0o444) === 0) throw new FsErrno('EACCES');
    const handle = n.open(access);
    const fh = this.#next++;
    if (this.#next > 0x7fffffff) this.#next = 1;
    this.#handles.set(fh, { node: n, handle });
    return fh;
  }

  #handle(fh: number): VHandle {
    const h = this.#handles.get(fh);
    if (h === undefined) throw new FsErrno('EBADF');
    return h.handle;
  }

  async read(fh: number, pos: number, len: number): Promise<Uint8Array> {
    const h = this.#handle(fh);
    if (h.read === undefined) throw new FsErrno('EBADF');
    return h.read(pos, len);
  }

  async write(fh: number, pos: number, data: Uint8Array): Promise<number> {
    const h = this.#handle(fh);
    if (h.write === undefined) throw new FsErrno('EBADF');
    return h.write(pos, data);
  }

  async flush(fh: number): Promise<void> {
    await this.#handle(fh).flush?.();
  }

  async release(fh: number): Promise<void> {
    const h = this.#handle(fh);
    this.#handles.delete(fh);
    await h.release?.();
  }

  /** open(O_TRUNC) and truncate(2): attributes ignore it, as sysfs and configfs do. */
  truncate(path: string): void {
    if (this.resolve(path).type === 'dir') throw new FsErrno('EISDIR');
  }

  mkdir(path: string): void {
    const { dir, name } = this.#parent(path);
    if (dir.lookup(name) !== undefined) throw new FsErrno('EEXIST');
    if (dir.mkdir === undefined) throw new FsErrno('EPERM');
    dir.mkdir(name);
  }

  rmdir(path: string): void {
    const { dir, name } = this.#parent(path);
    const n = dir.lookup(name);
    if (n === undefined) throw new FsErrno('ENOENT');
    if (n.type !== 'dir') throw new FsErrno('ENOTDIR');
    if (dir.rmdir === undefined) throw new FsErrno('EPERM');
    dir.rmdir(name);
  }

  /** Creating regular files: the VFS answers EACCES where a directory has no create. */
  create(path: string): never {
    this.#parent(path);
    throw new FsErrno('EACCES');
  }
}

/** Serves a snapshot of bytes taken at the first read of a handle (configfs/sysfs text). */
export function snapshotReader(
  produce: () => Promise<Uint8Array>,
): (pos: number, len: number) => Promise<Uint8Array> {
  let snap: Promise<Uint8Array> | undefined;
  return async (pos, len) => {
    snap ??= produce();
    const b = await snap;
    return pos >= b.length ? new Uint8Array(0) : b.subarray(pos, Math.min(b.length, pos + len));
  };
}

/** A read-only file with fixed content. */
export function constFile(content: Uint8Array, mode = 0o444): VFile {
  return {
    type: 'file',
    mode,
    size: content.length,
    open: () => ({
      read: (pos, len) =>
        Promise.resolve(
          pos >= content.length
            ? new Uint8Array(0)
            : content.subarray(pos, Math.min(content.length, pos + len)),
        ),
    }),
  };
}
