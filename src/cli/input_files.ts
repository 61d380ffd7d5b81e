/**
 * Reading and writing the files a command names: evidence, certificates, keys, policies,
 * collateral directories. Every failure is a typed error naming the path (exit 2 or 3), never a
 * stack trace.
 *
 * @module
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromErrno } from '../errors.js';

/** The bytes of a file, or of stdin for `-`. */
export function readInput(path: string): Uint8Array {
  try {
    const b = readFileSync(path === '-' ? 0 : path);
    // a file read whole has its own ArrayBuffer: view it (no copy of a 170 MB bundle); a slice
    // of Node's shared pool (small stdin input) is copied out
    return b.byteOffset === 0 && b.buffer.byteLength === b.length
      ? new Uint8Array(b.buffer, 0, b.length)
      : new Uint8Array(b);
  } catch (e) {
    throw fromErrno(e, path);
  }
}

/** A file's text (UTF-8), or stdin's for `-`. */
export function readText(path: string): string {
  const b = readInput(path);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/** Writes a file, with file-system errors as typed errors naming the path. */
export function writeText(path: string, text: string | Uint8Array): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw fromErrno(e, path);
  }
}

/**
 * The files of a collateral path (`--collateral`): a directory's regular files by name, sorted,
 * or the one file under its path.
 */
export function readCollateral(path: string): Map<string, Uint8Array> {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw fromErrno(e, path);
  }
  if (!isDir) return new Map([[path, readInput(path)]]);
  const files = new Map<string, Uint8Array>();
  let names: string[];
  try {
    names = readdirSync(path).sort();
  } catch (e) {
    throw fromErrno(e, path);
  }
  for (const name of names) {
    const p = join(path, name);
    let file: boolean;
    try {
      file = statSync(p).isFile();
    } catch (e) {
      throw fromErrno(e, p);
    }
    if (file) files.set(name, readInput(p));
  }
  return files;
}
