// Parsers take input chunks as theirs (node streams never touch a chunk once emitted) and keep
// views of them. A producer that reuses one buffer for every chunk (a read loop into a fixed
// buffer) is wrapped in ownedChunks(): wrapped, such a producer gives the events of a fresh
// parse, compared after the whole log was read. (Unwrapped, the TCG, CCEL, CEL, AAEL and IMA
// binary parsers give different events or errors: without the copy in ownedChunks this fails.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogEvent } from '../../../src/eventlog/event.js';
import { openLogStream } from '../../../src/eventlog/log_source.js';
import { getLogFormat } from '../../../src/eventlog/registry.js';
import { ownedChunks } from '../../../src/formats/stream/framer.js';
import { logFixture } from './support.js';

/** Yields `buf` in chunks of `size` bytes, all through ONE Buffer that is overwritten each time. */
async function* reusedBuffer(buf: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  const shared = Buffer.alloc(size);
  for (let i = 0; i < buf.length; i += size) {
    await Promise.resolve();
    const n = Math.min(size, buf.length - i);
    shared.fill(0xa5);
    shared.set(buf.subarray(i, i + n), 0);
    yield shared.subarray(0, n);
  }
}

async function* fresh(buf: Uint8Array): AsyncIterable<Uint8Array> {
  await Promise.resolve();
  yield buf.slice();
}

/**
 * Everything an event carries as bytes, as hex, collected after the whole log was read: through
 * format detection (`openLogStream`, which holds the first chunks while it looks at them), or
 * straight through the format's parser when `format` is given.
 */
async function collect(input: AsyncIterable<Uint8Array>, format?: string): Promise<string[]> {
  const events: LogEvent[] = [];
  const stream =
    format === undefined
      ? (await openLogStream(input, { logName: 'reuse' })).events
      : getLogFormat(format).parse(input, { logName: 'reuse' });
  for await (const e of stream) events.push(e);
  return events.map((e) => {
    const digests = [...e.digests].map(([a, d]) => `${a}:${Buffer.from(d).toString('hex')}`);
    const own = e as unknown as Record<string, unknown>;
    const extra: string[] = [];
    for (const k of ['data', 'templateData', 'line', 'content'] as const) {
      const v = own[k];
      if (v instanceof Uint8Array) extra.push(`${k}=${Buffer.from(v).toString('hex')}`);
    }
    const entry = own['entry'] as Record<string, unknown> | undefined;
    if (entry !== undefined) {
      for (const [k, v] of Object.entries(entry))
        if (v instanceof Uint8Array) extra.push(`entry.${k}=${Buffer.from(v).toString('hex')}`);
    }
    return [e.index, e.register, ...digests, ...extra].join(' ');
  });
}

const CASES = [
  'tcg/gce-rhel8-secureboot.binary_bios_measurements',
  'tcg/intel-nuc-sha1-legacy-format.binary_bios_measurements',
  'ccel/gcp-cos113-tdx.ccel.bin',
  // Its last byte is stray (see the capture's PROVENANCE): the six whole records before it.
  'ima/debian-ima-ng-sha1.binary_runtime_measurements:558',
  'ima/rust-keylime-agent-ima-ng-sha1.ascii_runtime_measurements',
  'cel/gce-confidential-space-tdx-rtmr3.cel-tlv.bin',
  'aael/coco-aael-text-v1-sample1.aael.txt',
];

for (const spec of CASES) {
  const [rel, cut] = spec.split(':') as [string, string | undefined];
  test(`${rel}: events keep their bytes when the producer reuses its chunk buffer`, async () => {
    const whole = logFixture(rel);
    const buf = cut === undefined ? whole : whole.subarray(0, Number(cut));
    const format = (await openLogStream(fresh(buf))).format.id;
    const expected = await collect(fresh(buf));
    assert.ok(expected.length >= 2, 'the capture has events');
    for (const size of [61, 4096]) {
      assert.deepEqual(
        await collect(ownedChunks(reusedBuffer(buf, size))),
        expected,
        `detected, chunks of ${size}`,
      );
      assert.deepEqual(
        await collect(ownedChunks(reusedBuffer(buf, size)), format),
        expected,
        `${format} parser, chunks of ${size}`,
      );
    }
  });
}
