/** The bad-input sweep shared by the suite (a few captures) and scripts/sweep_eventlogs.mjs (all). */
import assert from 'node:assert/strict';
import { isMrstackError, ParseError, type MrstackError } from '../../../src/errors.js';
import { getLogFormat } from '../../../src/eventlog/registry.js';
import { Replay } from '../../../src/eventlog/replay.js';
import { chunked } from './support.js';
import { flipRandomBit, pick, randomIndex, seededRng } from '../../_support/rng.js';

/** Outcome of one input: the records parsed, or the ParseError. */
export type Outcome =
  | { ok: true; records: number }
  | {
      ok: false;
      error: MrstackError & { incomplete?: boolean; completeRecords?: number | undefined };
    };

/** Parses (and replays) one input; anything but success or a typed error fails the test. */
export async function attempt(format: string, buf: Uint8Array): Promise<Outcome> {
  const f = getLogFormat(format);
  const r = new Replay({ onGap: 'unverified' });
  let n = 0;
  try {
    for await (const e of f.parse(chunked(buf, 4096))) {
      n++;
      r.add(e);
    }
    return { ok: true, records: n };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, error: e };
    // Replay may refuse a mutated digest size with a typed error too; anything else is a bug.
    if (!isMrstackError(e)) assert.fail(`${format}: untyped ${String(e)}`);
    return { ok: false, error: e };
  }
}

/** Record boundaries (start offsets) of a well-formed log, plus its end. */
export async function boundaries(format: string, buf: Uint8Array): Promise<number[]> {
  const out: number[] = [];
  for await (const e of getLogFormat(format).parse(chunked(buf, 65536))) out.push(e.source.offset);
  return out;
}

/**
 * Cuts at every offset inside the first and last records and ±16 bytes around every boundary:
 * a cut at a boundary parses to exactly the records before it; a cut inside a record is
 * ERR_TRUNCATED (incomplete) naming how many records were complete.
 */
export async function sweepCuts(
  format: string,
  buf: Uint8Array,
  dataEnd: number,
  extraCuts: readonly number[] = [],
): Promise<number> {
  const starts = await boundaries(format, buf);
  const ends = [...starts.slice(1), dataEnd];
  const cuts = new Set<number>(extraCuts);
  for (let o = starts[0]!; o <= ends[0]!; o++) cuts.add(o);
  for (let o = starts[starts.length - 1]!; o <= dataEnd; o++) cuts.add(o);
  for (const b of starts) for (let d = -16; d <= 16; d++) cuts.add(b + d);
  let n = 0;
  for (const cut of cuts) {
    if (cut < 1 || cut > dataEnd) continue;
    const out = await attempt(format, buf.subarray(0, cut));
    const complete = ends.filter((e) => e <= cut).length;
    const atBoundary = cut === dataEnd || starts.includes(cut);
    if (atBoundary) {
      assert.ok(out.ok, `${format} cut ${cut}: ${out.ok ? '' : out.error.message}`);
      assert.equal(out.records, complete, `${format} cut ${cut}`);
    } else {
      assert.ok(!out.ok, `${format} cut ${cut} inside a record parsed`);
      assert.equal(out.error.code, 'ERR_TRUNCATED', `${format} cut ${cut}: ${out.error.message}`);
      assert.equal(out.error.incomplete, true);
      assert.equal(out.error.completeRecords, complete, `${format} cut ${cut}`);
    }
    n++;
  }
  return n;
}

/** Seeded random truncations and mutations (byte flips, length-field edits): parse or typed error. */
export async function sweepRandom(
  format: string,
  buf: Uint8Array,
  seed: number,
  count: number,
): Promise<void> {
  const rnd = seededRng(seed);
  const starts = await boundaries(format, buf);
  for (let i = 0; i < count; i++) {
    const m = buf.slice();
    const kind = i % 4;
    if (kind === 0) {
      await attempt(format, m.subarray(0, randomIndex(rnd, m.length)));
      continue;
    }
    if (kind === 1) {
      for (let k = 0; k < 1 + randomIndex(rnd, 4); k++) flipRandomBit(rnd, m);
    } else {
      // Overwrite a u32 near a record start (where the index, type, count and size fields are).
      const s = pick(rnd, starts);
      const at = Math.min(m.length - 4, s + 4 * randomIndex(rnd, 16));
      const vals = [0, 1, 0xffffffff, 0x7fffffff, 0x10000, randomIndex(rnd, 0x100000000)];
      new DataView(m.buffer).setUint32(at, pick(rnd, vals), true);
    }
    await attempt(format, m);
  }
}
