/**
 * JSON text (RFC 8259) parsed with a typed error: every JSON input mrstack reads (evidence
 * envelopes, bundles, collateral, trust anchors, PCR value files) fails the same way.
 *
 * A member name that appears twice in one object is refused (`ERR_BAD_JSON` naming its JSON
 * path): RFC 8259 §4 leaves the meaning of duplicates open, `JSON.parse` keeps the last one, and
 * a signature checked over one copy must not let the other copy be the one that is used.
 *
 * @module
 */
import { ParseError, type FormatId } from '../../errors.js';

/** Where a JSON text came from, for the error. */
export interface JsonTextOptions {
  /** The format named in the error (default `json`). */
  readonly format?: FormatId;
  /** What was expected, for the error (e.g. `JSON`). */
  readonly expected?: string;
}

/** The span of one member's value in the text: `text.slice(start, end)`. */
export interface JsonSpan {
  readonly start: number;
  readonly end: number;
}

interface Frame {
  readonly obj: boolean;
  readonly path: string;
  readonly keys: Set<string> | undefined;
  key: string;
  index: number;
  valueStart: number;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function child(f: Frame): string {
  if (!f.obj) return `${f.path}[${f.index}]`;
  return IDENT.test(f.key) ? `${f.path}.${f.key}` : `${f.path}[${JSON.stringify(f.key)}]`;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Walks JSON text that `JSON.parse` accepted: reports the first duplicate member name (its path
 * and offset), and the value spans of the top-level object's members.
 */
function scan(text: string): {
  duplicate?: { path: string; offset: number };
  members: Map<string, JsonSpan>;
} {
  const stack: Frame[] = [];
  const members = new Map<string, JsonSpan>();
  const closeTop = (end: number): void => {
    const f = stack[0];
    if (stack.length === 1 && f?.obj === true && f.valueStart >= 0) {
      let e = end;
      while (e > f.valueStart && isWs(text.charCodeAt(e - 1))) e--;
      members.set(f.key, { start: f.valueStart, end: e });
      f.valueStart = -1;
    }
  };
  const valueBegins = (at: number): void => {
    const f = stack[0];
    if (stack.length === 1 && f?.obj === true && f.valueStart === -2) f.valueStart = at;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: find its closing quote, skipping escapes.
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        let bs = 0;
        for (let k = q - 1; text.charCodeAt(k) === 0x5c; k--) bs++;
        if (bs % 2 === 0) {
          j = q;
          break;
        }
        j = q + 1;
      }
      const top = stack[stack.length - 1];
      if (top?.obj === true && top.key === '\u0000expect') {
        const raw = text.slice(i + 1, j);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (top.keys!.has(key)) {
          top.key = key;
          return { duplicate: { path: child(top), offset: i }, members };
        }
        top.keys!.add(key);
        top.key = key;
        if (stack.length === 1) top.valueStart = -2;
      } else valueBegins(i);
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      valueBegins(i);
      const parent = stack[stack.length - 1];
      const path = parent === undefined ? '$' : child(parent);
      const obj = c === 0x7b;
      stack.push({
        obj,
        path,
        keys: obj ? new Set() : undefined,
        key: obj ? '\u0000expect' : '',
        index: 0,
        valueStart: -1,
      });
    } else if (c === 0x7d || c === 0x5d) {
      if (stack.length === 1) closeTop(i);
      stack.pop();
      if (stack.length === 1) closeTop(i + 1);
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      if (top === undefined) continue;
      if (stack.length === 1) closeTop(i);
      if (top.obj) top.key = '\u0000expect';
      else top.index++;
    } else if (!isWs(c) && c !== 0x3a) valueBegins(i);
  }
  return { members };
}

/**
 * Parses JSON text; a duplicate member name anywhere is an error.
 * @throws ParseError `ERR_BAD_JSON` naming `field` (and the duplicate's JSON path), with the
 *   parser's error as `cause`
 */
export function parseJsonText(text: string, field: string, opts: JsonTextOptions = {}): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ParseError({
      code: 'ERR_BAD_JSON',
      format: opts.format ?? 'json',
      offset: 0,
      field,
      ...(opts.expected === undefined ? {} : { expected: opts.expected }),
      cause,
    });
  }
  if (typeof value === 'object' && value !== null) {
    const dup = scan(text).duplicate;
    if (dup !== undefined) {
      throw new ParseError({
        code: 'ERR_BAD_JSON',
        format: opts.format ?? 'json',
        offset: dup.offset,
        field: `${field}: ${dup.path}`,
        expected: 'each member name once per object',
        actual: `a second ${dup.path}`,
      });
    }
  }
  return value;
}

/**
 * The exact text of each top-level member's value of a JSON object text (which must have
 * passed {@link parseJsonText}, so no name repeats): signatures over a member "as served" are
 * checked over these bytes, and the value is then parsed from the same bytes.
 */
export function jsonMemberSpans(text: string): ReadonlyMap<string, JsonSpan> {
  return scan(text).members;
}
