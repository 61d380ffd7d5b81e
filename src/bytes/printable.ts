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

/**
 * The string in pieces of at most `width` columns, the pieces after the first indented by
 * `indent` blanks and broken after a blank when one is in the piece's second half.
 */
export function wrapText(s: string, width: number | undefined, indent = 0): string[] {
  if (width === undefined || width <= indent + 1) return [s];
  const out: string[] = [];
  let rest = Array.from(s);
  let w = width;
  while (rest.length > w) {
    let cut = w;
    for (let i = w - 1; i >= w / 2; i--)
      if (rest[i] === ' ') {
        cut = i + 1;
        break;
      }
    out.push(rest.slice(0, cut).join('').trimEnd());
    rest = rest.slice(cut);
    w = width - indent;
  }
  out.push(rest.join(''));
  return out.map((p, i) => (i === 0 ? p : `${' '.repeat(indent)}${p}`));
}
