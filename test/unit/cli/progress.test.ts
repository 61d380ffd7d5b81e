// The progress bar: drawn only on a terminal and only for large inputs; ends its line at 100 %
// when the read finished and where it stood when it stopped early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { byteProgress, PROGRESS_MIN_BYTES } from '../../../src/cli/progress.js';

/** A stream that says it is a terminal and records what is drawn on it. */
function fakeTerminal(isTTY: boolean): {
  stream: PassThrough & { isTTY: boolean };
  text: () => string;
} {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 120 });
  const chunks: Buffer[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

const MIB = 1024 * 1024;

test('nothing is drawn when stderr is not a terminal, the size is unknown or small, or it is turned off', async () => {
  for (const [isTTY, total, enabled] of [
    [false, 100 * MIB, true],
    [true, undefined, true],
    [true, PROGRESS_MIN_BYTES - 1, true],
    [true, 100 * MIB, false],
  ] as const) {
    const t = fakeTerminal(isTTY);
    const p = byteProgress('log.bin', total, { stream: t.stream, enabled });
    assert.equal(p.onProgress, undefined);
    p.finish();
    await new Promise((r) => setImmediate(r));
    assert.equal(t.text(), '', `isTTY=${isTTY} total=${total} enabled=${enabled}`);
  }
});

test('on a terminal a large read draws a bar that ends full, at 100 %, with the size in MiB', async () => {
  const t = fakeTerminal(true);
  const total = 16 * MIB;
  const p = byteProgress('big.log', total, { stream: t.stream });
  assert.ok(p.onProgress !== undefined);
  for (let n = MIB; n <= total; n += MIB) p.onProgress(n);
  p.finish();
  await new Promise((r) => setImmediate(r));
  const out = t.text();
  assert.match(out, /big\.log \[#{30}\] 100% \| 16\.0\/16\.0 MiB/);
  assert.ok(out.endsWith('\n'), 'the line is ended');
  // Stopping twice draws nothing more.
  const before = out.length;
  p.abort();
  await new Promise((r) => setImmediate(r));
  assert.equal(t.text().length, before);
});

test('a read that stops early leaves the bar where it stood (not at 100 %)', async () => {
  const t = fakeTerminal(true);
  const p = byteProgress('cut.log', 10 * MIB, { stream: t.stream });
  p.onProgress!(5 * MIB);
  p.abort();
  await new Promise((r) => setImmediate(r));
  const out = t.text();
  assert.match(out, /cut\.log \[#{15}\.{15}\] 50% \| 5\.0\/10\.0 MiB/);
  assert.doesNotMatch(out, /100%/);
});
