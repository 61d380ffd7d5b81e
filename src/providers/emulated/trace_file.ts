/**
 * I/O on the emulated TVM's trace file: appending records with one `O_APPEND` write, and
 * scanning the records from an offset to the end.
 *
 * A trace whose length is not a multiple of the record size has a partial record at its end.
 * A writer's single `write(2)` of one or a few records can transiently show as a partial tail to
 * a concurrent reader when it crosses a page boundary, so the scanner looks again a few times
 * before it reports the tail as `ERR_TRACE_CORRUPT` (with `incomplete: true`).
 *
 * @module
 */
import * as fs from 'node:fs';
import { fromErrno, ProviderError } from '../../errors.js';
import { decodeTraceRecord, TRACE_RECORD_SIZE, type TraceRecord } from './trace_record.js';

/** At most this many records are read at once while scanning (8192 records, 1 MiB). */
const CHUNK_RECORDS = 8192;
const CHUNK_BYTES = CHUNK_RECORDS * TRACE_RECORD_SIZE;
/** How often a partial tail is looked at again before it counts as corrupt. */
const TAIL_RETRIES = 25;
const TAIL_RETRY_MS = 4;

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * Opens the trace: read-only, or read-write with `O_APPEND` for an extend (no `O_CREAT`: init
 * creates the trace; a vanished trace is an error, not a fresh TVM).
 * @throws ProviderError `ERR_NOT_FOUND` when the trace file is missing, `ERR_IO` otherwise.
 */
export function openTrace(path: string, forAppend = false): number {
  try {
    return fs.openSync(
      path,
      forAppend ? fs.constants.O_RDWR | fs.constants.O_APPEND : fs.constants.O_RDONLY,
    );
  } catch (e) {
    throw fromErrno(e, path);
  }
}

/**
 * Appends encoded records (a multiple of {@link TRACE_RECORD_SIZE} bytes) with one `write(2)`
 * on a descriptor opened with `O_APPEND`.
 * @throws ProviderError `ERR_NOT_FOUND` when the trace file is missing, `ERR_IO` when the
 *   write fails or is short.
 */
export function appendTraceRecords(path: string, records: Uint8Array): void {
  const fd = openTrace(path, true);
  try {
    appendTraceRecordsFd(fd, path, records);
  } finally {
    fs.closeSync(fd);
  }
}

/** {@link appendTraceRecords} on a descriptor from `openTrace(path, true)`. */
export function appendTraceRecordsFd(fd: number, path: string, records: Uint8Array): void {
  if (records.length === 0 || records.length % TRACE_RECORD_SIZE !== 0) {
    throw new ProviderError('ERR_INTERNAL', `trace append of ${records.length} bytes`);
  }
  let n: number;
  try {
    n = fs.writeSync(fd, records);
  } catch (e) {
    throw fromErrno(e, path);
  }
  if (n !== records.length) {
    throw new ProviderError(
      'ERR_IO',
      `${path}: short write (${n} of ${records.length} bytes): the trace may now end in a partial record`,
      { details: { path } },
    );
  }
}

/** A record and where it starts in the trace. */
export interface TraceEntry {
  readonly offset: number;
  readonly record: TraceRecord;
}

/**
 * Calls `visit` for every record from `offset` (a multiple of the record size) to the end of the
 * trace, in order, and returns the offset just past the last one.
 * @throws ParseError `ERR_TRACE_CORRUPT` for a corrupt record or a partial tail that stays.
 */
export function scanTrace(path: string, offset: number, visit: (e: TraceEntry) => void): number {
  const fd = openTrace(path);
  try {
    return scanTraceFd(fd, path, offset, visit);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Read buffer shared by every scan in this thread (scans are synchronous and decoded records
 * copy what they keep): a scan of the few records appended since the last one is one `pread(2)`
 * into it, with no allocation. It grows (up to one chunk) when a read fills it.
 */
let scratch = new Uint8Array(64 * TRACE_RECORD_SIZE);

/**
 * {@link scanTrace} on an open descriptor. Each `pread(2)` that comes back short has reached the
 * end of the file as it was then, so a scan that finds nothing new costs one system call.
 */
export function scanTraceFd(
  fd: number,
  path: string,
  offset: number,
  visit: (e: TraceEntry) => void,
): number {
  let pos = offset;
  for (let retries = 0; ;) {
    const buf = scratch;
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, pos);
    } catch (e) {
      throw fromErrno(e, path);
    }
    const whole = n - (n % TRACE_RECORD_SIZE);
    for (let i = 0; i < whole; i += TRACE_RECORD_SIZE) {
      const record = decodeTraceRecord(buf.subarray(i, i + TRACE_RECORD_SIZE), pos + i, path);
      visit({ offset: pos + i, record });
    }
    pos += whole;
    if (n === buf.length) {
      // a full buffer: more may follow; read bigger pieces from now on
      if (scratch.length < CHUNK_BYTES) scratch = new Uint8Array(scratch.length * 2);
      continue;
    }
    if (whole === n) return pos;
    // A partial record at the end: perhaps a concurrent append that is still landing.
    if (retries++ < TAIL_RETRIES) {
      sleepSync(TAIL_RETRY_MS);
      continue;
    }
    decodeTraceRecord(buf.slice(whole, n), pos, path); // throws: incomplete
    return pos;
  }
}

/** Reads one record at `offset` (for validating a snapshot), or undefined past the end. */
export function readTraceRecordAt(path: string, offset: number): TraceRecord | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY);
  } catch (e) {
    throw fromErrno(e, path);
  }
  try {
    const buf = new Uint8Array(TRACE_RECORD_SIZE);
    const n = readFully(fd, buf, offset, path);
    return n === TRACE_RECORD_SIZE ? decodeTraceRecord(buf, offset, path) : undefined;
  } finally {
    fs.closeSync(fd);
  }
}

function readFully(fd: number, buf: Uint8Array, position: number, path: string): number {
  let got = 0;
  try {
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, position + got);
      if (n === 0) break;
      got += n;
    }
  } catch (e) {
    throw fromErrno(e, path);
  }
  return got;
}
