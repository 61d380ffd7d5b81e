/**
 * Deterministic generator of a large IMA `binary_runtime_measurements` list (template `ima-ng`,
 * sha256 file digests, PCR10, SHA-1 template-hash column), written with mrstack's encoder in
 * bounded memory. Prints the file, its size and the expected PCR10 per bank computed here with
 * node:crypto directly (not with mrstack's replay).
 *
 *   node dist/bench/eventlog/gen_ima.js [entries=1000000] [out=bench/out/ima-ng-<n>.bin]
 *
 * @module
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { encodeImaBinaryEntry } from '../../src/formats/ima/ima_binary.js';
import { encodeImaTemplateData } from '../../src/formats/ima/ima_template.js';

const enc = new TextEncoder();

/** The i-th entry's file digest and name: fixed functions of i. */
export function fileOf(i: number): { digest: Uint8Array; name: string } {
  const digest = new Uint8Array(32);
  const v = new DataView(digest.buffer);
  let x = (i + 1) * 0x9e3779b1;
  for (let k = 0; k < 8; k++) {
    x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) ^ k;
    v.setUint32(k * 4, x >>> 0);
  }
  const name = i === 0 ? 'boot_aggregate' : `/usr/lib/x86_64-linux-gnu/lib${i % 977}/f${i}.so`;
  return { digest, name };
}

/**
 * A keylime runtime policy (JSON text) allowing the first `n` entries of the generated list by
 * their digest, one per path — the input both IMA appraisal benches import.
 */
export function keylimePolicyOf(n: number): string {
  const digests: Record<string, string[]> = {};
  for (let i = 0; i < n; i++) {
    const f = fileOf(i);
    digests[f.name] = [Buffer.from(f.digest).toString('hex')];
  }
  return JSON.stringify({
    meta: { version: 1 },
    digests,
    excludes: [],
    keyrings: {},
    ima: { ignored_keyrings: [] },
    'ima-buf': {},
    'verification-keys': '',
  });
}

/** Writes the list; returns its size and the expected PCR10 values. */
export function generateImaList(
  entries: number,
  out: string,
): { bytes: number; sha1: string; sha256: string } {
  mkdirSync(dirname(out), { recursive: true });
  const fd = openSync(out, 'w');
  let pcr1: Buffer = Buffer.alloc(20);
  let pcr256: Buffer = Buffer.alloc(32);
  let bytes = 0;
  const batch: Uint8Array[] = [];
  let batchSize = 0;
  const flush = (): void => {
    writeSync(fd, Buffer.concat(batch, batchSize));
    batch.length = 0;
    batchSize = 0;
  };
  try {
    for (let i = 0; i < entries; i++) {
      const f = fileOf(i);
      const d = new Uint8Array(8 + 32);
      d.set(enc.encode('sha256:'), 0);
      d.set(f.digest, 8);
      const nameBytes = enc.encode(f.name);
      const n = new Uint8Array(nameBytes.length + 1);
      n.set(nameBytes, 0);
      const templateData = encodeImaTemplateData('ima-ng', [
        { id: 'd-ng', data: d },
        { id: 'n-ng', data: n },
      ]);
      const th = createHash('sha1').update(templateData).digest();
      const rec = encodeImaBinaryEntry({
        index: i,
        offset: bytes,
        pcr: 10,
        templateHash: th,
        templateName: 'ima-ng',
        templateData,
        littleEndian: true,
      });
      pcr1 = createHash('sha1').update(pcr1).update(th).digest();
      pcr256 = createHash('sha256')
        .update(pcr256)
        .update(createHash('sha256').update(templateData).digest())
        .digest();
      batch.push(rec);
      batchSize += rec.length;
      bytes += rec.length;
      if (batchSize > 1 << 20) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return { bytes, sha1: pcr1.toString('hex'), sha256: pcr256.toString('hex') };
}

if (process.argv[1]?.endsWith('gen_ima.js')) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const out = process.argv[3] ?? `bench/out/ima-ng-${n}.bin`;
  console.log(JSON.stringify({ out, entries: n, ...generateImaList(n, out) }));
}
