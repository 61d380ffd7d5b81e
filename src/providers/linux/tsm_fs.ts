/**
 * The narrow filesystem port the linux provider speaks through (STYLE §3.3): every path is
 * relative to a configurable root (`/` on a real guest, a temp tree or a FUSE mount in tests),
 * and each operation is exactly the system-call pattern the kernel ABI expects — one
 * open-write-close per store, reads until end of file with no size assumption.
 *
 * @module
 */
import { constants as fsConstants, createReadStream, type ReadStream } from 'node:fs';
import { open, readdir, stat, mkdir, rmdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { fromErrno, ProviderError } from '../../errors.js';
import { DEFAULT_LIMITS } from '../../limits.js';

/** What the port says of one path. */
export interface TsmStat {
  readonly size: number;
  /** Permission bits (`0o644` …). */
  readonly mode: number;
  readonly isDirectory: boolean;
}

/** The only filesystem surface the linux provider uses. Paths are relative to the root. */
export interface TsmFs {
  /** The root directory, for messages. */
  readonly root: string;
  /**
   * Reads a file to its end in chunks (sysfs and configfs report sizes that are not the
   * content's length), at most `limit` bytes.
   */
  readAll(path: string, limit?: number): Promise<Uint8Array>;
  /** One open(O_WRONLY), one write at offset 0, one close; returns the count write(2) returned. */
  writeOnce(path: string, data: Uint8Array): Promise<number>;
  /** Entry names of a directory, sorted. */
  list(path: string): Promise<readonly string[]>;
  /** Metadata, or undefined when the path does not exist. */
  stat(path: string): Promise<TsmStat | undefined>;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** A byte stream of a (log) file, for the event-log layer. */
  openStream(path: string): ReadStream;
  /** The absolute path of a relative one. */
  resolve(path: string): string;
}

const CHUNK = 64 * 1024;

/** The port over the real file system under `root`. */
export function nodeTsmFs(root = '/'): TsmFs {
  const abs = (p: string): string => join(root, posix.normalize(`/${p}`));
  return {
    root,
    resolve: abs,
    async readAll(path, limit = DEFAULT_LIMITS.maxEvidenceSize) {
      const full = abs(path);
      let fh;
      try {
        fh = await open(full, fsConstants.O_RDONLY);
      } catch (e) {
        throw fromErrno(e, full);
      }
      try {
        const parts: Buffer[] = [];
        let total = 0;
        for (;;) {
          const buf = Buffer.allocUnsafe(CHUNK);
          let n: number;
          try {
            ({ bytesRead: n } = await fh.read(buf, 0, CHUNK, total));
          } catch (e) {
            throw fromErrno(e, full);
          }
          if (n === 0) break;
          total += n;
          if (total > limit) {
            throw new ProviderError('ERR_LENGTH_LIMIT', `${full}: more than ${limit} bytes`, {
              details: { path: full, limit },
            });
          }
          parts.push(buf.subarray(0, n));
        }
        return new Uint8Array(Buffer.concat(parts, total));
      } finally {
        await fh.close().catch(() => undefined);
      }
    },
    async writeOnce(path, data) {
      const full = abs(path);
      let fh;
      try {
        fh = await open(full, fsConstants.O_WRONLY);
      } catch (e) {
        throw fromErrno(e, full);
      }
      let written: number;
      try {
        ({ bytesWritten: written } = await fh.write(data, 0, data.length, 0));
      } catch (e) {
        await fh.close().catch(() => undefined);
        throw fromErrno(e, full);
      }
      // configfs stores binary attributes when the file is closed: a failed close is a failed store.
      try {
        await fh.close();
      } catch (e) {
        throw fromErrno(e, full);
      }
      return written;
    },
    async list(path) {
      const full = abs(path);
      try {
        return (await readdir(full)).sort();
      } catch (e) {
        throw fromErrno(e, full);
      }
    },
    async stat(path) {
      const full = abs(path);
      try {
        const s = await stat(full);
        return { size: s.size, mode: s.mode & 0o7777, isDirectory: s.isDirectory() };
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw fromErrno(e, full);
      }
    },
    async mkdir(path) {
      const full = abs(path);
      try {
        await mkdir(full);
      } catch (e) {
        throw fromErrno(e, full);
      }
    },
    async rmdir(path) {
      const full = abs(path);
      try {
        await rmdir(full);
      } catch (e) {
        throw fromErrno(e, full);
      }
    },
    openStream(path) {
      return createReadStream(abs(path));
    },
  };
}
