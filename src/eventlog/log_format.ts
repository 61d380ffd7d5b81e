/**
 * The contract between a log format and the event-log core: what a format plugs in so that
 * detection, streaming parse, replay, display and conversion work for it. Each format's adapter
 * (`src/eventlog/<format>_format.ts`) exports one {@link LogFormat} object and is listed once in
 * `registry.ts`.
 *
 * @module
 */
import type { HashAlg } from '../crypto/hash_alg.js';
import type { Limits } from '../limits.js';
import type { Replay } from './replay.js';
import type { AnyIterable, LogEvent } from './event.js';
import type { PcrMapName } from './mr_map.js';
import type { ImaEntry } from '../formats/ima/ima_template.js';

/** Format ids as the CLI spells them (`--format`, `--to`). */
export type LogFormatId =
  | 'tcg2'
  | 'ccel'
  | 'ima-ascii'
  | 'ima-binary'
  | 'cel-tlv'
  | 'cel-json'
  | 'aael'
  | 'aael-v2'
  | 'mrlog';

/** Options every format's `parse` accepts (each ignores what does not apply to it). */
export interface LogParseOptions {
  /** Name of the log in `source.log`, errors and warnings (default: `-`). */
  readonly logName?: string;
  readonly limits?: Limits;
  /**
   * For PCR-indexed logs read on a confidential VM: map PCR indexes to CC MRs with this map
   * (`uefi`: PCR0→MRTD, 1,7→RTMR0, 2–6→RTMR1, 8–15→RTMR2, ≥16 unmapped; `coco`: also ≥16→RTMR3).
   * Absent: PCRs stay PCRs.
   */
  readonly pcrMap?: PcrMapName;
  /**
   * For logs that do not name their register (AAEL v1, mrlog segments): the register they
   * extend (AAEL default `rtmr3`).
   */
  readonly register?: string;
  /** Receives non-fatal findings (quirk rules applied, odd padding …). */
  readonly onWarning?: (w: LogWarning) => void;
  /**
   * IMA lists: also extend these banks besides the list's own. A list carries one template hash
   * per entry; other banks were extended by the kernel either with the template data hashed in
   * each bank (`per-bank`, Linux ≥ 5.11) or with the SHA-1 template hash zero-padded
   * (`padded`, older kernels). evmctl accepts both; so does mrstack.
   */
  readonly imaBanks?: readonly HashAlg[];
  readonly imaBankMode?: 'per-bank' | 'padded';
}

/** Options of a format's `encode`. */
export interface LogEncodeOptions {
  readonly limits?: Limits;
}

/** A non-fatal finding while parsing or replaying. */
export interface LogWarning {
  /** A stable code: an `ERR_*` code or a quirk rule name (`docs/eventlog-quirks.md`). */
  readonly code: string;
  readonly message: string;
  readonly log?: string;
  readonly offset?: number;
  readonly index?: number;
  readonly register?: string;
}

/**
 * Whether an event's digests are the hash of its data:
 * `match`, `mismatch` (a warning: many firmware events legitimately hash something else, and
 * replay still extends the logged digest), or `n/a` when the format does not define it.
 */
export type DigestCheck = 'match' | 'mismatch' | 'n/a';

/** One log format, as the core sees it. */
export interface LogFormat {
  readonly id: LogFormatId;
  /** One line for `--help` and errors. */
  readonly description: string;
  /**
   * How sure the format is that `head` (the first bytes of the input, up to 64 KiB, fewer for
   * short inputs) is one of its logs: 0 = no, 100 = certain (a magic value matched).
   */
  detect(head: Uint8Array): number;
  /**
   * Parses a log as a stream of events in log order, in constant memory.
   * @throws ParseError with format, absolute offset, record and field; `ERR_TRUNCATED` with
   * `incomplete: true` and `completeRecords` when the input ends inside a record.
   */
  parse(input: AnyIterable<Uint8Array>, opts?: LogParseOptions): AsyncIterable<LogEvent>;
  /**
   * The same events as `parse`, in batches (the records each stretch of input completes), so a
   * consumer whose per-event step is synchronous — replay — does not pay a promise per event.
   * Absent: use {@link eventBatches}, which wraps `parse`.
   */
  parseBatches?(
    input: AnyIterable<Uint8Array>,
    opts?: LogParseOptions,
  ): AsyncIterable<readonly LogEvent[]>;
  /**
   * Writes events back as this format's bytes. Events it cannot represent exactly are refused
   * with `ERR_LOSSY_CONVERSION`. Absent: the format is read-only.
   */
  encode?(events: AnyIterable<LogEvent>, opts?: LogEncodeOptions): AsyncIterable<Uint8Array>;
  /** The decoded, display-only fields of an event for `log parse` (JSON-able; bytes as Uint8Array). */
  describe?(e: LogEvent): Record<string, unknown>;
  /** Whether the event's digests are the hash of its data (see {@link DigestCheck}). */
  checkDigest?(e: LogEvent): DigestCheck;
  /** Name of an event's type for display (`EV_SEPARATOR`). */
  typeName?(e: LogEvent): string | undefined;
  /**
   * Replays a log straight from its bytes into `replay`, with the results and warnings that
   * replaying its events (`parse`, then `Replay.add` each) gives, for a format that can do it
   * without building events (IMA lists of a million entries). Absent: replay the events.
   * @throws what `parse` and `Replay.add` throw; records before an error are replayed
   */
  replay?(input: AnyIterable<Uint8Array>, replay: Replay, opts: LogReplayOptions): Promise<void>;
}

/** Options of {@link LogFormat.replay}: the parse options and the replay's own choices. */
export interface LogReplayOptions extends LogParseOptions {
  /** Replay only these banks (default: every bank the records carry). */
  readonly banks?: readonly HashAlg[];
  /** Check each record's digest against its data (default true; a mismatch is a warning). */
  readonly checkDigests?: boolean;
  /**
   * IMA lists: called with each entry (a copy) in list order as it is replayed — what a caller
   * that judges the entries (appraisal) reads in the same pass.
   */
  readonly onImaEntry?: (e: ImaEntry) => void;
  /**
   * IMA lists: prefix matching against a quote. The replay stops at the shortest prefix after
   * which PCR 10 holds these values in every bank given (none of the list: before its first
   * entry); the entries after it are neither folded nor handed to `onImaEntry`, only counted
   * in `onPrefix`. Without a match the whole list is replayed. The kernel appends an entry
   * before it extends PCR 10, so a list read after the quote covers the quoted value.
   */
  readonly imaUntil?: {
    readonly values: ReadonlyMap<HashAlg, Uint8Array>;
    /** Called once when the prefix is found: its entries, and the entries left after it. */
    readonly onPrefix?: (entries: number, after: number) => void;
  };
}

/** A format's events in batches: its own `parseBatches`, else `parse` one event at a time. */
export async function* eventBatches(
  format: LogFormat,
  input: AnyIterable<Uint8Array>,
  opts?: LogParseOptions,
): AsyncIterable<readonly LogEvent[]> {
  if (format.parseBatches !== undefined) {
    yield* format.parseBatches(input, opts);
    return;
  }
  for await (const e of format.parse(input, opts)) yield [e];
}

/** The events of a batch stream, one at a time. */
export async function* flattenBatches<E>(batches: AsyncIterable<readonly E[]>): AsyncIterable<E> {
  for await (const b of batches) yield* b;
}
