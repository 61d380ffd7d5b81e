/**
 * The emulated TVM's IMA measurement list (`<state>/ima/binary_runtime_measurements`), as a
 * kernel in TPM-bypass mode keeps it: IMA measures and logs, but has no TPM to extend. The first
 * entry is `boot_aggregate` with an all-zero digest; each measured file is an `ima-ng` entry
 * (`ima-sig` when it carries a signature) on PCR 10, its d-ng field `sha256:` and the file's
 * SHA-256, its template hash column the SHA-1 of the template data. Integers are little-endian
 * (an x86 guest's byte order).
 *
 * Writes are appends of whole entries with one `write(2)` per batch on an `O_APPEND`
 * descriptor; the list is created with its boot_aggregate by `link(2)` of a finished file, so
 * two writers never both write one. A reader that races a write may see the write's first pages
 * only: {@link completeImaPrefix} finds where the last whole entry ends (the FUSE mount serves
 * no further, so its readers never see a torn entry; the agent carries a cut entry itself).
 *
 * @module
 */
import * as fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fromErrno, ProviderError } from '../../errors.js';
import { IMA_PCR } from '../../formats/ima/ima_fold.js';

/** The list, relative to the state directory. */
export const TVM_IMA_LIST: string = join('ima', 'binary_runtime_measurements');
/** IMA's file-digest algorithm in the emulation (the kernel's usual `ima_hash=sha256`). */
export const EMULATED_IMA_HASH = 'sha256';
/** Bytes written per `write(2)` when a batch is large. */
const WRITE_CHUNK = 8 << 20;

/** One file measurement to log. */
export interface ImaMeasurement {
  /** The path IMA logs (absolute, as the file was opened). */
  readonly path: string;
  /** SHA-256 of the file's content. */
  readonly digest: Uint8Array;
  /** The file's `security.ima` signature: present → `ima-sig`, absent → `ima-ng`. */
  readonly sig?: Uint8Array;
}

const enc = new TextEncoder();
const NG = enc.encode('ima-ng');
const SIG = enc.encode('ima-sig');
const DNG_PREFIX = enc.encode(`${EMULATED_IMA_HASH}:\0`);

/** The binary record of one measurement (template data, then the record around it). */
export function encodeImaMeasurement(m: ImaMeasurement): Uint8Array {
  const name = enc.encode(m.path);
  const tname = m.sig === undefined ? NG : SIG;
  const dng = DNG_PREFIX.length + m.digest.length;
  const nng = name.length + 1;
  const tdLen = 4 + dng + 4 + nng + (m.sig === undefined ? 0 : 4 + m.sig.length);
  const out = Buffer.alloc(4 + 20 + 4 + tname.length + 4 + tdLen);
  let p = out.writeUInt32LE(IMA_PCR, 0) + 20;
  p = out.writeUInt32LE(tname.length, p);
  out.set(tname, p);
  p = out.writeUInt32LE(tdLen, p + tname.length);
  const td = p;
  p = out.writeUInt32LE(dng, p);
  out.set(DNG_PREFIX, p);
  out.set(m.digest, p + DNG_PREFIX.length);
  p = out.writeUInt32LE(nng, p + dng);
  out.set(name, p); // the NUL after it is the buffer's zero
  p += nng;
  if (m.sig !== undefined) {
    p = out.writeUInt32LE(m.sig.length, p);
    out.set(m.sig, p);
  }
  createHash('sha1').update(out.subarray(td)).digest().copy(out, 4);
  return out;
}

/** The first entry of a TPM-bypass boot: `boot_aggregate` with an all-zero digest. */
export function bootAggregateEntry(): Uint8Array {
  return encodeImaMeasurement({ path: 'boot_aggregate', digest: new Uint8Array(32) });
}

/**
 * Where the last whole entry of `buf` (the list from its start, or from an entry boundary)
 * ends. Entries are read by their length fields only.
 */
export function completeImaPrefix(buf: Uint8Array): number {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  for (;;) {
    const nameAt = p + 24;
    if (nameAt + 4 > buf.length) return p;
    const dataAt = nameAt + 4 + v.getUint32(nameAt, true);
    if (dataAt + 4 > buf.length) return p;
    const end = dataAt + 4 + v.getUint32(dataAt, true);
    if (end > buf.length) return p;
    p = end;
  }
}

/** Creates the list with its boot_aggregate unless it exists. */
function ensureList(path: string): void {
  if (fs.existsSync(path)) return;
  fs.mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, bootAggregateEntry());
  try {
    fs.linkSync(tmp, path);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') throw fromErrno(e, path);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Appends measurements to the emulated TVM's list (created with its boot_aggregate first).
 * @returns the entries and bytes appended
 * @throws ProviderError `ERR_IO` when a write fails
 */
export function appendImaMeasurements(
  stateDir: string,
  ms: Iterable<ImaMeasurement>,
): { entries: number; bytes: number } {
  const path = join(stateDir, TVM_IMA_LIST);
  ensureList(path);
  const fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_APPEND);
  let entries = 0;
  let bytes = 0;
  try {
    let parts: Uint8Array[] = [];
    let size = 0;
    const flush = (): void => {
      if (size === 0) return;
      const buf = Buffer.concat(parts, size);
      const n = fs.writeSync(fd, buf);
      if (n !== buf.length) {
        throw new ProviderError('ERR_IO', `${path}: short write (${n} of ${buf.length})`);
      }
      bytes += n;
      parts = [];
      size = 0;
    };
    for (const m of ms) {
      const r = encodeImaMeasurement(m);
      parts.push(r);
      size += r.length;
      entries++;
      if (size >= WRITE_CHUNK) flush();
    }
    flush();
  } catch (e) {
    throw e instanceof ProviderError ? e : fromErrno(e, path);
  } finally {
    fs.closeSync(fd);
  }
  return { entries, bytes };
}

/**
 * Measures files as IMA does on open: the SHA-256 of each file's content, logged under its
 * absolute path; one `sig` (a `security.ima` value) makes every entry `ima-sig`.
 * @throws ProviderError `ERR_NOT_FOUND` for a missing file, `ERR_IO`
 */
export function measureFiles(
  stateDir: string,
  files: readonly string[],
  sig?: Uint8Array,
): { entries: number; bytes: number } {
  const ms: ImaMeasurement[] = files.map((f) => {
    let data: Buffer;
    try {
      data = fs.readFileSync(f);
    } catch (e) {
      throw fromErrno(e, f);
    }
    const digest = new Uint8Array(createHash(EMULATED_IMA_HASH).update(data).digest());
    return { path: fs.realpathSync(f), digest, ...(sig === undefined ? {} : { sig }) };
  });
  return appendImaMeasurements(stateDir, ms);
}
