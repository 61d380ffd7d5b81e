/**
 * IMA's securityfs files for the emulated TVM: `binary_runtime_measurements` and
 * `ascii_runtime_measurements` under `sys/kernel/security/ima/`, served from the TVM state's
 * list (`providers/emulated/ima_list.ts`). Like securityfs they report size 0 and grow while
 * open; every read serves whole entries only (a writer's append may be visible in part for a
 * moment), so a reader never sees a torn entry. The ascii text is rendered once per entry and
 * kept, as the list only grows (a list cut short, a new boot, is read again from its start).
 *
 * @module
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { ImaBinaryReader } from '../formats/ima/ima_binary.js';
import { formatImaAsciiLine } from '../formats/ima/ima_ascii.js';
import { completeImaPrefix, TVM_IMA_LIST } from '../providers/emulated/ima_list.js';
import { FsErrno } from './fs_errno.js';
import type { VFile } from './vfs.js';

/** The list as the mount shows it: whole entries only, binary and ascii. */
class ImaListView {
  readonly #path: string;
  /** Bytes of whole entries. */
  #complete = 0;
  /** Bytes of whole entries rendered as ascii. */
  #rendered = 0;
  #ascii: Buffer[] = [];
  #asciiBytes = 0;
  #reader = new ImaBinaryReader({ bank: 'sha1', littleEndian: true });

  constructor(stateDir: string) {
    this.#path = join(stateDir, TVM_IMA_LIST);
  }

  /** Advances to the list's current end; returns the bytes of whole entries. */
  refresh(): number {
    let fd: number;
    try {
      fd = fs.openSync(this.#path, 'r');
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return this.#reset();
      throw new FsErrno('EIO');
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.#complete) this.#reset();
      if (size === this.#complete) return this.#complete;
      const buf = Buffer.allocUnsafe(size - this.#complete);
      const n = fs.readSync(fd, buf, 0, buf.length, this.#complete);
      this.#complete += completeImaPrefix(buf.subarray(0, n));
      return this.#complete;
    } finally {
      fs.closeSync(fd);
    }
  }

  #reset(): number {
    this.#complete = 0;
    this.#rendered = 0;
    this.#ascii = [];
    this.#asciiBytes = 0;
    this.#reader = new ImaBinaryReader({ bank: 'sha1', littleEndian: true });
    return 0;
  }

  /** Renders the ascii lines of the whole entries not rendered yet. */
  #render(): void {
    const end = this.refresh();
    if (end === this.#rendered) return;
    const bytes = this.binary(this.#rendered, end - this.#rendered, end);
    const a = Buffer.from(
      this.#reader
        .push(bytes)
        .map((e) => `${formatImaAsciiLine(e)}\n`)
        .join(''),
      'utf8',
    );
    this.#ascii.push(a);
    this.#asciiBytes += a.length;
    this.#rendered = end;
  }

  /** Bytes [pos, pos+len) of the binary list's whole entries. */
  binary(pos: number, len: number, complete: number = this.refresh()): Uint8Array {
    const end = Math.min(complete, pos + len);
    if (pos >= end) return new Uint8Array(0);
    const out = Buffer.allocUnsafe(end - pos);
    const fd = fs.openSync(this.#path, 'r');
    try {
      const n = fs.readSync(fd, out, 0, out.length, pos);
      return out.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Bytes [pos, pos+len) of the ascii rendering. */
  ascii(pos: number, len: number): Uint8Array {
    this.#render();
    if (this.#ascii.length > 1) this.#ascii = [Buffer.concat(this.#ascii, this.#asciiBytes)];
    const all = this.#ascii[0] ?? Buffer.alloc(0);
    return all.subarray(Math.min(pos, all.length), Math.min(all.length, pos + len));
  }
}

/**
 * The two list files of a TVM state directory, for `sys/kernel/security/ima/` (root-readable
 * only, 0440, as securityfs shows them).
 */
export function imaListFiles(stateDir: string): { binary: VFile; ascii: VFile } {
  const view = new ImaListView(stateDir);
  const file = (read: (pos: number, len: number) => Uint8Array): VFile => ({
    type: 'file',
    mode: 0o440,
    size: 0,
    open: () => ({
      read: (pos, len) => {
        try {
          return Promise.resolve(read(pos, len));
        } catch (e) {
          return Promise.reject(e instanceof FsErrno ? e : new FsErrno('EIO'));
        }
      },
    }),
  });
  return {
    binary: file((p, l) => view.binary(p, l)),
    ascii: file((p, l) => view.ascii(p, l)),
  };
}
