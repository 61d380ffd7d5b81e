/**
 * The `mrlog` log format (`docs/mrlog.md`) as an adapter of the event-log core, so that
 * `mrstack log parse|replay` read the agent's logs. Application events become `app` events,
 * reserved records `directive` events (`BOOT`, `SYNC`, `CHECKPOINT`, `VMR`, `SALT`, `TENANT`),
 * `#` lines non-extended `COMMENT` directives. Every extended record's digest is H(line) in each
 * bank the log's first SYNC names.
 *
 * A SYNC carries an anchor (`unverified`): on a register the replay has not moved it sets the
 * value, on a moved one it must equal the running value, else the core reports the gap. A log
 * that starts with CHECKPOINT (served `--since` a checkpoint) does not extend that CHECKPOINT:
 * the SYNC after it already holds its effect. Tenant (vMR) logs name no algorithm: they are
 * read as sha384 (the TDX RTMR's), and the register defaults to the vMR name of their TENANT line.
 *
 * @module
 */
import { hash } from '../crypto/hash.js';
import type { HashAlg } from '../crypto/hash_alg.js';
import { ParseError } from '../errors.js';
import { parseMrlogLine, type MrlogRecord } from '../formats/mrlog/record.js';
import type { AnyIterable, LogEvent } from './event.js';
import { decodeLine, readLines } from '../formats/stream/lines.js';
import type { LogFormat, LogParseOptions } from './log_format.js';

const enc = new TextEncoder();

/** The register a physical mrlog extends unless told otherwise. */
export const MRLOG_DEFAULT_REGISTER = 'rtmr3';

interface Pending {
  readonly rec: MrlogRecord;
  readonly offset: number;
  readonly length: number;
}

async function* parseMrlogEvents(
  input: AnyIterable<Uint8Array>,
  opts: LogParseOptions,
): AsyncIterable<LogEvent> {
  const logName = opts.logName ?? '-';
  let register = opts.register ?? MRLOG_DEFAULT_REGISTER;
  let algs: HashAlg[] | undefined;
  let index = 0;
  let first = true;
  let startsAtCheckpoint = false;
  const held: Pending[] = [];
  const toEvent = (p: Pending): LogEvent => {
    const r = p.rec;
    const source = {
      log: logName,
      format: 'mrlog',
      offset: p.offset,
      length: p.length,
      line: r.lineNo,
    };
    const extend =
      r.kind !== 'comment' && !(startsAtCheckpoint && r.kind === 'checkpoint' && index === 0);
    const data = enc.encode(r.line);
    const digests = new Map<HashAlg, Uint8Array>(
      extend ? algs!.map((a) => [a, hash(a, data)]) : [],
    );
    const base = { index: index++, register, digests, extend, source };
    if (r.kind === 'event') {
      return {
        ...base,
        kind: 'app',
        line: r.line,
        domain: r.domain,
        operation: r.operation,
        content: r.content,
      };
    }
    const directive = r.kind === 'comment' ? 'COMMENT' : r.kind.toUpperCase();
    if (r.kind === 'sync') {
      return {
        ...base,
        kind: 'directive',
        directive,
        line: r.line,
        anchor: { kind: 'unverified', values: new Map(r.values.map((v) => [v.alg, v.value])) },
      };
    }
    return { ...base, kind: 'directive', directive, line: r.line };
  };
  for await (const l of readLines(input, {
    format: 'mrlog',
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
  })) {
    const text = decodeLine(l, 'mrlog');
    if (!l.terminated && text === '') break;
    if (!l.terminated) {
      throw new ParseError({
        code: 'ERR_TRUNCATED',
        format: 'mrlog',
        offset: l.line,
        unit: 'line',
        field: 'line',
        expected: 'a line ending in LF',
        incomplete: true,
        completeRecords: index + held.length,
      });
    }
    const rec = parseMrlogLine(text, l.line);
    if (first && rec.kind !== 'comment') {
      first = false;
      startsAtCheckpoint = rec.kind === 'checkpoint';
    }
    if (rec.kind === 'tenant') {
      if (opts.register === undefined) register = rec.vmr;
      algs ??= ['sha384'];
    }
    if (algs === undefined && rec.kind === 'sync') algs = rec.values.map((v) => v.alg);
    const p = { rec, offset: l.offset, length: l.bytes.length };
    if (algs === undefined) {
      held.push(p);
      continue;
    }
    for (const h of held.splice(0)) yield toEvent(h);
    yield toEvent(p);
  }
  if (held.length > 0) {
    throw new ParseError({
      code: 'ERR_BAD_VALUE',
      format: 'mrlog',
      offset: held[0]!.rec.lineNo,
      unit: 'line',
      field: 'structure',
      expected: 'a SYNC record naming the banks',
      actual: 'none',
    });
  }
}

async function* encodeMrlog(events: AnyIterable<LogEvent>): AsyncIterable<Uint8Array> {
  for await (const e of events) {
    const ok =
      (e.kind === 'app' && (e.source.format === 'mrlog' || e.source.format === 'aael')) ||
      (e.kind === 'directive' && e.source.format === 'mrlog');
    if (!ok) {
      throw new ParseError({
        code: 'ERR_LOSSY_CONVERSION',
        format: 'mrlog',
        offset: e.source.offset,
        field: `event[${e.index}]`,
        expected: 'mrlog records or AAEL application lines',
        actual: `a ${e.kind} event from ${e.source.format}`,
      });
    }
    yield enc.encode(`${e.line}\n`);
  }
}

/** The `mrlog` format. */
export const mrlogFormat: LogFormat = {
  id: 'mrlog',
  description:
    'mrstack agent log (BOOT/SYNC/CHECKPOINT/VMR records and "domain operation content" events; tenant logs SALT/TENANT)',
  detect(head: Uint8Array): number {
    const text = Buffer.from(head.subarray(0, 16)).toString('latin1');
    return /^(BOOT |CHECKPOINT |SALT )/.test(text) ? 95 : 0;
  },
  parse: (input, opts = {}) => parseMrlogEvents(input, opts),
  encode: (events) => encodeMrlog(events),
  describe(e: LogEvent): Record<string, unknown> {
    if (e.kind === 'app')
      return { line: e.line, domain: e.domain, operation: e.operation, content: e.content };
    if (e.kind === 'directive') return { directive: e.directive, line: e.line };
    return {};
  },
};
