/**
 * Worker of `ima_parallel.ts`: reads the list, checks every SHA-1 template hash against the
 * template data, and writes each entry's template digest in the other bank (all ones for a
 * violation) into the shared ring, waiting while the ring is full.
 *
 * @module
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as nodeCrypto from 'node:crypto';
import { ImaBinaryReader } from '../../src/formats/ima/ima_binary.js';
import { imaTemplateHashInput, isAllZero } from '../../src/formats/ima/ima_template.js';
import { hashInfo, type HashAlg } from '../../src/crypto/hash_alg.js';
import { BATCH, CHUNK, CTL, SLOTS } from './ima_parallel.js';

type OneShot = (alg: string, data: Uint8Array, enc: 'latin1') => string;
const oneShot = (nodeCrypto as unknown as { hash: OneShot }).hash;

const data = workerData as {
  path: string;
  other: HashAlg;
  computeOther: boolean;
  ctl: SharedArrayBuffer;
  ring: SharedArrayBuffer;
};
const ctl = new Int32Array(data.ctl);
const ring = Buffer.from(data.ring);
const size = hashInfo(data.other).size;
const nameO = hashInfo(data.other).nodeName;
const ones = '\xff'.repeat(size);

function sameBytes(a: string, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a.charCodeAt(i) !== b[i]) return false;
  return true;
}

let mismatches = 0;
try {
  const rd = new ImaBinaryReader({ bank: 'sha1' });
  const fd = openSync(data.path, 'r');
  const chunk = new Uint8Array(CHUNK);
  let i = 0;
  const publish = (): void => {
    Atomics.add(ctl, CTL.produced, 1);
    Atomics.notify(ctl, CTL.produced);
  };
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) break;
      for (const e of rd.push(chunk.subarray(0, n))) {
        const viol = isAllZero(e.templateHash);
        const input = imaTemplateHashInput(e);
        if (!viol && !sameBytes(oneShot('sha1', input, 'latin1'), e.templateHash)) mismatches++;
        if (!data.computeOther) continue;
        const batch = (i / BATCH) | 0;
        // Wait for a free slot: at most SLOTS batches ahead of the consumer.
        for (;;) {
          const c = Atomics.load(ctl, CTL.consumed);
          if (batch - c < SLOTS) break;
          Atomics.wait(ctl, CTL.consumed, c, 1000);
        }
        const at = ((batch % SLOTS) * BATCH + (i % BATCH)) * size;
        ring.write(viol ? ones : oneShot(nameO, input, 'latin1'), at, 'latin1');
        i++;
        if (i % BATCH === 0) publish();
      }
    }
    rd.end();
  } finally {
    closeSync(fd);
  }
  if (data.computeOther && i % BATCH !== 0) publish();
  Atomics.store(ctl, CTL.total, i);
  parentPort!.postMessage({ mismatches });
} catch (e) {
  Atomics.store(ctl, CTL.failed, 1);
  Atomics.notify(ctl, CTL.produced);
  throw e;
}
