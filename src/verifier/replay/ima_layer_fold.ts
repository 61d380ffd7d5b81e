/**
 * The fold pass of the ima layer (`ima_layer.ts`): the bundle's list folded with the one IMA fold
 * ({@link ImaBankFold}) in the `mr_ima` banks, with the values kept at the entry counts the
 * `mr_ima` tokens name, up to the first entry the fold refuses. On several cores the banks are
 * folded side by side — one worker thread per bank, this thread checking each record's fields,
 * all reading the same shared copy of the list — since each bank's chain is independent; the
 * results are the same as one thread's.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MrstackError, type ErrorCode } from '../../errors.js';
import { digestSize, type HashAlg } from '../../crypto/hash_alg.js';
import { ImaBinaryScanner, imaBinaryMaxRecords } from '../../formats/ima/ima_binary.js';
import { checkImaViewFields } from '../../formats/ima/ima_file_fields.js';
import { ImaBankFold, imaDataDigestInto } from '../../formats/ima/ima_fold.js';

/** The first entry the fold refused. */
export interface ImaFoldFailure {
  readonly index: number;
  readonly offset: number;
  readonly code: ErrorCode;
  readonly message: string;
  /** The logged template hash is not the hash of the template data (else a rule: PCR, template). */
  readonly column: boolean;
}

/**
 * Where a list sent from an entry offset starts (incremental verification): the entries before
 * `count` are not in the bytes, and PCR 10's running value after them is `banks` (trusted from
 * an earlier attestation). Counts, entry numbers and `entries` stay those of the whole list.
 */
export interface ImaFoldStart {
  readonly count: number;
  /** The running value per bank; every bank folded must be given. */
  readonly banks: ReadonlyMap<HashAlg, Uint8Array>;
}

/** The list folded, with the values at the counts asked for. */
export interface ImaFoldSnapshots {
  readonly banks: readonly HashAlg[];
  /** Records in the list (with a start: the start's count plus the records in the bytes). */
  readonly entries: number;
  /** Entries folded before the first refused one (`entries` when none was refused). */
  readonly folded: number;
  readonly failure?: ImaFoldFailure;
  /** The values per bank after `count` entries, if asked for and `count <= folded`. */
  at(count: number): readonly Uint8Array[] | undefined;
}

/** One thread's part: its banks' values at the counts, up to its first refused entry. */
interface FoldPart {
  readonly entries: number;
  readonly folded: number;
  readonly failure?: ImaFoldFailure;
  readonly snaps: ReadonlyMap<number, readonly Uint8Array[]>;
}

/** Stops a worker's scan at its first refused entry (the rest of the list is not its to read). */
class Stop extends Error {}

/** Entries per chunk of {@link ImaFoldHelp}. */
const HELP_CHUNK = 1024;
/** {@link ImaFoldHelp.ctl}: entries in the list + 1 once `spans` is written (0 before). */
const READY = 0;
/** {@link ImaFoldHelp.ctl}: chunks not yet handed to a helper, counted from the top. */
const TOP = 1;
/** {@link ImaFoldHelp.ctl}: 1 once the chain stopped at a refused entry (nothing to hash). */
const STOPPED = 2;
/** {@link ImaFoldHelp.state} of a chunk: free, the chain's, being hashed by a helper, hashed. */
const FREE = 0;
const CHAIN = 1;
const HASHING = 2;
const HASHED = 3;

/**
 * The slowest bank's hashes of template data shared out: in a bank, the extends are one chain,
 * but H(template data) of each entry is independent of the others. The thread folding the bank
 * (the chain) works up from the first entry a chunk at a time; threads done with their own part
 * hash chunks from the last entry down, and the chain extends those with the hashes they left
 * — so that the one bank with the most work (sha384, which has no SHA instructions on most
 * CPUs) does not run alone on one core at the end. Every thread sees the same
 * SharedArrayBuffers.
 */
export interface ImaFoldHelp {
  readonly bank: HashAlg;
  /** {@link READY}, {@link TOP}, {@link STOPPED}. */
  readonly ctl: Int32Array;
  /** Per chunk of {@link HELP_CHUNK} entries: who has it ({@link FREE} …). */
  readonly state: Int32Array;
  /** Per entry: where its template data starts in the list and its length. */
  readonly spans: Int32Array;
  /** Per entry of a hashed chunk: H_bank(template data). */
  readonly inner: Uint8Array;
}

/** The sharing of `bank`'s hashes over a list of `bytes` bytes (memory is taken as it is used). */
export function imaFoldHelp(bank: HashAlg, bytes: number): ImaFoldHelp {
  const most = imaBinaryMaxRecords(bytes);
  const sab = (n: number): SharedArrayBuffer => new SharedArrayBuffer(n);
  return {
    bank,
    ctl: new Int32Array(sab(12)),
    state: new Int32Array(sab(4 * (Math.ceil(most / HELP_CHUNK) + 1))),
    spans: new Int32Array(sab(8 * most)),
    inner: new Uint8Array(sab(digestSize(bank) * most)),
  };
}

/**
 * Lets helpers start ({@link helpImaFold}), once the spans of the list's `entries` entries are
 * written (by a {@link foldImaPart} in the `spans` role).
 */
export function openImaFoldHelp(help: ImaFoldHelp, entries: number): void {
  Atomics.store(help.ctl, TOP, Math.ceil(entries / HELP_CHUNK));
  Atomics.store(help.ctl, READY, entries + 1);
}

/**
 * Waits until a helper has hashed chunk `c`: true once it has; false if it has not after ten
 * seconds (a helper gone: the chain hashes the chunk itself, to the same values).
 */
function awaitHashed(state: Int32Array, c: number): boolean {
  for (let k = 0; k < 100; k++)
    if (Atomics.wait(state, c, HASHING, 100) === 'not-equal')
      return Atomics.load(state, c) === HASHED;
  return false;
}

/**
 * Hashes one chunk of the shared bank's entries, from the top, if the chain has not reached it.
 * @returns whether a chunk was hashed (false: nothing left to share, or the spans not ready)
 */
export function helpImaFold(data: Uint8Array, help: ImaFoldHelp): boolean {
  const { ctl, state, spans, inner } = help;
  const n = Atomics.load(ctl, READY) - 1;
  if (n < 0 || Atomics.load(ctl, STOPPED) !== 0) return false;
  const c = Atomics.sub(ctl, TOP, 1) - 1;
  // the chain takes its chunks in order: one it has means every lower one is its too
  if (c < 0 || Atomics.compareExchange(state, c, FREE, HASHING) !== FREE) return false;
  const size = digestSize(help.bank);
  for (let i = c * HELP_CHUNK, end = Math.min(n, i + HELP_CHUNK); i < end; i++) {
    const at = spans[2 * i]!;
    const input = new Uint8Array(data.buffer, data.byteOffset + at, spans[2 * i + 1]);
    imaDataDigestInto(help.bank, input, inner, i * size);
  }
  Atomics.store(state, c, HASHED);
  Atomics.notify(state, c);
  return true;
}

/**
 * Folds `banks` over the list and keeps their values at `counts`. `checkFields`: every record's
 * fields are checked (this thread's part), and the whole list is read; otherwise the scan stops
 * at the first refused entry.
 * @throws ParseError for a list that does not parse, or fields that do not fit (`checkFields`)
 */
export function foldImaPart(
  data: Uint8Array,
  banks: readonly HashAlg[],
  counts: readonly number[],
  checkFields: boolean,
  start?: ImaFoldStart,
  help?: { readonly share: ImaFoldHelp; readonly role: 'spans' | 'chain' },
): FoldPart {
  const want = new Set(counts);
  const snaps = new Map<number, readonly Uint8Array[]>();
  // entries before `base` are not in `data`: counts and indexes below stay those of the list
  const base = start?.count ?? 0;
  const fold = new ImaBankFold(
    banks,
    start === undefined ? undefined : banks.map((b) => start.banks.get(b)!),
  );
  if (want.has(base)) snaps.set(base, fold.values());
  let failure: ImaFoldFailure | undefined;
  let entries = 0;
  const scanner = new ImaBinaryScanner();
  // the spans of the entries for helpers (this thread's scan), or the bank whose hashes of
  // template data helpers may have worked out (the chain: `banks` is that one bank)
  const spans = help?.role === 'spans' ? help.share.spans : undefined;
  const chain = help?.role === 'chain' ? help.share : undefined;
  const innerSize = chain === undefined ? 0 : digestSize(chain.bank);
  let hashed = false; // the current chunk's hashes were worked out by a helper
  try {
    scanner.pushEach(data, (v) => {
      entries++;
      if (checkFields) checkImaViewFields(v);
      if (spans !== undefined && 2 * v.index + 1 < spans.length) {
        spans[2 * v.index] = v.bytes.byteOffset - data.byteOffset + v.dataAt;
        spans[2 * v.index + 1] = v.dataLen;
      }
      if (failure !== undefined) return;
      if (chain !== undefined && v.index % HELP_CHUNK === 0) {
        const c = v.index / HELP_CHUNK;
        hashed =
          Atomics.compareExchange(chain.state, c, FREE, CHAIN) !== FREE &&
          awaitHashed(chain.state, c);
      }
      let column: boolean;
      try {
        column = hashed
          ? fold.pushViewInner(v, chain!.inner, v.index * innerSize)
          : fold.pushView(v);
      } catch (x) {
        if (!(x instanceof MrstackError)) throw x;
        failure = {
          index: base + v.index,
          offset: v.offset,
          code: x.code,
          message: x.message,
          column: false,
        };
        if (!checkFields) throw new Stop();
        return;
      }
      if (!column) {
        failure = {
          index: base + v.index,
          offset: v.offset,
          code: 'ERR_EVENT_DIGEST_MISMATCH',
          message: 'the logged template hash is not the hash of its template data',
          column: true,
        };
        if (!checkFields) throw new Stop();
        return;
      }
      if (want.has(base + fold.count)) snaps.set(base + fold.count, fold.values());
    });
    scanner.end();
  } catch (x) {
    if (!(x instanceof Stop)) throw x;
  } finally {
    // a chain that stopped needs no more hashes
    if (chain !== undefined && failure !== undefined) Atomics.store(chain.ctl, STOPPED, 1);
  }
  return {
    entries: base + entries,
    folded: failure?.index ?? base + fold.count,
    ...(failure === undefined ? {} : { failure }),
    snaps,
  };
}

/** The snapshots of parts folded side by side (bank order: the parts' banks in order). */
function combine(
  banks: readonly HashAlg[],
  entries: number,
  parts: readonly FoldPart[],
): ImaFoldSnapshots {
  let failure: ImaFoldFailure | undefined;
  for (const p of parts) {
    const f = p.failure;
    // the earliest refused entry; at the same entry a rule (checked first) before the column
    if (
      f !== undefined &&
      (failure === undefined ||
        f.index < failure.index ||
        (f.index === failure.index && failure.column && !f.column))
    )
      failure = f;
  }
  const folded = failure?.index ?? entries;
  return {
    banks,
    entries,
    folded,
    ...(failure === undefined ? {} : { failure }),
    at(count: number): readonly Uint8Array[] | undefined {
      if (count > folded) return undefined;
      const out: Uint8Array[] = [];
      for (const p of parts) {
        const s = p.snaps.get(count);
        if (s === undefined) return undefined;
        out.push(...s);
      }
      return out;
    },
  };
}

/**
 * Folds the list on this thread.
 * @throws ParseError for a list that does not parse or an entry whose fields do not fit
 */
export function foldImaSnapshots(
  data: Uint8Array,
  banks: readonly HashAlg[],
  counts: readonly number[],
  start?: ImaFoldStart,
): ImaFoldSnapshots {
  const p = foldImaPart(data, banks, counts, true, start);
  return combine(banks, p.entries, [p]);
}

/** Lists smaller than this are folded on one thread (a worker costs more than it saves). */
const PARALLEL_MIN_BYTES = 4 << 20;

/** What an ima fold worker is given. */
export interface ImaFoldWorkerInput {
  readonly data: Uint8Array;
  readonly banks: readonly HashAlg[];
  readonly counts: readonly number[];
  readonly start?: ImaFoldStart;
  /** The sharing of one bank's hashes: the worker folding that bank is its chain, others help. */
  readonly help?: ImaFoldHelp;
}

/**
 * A fold worker's part ({@link foldImaPart} of its banks): given to `post` as soon as it is
 * folded; then, if it is not the chain of `help`, it hashes chunks for the chain while any
 * are left.
 */
export function runImaFoldWorker(input: ImaFoldWorkerInput, post: (part: FoldPart) => void): void {
  const help = input.help;
  const chain = help !== undefined && input.banks.length === 1 && input.banks[0] === help.bank;
  post(
    foldImaPart(
      input.data,
      input.banks,
      input.counts,
      false,
      input.start,
      chain ? { share: help, role: 'chain' } : undefined,
    ),
  );
  if (help !== undefined && !chain) while (helpImaFold(input.data, help));
}

const WORKER_URL = new URL('./ima_layer_fold_worker.js', import.meta.url);

/** Fold workers started ahead of their list ({@link prewarmImaFoldWorkers}), waiting for it. */
const idle: Worker[] = [];

/**
 * Starts fold workers ahead of a list of about `listBytes` bytes, up to `count` waiting, so that
 * their start-up (a thread, its modules) runs while the caller still parses what holds the list;
 * the next {@link foldImaSnapshotsParallel} takes them. Nothing is started where that would fold
 * on one thread (one core, a small list). A waiting worker keeps no process alive.
 * @returns the workers now waiting
 */
export function prewarmImaFoldWorkers(
  count: number,
  listBytes: number,
  threads: number = availableParallelism(),
): number {
  if (threads < 2 || listBytes < PARALLEL_MIN_BYTES) return idle.length;
  while (idle.length < count) {
    const w = new Worker(WORKER_URL);
    w.unref();
    const drop = (): void => {
      const i = idle.indexOf(w);
      if (i >= 0) idle.splice(i, 1);
    };
    w.on('error', drop);
    w.once('exit', drop);
    idle.push(w);
  }
  return idle.length;
}

/**
 * {@link prewarmImaFoldWorkers} for evidence about to be verified, when it holds an IMA list
 * (an ima bundle's `ima_log`): callers start them before loading the verifiers, whose modules
 * then load beside the workers' own.
 */
export function prewarmImaFoldWorkersFor(evidence: Uint8Array): void {
  const b = Buffer.from(evidence.buffer, evidence.byteOffset, evidence.byteLength);
  if (evidence.length >= PARALLEL_MIN_BYTES && b.includes('"ima_log"'))
    prewarmImaFoldWorkers(3, evidence.length);
}

/**
 * {@link foldImaSnapshots} with the banks on worker threads (one each), when the
 * machine has two cores or more and the list is large; the same result. A list not already in
 * a SharedArrayBuffer is copied into one (the workers read it in place).
 * @throws ParseError as {@link foldImaSnapshots} (this thread reads and checks every record)
 */
export async function foldImaSnapshotsParallel(
  data: Uint8Array,
  banks: readonly HashAlg[],
  counts: readonly number[],
  opts: { readonly threads?: number; readonly start?: ImaFoldStart } = {},
): Promise<ImaFoldSnapshots> {
  const threads = opts.threads ?? availableParallelism();
  const start = opts.start;
  if (threads < 2 || banks.length < 2 || data.length < PARALLEL_MIN_BYTES)
    return foldImaSnapshots(data, banks, counts, start);
  let shared = data;
  if (!(data.buffer instanceof SharedArrayBuffer)) {
    shared = new Uint8Array(new SharedArrayBuffer(data.length));
    shared.set(data);
  }
  // every bank on a worker: this thread checks each record's fields, then is free while they
  // fold (for work of its own the caller has queued: a policy still loading, say); the bank
  // with the largest digest (the slowest) has its hashes of template data shared out
  const slowest = banks.reduce((a, b) => (digestSize(b) > digestSize(a) ? b : a));
  const help = data.length < 2 ** 31 ? imaFoldHelp(slowest, data.length) : undefined;
  const workers = banks.map((bank) => {
    const input: ImaFoldWorkerInput = {
      data: shared,
      banks: [bank],
      counts,
      ...(start === undefined ? {} : { start }),
      ...(help === undefined ? {} : { help }),
    };
    // a worker started ahead is given its part as a message, a new one as its workerData
    const ready = idle.shift();
    ready?.ref();
    ready?.postMessage(input);
    const w = ready ?? new Worker(WORKER_URL, { workerData: input });
    const result = new Promise<FoldPart>((resolve, reject) => {
      w.once('message', (m: FoldPart) => resolve(m));
      w.once('error', reject);
      w.once('exit', (code) => {
        if (code !== 0) reject(new Error(`ima fold worker exited with code ${code}`));
      });
    });
    // a list that does not parse is reported by this thread's own scan of the same bytes
    result.catch(() => undefined);
    return { w, result };
  });
  let mine: FoldPart;
  try {
    mine = foldImaPart(
      shared,
      [],
      counts,
      true,
      start,
      help === undefined ? undefined : { share: help, role: 'spans' },
    );
  } catch (e) {
    for (const { w } of workers) void w.terminate();
    throw e;
  }
  // the spans are written: the workers done with their own bank may help. This thread does
  // not: while they all fold, the cores are busy anyway (helping then only costs the hand-over),
  // and it has work of its own queued (an appraisal's verdicts)
  if (help !== undefined) openImaFoldHelp(help, mine.entries - (start?.count ?? 0));
  const others = await Promise.all(workers.map((x) => x.result));
  return combine(banks, mine.entries, [mine, ...others]);
}
