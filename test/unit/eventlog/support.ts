/** Helpers shared by the event-log tests (not a test file). */
import { readdirSync, readFileSync } from 'node:fs';
import { fixture } from '../../_support/paths.js';
import type { LogEvent } from '../../../src/eventlog/event.js';
import type { LogWarning } from '../../../src/eventlog/log_format.js';
import { openLogStream } from '../../../src/eventlog/log_source.js';
import { Replay, type ReplayResult } from '../../../src/eventlog/replay.js';

/** Bytes of a file under test/fixtures/eventlogs. */
export function logFixture(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(fixture('eventlogs', rel)));
}

/** What a capture's expected.json entry holds (transcribed from the capture's provenance). */
export interface CaptureExpectation {
  readonly source: string;
  readonly license: string;
  readonly sha256: string;
  readonly size: number;
  readonly records?: number;
  readonly registers?: {
    readonly asserted?: Record<string, Record<string, string>>;
    readonly computed?: Record<string, Record<string, string>>;
  };
  readonly efi_app_digests?: { readonly sha1: string[]; readonly sha256: string[] };
  readonly asserted_with_ebs_workaround?: Record<string, Record<string, string>>;
}

/**
 * The well-formed log captures of one fixture folder: not the expectations, provenance, ACPI
 * tables or the `malformed-*` captures.
 */
export function captureNames(folder: string): string[] {
  return readdirSync(fixture('eventlogs', folder)).filter(
    (n) =>
      !n.endsWith('.json') &&
      !n.endsWith('.md') &&
      !n.includes('acpi') &&
      !n.startsWith('malformed'),
  );
}

/** The expectations of one fixture folder. */
export function expectations(folder: 'tcg' | 'ccel' | 'aael'): Record<string, CaptureExpectation> {
  return JSON.parse(readFileSync(fixture('eventlogs', folder, 'expected.json'), 'utf8')) as Record<
    string,
    CaptureExpectation
  >;
}

/** The bytes as an async stream of chunks of `size` bytes (exercises framing across chunks). */
export async function* chunked(buf: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) {
    await Promise.resolve();
    yield buf.subarray(i, Math.min(buf.length, i + size));
  }
}

/** Parses a whole buffer into an array of events (auto-detect unless `format`). */
export async function parseAll(
  buf: Uint8Array,
  opts: { format?: string; chunk?: number; pcrMap?: 'uefi' | 'coco'; logName?: string } = {},
): Promise<{ format: string; events: LogEvent[]; warnings: LogWarning[] }> {
  const warnings: LogWarning[] = [];
  const log = await openLogStream(chunked(buf, opts.chunk ?? 65536), {
    logName: opts.logName ?? 'test',
    onWarning: (w) => warnings.push(w),
    ...(opts.format === undefined ? {} : { format: opts.format }),
    ...(opts.pcrMap === undefined ? {} : { pcrMap: opts.pcrMap }),
  });
  const events: LogEvent[] = [];
  for await (const e of log.events) events.push(e);
  return { format: log.format.id, events, warnings };
}

/** Replays events (or several logs' events in order). */
export function replayOf(...logs: (readonly LogEvent[])[]): ReplayResult {
  const r = new Replay();
  for (const l of logs) for (const e of l) r.add(e);
  return r.result();
}

/** Hex of a register bank in a replay result (undefined when absent). */
export function regHex(r: ReplayResult, reg: string, alg: string): string | undefined {
  const v = r.registers.get(reg)?.get(alg as never);
  return v === undefined ? undefined : Buffer.from(v).toString('hex');
}
