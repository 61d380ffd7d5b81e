/**
 * The `aael` log format: CoCo attestation-agent event log v1 text (see
 * `formats/aael/aael_line.ts`). Each line becomes an event of the register the log is for
 * (default `rtmr3`, where the CoCo agent extends on TDX): the INIT line anchors the register at
 * its value (anchor `unverified`, or `reset` when it equals the reset value) and is extended
 * itself; every event line is extended as H(line). Read and write.
 *
 * AAEL v2 (EV_EVENT_TAG records in the CCEL) is read by the `ccel` format.
 *
 * @module
 */
import { ByteWriter } from '../bytes/writer.js';
import { hash } from '../crypto/hash.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import { ParseError } from '../errors.js';
import { parseAaelLine, splitAaelEvent } from '../formats/aael/aael_line.js';
import type { AnyIterable, LogEvent } from './event.js';
import { decodeLine, readLines } from '../formats/stream/lines.js';
import type { LogFormat, LogParseOptions } from './log_format.js';

const utf8enc = new TextEncoder();

/** Splits an application line into domain, operation and content (undefined if malformed). */
export function splitAppLine(line: string): [string, string, string] | undefined {
  return splitAaelEvent(line);
}

/** The register AAEL logs extend unless told otherwise. */
export const AAEL_DEFAULT_REGISTER = 'rtmr3';

async function* parseAael(
  input: AnyIterable<Uint8Array>,
  opts: LogParseOptions,
): AsyncIterable<LogEvent> {
  const logName = opts.logName ?? '-';
  const register = opts.register ?? AAEL_DEFAULT_REGISTER;
  let alg: HashAlg | undefined;
  let index = 0;
  for await (const l of readLines(input, {
    format: 'aael',
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
  })) {
    const text = decodeLine(l, 'aael', index);
    if (!l.terminated && text === '') return;
    const parsed = parseAaelLine(text, l.line);
    const source = {
      log: logName,
      format: 'aael',
      offset: l.offset,
      length: l.bytes.length,
      line: l.line,
    };
    if (parsed.kind === 'init') {
      alg = parsed.alg;
      yield {
        kind: 'directive',
        index: index++,
        register,
        digests: new Map([[alg, hash(alg, l.bytes)]]),
        extend: true,
        anchor: { kind: 'unverified', values: new Map([[alg, parsed.value]]) },
        source,
        directive: 'INIT',
        line: text,
      };
    } else {
      const a = alg!;
      yield {
        kind: 'app',
        index: index++,
        register,
        digests: new Map([[a, hash(a, l.bytes)]]),
        extend: true,
        source,
        line: text,
        domain: parsed.domain,
        operation: parsed.operation,
        content: parsed.content,
      };
    }
  }
  if (index === 0) {
    throw new ParseError({
      code: 'ERR_TRUNCATED',
      format: 'aael',
      offset: 1,
      unit: 'line',
      field: 'line[1]',
      expected: 'an INIT line',
      actual: 'empty input',
      incomplete: true,
      completeRecords: 0,
    });
  }
}

async function* encodeAael(events: AnyIterable<LogEvent>): AsyncIterable<Uint8Array> {
  for await (const e of events) {
    if ((e.kind === 'directive' && e.directive === 'INIT') || e.kind === 'app') {
      if (e.source.format !== 'aael' && e.source.format !== 'mrlog') {
        throw new ParseError({
          code: 'ERR_LOSSY_CONVERSION',
          format: 'aael',
          offset: e.source.offset,
          field: `event[${e.index}]`,
          expected: 'AAEL v1 lines',
          actual: `an event from ${e.source.format}`,
        });
      }
      const w = new ByteWriter(e.line.length + 1);
      w.bytes(utf8enc.encode(e.line)).u8(0x0a);
      yield w.finish();
      continue;
    }
    throw new ParseError({
      code: 'ERR_LOSSY_CONVERSION',
      format: 'aael',
      offset: e.source.offset,
      field: `event[${e.index}]`,
      expected: 'AAEL v1 lines (INIT, domain operation content)',
      actual: `a ${e.kind} event from ${e.source.format}`,
    });
  }
}

/** The `aael` format (v1 text). */
export const aaelFormat: LogFormat = {
  id: 'aael',
  description: 'CoCo attestation-agent event log v1 (INIT line, then "domain operation content")',
  detect(head: Uint8Array): number {
    const prefix = 'INIT ';
    if (head.length < prefix.length) return 0;
    for (let i = 0; i < prefix.length; i++) if (head[i] !== prefix.charCodeAt(i)) return 0;
    return 90;
  },
  parse(input: AnyIterable<Uint8Array>, opts: LogParseOptions = {}): AsyncIterable<LogEvent> {
    return parseAael(input, opts);
  },
  encode(events: AnyIterable<LogEvent>): AsyncIterable<Uint8Array> {
    return encodeAael(events);
  },
  describe(e: LogEvent): Record<string, unknown> {
    if (e.kind === 'app') return { domain: e.domain, operation: e.operation, content: e.content };
    if (e.kind === 'directive') return { directive: e.directive, line: e.line };
    return {};
  },
  typeName(e: LogEvent): string | undefined {
    return e.kind === 'directive' ? e.directive : e.kind === 'app' ? 'EVENT' : undefined;
  },
};
