/**
 * How the CLI speaks: JSON for machines (`--json`), tables for people, one-line errors, and the
 * exit codes of DESIGN §7 (0 ok, 1 verification/replay failure, 2 usage/bad input, 3 operational).
 *
 * @module
 */
import Table from 'cli-table3';
import { CommanderError } from 'commander';
import { MrstackError, type ExitCode } from '../errors.js';
import { printable, textWidth } from '../bytes/printable.js';

export { printable };

/** Options every command has. */
export interface OutputOptions {
  readonly json?: boolean;
}

/** Prints a value as one JSON document (Uint8Array and bigint become hex / decimal strings). */
export function printJson(value: unknown): void {
  process.stdout.write(`${toJsonText(value)}\n`);
}

/** JSON text with the CLI's conventions: bytes as lowercase hex, bigint as decimal strings. */
export function toJsonText(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_k, v: unknown): unknown => {
      if (v instanceof Uint8Array)
        return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) return Object.fromEntries(v as Map<unknown, unknown>);
      return v;
    },
    indent,
  );
}

/** The terminal's width when stdout is one (`process.stdout.columns`), else undefined. */
export function terminalWidth(): number | undefined {
  const c = process.stdout.isTTY ? process.stdout.columns : undefined;
  return c !== undefined && c > 0 ? c : undefined;
}

/** How {@link renderTable} fits a table. */
export interface TableOptions {
  /** Full values: never truncate (`--wide`). */
  readonly wide?: boolean;
  /** Width to fit; default {@link terminalWidth} (none when stdout is not a terminal). */
  readonly width?: number;
  /** The last column continues on extra lines instead of being cut (`log parse` details). */
  readonly wrapLast?: boolean;
}

/** Pieces of at most `w` columns, broken after a blank or `/` in the second half when there is one. */
function wrapText(s: string, w: number): string[] {
  const out: string[] = [];
  let rest = Array.from(s);
  while (rest.length > w) {
    let cut = w;
    for (let i = w - 1; i >= w / 2; i--)
      if (rest[i] === ' ' || rest[i] === '/' || rest[i] === '\\') {
        cut = i + 1;
        break;
      }
    out.push(rest.slice(0, cut).join('').trimEnd());
    rest = rest.slice(cut);
  }
  out.push(rest.join(''));
  return out;
}

const GAP = 2;
const MIN_COLUMN = 6;
const width = textWidth;

/** Column widths that fit `limit`: the widest columns give up width first, down to a floor. */
function fitWidths(natural: readonly number[], head: readonly string[], limit: number): number[] {
  const w = [...natural];
  const floor = natural.map((n, i) => Math.min(n, Math.max(MIN_COLUMN, width(head[i] ?? ''))));
  let over = w.reduce((a, b) => a + b, 0) + GAP * (w.length - 1) - limit;
  while (over > 0) {
    let widest = -1;
    for (let i = 0; i < w.length; i++)
      if (w[i]! > floor[i]! && (widest < 0 || w[i]! > w[widest]!)) widest = i;
    if (widest < 0) break; // cannot fit: keep the floors
    const second = Math.max(floor[widest]!, ...w.filter((_, i) => i !== widest));
    const cut = Math.min(over, Math.max(1, w[widest]! - second));
    w[widest] = w[widest]! - cut;
    over -= cut;
  }
  return w;
}

/**
 * A compact table for people (a rule under the header, none between rows), each cell made
 * {@link printable}, truncated with `…` to the width (unless `wide`). Lines carry no trailing blanks.
 */
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  opts: TableOptions = {},
): string[] {
  const cells = rows.map((r) => head.map((_, i) => printable(r[i] ?? '')));
  const natural = head.map((h, i) => Math.max(width(h), ...cells.map((r) => width(r[i]!))));
  const limit = opts.wide === true ? undefined : (opts.width ?? terminalWidth());
  let colWidths = natural;
  if (limit !== undefined && opts.wrapLast === true && cells.length > 0) {
    // the last column takes what the others leave (they keep their natural widths when they can)
    const others = natural.slice(0, -1);
    const fixed = fitWidths([...others, MIN_COLUMN * 2], head, limit).slice(0, -1);
    const lastW = Math.max(
      MIN_COLUMN,
      limit - fixed.reduce((a, b) => a + b, 0) - GAP * fixed.length,
    );
    colWidths = [...fixed, Math.min(lastW, natural[natural.length - 1]!)];
    const last = colWidths.length - 1;
    const wrapped: string[][] = [];
    for (const r of cells) {
      const pieces = wrapText(r[last]!, colWidths[last]!);
      wrapped.push([...r.slice(0, last), pieces[0]!]);
      for (const p of pieces.slice(1)) wrapped.push([...r.slice(0, last).map(() => ''), p]);
    }
    cells.length = 0;
    cells.push(...wrapped);
  } else if (limit !== undefined) colWidths = fitWidths(natural, head, limit);
  const t = new Table({
    head: [...head],
    colWidths,
    wordWrap: false,
    style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 0 },
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '─',
      'mid-mid': '──',
      right: '',
      'right-mid': '',
      middle: ' '.repeat(GAP),
    },
  });
  for (const r of cells) t.push(r);
  return t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd());
}

/** Prints rows as a compact table for people (see {@link renderTable}). */
export function printTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  opts: TableOptions = {},
): void {
  process.stdout.write(`${renderTable(head, rows, opts).join('\n')}\n`);
}

/** Prints `key: value` lines for people. */
export function printFields(fields: readonly (readonly [string, string])[]): void {
  const w = Math.max(0, ...fields.map(([k]) => k.length));
  for (const [k, v] of fields) process.stdout.write(`${k.padEnd(w)}  ${printable(v)}\n`);
}

/** Exit code and printed form of any thrown value; never a stack trace. */
export function reportError(e: unknown, json: boolean): ExitCode {
  let code: ExitCode;
  let body: Record<string, unknown>;
  if (e instanceof MrstackError) {
    code = e.exitCode;
    body = e.toJSON();
  } else if (e instanceof CommanderError) {
    code = 2;
    body = { code: 'ERR_USAGE', message: e.message.replace(/^error: /, '') };
  } else {
    code = 3;
    const message = e instanceof Error ? e.message : String(e);
    body = { code: 'ERR_INTERNAL', message };
  }
  if (json) process.stdout.write(`${toJsonText({ error: body })}\n`);
  else process.stderr.write(`mrstack: ${String(body['code'])}: ${String(body['message'])}\n`);
  if (process.env['MRSTACK_DEBUG'] === '1' && e instanceof Error)
    process.stderr.write(`${e.stack ?? ''}\n`);
  return code;
}

/**
 * Wraps a command action: runs it, maps errors to exit codes. An action may return an exit
 * code (1 for "verified: false" results) or nothing for 0.
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number | undefined> | number | undefined,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const json = args.some(
      (a) => typeof a === 'object' && a !== null && (a as { json?: unknown }).json === true,
    );
    try {
      const rc = await fn(...args);
      process.exitCode = rc ?? 0;
    } catch (e) {
      process.exitCode = reportError(e, json);
    }
  };
}
