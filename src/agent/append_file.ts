/**
 * An append-only log file with the agent's durability policy (DESIGN §5): `process` — a
 * completed write(2) survives the agent's death; `os` — fdatasync before a write counts as done.
 * Opening truncates a torn tail (bytes after the last LF) so that every file the agent reads
 * ends on a complete record.
 *
 * @module
 */
import * as fs from 'node:fs';
import { AgentError } from '../errors.js';

/** How durable a completed append is. */
export type Durability = 'process' | 'os';

/** Every durability mode. */
export const DURABILITIES: readonly Durability[] = Object.freeze(['process', 'os'] as const);

function ioError(e: unknown, what: string): AgentError {
  const msg = e instanceof Error ? e.message : String(e);
  return new AgentError('ERR_IO', `${what}: ${msg}`, { cause: e });
}

/** One open append-only file. */
export class AppendFile {
  readonly path: string;
  readonly durability: Durability;
  #fd: number;
  #size: number;

  private constructor(path: string, fd: number, size: number, durability: Durability) {
    this.path = path;
    this.#fd = fd;
    this.#size = size;
    this.durability = durability;
  }

  /**
   * Opens (creating) a file for appending, truncating any bytes after its last LF.
   * @returns the file and how many torn bytes were dropped.
   */
  static open(path: string, durability: Durability): { file: AppendFile; torn: number } {
    try {
      const fd = fs.openSync(
        path,
        fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND,
        0o640,
      );
      const size = fs.fstatSync(fd).size;
      const keep = completeLength(fd, size);
      if (keep < size) {
        fs.ftruncateSync(fd, keep);
        if (durability === 'os') fs.fdatasyncSync(fd);
      }
      return { file: new AppendFile(path, fd, keep, durability), torn: size - keep };
    } catch (e) {
      throw ioError(e, `opening ${path}`);
    }
  }

  /** Bytes in the file. */
  get size(): number {
    return this.#size;
  }

  /** Reads up to `buf.length` bytes at `position`; returns how many were read. */
  readAt(buf: Uint8Array, position: number): number {
    try {
      return fs.readSync(this.#fd, buf, 0, buf.length, position);
    } catch (e) {
      throw ioError(e, `reading ${this.path}`);
    }
  }

  /** Appends bytes with one write(2) (no sync). */
  write(data: Uint8Array): void {
    try {
      let off = 0;
      while (off < data.length) off += fs.writeSync(this.#fd, data, off, data.length - off);
      this.#size += data.length;
    } catch (e) {
      throw ioError(e, `writing ${this.path}`);
    }
  }

  /** Waits until written data is durable per the policy (fdatasync in `os` mode). */
  sync(): Promise<void> {
    if (this.durability !== 'os') return Promise.resolve();
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.#fd, (e) => {
        if (e === null) resolve();
        else reject(ioError(e, `fdatasync ${this.path}`));
      });
    });
  }

  /** Appends and makes durable. */
  async append(data: Uint8Array): Promise<void> {
    this.write(data);
    await this.sync();
  }

  /** Closes the descriptor (idempotent). */
  close(): void {
    if (this.#fd >= 0) {
      fs.closeSync(this.#fd);
      this.#fd = -1;
    }
  }
}

/** Length of the prefix of a file that ends in LF (0 when none does). */
function completeLength(fd: number, size: number): number {
  const chunk = 64 * 1024;
  let end = size;
  const buf = Buffer.alloc(chunk);
  while (end > 0) {
    const start = Math.max(0, end - chunk);
    const n = fs.readSync(fd, buf, 0, end - start, start);
    const i = buf.subarray(0, n).lastIndexOf(0x0a);
    if (i >= 0) return start + i + 1;
    end = start;
  }
  return 0;
}

/**
 * Writes a small file atomically (temporary file, rename). Under `os` durability (the default
 * here) the temporary file is fsynced before the rename; under `process` the rename alone
 * suffices — a process killed at any point leaves the old or the new file whole, and the page
 * cache outlives the process. (The fsync blocked the agent's thread ~7 ms per state write on
 * this machine: two per `addTenant` + `checkpoint`.)
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  durability: Durability = 'os',
): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o640);
    try {
      fs.writeFileSync(fd, data);
      if (durability === 'os') fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  } catch (e) {
    throw ioError(e, `writing ${path}`);
  }
}
