/**
 * Every size limit mrstack applies to untrusted input, in one place. A length field read from
 * input is checked against the bytes left and against one of these before anything is
 * allocated or looped over. Callers may pass a partial override where an API takes `limits`.
 *
 * @module
 */

/** Named limits on untrusted input. */
export interface Limits {
  /** Largest single event-log record (TCG event data, IMA template, CEL record). */
  readonly maxRecordSize: number;
  /** Largest text line (IMA ascii, AAEL, mrlog). */
  readonly maxLineLength: number;
  /** Most digests one event may carry. */
  readonly maxDigestsPerEvent: number;
  /** Largest evidence blob (quote, report, token, certificate chain). */
  readonly maxEvidenceSize: number;
  /** Largest whole file read into memory at once (non-streaming formats such as JSON). */
  readonly maxWholeFile: number;
  /**
   * Request ids the agent keeps in memory per tenant (the most recent ones); older ids are
   * looked up in the tenant's on-disk id index, so memory stays bounded whatever the number of
   * ids a client sends.
   */
  readonly maxRecentRequestIds: number;
}

/** The defaults; generous enough for every real capture seen, small enough to be safe. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxRecordSize: 16 * 1024 * 1024,
  maxLineLength: 1024 * 1024,
  maxDigestsPerEvent: 16,
  maxEvidenceSize: 64 * 1024 * 1024,
  maxWholeFile: 256 * 1024 * 1024,
  maxRecentRequestIds: 1024,
});

/** Defaults with the given overrides applied. */
export function withLimits(overrides: Partial<Limits> = {}): Limits {
  return { ...DEFAULT_LIMITS, ...overrides };
}
