/**
 * The event model shared by every log format: a discriminated union on `kind`.
 *
 * A parsed event says which register it extends, with which digest per bank, and where in which
 * log it was found. Fields that no digest covers (the TCG event type, for one) are named
 * `untrusted*`: an attacker who can rewrite the log can rewrite them without changing any
 * register value. Only {@link replayEvents} (in `replay.ts`) turns parsed events into
 * {@link Verified} ones, after the registers they extend replayed to expected values.
 *
 * The union is open: a format that brings its own kind adds it to {@link EventKindMap} by
 * declaration merging, from its own module under `src/eventlog/`:
 *
 * ```ts
 * declare module './event.js' {
 *   interface EventKindMap { ima: ImaEvent }
 * }
 * ```
 *
 * @module
 */
import type { HashAlg } from '../crypto/hash_alg.js';
import type { LoggedDigest } from '../formats/tcg2/pcr_event.js';

/**
 * How a register's replay was anchored (DESIGN §3):
 * - `reset`: from the platform's reset value (including PC Client StartupLocality / H-CRTM),
 * - `firmware-log`: from a value the firmware log replays to (a later log continuing it),
 * - `trusted-checkpoint`: from a checkpoint the verifier already trusts,
 * - `unverified`: from a value the log asserts and nothing confirmed (AAEL `INIT`, a gap).
 */
export type AnchorKind = 'reset' | 'firmware-log' | 'trusted-checkpoint' | 'unverified';

/** Every anchor kind, for validation and help texts. */
export const ANCHOR_KINDS: readonly AnchorKind[] = Object.freeze([
  'reset',
  'firmware-log',
  'trusted-checkpoint',
  'unverified',
]);

/** Where an event came from: for errors, warnings and reports. */
export interface EventSource {
  /** The log's name (a file path, or a name the caller chose). */
  readonly log: string;
  /** The format id the log was parsed as (`tcg2`, `ccel`, `aael` …). */
  readonly format: string;
  /** Absolute byte offset of the record's first byte in the log. */
  readonly offset: number;
  /** Length of the record in bytes (for line formats: without the line end). */
  readonly length: number;
  /** 1-based line number, for line formats. */
  readonly line?: number;
}

/**
 * A value a record sets its register to before anything is extended (AAEL `INIT`, PC Client
 * StartupLocality and H-CRTM). Replay applies it only to a register this replay has not moved
 * yet; on a moved register it must equal the running value, else it is a gap.
 */
export interface EventAnchor {
  /** Per-bank starting value. */
  readonly values: ReadonlyMap<HashAlg, Uint8Array>;
  /** What the register is anchored as when the value differs from its reset value. */
  readonly kind: AnchorKind;
}

/** Fields every event has, whatever its format. */
export interface EventBase {
  /** 0-based record number in its log (header records count). */
  readonly index: number;
  /**
   * The register the record extends, by its kernel name (`pcr0`, `rtmr2`, `mrtd`, a vMR name),
   * or `undefined` when it names none (TCG PCR index 0xFFFFFFFF, an unmapped index).
   */
  readonly register: string | undefined;
  /** The digests the log records, per bank. */
  readonly digests: ReadonlyMap<HashAlg, Uint8Array>;
  /**
   * Whether replay extends the register with {@link EventBase.digests} (false for EV_NO_ACTION,
   * header records, informative lines, CCEL index 0).
   */
  readonly extend: boolean;
  /** Set on records that (re)start their register at a value; see {@link EventAnchor}. */
  readonly anchor?: EventAnchor;
  readonly source: EventSource;
}

/** A TCG PC Client record (`TCG_PCClientPCREvent` or `TCG_PCR_EVENT2`); CCEL records too. */
export interface Tcg2Event extends EventBase {
  readonly kind: 'tcg2';
  /**
   * The index field as logged: a PCR for TCG logs, a CC MR index for CCEL (0 = MRTD,
   * 1–4 = RTMR0–3).
   */
  readonly mrIndex: number;
  /** The event type (EV_*). Not covered by any digest: untrusted even after replay. */
  readonly untrustedType: number;
  /** The event data as logged (a copy, safe to keep). */
  readonly data: Uint8Array;
  /** True for the Spec ID header record (the first record of a crypto-agile log). */
  readonly header: boolean;
  /** Every digest as logged, in log order, unknown algorithms included (for re-encoding). */
  readonly digestList: readonly LoggedDigest[];
  /**
   * The record's eventSize field when it differs from `data.length` (quirk
   * `SPECID_SIZE_OMITS_VENDOR_INFO`); absent otherwise.
   */
  readonly declaredSize?: number;
}

/**
 * An application event line `domain operation content` (CoCo AAEL v1/v2, mrlog application
 * records). `line` is exactly the text that was hashed.
 */
export interface AppEvent extends EventBase {
  readonly kind: 'app';
  readonly line: string;
  readonly domain: string;
  readonly operation: string;
  readonly content: string;
}

/**
 * A directive line of a text log that is not an application event (AAEL `INIT`). `line` is
 * exactly the text that was hashed when `extend` is true.
 */
export interface DirectiveEvent extends EventBase {
  readonly kind: 'directive';
  /** The directive's first token (`INIT`). */
  readonly directive: string;
  readonly line: string;
}

/**
 * Every event kind by its tag. Formats add their own kinds here by declaration merging (see the
 * module comment); keep the tag equal to the key.
 */
export interface EventKindMap {
  tcg2: Tcg2Event;
  app: AppEvent;
  directive: DirectiveEvent;
}

/** The tag of an event kind. */
export type EventKind = keyof EventKindMap;

/** Any parsed event. */
export type LogEvent = EventKindMap[EventKind];

declare const verifiedBrand: unique symbol;

/**
 * An event whose register replayed to an expected value. Only `replayEvents` makes these; the
 * brand keeps appraisal from accepting events that were never replayed.
 */
export type Verified<E extends LogEvent = LogEvent> = E & { readonly [verifiedBrand]: true };

/** Anything that can be iterated, synchronously or not. */
export type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;
