/** Runs every capture of a fixture folder against the values its provenance asserts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { replayLogs } from '../../src/eventlog/replay_logs.js';
import type { ReplayResult } from '../../src/eventlog/replay.js';
import { fixture } from '../_support/paths.js';
import { expectations, logFixture, parseAll, replayOf, regHex } from '../unit/eventlog/support.js';

/**
 * For every capture with expectations: the file is the one described (SHA-256), the record
 * count matches, and every asserted or provenance-computed register value is reproduced — by
 * replaying the parsed events and by `replayLogs` on the file, what `mrstack log replay` runs
 * (for TCG records, the in-place fold). `skip` names captures tested separately (malformed ones).
 */
export function goldenCaptures(folder: 'tcg' | 'ccel' | 'aael', skip: readonly string[]): void {
  const exp = expectations(folder);
  for (const [name, e] of Object.entries(exp)) {
    if (skip.includes(name) || e.registers === undefined) continue;
    test(`${folder}/${name}: ${e.records ?? '?'} records, every expected register value`, async () => {
      const buf = logFixture(`${folder}/${name}`);
      assert.equal(createHash('sha256').update(buf).digest('hex'), e.sha256, 'fixture bytes');
      // An odd chunk size makes records straddle chunk boundaries.
      const { events } = await parseAll(buf, { chunk: 509 });
      if (e.records !== undefined) assert.equal(events.length, e.records, 'record count');
      const shipped = await replayLogs([fixture('eventlogs', folder, name)]);
      assert.equal(shipped.events, events.length, 'records replayed by replayLogs');
      for (const [how, r] of [
        ['events', replayOf(events)],
        ['replayLogs', shipped],
      ] as const) {
        assert.ok(checkExpected(r, e, `${how} `) > 0);
      }
    });
  }
}

/** Asserts every expected register value of a capture; returns how many were checked. */
function checkExpected(
  r: ReplayResult,
  e: ReturnType<typeof expectations>[string],
  what: string,
): number {
  let checked = 0;
  for (const table of [e.registers?.asserted, e.registers?.computed]) {
    for (const [reg, banks] of Object.entries(table ?? {})) {
      for (const [alg, hex] of Object.entries(banks)) {
        // Registers no record extends stay at their reset value (trustee lists them as zeros).
        const got = regHex(r, reg, alg) ?? (/^0+$/.test(hex) ? hex : undefined);
        assert.equal(got, hex, `${what}${reg}:${alg}`);
        checked++;
      }
    }
  }
  return checked;
}
