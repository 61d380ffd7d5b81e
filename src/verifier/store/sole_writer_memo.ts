/**
 * What a store that is the only writer of its database may answer without reading it again:
 * the open sessions it created, and the attester records and checkpoints it read since it last
 * wrote them. The embedded store is such a writer (PGlite in this process, one process per
 * directory by its lock file), so every change to these rows passes through it and a copy kept
 * here cannot go stale unseen. A PostgreSQL store never uses this: other processes write too.
 *
 * Only reads are saved. Every rule that protects the state is still one statement in the
 * database: a nonce is consumed by `finishSession`'s conditional update whatever the memo says,
 * and a checkpoint moves only by its compare-and-set. Why: the evidence read (session,
 * attester, checkpoint) was one of a session's three statements on PGlite (~0.3 ms of CPU,
 * bench/verifier/RESULTS.md, session 8).
 *
 * @module
 */
import type { AttesterRecord, CheckpointRecord, SessionRecord } from './store.js';

/** At most this many open sessions are remembered; older ones are read from the database. */
const MAX_SESSIONS = 4096;
/** At most this many attesters' records and checkpoint sets are remembered. */
const MAX_ATTESTERS = 4096;

const cpSetKey = (attesterId: string, policyDigest: string): string =>
  `${attesterId}\u0000${policyDigest}`;

/** The memo; each write path of the store tells it what it changed. */
export class SoleWriterMemo {
  /** Sessions created here and neither consumed nor deleted since. */
  readonly #sessions = new Map<string, SessionRecord>();
  /** Attester records as last read (null: no such attester). */
  readonly #attesters = new Map<string, AttesterRecord | null>();
  /**
   * An attester's checkpoints under one policy digest, by register, as a complete set (a
   * register missing from it has none).
   */
  readonly #checkpoints = new Map<string, ReadonlyMap<string, CheckpointRecord>>();

  /** A session just created (not consumed). */
  sessionCreated(s: SessionRecord): void {
    if (this.#sessions.size >= MAX_SESSIONS) {
      // the oldest first (insertion order): they are the likeliest to have expired
      for (const first of this.#sessions.keys()) {
        this.#sessions.delete(first);
        break;
      }
    }
    this.#sessions.set(s.id, s);
  }

  /** A session consumed, refused or deleted: from now on only the database answers for it. */
  sessionGone(id: string): void {
    this.#sessions.delete(id);
  }

  /** An open session created here, unless it has expired at `now`. */
  openSession(id: string, now: Date): SessionRecord | undefined {
    const s = this.#sessions.get(id);
    if (s === undefined) return undefined;
    if (s.expiresAt.getTime() <= now.getTime()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s;
  }

  /** An attester's record as read from the database (null: none). */
  attesterRead(id: string, a: AttesterRecord | null): void {
    if (this.#attesters.size >= MAX_ATTESTERS) this.#attesters.clear();
    this.#attesters.set(id, a);
  }

  /** The attester's record if known: undefined when it must be read. */
  attester(id: string): AttesterRecord | null | undefined {
    return this.#attesters.get(id);
  }

  /** An attester was written or deleted (its checkpoints too, on deletion). */
  attesterChanged(id: string): void {
    this.#attesters.delete(id);
    const prefix = `${id}\u0000`;
    for (const k of [...this.#checkpoints.keys()]) {
      if (k.startsWith(prefix)) this.#checkpoints.delete(k);
    }
  }

  /**
   * All of an attester's checkpoints under `policyDigest`, as one read returned them. Merged
   * with what is known by version (a checkpoint's version only grows, and a row is only
   * deleted with its attester, which drops the set): a read that raced a move cannot undo it.
   */
  checkpointsRead(
    attesterId: string,
    policyDigest: string,
    rows: readonly CheckpointRecord[],
  ): void {
    const key = cpSetKey(attesterId, policyDigest);
    const known = this.#checkpoints.get(key);
    if (known === undefined && this.#checkpoints.size >= MAX_ATTESTERS) this.#checkpoints.clear();
    const set = new Map<string, CheckpointRecord>(known ?? []);
    for (const c of rows) {
      const k = set.get(c.register);
      if (k === undefined || k.version < c.version) set.set(c.register, c);
    }
    this.#checkpoints.set(key, set);
  }

  /** A checkpoint this store just moved (committed): the set, when known, takes it. */
  checkpointMoved(c: CheckpointRecord): void {
    const set = this.#checkpoints.get(cpSetKey(c.attesterId, c.policyDigest));
    if (set === undefined) return;
    const k = set.get(c.register);
    if (k === undefined || k.version < c.version) {
      const next = new Map(set);
      next.set(c.register, c);
      this.#checkpoints.set(cpSetKey(c.attesterId, c.policyDigest), next);
    }
  }

  /**
   * All of the attester's checkpoints under `policyDigest` in the order the store lists them
   * (newest update first, then register), or undefined when they must be read.
   */
  checkpointsUnder(attesterId: string, policyDigest: string): CheckpointRecord[] | undefined {
    const set = this.#checkpoints.get(cpSetKey(attesterId, policyDigest));
    if (set === undefined) return undefined;
    return [...set.values()].sort(
      (a, b) =>
        b.updatedAt.getTime() - a.updatedAt.getTime() ||
        (a.register < b.register ? -1 : a.register > b.register ? 1 : 0),
    );
  }

  /**
   * The attester's checkpoint at `register` under `policyDigest` (null: none), or undefined
   * when it must be read.
   */
  checkpoint(
    attesterId: string,
    register: string,
    policyDigest: string,
  ): CheckpointRecord | null | undefined {
    const set = this.#checkpoints.get(cpSetKey(attesterId, policyDigest));
    return set === undefined ? undefined : (set.get(register) ?? null);
  }

  /** A checkpoint write whose outcome is not known here: read the set again next time. */
  checkpointWritten(attesterId: string, policyDigest: string): void {
    this.#checkpoints.delete(cpSetKey(attesterId, policyDigest));
  }
}
