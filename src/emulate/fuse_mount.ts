/**
 * Serves an emulated TVM's kernel ABI over FUSE (DESIGN §2, "The emulated kernel ABI").
 *
 * Every file operation runs on this process's JavaScript thread, so the process serving a mount
 * must never touch the mount itself (a read of it would wait for a reply only it can give):
 * serve from one process, use from another. The mount uses direct I/O so every read reaches
 * the provider (registers are live), and no attribute or entry caching so instances made and
 * removed by other processes show at once.
 *
 * @module
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { MrstackError } from '../errors.js';
import type { Profile, Provider } from '../providers/provider.js';
import { loadFuse, type FuseInstance, type FuseOps, type FuseStat } from './fuse_binding.js';
import { FsErrno, toFsErrno } from './fs_errno.js';
import type { EmulatedKernelOptions } from './tsm_report_dir.js';
import { buildTvmTree } from './tvm_layout.js';
import type { VirtualTree } from './vfs.js';

/** Options of {@link mountEmulatedTvm}. */
export interface MountOptions {
  readonly provider: Provider;
  readonly profile: Profile;
  /** How long one file operation may take before FUSE answers ETIMEDOUT (default 60 s). */
  readonly opTimeoutMs?: number;
  /**
   * Platform facts of the emulated kernel: `privlevel_floor`, the generation counter's width,
   * the TDX host's quote delay and the driver's quote timeout (`docs/emulate-mount.md`).
   */
  readonly kernel?: EmulatedKernelOptions;
}

/** A live mount. */
export interface EmulatedMount {
  /** The mount point (real path). */
  readonly mountpoint: string;
  /** Resolves when the mount went away (unmounted here or by `fusermount -u`). */
  readonly gone: Promise<void>;
  /** Unmounts (lazily, as `fusermount -uz`); resolves when done. */
  unmount(): Promise<void>;
}

const O_ACCMODE = 3;
const O_WRONLY = 1;
const O_RDWR = 2;

/** Decodes the octal escapes of a /proc/self/mountinfo path field. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** True when `mountpoint` is a mount point of this process's namespace. */
export async function isMounted(mountpoint: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((line) => {
    const f = line.split(' ');
    return f[4] !== undefined && unescapeMountPath(f[4]) === mountpoint;
  });
}

function fuseOps(tree: VirtualTree): FuseOps {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const started = new Date();
  const fail = (e: unknown): number => {
    const err = toFsErrno(e);
    return err.negative;
  };
  const sync = (cb: (err: number) => void, fn: () => void): void => {
    try {
      fn();
      cb(0);
    } catch (e) {
      cb(fail(e));
    }
  };
  return {
    getattr(path, cb) {
      try {
        const s = tree.getattr(path);
        const stat: FuseStat = {
          mode: s.mode,
          size: s.size,
          nlink: s.nlink,
          uid,
          gid,
          mtime: started,
          atime: started,
          ctime: started,
        };
        cb(0, stat);
      } catch (e) {
        cb(fail(e));
      }
    },
    readdir(path, cb) {
      try {
        cb(0, ['.', '..', ...tree.readdir(path)]);
      } catch (e) {
        cb(fail(e));
      }
    },
    open(path, flags, cb) {
      const acc = flags & O_ACCMODE;
      try {
        cb(
          0,
          tree.open(path, { read: acc !== O_WRONLY, write: acc === O_WRONLY || acc === O_RDWR }),
        );
      } catch (e) {
        cb(fail(e));
      }
    },
    read(_path, fh, buf, len, pos, cb) {
      tree.read(fh, pos, len).then(
        (bytes) => {
          buf.set(bytes.subarray(0, len));
          cb(Math.min(bytes.length, len));
        },
        (e: unknown) => cb(fail(e)),
      );
    },
    write(_path, fh, buf, len, pos, cb) {
      // Copy: the buffer belongs to libfuse's thread and is reused after the reply.
      const data = new Uint8Array(buf.subarray(0, len));
      tree.write(fh, pos, data).then(
        (n) => cb(n),
        (e: unknown) => cb(fail(e)),
      );
    },
    flush(_path, fh, cb) {
      tree.flush(fh).then(
        () => cb(0),
        (e: unknown) => cb(fail(e)),
      );
    },
    release(_path, fh, cb) {
      tree.release(fh).then(
        () => cb(0),
        (e: unknown) => cb(fail(e)),
      );
    },
    truncate(path, _size, cb) {
      sync(cb, () => tree.truncate(path));
    },
    ftruncate(path, _fh, _size, cb) {
      sync(cb, () => tree.truncate(path));
    },
    mkdir(path, _mode, cb) {
      sync(cb, () => tree.mkdir(path));
    },
    rmdir(path, cb) {
      sync(cb, () => tree.rmdir(path));
    },
    create(path, _mode, cb) {
      sync(cb, () => tree.create(path));
    },
    unlink(path, cb) {
      try {
        tree.resolve(path);
        cb(new FsErrno('EPERM').negative);
      } catch (e) {
        cb(fail(e));
      }
    },
    utimens(path, _atime, _mtime, cb) {
      sync(cb, () => tree.resolve(path));
    },
  };
}

/**
 * Mounts the emulated TVM at `mountpoint` (created if missing).
 * @throws MrstackError `ERR_MOUNT_FAILED` when FUSE cannot be used or the mount fails;
 *   UsageError `ERR_USAGE` for a profile without a kernel guest ABI, or kernel options out of
 *   range
 */
export async function mountEmulatedTvm(
  mountpoint: string,
  opts: MountOptions,
): Promise<EmulatedMount> {
  const tree = await buildTvmTree(opts.provider, opts.profile, opts.kernel);
  const Fuse = loadFuse();
  try {
    mkdirSync(mountpoint, { recursive: true });
  } catch (e) {
    throw new MrstackError(
      'ERR_MOUNT_FAILED',
      `cannot create mount point ${mountpoint}: ${String(e)}`,
      { cause: e },
    );
  }
  const mnt = realpathSync(mountpoint);
  if (await isMounted(mnt)) {
    throw new MrstackError(
      'ERR_MOUNT_FAILED',
      `${mnt} is already a mount point (after a crash: fusermount -u ${mnt})`,
    );
  }
  const fuse: FuseInstance = new Fuse(mnt, fuseOps(tree), {
    // fuse-native has no switches for these libfuse options; they ride on the fsname option,
    // which it passes through verbatim into -o.
    fsname: `mrstack-${opts.profile},direct_io,entry_timeout=0,attr_timeout=0,negative_timeout=0`,
    timeout: opts.opTimeoutMs ?? 60_000,
  });
  await new Promise<void>((resolve, reject) => {
    fuse.mount((err) => {
      if (err === null) resolve();
      else
        reject(
          new MrstackError('ERR_MOUNT_FAILED', `FUSE mount at ${mnt} failed: ${err.message}`, {
            cause: err,
          }),
        );
    });
  });
  let unmounting: Promise<void> | undefined;
  let goneResolve!: () => void;
  const gone = new Promise<void>((r) => (goneResolve = r));
  const watch = setInterval(() => {
    isMounted(mnt).then(
      (m) => {
        if (!m) {
          clearInterval(watch);
          goneResolve();
        }
      },
      () => undefined,
    );
  }, 250);
  return {
    mountpoint: mnt,
    gone,
    unmount() {
      unmounting ??= new Promise<void>((resolve, reject) => {
        fuse.unmount((err) => {
          clearInterval(watch);
          goneResolve();
          if (err === null) resolve();
          else
            reject(
              new MrstackError('ERR_MOUNT_FAILED', `unmount of ${mnt} failed: ${err.message}`, {
                cause: err,
              }),
            );
        });
      });
      return unmounting;
    },
  };
}
