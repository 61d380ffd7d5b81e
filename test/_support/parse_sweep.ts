/**
 * Truncation sweeps over synchronous whole-buffer parsers (STYLE §3.5 rule 3): a cut at a record
 * boundary parses to exactly the records before it; a cut anywhere else is ERR_TRUNCATED naming
 * how many records were complete; nothing ever throws anything but a ParseError.
 */
import assert from 'node:assert/strict';
import { ParseError } from '../../src/errors.js';

/** Runs `fn`; it must return or throw a ParseError. Returns the error, if any. */
export function parsesOrParseError(fn: () => unknown, what: string): ParseError | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof ParseError, `${what}: ${e instanceof Error ? e.stack : String(e)}`);
    return e;
  }
}

/**
 * The cut offsets worth trying in a list of back-to-back records that starts at 0: every offset
 * inside the first and the last record, and ±16 bytes around every record end, within [0, size].
 * `ends` holds each record's end offset, in order.
 */
export function cutsNearBoundaries(ends: readonly number[], size: number): number[] {
  const set = new Set<number>();
  const starts = [0, ...ends.slice(0, -1)];
  for (let o = 0; o <= (ends[0] ?? 0); o++) set.add(o);
  const lastStart = starts[starts.length - 1] ?? 0;
  for (let o = lastStart; o <= size; o++) set.add(o);
  for (const b of ends)
    for (let d = -16; d <= 16; d++) if (b + d >= 0 && b + d <= size) set.add(b + d);
  return [...set].sort((a, b) => a - b);
}

/**
 * Cuts `buf` at {@link cutsNearBoundaries} and checks each cut: at 0 or a record end, `parse`
 * returns exactly the complete records; inside a record it throws ERR_TRUNCATED whose
 * `completeRecords` counts the records before the cut. `label` prefixes assertion messages.
 */
export function assertCutsTruncateCleanly(
  buf: Uint8Array,
  ends: readonly number[],
  parse: (input: Uint8Array) => readonly unknown[],
  label: string,
): void {
  for (const cut of cutsNearBoundaries(ends, buf.length)) {
    const complete = ends.filter((e) => e <= cut).length;
    const input = buf.subarray(0, cut);
    const what = `${label} cut ${cut}`;
    if (cut === 0 || ends.includes(cut)) {
      assert.equal(parse(input).length, complete, what);
    } else {
      const e = parsesOrParseError(() => parse(input), what);
      assert.ok(e !== undefined, `${what}: a cut record must not parse`);
      assert.equal(e.code, 'ERR_TRUNCATED', `${what}: ${e.message}`);
      assert.equal(e.completeRecords, complete, what);
    }
  }
}
