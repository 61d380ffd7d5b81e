/**
 * JSON text (RFC 8259) parsed with a typed error: every JSON input mrstack reads (evidence
 * envelopes, bundles, collateral, trust anchors, PCR value files) fails the same way.
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

/**
 * Parses JSON text.
 * @throws ParseError `ERR_BAD_JSON` naming `field`, with the parser's error as `cause`
 */
export function parseJsonText(text: string, field: string, opts: JsonTextOptions = {}): unknown {
  try {
    return JSON.parse(text) as unknown;
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
}
