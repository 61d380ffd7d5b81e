/**
 * IMA list replay over two cores: the main thread reads, parses and runs the extend chains (the
 * only sequential part); a worker thread reads the same file and computes each entry's
 * per-entry digests — the SHA-1 template-hash check against the logged column, and the template
 * digest of the other bank — handing them over through a bounded ring in shared memory (so memory
 * stays constant whatever the list's size). Built only from mrstack's IMA format code.
 *
 * @module
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import * as nodeCrypto from 'node:crypto';
import { ImaBinaryReader } from '../../src/formats/ima/ima_binary.js';
import { isAllZero } from '../../src/formats/ima/ima_template.js';
import { hashInfo, type HashAlg } from '../../src/crypto/hash_alg.js';
import { toHex } from '../../src/bytes/hex.js';

/** Entries per ring slot and slots in the ring. */
export const BATCH = 4096;
export const SLOTS = 8;
export const CHUNK: number = 1 << 20;

type OneShot = (alg: string, data: Uint8Array, enc: 'latin1') => string;
const oneShot = (nodeCrypto as unknown as { hash: OneShot }).hash;

/** Control words in the shared Int32Array. */
export const CTL = { produced: 0, consumed: 1, total: 2, failed: 3 } as const;

/** Result of a replay. */
export interface ParallelImaResult {
  readonly entries: number;
  readonly pcrs: Record<string, Partial<Record<HashAlg, string>>>;
  readonly templateHashMismatches: number;
  readonly violations: number;
}

/**
 * Replays a binary list (SHA-1 template-hash column) into the given banks. `sha1` uses the
 * logged hashes; any other bank (one at most) uses template digests from the worker. Template
 * hashes are always checked (in the worker).
 */
export async function replayImaFileParallel(
  path: string,
  banks: readonly HashAlg[],
): Promise<ParallelImaResult> {
  const other = banks.find((b) => b !== 'sha1') ?? 'sha256';
  const withSha1 = banks.includes('sha1');
  const withOther = banks.some((b) => b !== 'sha1');
  const size = hashInfo(other).size;
  const ctlBuf = new SharedArrayBuffer(16);
  const ctl = new Int32Array(ctlBuf);
  const ring = new SharedArrayBuffer(SLOTS * BATCH * size);
  const ringBytes = Buffer.from(ring);
  const worker = new Worker(new URL('./ima_digest_worker.js', import.meta.url), {
    workerData: { path, other, computeOther: withOther, ctl: ctlBuf, ring },
    // The worker keeps no state beyond one chunk: a small young generation keeps RSS flat.
    resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 },
  });
  const done = new Promise<{ mismatches: number }>((resolve, reject) => {
    worker.once('message', (m: { mismatches: number }) => resolve(m));
    worker.once('error', reject);
  });

  const name1 = 'sha1';
  const nameO = hashInfo(other).nodeName;
  const st1 = new Map<number, Buffer>();
  const stO = new Map<number, Buffer>();
  const ones1 = new Uint8Array(20).fill(0xff);
  let count = 0;
  let violations = 0;
  let available = 0;
  const rd = new ImaBinaryReader({ bank: 'sha1' });
  const fd = openSync(path, 'r');
  const chunk = new Uint8Array(CHUNK);
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) break;
      for (const e of rd.push(chunk.subarray(0, n))) {
        const i = count++;
        const viol = isAllZero(e.templateHash);
        if (viol) violations++;
        if (withSha1) {
          let s = st1.get(e.pcr);
          if (s === undefined) st1.set(e.pcr, (s = Buffer.alloc(40)));
          s.set(viol ? ones1 : e.templateHash, 20);
          s.write(oneShot(name1, s, 'latin1'), 0, 'latin1');
        }
        if (withOther) {
          const batch = (i / BATCH) | 0;
          while (available <= batch) {
            const p = Atomics.load(ctl, CTL.produced);
            if (p > batch) {
              available = p;
              break;
            }
            if (Atomics.load(ctl, CTL.failed) !== 0) throw new Error('digest worker failed');
            Atomics.wait(ctl, CTL.produced, p, 1000);
          }
          const at = ((batch % SLOTS) * BATCH + (i % BATCH)) * size;
          let s = stO.get(e.pcr);
          if (s === undefined) stO.set(e.pcr, (s = Buffer.alloc(2 * size)));
          ringBytes.copy(s, size, at, at + size);
          s.write(oneShot(nameO, s, 'latin1'), 0, 'latin1');
          if (i % BATCH === BATCH - 1) {
            Atomics.add(ctl, CTL.consumed, 1);
            Atomics.notify(ctl, CTL.consumed);
          }
        }
      }
    }
    rd.end();
  } finally {
    closeSync(fd);
    if (!withOther) {
      Atomics.store(ctl, CTL.failed, 2); // tell an idle worker to stop
      Atomics.notify(ctl, CTL.consumed);
    }
  }
  // Release the last partial batch.
  Atomics.add(ctl, CTL.consumed, 1);
  Atomics.notify(ctl, CTL.consumed);
  const { mismatches } = await done;
  await worker.terminate();
  const pcrs: Record<string, Partial<Record<HashAlg, string>>> = {};
  for (const [pcr, s] of st1) (pcrs[`pcr${pcr}`] ??= {}).sha1 = toHex(s.subarray(0, 20));
  for (const [pcr, s] of stO) (pcrs[`pcr${pcr}`] ??= {})[other] = toHex(s.subarray(0, size));
  return { entries: count, pcrs, templateHashMismatches: mismatches, violations };
}
