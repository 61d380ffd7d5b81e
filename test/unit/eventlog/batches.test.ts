// `batches` (LogFormat.parseBatches / eventBatches) is the same event stream as `events`, in
// batches: same events in the same order on every capture of every format, and on a cut log
// the complete records arrive before the truncation error, as they do one at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogEvent } from '../../../src/eventlog/event.js';
import { openLogStream } from '../../../src/eventlog/log_source.js';
import { ParseError } from '../../../src/errors.js';
import { captureNames, chunked, logFixture } from './support.js';

function key(e: LogEvent): string {
  const digests = [...e.digests].map(([a, d]) => `${a}:${Buffer.from(d).toString('hex')}`);
  return `${e.index} ${e.register} ${e.extend} ${e.source.offset} ${digests.join(',')}`;
}

async function viaEvents(buf: Uint8Array, chunk: number): Promise<string[]> {
  const log = await openLogStream(chunked(buf, chunk));
  const out: string[] = [];
  for await (const e of log.events) out.push(key(e));
  return out;
}

async function viaBatches(
  buf: Uint8Array,
  chunk: number,
): Promise<{ keys: string[]; batches: number }> {
  const log = await openLogStream(chunked(buf, chunk));
  const keys: string[] = [];
  let batches = 0;
  for await (const b of log.batches) {
    assert.ok(b.length > 0, 'no empty batch');
    batches++;
    for (const e of b) keys.push(key(e));
  }
  return { keys, batches };
}

for (const folder of ['tcg', 'ccel', 'aael', 'ima', 'cel']) {
  test(`${folder}: batches hold the events of events(), in order`, async () => {
    const names = captureNames(folder);
    let compared = 0;
    for (const name of names) {
      const buf = logFixture(`${folder}/${name}`);
      const one = await viaEvents(buf, 4096).catch(() => undefined);
      if (one === undefined) continue; // captures that end in an error are covered below
      const b = await viaBatches(buf, 4096);
      assert.deepEqual(b.keys, one, name);
      compared++;
    }
    assert.ok(compared >= 1, `${folder}: captures compared`);
  });
}

test('a TCG log with a batch format: fewer batches than events (records share a batch)', async () => {
  const buf = logFixture('tcg/gce-rhel8-secureboot.binary_bios_measurements');
  const b = await viaBatches(buf, 65536);
  assert.ok(b.batches < b.keys.length / 4, `${b.batches} batches for ${b.keys.length} events`);
});

test('a cut TCG log: every complete record arrives before ERR_TRUNCATED, as with events()', async () => {
  const whole = logFixture('tcg/gce-rhel8-secureboot.binary_bios_measurements');
  const all = await viaEvents(whole, 65536);
  const cut = whole.subarray(0, whole.length - 10);
  const seen: string[] = [];
  const log = await openLogStream(chunked(cut, 65536));
  await assert.rejects(
    (async () => {
      for await (const b of log.batches) for (const e of b) seen.push(key(e));
    })(),
    (e: unknown) => e instanceof ParseError && e.code === 'ERR_TRUNCATED',
  );
  assert.deepEqual(seen, all.slice(0, all.length - 1));
});
