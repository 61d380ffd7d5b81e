/**
 * Replay: recompute registers from their logs, per register and bank, from the reset value or
 * an anchor, and compare with expected values.
 *
 * A {@link Replay} consumes events one at a time and keeps only per-register state, so any log
 * size replays in constant memory. Several logs replayed through one `Replay` in order are
 * `--combine` (a CCEL followed by an AAEL of the same RTMR). Records with an `anchor` (AAEL
 * INIT, StartupLocality, H-CRTM) set an untouched register to their value; on a register this
 * replay already moved they must equal the running value, else it is a gap (`ERR_LOG_GAP`).
 * Event digests that are not the hash of their data are warnings, never fatal: replay extends
 * what the log says was extended.
 *
 * @module
 */
import { extend, extendInPlace } from '../crypto/hash.js';
import { digestSize, hashInfo, type HashAlg } from '../crypto/hash_alg.js';
import { ReplayError } from '../errors.js';
import { bytesEqual, toHex } from '../bytes/hex.js';
import type { AnchorKind, AnyIterable, LogEvent, Verified } from './event.js';
import type { DigestCheck, LogWarning } from './log_format.js';
import { isReplayable } from './mr_map.js';
import { findLogFormat } from './registry.js';
import { resetValue } from './reset_values.js';

/** Register values: register name → bank → value. */
export type RegisterValues = ReadonlyMap<string, ReadonlyMap<HashAlg, Uint8Array>>;

/** Options of a {@link Replay}. */
export interface ReplayOptions {
  /** Replay only these banks (default: every bank the events carry). */
  readonly banks?: readonly HashAlg[];
  /** Reset values (default: {@link resetValue}, the TPM PC Client / TDX rules). */
  readonly resetValue?: (register: string, alg: HashAlg) => Uint8Array;
  /**
   * Whether an event's digest is the hash of its data. Default: the event's format's
   * `checkDigest` (from the registry), when it has one. Mismatches become warnings.
   */
  readonly checkDigest?: (e: LogEvent) => DigestCheck;
  /**
   * The digest to extend for an event in a bank (default: the logged one). For formats whose
   * extended value differs from the logged one (IMA violations extend all-ones).
   */
  readonly extendDigest?: (e: LogEvent, alg: HashAlg, logged: Uint8Array) => Uint8Array;
  /**
   * What a gap does (an anchor that differs from the running value): `error` throws
   * `ERR_LOG_GAP` (default); `unverified` re-anchors the register as `unverified` and warns.
   */
  readonly onGap?: 'error' | 'unverified';
  /** Receives warnings (digest mismatches, gaps with `onGap: 'unverified'`, MRTD records). */
  readonly onWarning?: (w: LogWarning) => void;
}

/**
 * A bank's running value as the first half of a `value ‖ digest` Buffer, extended in place; the
 * register's `values` entry is a live view of that half.
 */
interface BankScratch {
  readonly buf: Buffer;
  readonly size: number;
  readonly nodeName: string;
}

/** Where replay stands for one register. */
interface RegState {
  readonly values: Map<HashAlg, Uint8Array>;
  /** Scratch `value ‖ digest` buffers per bank, reused for every extend. */
  readonly scratch: Map<HashAlg, BankScratch>;
  anchor: AnchorKind;
  /** Moved by this replay (extended or anchored to a different value). */
  touched: boolean;
  lastIndex: number | undefined;
  lastLog: string | undefined;
}

/** The outcome of a replay. */
export interface ReplayResult {
  /** Computed values of every register some event named. */
  readonly registers: RegisterValues;
  /** How each register was anchored. */
  readonly anchors: ReadonlyMap<string, AnchorKind>;
  /** Records consumed (every record of every log, headers and EV_NO_ACTION included). */
  readonly events: number;
  /** Records that extended a register. */
  readonly extended: number;
  /** Banks seen. */
  readonly banks: readonly HashAlg[];
  readonly warnings: readonly LogWarning[];
}

/** Expected register values: register → bank → value (the shape of replay's `registers`). */
export type ExpectedValues = RegisterValues;

/** The first register that did not replay to its expected value. */
export interface ReplayMismatch {
  readonly register: string;
  readonly alg: HashAlg;
  readonly expected: Uint8Array;
  /** Undefined when the log carries no digests in that bank at all. */
  readonly computed: Uint8Array | undefined;
  /** Index of the last record that extended the register, if any. */
  readonly lastIndex: number | undefined;
  readonly lastLog: string | undefined;
}

/** One register replayed outside {@link Replay.add} (see {@link Replay.addReplayed}). */
export interface ReplayedRegisterValues {
  readonly register: string;
  /** Its values per bank after the records. */
  readonly values: ReadonlyMap<HashAlg, Uint8Array>;
  /** Records that extended it. */
  readonly extended: number;
  /** Index of the last of them. */
  readonly lastIndex: number;
}

/** A replay in progress. Feed it events with {@link Replay.add}; read results at any time. */
export class Replay {
  readonly #opts: ReplayOptions;
  readonly #regs = new Map<string, RegState>();
  readonly #banks = new Set<HashAlg>();
  readonly #only: ReadonlySet<HashAlg> | undefined;
  readonly #warnings: LogWarning[] = [];
  readonly #reset: (register: string, alg: HashAlg) => Uint8Array;
  readonly #checkers = new Map<string, (e: LogEvent) => DigestCheck>();
  #events = 0;
  #extended = 0;

  constructor(opts: ReplayOptions = {}) {
    this.#opts = opts;
    this.#only = opts.banks === undefined ? undefined : new Set(opts.banks);
    this.#reset = opts.resetValue ?? resetValue;
  }

  /** Records consumed so far. */
  get events(): number {
    return this.#events;
  }

  /** Replays one event. @throws ReplayError `ERR_LOG_GAP` (unless `onGap: 'unverified'`). */
  add(e: LogEvent): void {
    this.#events++;
    const reg = e.register;
    if (reg === undefined) return;
    if (e.anchor !== undefined) this.#applyAnchor(e, reg);
    if (!e.extend) return;
    if (!isReplayable(reg)) {
      // Defensive: formats already mark MRTD records as not extended.
      this.#warn({
        code: 'MRTD_NOT_REPLAYED',
        message: `record ${e.index} names MRTD; MRTD is built by the TDX module, not by extends`,
        log: e.source.log,
        offset: e.source.offset,
        index: e.index,
        register: reg,
      });
      return;
    }
    const check = this.#checkerFor(e.source.format)(e);
    if (check === 'mismatch') {
      this.#warn({
        code: 'ERR_EVENT_DIGEST_MISMATCH',
        message: `record ${e.index} (${reg}): the logged digest is not the hash of the event data`,
        log: e.source.log,
        offset: e.source.offset,
        index: e.index,
        register: reg,
      });
    }
    const st = this.#state(reg);
    const extendDigest = this.#opts.extendDigest;
    for (const [alg, logged] of e.digests) {
      if (this.#only !== undefined && !this.#only.has(alg)) continue;
      const d = extendDigest === undefined ? logged : extendDigest(e, alg, logged);
      let scratch = st.scratch.get(alg);
      if (scratch === undefined) {
        const size = digestSize(alg);
        // A Buffer, not a plain Uint8Array: node:crypto hashes Buffers without a conversion,
        // which is a measurable share of a 2–3 µs extend.
        const buf = Buffer.alloc(2 * size);
        buf.set(st.values.get(alg) ?? this.#reset(reg, alg), 0);
        this.#banks.add(alg);
        scratch = { buf, size, nodeName: hashInfo(alg).nodeName };
        st.scratch.set(alg, scratch);
        // The value is a live view of the scratch's first half; value() hands out copies.
        st.values.set(alg, buf.subarray(0, size));
      }
      const size = scratch.size;
      if (d.length !== size) {
        throw new ReplayError(
          'ERR_DIGEST_SIZE',
          `record ${e.index} (${reg}): ${alg} digest of ${d.length} bytes, expected ${size}`,
          { details: { log: e.source.log, index: e.index, register: reg, alg } },
        );
      }
      scratch.buf.set(d, size);
      extendInPlace(alg, scratch.nodeName, scratch.buf, size);
    }
    st.touched = true;
    st.lastIndex = e.index;
    st.lastLog = e.source.log;
    this.#extended++;
  }

  /**
   * Extends digests that come from no log record (a replay workaround's missing events, see
   * `workarounds.ts`): per bank, as an event would, but not counted in `events` or `extended`.
   * @throws ReplayError `ERR_DIGEST_SIZE`
   */
  extendUnlogged(register: string, digests: ReadonlyMap<HashAlg, Uint8Array>): void {
    const st = this.#state(register);
    for (const [alg, d] of digests) {
      if (this.#only !== undefined && !this.#only.has(alg)) continue;
      const old = this.value(register, alg);
      if (d.length !== old.length) {
        throw new ReplayError(
          'ERR_DIGEST_SIZE',
          `unlogged event (${register}): ${alg} digest of ${d.length} bytes, expected ${old.length}`,
          { details: { register, alg } },
        );
      }
      this.#banks.add(alg);
      st.values.set(alg, extend(alg, old, d));
      st.scratch.delete(alg);
    }
    st.touched = true;
  }

  /**
   * Takes a bank's value from another replay of the same events (a worker thread that replayed
   * the banks this one skipped), as if this replay had computed it.
   */
  adoptBank(register: string, alg: HashAlg, value: Uint8Array): void {
    const st = this.#state(register);
    this.#banks.add(alg);
    st.values.set(alg, new Uint8Array(value));
    st.scratch.delete(alg);
    st.touched = true;
  }

  /**
   * Takes registers replayed outside {@link Replay.add} from `records` records of one log (a
   * format that replays its bytes in place, `LogFormat.replay`, starting from
   * {@link Replay.value}), as if `add` had replayed those records: values, counts, last record.
   */
  addReplayed(log: string, records: number, registers: readonly ReplayedRegisterValues[]): void {
    this.#events += records;
    for (const r of registers) {
      const st = this.#state(r.register);
      for (const [alg, v] of r.values) {
        if (this.#only !== undefined && !this.#only.has(alg)) continue;
        this.#banks.add(alg);
        st.values.set(alg, new Uint8Array(v));
        st.scratch.delete(alg);
      }
      st.touched = true;
      st.lastIndex = r.lastIndex;
      st.lastLog = log;
      this.#extended += r.extended;
    }
  }

  /** Replays every event of an iterable (sync or async). */
  async addAll(events: AnyIterable<LogEvent>): Promise<void> {
    for await (const e of events) this.add(e);
  }

  /** The current value of a register in a bank (its reset value when no event moved it). */
  value(register: string, alg: HashAlg): Uint8Array {
    const v = this.#regs.get(register)?.values.get(alg);
    // A plain Uint8Array copy: values are live views of node Buffers internally.
    return v === undefined ? this.#reset(register, alg) : new Uint8Array(v);
  }

  /** The results so far. */
  result(): ReplayResult {
    const registers = new Map<string, Map<HashAlg, Uint8Array>>();
    const anchors = new Map<string, AnchorKind>();
    for (const name of [...this.#regs.keys()].sort(compareRegisters)) {
      const st = this.#regs.get(name)!;
      const vals = new Map<HashAlg, Uint8Array>();
      for (const alg of this.#sortedBanks()) vals.set(alg, this.value(name, alg));
      // Banks known only from anchors (no extends in that bank) are shown too.
      for (const alg of st.values.keys()) if (!vals.has(alg)) vals.set(alg, this.value(name, alg));
      registers.set(name, vals);
      anchors.set(name, st.anchor);
    }
    return {
      registers,
      anchors,
      events: this.#events,
      extended: this.#extended,
      banks: this.#sortedBanks(),
      warnings: [...this.#warnings],
    };
  }

  /** The first expected value the replay does not reach, or undefined when all match. */
  firstMismatch(expect: ExpectedValues): ReplayMismatch | undefined {
    for (const [register, banks] of expect) {
      const st = this.#regs.get(register);
      for (const [alg, expected] of banks) {
        const known = this.#banks.has(alg) || st?.values.has(alg) === true;
        const computed = known ? this.value(register, alg) : undefined;
        if (computed === undefined || !bytesEqual(computed, expected)) {
          return {
            register,
            alg,
            expected,
            computed,
            lastIndex: st?.lastIndex,
            lastLog: st?.lastLog,
          };
        }
      }
    }
    return undefined;
  }

  /**
   * Checks the replay against expected values. `hint` may add a sentence to the error for the
   * first mismatch (e.g. that a workaround would explain it).
   * @throws ReplayError `ERR_REPLAY_MISMATCH` naming the first register that differs, its bank,
   * expected and computed values and the last record that extended it.
   */
  check(expect: ExpectedValues, hint?: (m: ReplayMismatch) => string | undefined): void {
    const m = this.firstMismatch(expect);
    if (m === undefined) return;
    const why = hint?.(m);
    const computed = m.computed === undefined ? 'no digests in that bank' : toHex(m.computed);
    throw new ReplayError(
      'ERR_REPLAY_MISMATCH',
      `${m.register}:${m.alg} does not replay to the expected value: expected ${toHex(m.expected)}, computed ${computed}` +
        (m.lastIndex === undefined ? ' (no record extends it)' : ` (last record ${m.lastIndex})`) +
        (why === undefined ? '' : `; ${why}`),
      {
        details: {
          ...(why === undefined ? {} : { hint: why }),
          register: m.register,
          alg: m.alg,
          expected: toHex(m.expected),
          computed: m.computed === undefined ? null : toHex(m.computed),
          last_index: m.lastIndex ?? null,
          ...(m.lastLog === undefined ? {} : { log: m.lastLog }),
        },
      },
    );
  }

  /** The digest check for a format: the option, else the format's own (looked up once). */
  #checkerFor(format: string): (e: LogEvent) => DigestCheck {
    if (this.#opts.checkDigest !== undefined) return this.#opts.checkDigest;
    let c = this.#checkers.get(format);
    if (c === undefined) {
      const fmt = findLogFormat(format);
      c = fmt?.checkDigest === undefined ? () => 'n/a' : (e) => fmt.checkDigest?.(e) ?? 'n/a';
      this.#checkers.set(format, c);
    }
    return c;
  }

  #state(reg: string): RegState {
    let st = this.#regs.get(reg);
    if (st === undefined) {
      st = {
        values: new Map(),
        scratch: new Map(),
        anchor: 'reset',
        touched: false,
        lastIndex: undefined,
        lastLog: undefined,
      };
      this.#regs.set(reg, st);
    }
    return st;
  }

  #applyAnchor(e: LogEvent, reg: string): void {
    const anchor = e.anchor!;
    const st = this.#state(reg);
    let differs = false;
    for (const [alg, v] of anchor.values) {
      if (!bytesEqual(this.value(reg, alg), v)) differs = true;
    }
    if (!differs) return;
    if (!st.touched) {
      for (const [alg, v] of anchor.values) {
        st.values.set(alg, new Uint8Array(v));
        st.scratch.delete(alg);
      }
      st.anchor = anchor.kind;
      st.touched = true;
      return;
    }
    const message = `record ${e.index} (${reg}) restarts the register at a value that differs from its replay so far`;
    if ((this.#opts.onGap ?? 'error') === 'error') {
      throw new ReplayError('ERR_LOG_GAP', message, {
        details: { log: e.source.log, index: e.index, register: reg, offset: e.source.offset },
      });
    }
    this.#warn({
      code: 'ERR_LOG_GAP',
      message,
      log: e.source.log,
      offset: e.source.offset,
      index: e.index,
      register: reg,
    });
    for (const [alg, v] of anchor.values) {
      st.values.set(alg, new Uint8Array(v));
      st.scratch.delete(alg);
    }
    st.anchor = 'unverified';
  }

  #warn(w: LogWarning): void {
    this.#warnings.push(w);
    this.#opts.onWarning?.(w);
  }

  #sortedBanks(): HashAlg[] {
    return [...this.#banks].sort((a, b) => digestSize(a) - digestSize(b) || a.localeCompare(b));
  }
}

/** Register names in a natural order: `pcr2` before `pcr10`, `mrtd` before `rtmr0`. */
export function compareRegisters(a: string, b: string): number {
  const ma = /^([a-z_-]*?)(\d+)$/.exec(a);
  const mb = /^([a-z_-]*?)(\d+)$/.exec(b);
  if (ma !== null && mb !== null && ma[1] === mb[1]) return Number(ma[2]) - Number(mb[2]);
  return a.localeCompare(b);
}

/** Options of {@link replay}. */
export interface ReplayAllOptions extends ReplayOptions {
  /** Expected values: checked at the end (`ERR_REPLAY_MISMATCH` on the first difference). */
  readonly expect?: ExpectedValues;
}

/**
 * Replays a stream of events (one log, or several logs' events in order for `--combine`).
 * @throws ReplayError `ERR_REPLAY_MISMATCH` (with `expect`), `ERR_LOG_GAP`; ParseError from the
 * event stream.
 */
export async function replay(
  events: AnyIterable<LogEvent>,
  opts: ReplayAllOptions = {},
): Promise<ReplayResult> {
  const r = new Replay(opts);
  await r.addAll(events);
  if (opts.expect !== undefined) r.check(opts.expect);
  return r.result();
}

/** What {@link replayEvents} returns. */
export interface VerifiedReplay {
  readonly result: ReplayResult;
  /**
   * The extended events of the registers named in `expect`, in log order, now verified.
   * Events of other registers, and records that extend nothing, are not included.
   */
  readonly verified: readonly Verified[];
}

/**
 * Replays events and, when every expected value is reached, returns the events of the expected
 * registers as {@link Verified} events: the only way to obtain them. Keeps the events in memory.
 * @throws ReplayError `ERR_REPLAY_MISMATCH`, `ERR_LOG_GAP`
 */
export async function replayEvents(
  events: AnyIterable<LogEvent>,
  expect: ExpectedValues,
  opts: ReplayOptions = {},
): Promise<VerifiedReplay> {
  const r = new Replay(opts);
  const kept: LogEvent[] = [];
  for await (const e of events) {
    r.add(e);
    if (e.extend && e.register !== undefined && expect.has(e.register)) kept.push(e);
  }
  r.check(expect);
  return { result: r.result(), verified: kept as Verified[] };
}
