/**
 * Parses a whole mrlog (one segment file, or segments concatenated) into records, checking the
 * grammar of every line and the log's structure: a physical log starts with `BOOT` or
 * `CHECKPOINT` followed by `SYNC` and holds no tenant headers; a tenant (vMR) log starts with
 * `SALT` then `TENANT` and holds only application events after them.
 *
 * @module
 */
import { ParseError } from '../../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import { parseMrlogLine, type MrlogRecord } from './record.js';

/**
 * What a log must look like: a physical log, a whole tenant log (SALT, TENANT, events), the tail
 * of a tenant log sent since a position (events only), or anything.
 */
export type MrlogRole = 'physical' | 'tenant' | 'tenant-tail' | 'any';

/** Options of {@link parseMrlog}. */
export interface ParseMrlogOptions {
  readonly role?: MrlogRole;
  /** Accept bytes after the last LF (a torn tail) and report them instead of failing. */
  readonly allowPartialTail?: boolean;
  readonly limits?: Partial<Limits>;
  /** 1-based number of the first line (for segments after the first). */
  readonly firstLine?: number;
}

/** A parsed log. */
export interface ParsedMrlog {
  readonly records: readonly MrlogRecord[];
  /** Bytes of complete lines (the length a torn tail is truncated to). */
  readonly completeLength: number;
  /** Bytes after the last LF (0 when the log ends with LF). */
  readonly partialTail: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function encodingError(
  lineNo: number,
  record: number,
  field: string,
  expected: string,
  actual: string,
): ParseError {
  return new ParseError({
    code: 'ERR_BAD_ENCODING',
    format: 'mrlog',
    offset: lineNo,
    unit: 'line',
    record,
    field,
    expected,
    actual,
  });
}

/**
 * Parses mrlog bytes (or text).
 * @throws ParseError with the 1-based line number as offset (`unit: "line"`)
 */
export function parseMrlog(input: Uint8Array | string, opts: ParseMrlogOptions = {}): ParsedMrlog {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const maxLine = opts.limits?.maxLineLength ?? DEFAULT_LIMITS.maxLineLength;
  const records: MrlogRecord[] = [];
  let lineNo = opts.firstLine ?? 1;
  // Record numbers count records, not comment lines (a tail read from firstLine counts from
  // there, comments before it included: they are not read).
  let recNo = lineNo - 1;
  let start = 0;
  while (start < bytes.length) {
    const lf = bytes.indexOf(0x0a, start);
    if (lf < 0) break;
    if (lf - start > maxLine) {
      throw new ParseError({
        code: 'ERR_LENGTH_LIMIT',
        format: 'mrlog',
        offset: lineNo,
        unit: 'line',
        record: recNo,
        field: 'line',
        expected: `<= ${maxLine} bytes`,
        actual: `${lf - start} bytes`,
      });
    }
    let line: string;
    try {
      line = decoder.decode(bytes.subarray(start, lf));
    } catch {
      throw encodingError(lineNo, recNo, 'line', 'UTF-8', 'invalid UTF-8');
    }
    let rec: MrlogRecord;
    try {
      rec = parseMrlogLine(line, lineNo);
    } catch (e) {
      throw e instanceof ParseError && e.record !== recNo ? withRecord(e, recNo) : e;
    }
    records.push(rec);
    if (rec.kind !== 'comment') recNo++;
    lineNo++;
    start = lf + 1;
  }
  const partialTail = bytes.length - start;
  if (partialTail > 0 && opts.allowPartialTail !== true) {
    throw new ParseError({
      code: 'ERR_TRUNCATED',
      format: 'mrlog',
      offset: lineNo,
      unit: 'line',
      record: recNo,
      field: 'line',
      expected: 'a line ending in LF',
      actual: `${partialTail} bytes without LF`,
      incomplete: true,
      completeRecords: records.length,
    });
  }
  checkMrlogStructure(records, opts.role ?? 'any');
  return { records, completeLength: start, partialTail };
}

/** The same error with the record number counted without comment lines. */
function withRecord(e: ParseError, record: number): ParseError {
  return new ParseError({
    code: e.code,
    format: e.format,
    offset: e.offset,
    unit: 'line',
    record,
    field: e.field,
    ...(e.expected === undefined ? {} : { expected: e.expected }),
    ...(e.actual === undefined ? {} : { actual: e.actual }),
    ...(e.incomplete ? { incomplete: true } : {}),
    ...(e.completeRecords === undefined ? {} : { completeRecords: e.completeRecords }),
    cause: e.cause,
  });
}

function structureError(r: MrlogRecord, record: number, expected: string): ParseError {
  return new ParseError({
    code: 'ERR_BAD_VALUE',
    format: 'mrlog',
    offset: r.lineNo,
    unit: 'line',
    record,
    field: 'structure',
    expected,
    actual: r.kind,
  });
}

/**
 * Checks the record order of a physical or tenant log (comments are ignored).
 * @throws ParseError `ERR_BAD_VALUE` naming the first misplaced record
 */
export function checkMrlogStructure(records: readonly MrlogRecord[], role: MrlogRole): void {
  if (role === 'any') return;
  const rs = records.filter((r) => r.kind !== 'comment');
  if (role === 'tenant') {
    rs.forEach((r, i) => {
      if (i === 0 && r.kind !== 'salt') throw structureError(r, i, 'SALT first');
      if (i === 1 && r.kind !== 'tenant') throw structureError(r, i, 'TENANT second');
      if (i >= 2 && r.kind !== 'event') throw structureError(r, i, 'application events only');
    });
    return;
  }
  if (role === 'tenant-tail') {
    rs.forEach((r, i) => {
      if (r.kind !== 'event') throw structureError(r, i, 'application events only');
    });
    return;
  }
  rs.forEach((r, i) => {
    const prev = rs[i - 1];
    if (i === 0 && r.kind !== 'boot' && r.kind !== 'checkpoint') {
      throw structureError(r, i, 'BOOT or CHECKPOINT first');
    }
    if (i > 0 && r.kind === 'boot') throw structureError(r, i, 'one BOOT per log');
    if (prev !== undefined && (prev.kind === 'boot' || prev.kind === 'checkpoint')) {
      if (r.kind !== 'sync') throw structureError(r, i, `SYNC after ${prev.kind.toUpperCase()}`);
    }
    if (r.kind === 'salt' || r.kind === 'tenant') throw structureError(r, i, 'no tenant header');
  });
}

/** The text of a log: each record's line followed by LF. */
export function serializeMrlog(lines: readonly string[]): string {
  return lines.map((l) => `${l}\n`).join('');
}
