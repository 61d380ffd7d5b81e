/**
 * The subset of Python `re` syntax that keylime excludes (and policy regexes) may use, turned
 * into JavaScript regex source. What both engines read alike is passed through; Python-only
 * spellings are rewritten (`(?P<n>…)` → `(?:…)`, `\A`, `\Z`, leading `(?i)`/`(?s)`/`(?m)`);
 * anything else is a typed error (`ERR_REGEX_UNSUPPORTED`) rather than a silently different
 * match.
 *
 * JavaScript regexes backtrack, so a pattern is also refused when its cost could explode:
 * backreferences, and a quantified group that itself contains a quantifier (`(a+)+`, `(\w*)*`) —
 * the shapes behind catastrophic backtracking. Patterns are bounded in length.
 *
 * @module
 */
import { MrstackError } from '../../errors.js';

/** Longest accepted pattern. */
export const MAX_REGEX_LENGTH = 4096;

/** A translated pattern: JS source and flags. */
export interface TranslatedRegex {
  readonly source: string;
  readonly flags: string;
}

function unsupported(pattern: string, at: number, why: string): MrstackError {
  return new MrstackError(
    'ERR_REGEX_UNSUPPORTED',
    `regex ${JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern)} at ${at}: ${why}`,
    { details: { pattern, offset: at, reason: why } },
  );
}

const SIMPLE_ESCAPES = new Set('dDwWsSbBntrfv0.\\/^$|?*+()[]{}-'.split(''));

function isQuantifierAt(p: string, i: number): number {
  const c = p[i];
  if (c === '*' || c === '+' || c === '?') return 1;
  if (c === '{') {
    const m = /^\{(\d*)(,(\d*))?\}/.exec(p.slice(i));
    if (m !== null && (m[1] !== '' || m[3] !== undefined)) return m[0].length;
  }
  return 0;
}

/**
 * Translates one Python regex to JS.
 * @throws MrstackError `ERR_REGEX_UNSUPPORTED`
 */
export function translatePythonRegex(pattern: string): TranslatedRegex {
  if (pattern.length > MAX_REGEX_LENGTH) {
    throw unsupported(pattern, MAX_REGEX_LENGTH, `longer than ${MAX_REGEX_LENGTH} characters`);
  }
  let flags = '';
  let i = 0;
  // Python allows global inline flags only at the start.
  for (
    let m = /^\(\?([ims]+)\)/.exec(pattern);
    m !== null;
    m = /^\(\?([ims]+)\)/.exec(pattern.slice(i))
  ) {
    for (const f of m[1]!) if (!flags.includes(f)) flags += f;
    i += m[0].length;
  }
  let out = '';
  // For each open group: whether a quantifier occurred inside it.
  const groups: boolean[] = [];
  let lastClosedHadQuantifier = false;
  let inClass = false;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) throw unsupported(pattern, i, 'ends with a lone backslash');
      if (n >= '1' && n <= '9' && !inClass)
        throw unsupported(pattern, i, 'backreferences are not supported');
      if (n === 'A' && !inClass) {
        out += '^';
      } else if (n === 'Z' && !inClass) {
        out += '$(?![\\s\\S])';
      } else if (n === 'x') {
        const h = /^[0-9a-fA-F]{2}/.exec(pattern.slice(i + 2));
        if (h === null) throw unsupported(pattern, i, '\\x needs two hex digits');
        out += `\\x${h[0]}`;
        i += 4;
        lastClosedHadQuantifier = false;
        continue;
      } else if (n === 'u') {
        const h = /^[0-9a-fA-F]{4}/.exec(pattern.slice(i + 2));
        if (h === null) throw unsupported(pattern, i, '\\u needs four hex digits');
        out += `\\u${h[0]}`;
        i += 6;
        lastClosedHadQuantifier = false;
        continue;
      } else if (SIMPLE_ESCAPES.has(n) || /[^A-Za-z0-9]/.test(n)) {
        out += `\\${n}`;
      } else {
        throw unsupported(pattern, i, `escape \\${n} is not in the supported subset`);
      }
      i += 2;
      lastClosedHadQuantifier = false;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      else if (c === '[' && pattern[i + 1] === ':')
        throw unsupported(pattern, i, 'POSIX classes are not Python syntax');
      out += c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      // a leading ']' (or '^]') is a literal in Python
      if (pattern[i] === '^') {
        out += '^';
        i++;
      }
      if (pattern[i] === ']') {
        out += '\\]';
        i++;
      }
      lastClosedHadQuantifier = false;
      continue;
    }
    if (c === '(') {
      const rest = pattern.slice(i);
      let open: string;
      if (rest.startsWith('(?P<')) {
        const m = /^\(\?P<[A-Za-z_][A-Za-z0-9_]*>/.exec(rest);
        if (m === null) throw unsupported(pattern, i, 'bad named group');
        open = '(?:';
        i += m[0].length;
      } else if (rest.startsWith('(?P=')) {
        throw unsupported(pattern, i, 'named backreferences are not supported');
      } else if (rest.startsWith('(?:') || rest.startsWith('(?=') || rest.startsWith('(?!')) {
        open = rest.slice(0, 3);
        i += 3;
      } else if (rest.startsWith('(?<=') || rest.startsWith('(?<!')) {
        open = rest.slice(0, 4);
        i += 4;
      } else if (rest.startsWith('(?')) {
        throw unsupported(pattern, i, `group syntax ${rest.slice(0, 3)} is not supported`);
      } else {
        open = '(?:'; // capture groups capture nothing anyone reads; keep them non-capturing
        i += 1;
      }
      groups.push(false);
      out += open;
      lastClosedHadQuantifier = false;
      continue;
    }
    if (c === ')') {
      if (groups.length === 0) throw unsupported(pattern, i, 'unbalanced )');
      lastClosedHadQuantifier = groups.pop()!;
      out += ')';
      i++;
      const q = isQuantifierAt(pattern, i);
      if (q > 0) {
        const quant = pattern.slice(i, i + q);
        const unbounded = quant === '*' || quant === '+' || quant.endsWith(',}');
        if (lastClosedHadQuantifier && unbounded)
          throw unsupported(
            pattern,
            i,
            'a quantified group containing a quantifier (nested quantifiers) is too costly',
          );
        out += quant;
        i += q;
        if (pattern[i] === '+')
          throw unsupported(pattern, i, 'possessive quantifiers are not supported');
        if (pattern[i] === '?') {
          out += '?';
          i++;
        }
        if (groups.length > 0) groups[groups.length - 1] = true;
      }
      if (lastClosedHadQuantifier && groups.length > 0) groups[groups.length - 1] = true;
      continue;
    }
    const q = isQuantifierAt(pattern, i);
    if (q > 0) {
      out += pattern.slice(i, i + q);
      i += q;
      if (pattern[i] === '+')
        throw unsupported(pattern, i, 'possessive quantifiers are not supported');
      if (pattern[i] === '?') {
        out += '?';
        i++;
      }
      if (groups.length > 0) groups[groups.length - 1] = true;
      continue;
    }
    if (c === '/') out += '\\/';
    else out += c;
    i++;
  }
  if (inClass) throw unsupported(pattern, pattern.length, 'unterminated character class');
  if (groups.length > 0) throw unsupported(pattern, pattern.length, 'unbalanced (');
  try {
    new RegExp(out, flags);
  } catch (e) {
    throw unsupported(pattern, 0, `not a valid regex (${(e as Error).message})`);
  }
  return { source: out, flags };
}

/**
 * keylime's exclude semantics: the patterns joined as alternatives and matched with Python
 * `re.match` — anchored at the start of the path, not at its end. Patterns with inline flags
 * are kept apart (one RegExp per flag set).
 * @throws MrstackError `ERR_REGEX_UNSUPPORTED` for any pattern outside the subset
 */
export function compileExcludes(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  const byFlags = new Map<string, string[]>();
  for (const p of patterns) {
    const t = translatePythonRegex(p);
    const list = byFlags.get(t.flags) ?? [];
    list.push(`(?:${t.source})`);
    byFlags.set(t.flags, list);
  }
  const res = [...byFlags].map(([flags, alts]) => new RegExp(`^(?:${alts.join('|')})`, flags));
  if (res.length === 1) {
    const re = res[0]!;
    return (path) => re.test(path);
  }
  return (path) => res.some((re) => re.test(path));
}
