/**
 * The format registry: every log format by id, auto-detection, and the `--format` override.
 *
 * Built-in formats are listed once in {@link BUILTIN_LOG_FORMATS} (one line per format; a new
 * format adds its line there). Applications may add their own with {@link registerLogFormat}.
 *
 * @module
 */
import { ParseError } from '../errors.js';
import type { LogFormat } from './log_format.js';
import { aaelFormat } from './aael_format.js';
import { mrlogFormat } from './mrlog_format.js';
import { withMrlogExport } from './mrlog_cel.js';
import { ccelFormat } from './ccel_format.js';
import { celJsonFormat, celTlvFormat } from './cel_format.js';
import { imaAsciiFormat, imaBinaryFormat } from './ima_format.js';
import { tcg2Format } from './tcg2_format.js';

/**
 * The built-in formats, in detection-priority order (on equal scores the earlier wins).
 * One line per format.
 */
export const BUILTIN_LOG_FORMATS: readonly LogFormat[] = [
  ccelFormat,
  tcg2Format,
  aaelFormat,
  mrlogFormat,
  imaBinaryFormat,
  imaAsciiFormat,
  withMrlogExport(celTlvFormat),
  withMrlogExport(celJsonFormat),
];

const registry = new Map<string, LogFormat>();
for (const f of BUILTIN_LOG_FORMATS) registry.set(f.id, f);

/** Adds (or replaces) a format. */
export function registerLogFormat(format: LogFormat): void {
  registry.set(format.id, format);
}

/** Every registered format, in priority order. */
export function logFormats(): readonly LogFormat[] {
  return [...registry.values()];
}

/** The format with this id, or undefined. */
export function findLogFormat(id: string): LogFormat | undefined {
  return registry.get(id);
}

/**
 * The format with this id.
 * @throws ParseError `ERR_UNKNOWN_FORMAT` naming the known ids.
 */
export function getLogFormat(id: string): LogFormat {
  const f = registry.get(id);
  if (f === undefined) {
    throw new ParseError({
      code: 'ERR_UNKNOWN_FORMAT',
      format: 'tcg2',
      offset: 0,
      field: 'format',
      expected: `one of ${[...registry.keys()].join(', ')}`,
      actual: JSON.stringify(id),
    });
  }
  return f;
}

/** How many leading bytes detection looks at. */
export const DETECT_HEAD_BYTES: number = 64 * 1024;

/**
 * Picks the format of a log from its first bytes (up to {@link DETECT_HEAD_BYTES}): the highest
 * positive `detect` score; on a tie the format registered first.
 * @param hint - a `--format` value: `auto` or undefined detects, anything else is looked up.
 * @throws ParseError `ERR_UNKNOWN_FORMAT`
 */
export function detectLogFormat(head: Uint8Array, hint?: string): LogFormat {
  if (hint !== undefined && hint !== 'auto') return getLogFormat(hint);
  let best: LogFormat | undefined;
  let bestScore = 0;
  for (const f of registry.values()) {
    let s = 0;
    try {
      s = f.detect(head);
    } catch {
      s = 0;
    }
    if (s > bestScore) {
      best = f;
      bestScore = s;
    }
  }
  if (best === undefined) {
    throw new ParseError({
      code: 'ERR_UNKNOWN_FORMAT',
      format: 'tcg2',
      offset: 0,
      field: 'format',
      expected: `a log in one of ${[...registry.keys()].join(', ')} (or --format)`,
      actual: head.length === 0 ? 'empty input' : 'no format recognises the first bytes',
    });
  }
  return best;
}
