/**
 * Text safe for a terminal. Strings decoded from logs and reports may hold control bytes (a
 * UTF-16 command line read as bytes, an escape sequence planted in an event): they must never
 * reach a terminal as they are.
 *
 * @module
 */

/**
 * The string with control characters (C0, DEL, C1) as `\xNN` escapes, tabs as spaces and NULs
 * dropped.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) =>
    c === '\u0000' ? '' : c === '\t' ? ' ' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** Columns a string takes (one per code point; the CLI's output is ASCII but for `…`). */
export function textWidth(s: string): number {
  return Array.from(s).length;
}

/** The string cut to `width` columns, ending in `…` when cut; unchanged when `width` is undefined. */
export function fitText(s: string, width: number | undefined): string {
  if (width === undefined) return s;
  const cps = Array.from(s);
  if (cps.length <= width) return s;
  return width <= 0 ? '' : `${cps.slice(0, width - 1).join('')}…`;
}
