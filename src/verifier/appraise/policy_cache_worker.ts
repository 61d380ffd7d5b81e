/**
 * The worker thread of `loadPolicyFile(…, { thread: true })` (`policy_cache.ts`): reads the
 * policy file and its cache entry and checks their SHA-256 off the caller's thread, then hands
 * the bytes over (transferred, not copied); `null` when it failed (the caller reads again and
 * reports the error).
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readPolicyFiles } from './policy_cache.js';

const { file, dir } = workerData as { file: string; dir: string };
/** A buffer's memory to transfer, when the buffer owns all of it (else it is copied). */
const own = (b: Uint8Array | undefined): ArrayBuffer[] =>
  b?.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? [b.buffer as ArrayBuffer] : [];
try {
  const f = readPolicyFiles(file, dir);
  parentPort?.postMessage(f, [...own(f.bytes), ...own(f.entry)]);
} catch {
  parentPort?.postMessage(null);
}
