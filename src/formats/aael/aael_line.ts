/**
 * One line of a CoCo attestation-agent event log, first generation (AAEL v1, guest-components
 * May 2024 – July 2025; trustee `deps/verifier/src/eventlog`):
 *
 * ```
 * INIT <alg>/<hex of the register value when the agent started>
 * <domain> <operation> <content>
 * ```
 *
 * Fields are separated by single spaces; `content` is the rest of the line and may itself hold
 * spaces (JSON is common). Replay starts the register at the INIT value, extends H(INIT line),
 * then H(each event line), H being the INIT algorithm and each line hashed byte-exact without
 * its LF. (The trustee documentation writes `INIT/<alg> <hex>`; real files and parsers use
 * `INIT <alg>/<hex>`, which is what this reads.)
 *
 * @module
 */
import { fromHex } from '../../bytes/hex.js';
import { digestSize, lookupHashAlg, type HashAlg } from '../../crypto/hash_alg.js';
import { ParseError } from '../../errors.js';

/** A parsed AAEL line. */
export type AaelLine =
  | { readonly kind: 'init'; readonly alg: HashAlg; readonly value: Uint8Array }
  | {
      readonly kind: 'event';
      readonly domain: string;
      readonly operation: string;
      readonly content: string;
    };

const DOMAIN_RE = /^[^\s]+$/;
const OPERATION_RE = /^[^\s]+$/;

/** Index of the first C0 control character or DEL, or -1. */
function controlAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return i;
  }
  return -1;
}

/** Splits `domain operation content` at the first two spaces; undefined when it has fewer. */
export function splitAaelEvent(line: string): [string, string, string] | undefined {
  const a = line.indexOf(' ');
  if (a <= 0) return undefined;
  const b = line.indexOf(' ', a + 1);
  if (b <= a + 1) return undefined;
  return [line.slice(0, a), line.slice(a + 1, b), line.slice(b + 1)];
}

function bad(line: number, field: string, expected: string, actual: string): ParseError {
  return new ParseError({
    code: 'ERR_BAD_EVENT',
    format: 'aael',
    offset: line,
    unit: 'line',
    field,
    expected,
    actual,
    record: line - 1,
  });
}

/**
 * Parses one line (without its LF). `lineNo` is 1-based; line 1 must be INIT, later lines
 * events.
 * @throws ParseError `ERR_BAD_EVENT` (grammar), `ERR_UNKNOWN_ALGORITHM`, `ERR_BAD_HEX`
 */
export function parseAaelLine(text: string, lineNo: number): AaelLine {
  const ctl = controlAt(text);
  if (ctl >= 0) {
    throw bad(
      lineNo,
      `line[${lineNo}]`,
      'printable text',
      `control character 0x${text.charCodeAt(ctl).toString(16).padStart(2, '0')} at column ${ctl + 1}`,
    );
  }
  if (lineNo === 1) {
    const m = /^INIT ([A-Za-z0-9_-]+)\/([0-9a-fA-F]*)$/.exec(text);
    if (m === null) {
      throw bad(lineNo, 'line[1]', '"INIT <alg>/<hex>"', JSON.stringify(text.slice(0, 80)));
    }
    const alg = lookupHashAlg(m[1]!);
    if (alg === undefined) {
      throw new ParseError({
        code: 'ERR_UNKNOWN_ALGORITHM',
        format: 'aael',
        offset: 1,
        unit: 'line',
        field: 'line[1].alg',
        expected: 'sha1, sha256, sha384, sha512 or sm3',
        actual: JSON.stringify(m[1]),
        record: 0,
      });
    }
    const value = fromHex(m[2]!, 'INIT value');
    if (value.length !== digestSize(alg)) {
      throw bad(1, 'line[1].value', `${digestSize(alg)} bytes for ${alg}`, `${value.length} bytes`);
    }
    return { kind: 'init', alg, value };
  }
  if (text.startsWith('INIT ')) {
    throw bad(lineNo, `line[${lineNo}]`, 'INIT only on line 1', 'a second INIT');
  }
  const parts = splitAaelEvent(text);
  if (parts === undefined || !DOMAIN_RE.test(parts[0]) || !OPERATION_RE.test(parts[1])) {
    throw bad(
      lineNo,
      `line[${lineNo}]`,
      '"<domain> <operation> <content>"',
      JSON.stringify(text.slice(0, 80)),
    );
  }
  return { kind: 'event', domain: parts[0], operation: parts[1], content: parts[2] };
}
