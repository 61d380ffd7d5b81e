/**
 * A tenant's vMR folded with node:crypto alone (`vMR ← SHA-384(vMR ‖ SHA-384(line))`, DESIGN §4;
 * `#` comment lines are not extended), so a test's expected vMR never comes from mrstack.
 */
import { createHash } from 'node:crypto';

/** The vMR after the extended (non-comment) lines of a tenant log, from `start` (default zeros). */
export function vmrFold(lines: readonly string[], start: Buffer = Buffer.alloc(48)): Buffer {
  let v = start;
  for (const l of lines) {
    if (l.startsWith('#')) continue;
    const h = createHash('sha384').update(l, 'utf8').digest();
    v = createHash('sha384')
      .update(Buffer.concat([v, h]))
      .digest();
  }
  return v;
}
