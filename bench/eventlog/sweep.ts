/**
 * The full bad-input sweep for the IMA and CEL formats, too slow for CI: every cut of every
 * capture in test/fixtures/eventlogs/{ima,cel} (and a seeded mutation run per capture), through
 * the registered formats' streaming parsers. Every input must parse or throw a ParseError; a cut
 * binary list (IMA binary, CEL-TLV) must parse only at record boundaries and otherwise give
 * ERR_TRUNCATED with the number of complete records. Prints a summary; exits 1 on any violation.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/eventlog/sweep.js [mutations-per-file=2000]
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from '../../src/errors.js';
import { bytesInput } from '../../src/formats/stream/framer.js';
import { getLogFormat } from '../../src/eventlog/registry.js';
import type { LogFormat } from '../../src/eventlog/log_format.js';
import { seededRng as rng } from '../../test/_support/rng.js';

const MUTATIONS = Number(process.argv[2] ?? 2000);
const ROOT = 'test/fixtures/eventlogs';

type Outcome = { ok: true; count: number; offsets: number[] } | { ok: false; error: ParseError };

async function run(fmt: LogFormat, buf: Uint8Array): Promise<Outcome> {
  const offsets: number[] = [];
  try {
    for await (const e of fmt.parse(bytesInput(buf))) offsets.push(e.source.offset);
    return { ok: true, count: offsets.length, offsets };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, error: e };
    throw e;
  }
}

const formatOf = (name: string): string =>
  name.endsWith('.cel-tlv.bin')
    ? 'cel-tlv'
    : name.endsWith('.json')
      ? 'cel-json'
      : name.includes('ascii')
        ? 'ima-ascii'
        : 'ima-binary';

let failures = 0;
let inputs = 0;
for (const dir of ['ima', 'cel']) {
  for (const name of readdirSync(join(ROOT, dir)).filter((n) => !n.endsWith('.md'))) {
    const full = new Uint8Array(readFileSync(join(ROOT, dir, name)));
    const fmt = getLogFormat(formatOf(name));
    const whole = await run(fmt, full);
    const binary = fmt.id === 'ima-binary' || fmt.id === 'cel-tlv';
    // Record boundaries from the longest prefix that parses.
    let ends: number[] = [];
    if (binary) {
      for (let cut = full.length; cut >= 0; cut--) {
        const r = await run(fmt, full.subarray(0, cut));
        if (r.ok) {
          ends = r.count === 0 ? [] : [...r.offsets.slice(1), cut];
          break;
        }
      }
    }
    for (let cut = 0; cut <= full.length; cut++) {
      // Text lists have no lengths to get wrong: for big ones, every offset near the ends and
      // a stride in between keeps the sweep linear-ish.
      const big = !binary && full.length > 16384;
      if (big && cut > 4096 && cut < full.length - 4096 && cut % 97 !== 0) continue;
      inputs++;
      const r = await run(fmt, full.subarray(0, cut));
      if (!binary) continue;
      const complete = ends.filter((e) => e <= cut).length;
      const boundary = cut === 0 || ends.includes(cut);
      const good = boundary
        ? r.ok && r.count === complete
        : !r.ok && r.error.code === 'ERR_TRUNCATED' && r.error.completeRecords === complete;
      const beyond = cut > (ends[ends.length - 1] ?? 0);
      if (!good && !beyond) {
        failures++;
        console.log(`${name} cut ${cut}: ${r.ok ? `parsed ${r.count}` : r.error.message}`);
      }
    }
    const rand = rng(name.length * 7919);
    for (let i = 0; i < MUTATIONS; i++) {
      const m = full.slice();
      const flips = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < flips; k++) {
        const at = Math.floor(rand() * m.length);
        m[at] = rand() < 0.5 ? m[at]! ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
      }
      inputs++;
      await run(fmt, m); // must not throw anything but ParseError
    }
    console.log(
      `${dir}/${name}: ${fmt.id}, ${full.length} bytes, ${whole.ok ? `${whole.count} records` : whole.error.code}`,
    );
  }
}
console.log(`${inputs} inputs, ${failures} violations`);
process.exitCode = failures === 0 ? 0 : 1;
