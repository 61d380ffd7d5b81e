/**
 * Deterministic generator of a large crypto-agile TCG PC Client log (SHA-1 + SHA-256 banks):
 * the Spec ID header record, then events spread over PCRs 0-9 and 14 with EV_ACTION strings of
 * varied length, written with the tcg2 encoders in bounded memory. Prints the expected PCR values
 * computed here with node:crypto directly.
 *
 *   node dist/bench/eventlog/gen_tcg.js [events=1000000] [out=bench/out/tcg-<n>.bin]
 *
 * @module
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { ByteWriter } from '../../src/bytes/writer.js';
import { encodePcrEvent, encodePcrEvent2 } from '../../src/formats/tcg2/pcr_event.js';
import { encodeSpecIdEvent } from '../../src/formats/tcg2/spec_id_event.js';

const PCRS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14];
const EV_ACTION = 0x05;
const EV_NO_ACTION = 0x03;

/** Writes the log; returns its size and the expected PCRs (sha256 and sha1) of PCR8 and PCR14. */
export function generateTcgLog(
  events: number,
  out: string,
): { bytes: number; pcrs: Record<string, { sha1: string; sha256: string }> } {
  mkdirSync(dirname(out), { recursive: true });
  const fd = openSync(out, 'w');
  const vals = new Map<number, { s1: Buffer; s256: Buffer }>();
  let bytes = 0;
  try {
    const spec = new ByteWriter();
    encodeSpecIdEvent(spec, {
      signature: 'Spec ID Event03\0',
      platformClass: 0,
      specVersionMinor: 0,
      specVersionMajor: 2,
      specErrata: 0,
      uintnSize: 2,
      algorithms: [
        { algId: 0x0004, digestSize: 20, alg: 'sha1' },
        { algId: 0x000b, digestSize: 32, alg: 'sha256' },
      ],
      vendorInfo: new Uint8Array(0),
    });
    let w = new ByteWriter(1 << 21);
    encodePcrEvent(w, {
      pcrIndex: 0,
      eventType: EV_NO_ACTION,
      digests: [{ algId: 4, alg: 'sha1', digest: new Uint8Array(20) }],
      data: spec.finish(),
    });
    for (let i = 1; i < events; i++) {
      const pcr = PCRS[i % PCRS.length]!;
      const data = new TextEncoder().encode(
        `grub_cmd: linux /vmlinuz-${i} root=UUID=${(i * 2654435761) >>> 0} ro quiet${'x'.repeat(i % 40)}`,
      );
      const d1 = createHash('sha1').update(data).digest();
      const d256 = createHash('sha256').update(data).digest();
      encodePcrEvent2(w, {
        pcrIndex: pcr,
        eventType: EV_ACTION,
        digests: [
          { algId: 4, alg: 'sha1', digest: d1 },
          { algId: 0x0b, alg: 'sha256', digest: d256 },
        ],
        data,
      });
      const v = vals.get(pcr) ?? { s1: Buffer.alloc(20), s256: Buffer.alloc(32) };
      v.s1 = createHash('sha1').update(v.s1).update(d1).digest();
      v.s256 = createHash('sha256').update(v.s256).update(d256).digest();
      vals.set(pcr, v);
      if (w.length > 1 << 20) {
        const b = w.finish();
        writeSync(fd, b);
        bytes += b.length;
        w = new ByteWriter(1 << 21);
      }
    }
    const b = w.finish();
    writeSync(fd, b);
    bytes += b.length;
  } finally {
    closeSync(fd);
  }
  const pcrs: Record<string, { sha1: string; sha256: string }> = {};
  for (const [p, v] of [...vals].sort((a, b) => a[0] - b[0])) {
    pcrs[`pcr${p}`] = { sha1: v.s1.toString('hex'), sha256: v.s256.toString('hex') };
  }
  return { bytes, pcrs };
}

if (process.argv[1]?.endsWith('gen_tcg.js')) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const out = process.argv[3] ?? `bench/out/tcg-${n}.bin`;
  console.log(JSON.stringify({ out, events: n, ...generateTcgLog(n, out) }));
}
