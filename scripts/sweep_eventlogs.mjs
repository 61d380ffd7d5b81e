#!/usr/bin/env node
// Full bad-input sweep over every TCG/CCEL/AAEL capture (outside CI: minutes, not seconds).
// Cuts at EVERY offset of every capture's data, plus seeded truncations and mutations; every
// input must parse to exactly the complete records or give a typed ParseError (ERR_TRUNCATED
// inside a record). Run after `npx tsc -p tsconfig.json`:
//   node scripts/sweep_eventlogs.mjs [SUBSTRING] [--mutations N]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { sweepCuts, sweepRandom, boundaries } = await import(
  join(root, 'dist/test/unit/eventlog/sweep.js')
);
const { detectLogFormat } = await import(join(root, 'dist/src/eventlog/registry.js'));
const args = process.argv.slice(2);
const mIdx = args.indexOf('--mutations');
const mutations = mIdx >= 0 ? Number(args[mIdx + 1]) : 2000;
const filter = args.find((a, i) => !a.startsWith('--') && i !== mIdx + 1);

let failures = 0;
for (const folder of ['tcg', 'ccel', 'aael']) {
  const dir = join(root, 'test/fixtures/eventlogs', folder);
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('.json') || name.endsWith('.md') || name.includes('acpi-ccel-table'))
      continue;
    if (name.startsWith('malformed-bogus') || name.startsWith('malformed-empty')) continue;
    if (filter !== undefined && !name.includes(filter)) continue;
    const buf = new Uint8Array(readFileSync(join(dir, name)));
    const fmt = detectLogFormat(buf.subarray(0, 65536)).id;
    const t0 = Date.now();
    try {
      let dataEnd = buf.length;
      if (fmt !== 'aael') {
        const starts = await boundaries(fmt, buf);
        // The end of the last record: where padding (if any) starts.
        const { getLogFormat } = await import(join(root, 'dist/src/eventlog/registry.js'));
        let last;
        for await (const e of getLogFormat(fmt).parse([buf])) last = e;
        dataEnd = last.source.offset + last.source.length;
        const every = Array.from({ length: dataEnd + 1 }, (_, i) => i);
        const n = await sweepCuts(fmt, buf, dataEnd, every);
        process.stdout.write(`${folder}/${name}: ${n} cuts over ${starts.length} records, `);
      }
      await sweepRandom(fmt, buf, 0x5eed, mutations);
      process.stdout.write(`${mutations} mutations ok (${Date.now() - t0} ms)\n`);
    } catch (e) {
      failures++;
      process.stdout.write(
        `\n${folder}/${name}: FAIL ${e instanceof Error ? e.message : String(e)}\n`,
      );
    }
  }
}
process.exit(failures === 0 ? 0 : 1);
