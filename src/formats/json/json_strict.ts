/**
 * Strict JSON (RFC 8259) for signed payloads: a duplicate member name anywhere is an error
 * (two readers of the same signed bytes must not see different values), nesting is bounded,
 * and the parser reports which numbers were written with a fraction or exponent — `JSON.parse`
 * turns `1.666091373e+09` into an integer, and a signed token's `iat` must be written as one.
 *
 * @module
 */
import { ParseError, type FormatId } from '../../errors.js';

/** Options of {@link parseStrictJson}. */
export interface StrictJsonOptions {
  /** The format named in errors (default `json`). */
  readonly format?: FormatId;
  /** Deepest nesting of arrays and objects accepted (default 64). */
  readonly maxDepth?: number;
}

/** A parsed document and the JSON Pointers of its numbers written with `.` or an exponent. */
export interface StrictJson {
  readonly value: unknown;
  /** JSON Pointers (`/iat`, `/submods/a/x`) of numbers whose text is not an integer literal. */
  readonly nonIntegerLiterals: ReadonlySet<string>;
}

const pointerPart = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Parses `text` as strict JSON.
 * @throws ParseError `ERR_BAD_JSON` naming the byte offset (UTF-16 index) and what was expected
 */
export function parseStrictJson(
  text: string,
  field: string,
  opts: StrictJsonOptions = {},
): StrictJson {
  const format = opts.format ?? 'json';
  const maxDepth = opts.maxDepth ?? 64;
  const nonInteger = new Set<string>();
  let i = 0;
  const fail = (expected: string, where = i): never => {
    throw new ParseError({
      code: 'ERR_BAD_JSON',
      format,
      offset: where,
      field,
      expected,
      actual: where < text.length ? JSON.stringify(text.slice(where, where + 12)) : 'end of input',
    });
  };
  const ws = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    let run = i;
    for (;;) {
      if (i >= text.length) fail('closing "', start);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(run, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('no control character inside a string');
      if (c === 0x5c) {
        out += text.slice(run, i);
        const e = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        const esc = e === undefined ? undefined : simple[e];
        if (esc !== undefined) {
          out += esc;
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          fail('a valid escape');
        }
        run = i;
        continue;
      }
      i++;
    }
  };
  const num = (path: string): number => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (m === null || m[0] === '' || m[0] === '-') return fail('a value');
    if (m[2] !== undefined || m[3] !== undefined) nonInteger.add(path);
    i += m[0].length;
    return Number(m[0]);
  };
  const value = (path: string, depth: number): unknown => {
    ws();
    const c = text[i];
    if (c === '{') {
      if (depth >= maxDepth) fail(`nesting <= ${maxDepth}`);
      i++;
      const obj: Record<string, unknown> = {};
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a member name');
        const at = i;
        const k = str();
        if (seen.has(k)) fail(`unique member names (${JSON.stringify(k)} appears twice)`, at);
        seen.add(k);
        ws();
        if (text[i] !== ':') fail('":"');
        i++;
        const v = value(`${path}/${pointerPart(k)}`, depth + 1);
        // defineProperty: a member named "__proto__" stays a plain member.
        Object.defineProperty(obj, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail('"," or "}"');
      }
    }
    if (c === '[') {
      if (depth >= maxDepth) fail(`nesting <= ${maxDepth}`);
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(`${path}/${arr.length}`, depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail('"," or "]"');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    return num(path);
  };
  const v = value('', 0);
  ws();
  if (i !== text.length) fail('end of input');
  return { value: v, nonIntegerLiterals: nonInteger };
}
