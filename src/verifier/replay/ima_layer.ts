/**
 * The `ima` layer of an ima bundle (DESIGN §4 "The IMA vMR"; `docs/bundle.md`): above the
 * physical register, which the caller has replayed, the kernel's IMA list the bundle carries is
 * folded with the one fold ({@link ImaBankFold}) and checked against the `mr_ima=<A>/<C>@<count>`
 * tokens of the physical log:
 *
 * 1. the list parses strictly and holds `count` entries;
 * 2. at each token, in order, the fold of the first `count` entries commits to its C
 *    (`C = H_A(label ‖ salt ‖ u64be(count) ‖ banks)`), else `ERR_REPLAY_MISMATCH` naming the
 *    token's physical record and the entry range since the previous token — where the list
 *    differs from what the agent mirrored; the last token's count is the bundle's `count`;
 * 3. the bundle's `banks` equal the fold at `count` in every bank of B (never SHA-1 alone);
 * 4. entries up to the count of the last token before the report's position are `verified`,
 *    later ones `pending`.
 *
 * Entries whose PCR is not 10, the legacy `ima` template and a template-hash column that is not
 * the hash of its data are refused. The layer needs no IMA semantics: appraisal judges the
 * verified entries afterwards.
 *
 * @module
 */
import type { ErrorCode } from '../../errors.js';
import { bytesEqual, toHex } from '../../bytes/hex.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import type { BundleImaLog } from '../../formats/bundle/bundle.js';
import { ImaBinaryScanner, type ImaRecordView } from '../../formats/ima/ima_binary.js';
import { imaViewFileFields } from '../../formats/ima/ima_file_fields.js';
import { ImaBankFold } from '../../formats/ima/ima_fold.js';
import { foldImaSnapshots, type ImaFoldSnapshots } from './ima_layer_fold.js';
import { imaStartFor, type ImaCheckpoint, type ImaStart } from './ima_checkpoint.js';
import { mrImaBankAlgs, mrImaCommitment } from '../../formats/mrlog/mr_ima_commitment.js';
import type { VmrObservation } from '../../eventlog/mrlog_replay.js';

/** One failed check of the ima layer. */
export interface ImaLayerIssue {
  readonly code: ErrorCode;
  readonly message: string;
  readonly [k: string]: unknown;
}

/** One `mr_ima` token of the physical log, as the layer judged it. */
export interface ImaTokenView {
  /** 0-based record number in the physical log. */
  readonly record: number;
  readonly count: number;
  /** `verified`: before the report's position and matched; `pending`: after it, matched. */
  readonly state: 'verified' | 'pending' | 'mismatch' | 'unchecked';
}

/** One IMA entry with its state (`claims.events` of an ima bundle). */
export interface ImaEventView {
  /** 0-based entry index in the list. */
  readonly index: number;
  /** Byte offset of the entry in the list. */
  readonly offset: number;
  readonly template: string;
  /** The file name field (`n-ng`), or the buffer's name for `ima-buf`. */
  readonly path: string;
  readonly digest_alg: string;
  /** The file digest, hex. */
  readonly digest: string;
  /** `ima-sig` signature, hex. */
  readonly signature?: string;
  /** `ima-buf` buffer, hex. */
  readonly buf?: string;
  readonly violation?: true;
  readonly state: 'verified' | 'pending';
}

/** What the ima layer proved. */
export interface ImaLayerResult {
  readonly vmr: string;
  readonly alg: HashAlg;
  /** The bundle's `count`. */
  readonly count: number;
  /** Entries the list holds. */
  readonly entries: number;
  /** Entries covered by the last matching token before the report's position. */
  readonly verified: number;
  readonly pending: number;
  /** The fold at `verified` entries, per bank of B (hex); empty when the layer failed. */
  readonly banks: Readonly<Record<string, string>>;
  readonly tokens: readonly ImaTokenView[];
  /**
   * Entries the bundle left out (`ima_log.since`): below the trusted checkpoint the list was
   * folded from; 0 for a whole list.
   */
  readonly since: number;
  /** How the list met the trusted IMA checkpoint given (`none` when there was none). */
  readonly checkpoint: ImaStart['use'];
  /**
   * Every entry with its state (`claims.events`), decoded from the list the first time it is
   * read: a million entries are a million objects, so prefer {@link ImaLayerResult.list}.
   */
  readonly events: readonly ImaEventView[];
  /** The entries, decoded as they are iterated (constant memory). */
  readonly list: ImaEntryList;
  readonly issues: readonly ImaLayerIssue[];
}

/** Where a verify result's claims keep the {@link ImaEntryList} of an ima bundle (not in JSON). */
export const IMA_ENTRY_LIST: unique symbol = Symbol('mrstack.imaEntryList');

/** Bytes of the list a scan decodes at a time. */
const SCAN_STEP = 1 << 20;

/**
 * The entries of an ima layer's list as {@link ImaEventView}s, decoded from the list's bytes on
 * demand: iterating holds one slice of entries at a time, never the whole list as objects.
 */
export class ImaEntryList implements Iterable<ImaEventView> {
  readonly #data: Uint8Array;
  /** Entries the list holds. */
  readonly length: number;
  /** Entries before this index are `verified`, later ones `pending`. */
  readonly verified: number;
  /** The index of the first entry in the bytes (entries before it were left out). */
  readonly base: number;

  constructor(data: Uint8Array, length: number, verified: number, base = 0) {
    this.#data = data;
    this.length = length;
    this.verified = verified;
    this.base = base;
  }

  /** Entries `from` (inclusive) to `to` (exclusive), in list order (those in the bytes). */
  *views(from = 0, to: number = this.length): Generator<ImaEventView, void, undefined> {
    if (from >= to) return;
    const data = this.#data;
    const verified = this.verified;
    const base = this.base;
    const scanner = new ImaBinaryScanner();
    const batch: ImaEventView[] = [];
    let last = -1;
    const take = (v: ImaRecordView): void => {
      const i = base + v.index;
      last = i;
      if (i >= from && i < to) batch.push(eventView(v, i < verified, i));
    };
    for (let at = 0; at < data.length && last + 1 < to; at += SCAN_STEP) {
      scanner.pushEach(data.subarray(at, Math.min(data.length, at + SCAN_STEP)), take);
      yield* batch;
      batch.length = 0;
    }
  }

  [Symbol.iterator](): Iterator<ImaEventView> {
    return this.views();
  }

  /**
   * Visits entries `from` (inclusive) to `to` (exclusive) in list order, each with its index, as
   * records read in place — nothing decoded; each view is valid during its visit ({@link ImaEntryList.decode} gives
   * the entry {@link ImaEntryList.views} would).
   */
  scan(visit: (v: ImaRecordView, index: number) => void, from = 0, to: number = this.length): void {
    if (from >= to) return;
    const data = this.#data;
    const scanner = new ImaBinaryScanner();
    const base = this.base;
    let last = -1;
    const take = (v: ImaRecordView): void => {
      const i = base + v.index;
      last = i;
      if (i >= from && i < to) visit(v, i);
    };
    for (let at = 0; at < data.length && last + 1 < to; at += SCAN_STEP)
      scanner.pushEach(data.subarray(at, Math.min(data.length, at + SCAN_STEP)), take);
  }

  /** The entry of a record {@link ImaEntryList.scan} visits, as {@link ImaEntryList.views} gives it. */
  decode(v: ImaRecordView): ImaEventView {
    const i = this.base + v.index;
    return eventView(v, i < this.verified, i);
  }
}

/**
 * Replays an ima bundle's list against the `mr_ima` tokens of its physical log.
 * @param tokens - every `mr_ima` observation of the physical log, in order
 * @param position - records of the physical log the report covers (undefined: none matched)
 * @param folded - the list already folded by `foldImaSnapshotsParallel` (`ima_layer_fold.ts`) at (at least) the
 *   tokens' counts and `ima.count` — the banks on worker threads; folded here when absent or
 *   short of a count; from the same start as {@link imaLayerStart} gives
 * @param checkpoint - the verifier's trusted IMA checkpoint of this attester, if it has one: a
 *   list sent from its offset (`ima.since`) is folded from its banks; a whole list must fold to
 *   them at its offset (`ERR_IMA_CHECKPOINT_MISMATCH` otherwise); a list sent from any other
 *   entry is `ERR_IMA_DISCONTINUOUS`
 * @throws ParseError for a list that does not parse (bad input)
 */
export function replayImaLayer(
  ima: BundleImaLog,
  tokens: readonly VmrObservation[],
  position: number | undefined,
  folded?: ImaFoldSnapshots,
  checkpoint?: ImaCheckpoint,
): ImaLayerResult {
  const issues: ImaLayerIssue[] = [];
  const banks = mrImaBankAlgs(ima.alg);
  const since = ima.since ?? 0;
  const meet = imaLayerStart(ima, checkpoint);
  if (meet.use === 'refused') {
    // nothing the verifier trusts precedes the entries sent: none of them is judged
    const list = new ImaEntryList(ima.data, since, 0, since);
    return {
      vmr: ima.vmr,
      alg: ima.alg,
      count: ima.count,
      entries: since,
      verified: 0,
      pending: 0,
      banks: {},
      tokens: [],
      since,
      checkpoint: meet.use,
      events: [],
      list,
      issues: [meet.issue],
    };
  }
  const start = meet.use === 'continued' ? meet.start : undefined;
  const compare = meet.use === 'compared' ? meet : undefined;
  const compareAt = compare?.offset;
  // the tokens' shape: A, a count, counts never going down
  const views: { record: number; count: number; state: ImaTokenView['state'] }[] = [];
  let prev = 0;
  for (const t of tokens) {
    const count = t.count ?? -1;
    if (t.alg !== ima.alg || count < prev) {
      issues.push({
        code: 'ERR_BINDING_MISMATCH',
        message:
          t.alg !== ima.alg
            ? `physical record ${t.record}: the mr_ima token is in ${t.alg}, ima_log.alg is ${ima.alg}`
            : `physical record ${t.record}: the mr_ima count ${count} is below the previous token's ${prev}`,
        record: t.record,
        ...(t.alg !== ima.alg ? { field: 'ima_log.alg', expected: t.alg, actual: ima.alg } : {}),
      });
      break;
    }
    prev = count;
    views.push({ record: t.record, count, state: 'unchecked' });
  }
  const lastBefore = [...views]
    .reverse()
    .find((v) => position !== undefined && v.record < position);
  // entries below the checkpoint were verified by an earlier attestation
  const target =
    lastBefore === undefined
      ? start === undefined
        ? undefined
        : since
      : Math.max(lastBefore.count, since);
  let failed = issues.length > 0;
  // One pass over the list where it lies (it parses strictly: a bad list throws): each record's
  // fields are checked, not decoded (ImaEntryList decodes them when read), and the fold keeps
  // its values at the counts the tokens name, up to the first entry it refuses.
  const wanted = [
    since,
    ...views.map((v) => v.count).filter((c) => c >= since),
    ima.count,
    ...(compareAt === undefined ? [] : [compareAt]),
  ];
  const pre = folded;
  const usable =
    pre?.banks.join() === banks.join() &&
    wanted.every((c) => c > pre.folded || pre.at(c) !== undefined);
  const snaps = usable ? pre : foldImaSnapshots(ima.data, banks, wanted, start);
  if (compare !== undefined && compareAt !== undefined) {
    // a whole list sent again: its first entries must be those the checkpoint was taken over
    const at = snaps.at(compareAt);
    const same = at?.every((v, i) => bytesEqual(v, compare.banks[i]!)) ?? false;
    if (!same) {
      failed = true;
      issues.push({
        code: 'ERR_IMA_CHECKPOINT_MISMATCH',
        message:
          snaps.entries < compareAt
            ? `the IMA list holds ${snaps.entries} entries, fewer than the ${compareAt} of the trusted IMA checkpoint: entries below it were removed`
            : `the first ${compareAt} IMA entries do not fold to the trusted checkpoint's value: an entry below it was changed or removed`,
        checkpoint: compareAt,
        first_entry: 0,
        last_entry: compareAt - 1,
      });
    }
  }
  const n = snaps.entries;
  const atTarget = target === undefined ? undefined : snaps.at(target);
  const atCount = snaps.at(ima.count);
  // the tokens in order, each where the fold reached its count: the first that does not follow
  // from the list fails the layer, and nothing after it is judged
  let ti = 0;
  let from = since; // the previous matched token's count: the range a mismatch is in starts here
  for (; !failed && ti < views.length && views[ti]!.count <= snaps.folded; ti++) {
    const v = views[ti]!;
    const c = v.count;
    if (c < since) {
      // below the checkpoint: its commitment was checked when the checkpoint was taken, and
      // the physical replay proves the record unchanged
      v.state = position !== undefined && v.record < position ? 'verified' : 'pending';
      continue;
    }
    const commitment = mrImaCommitment({
      alg: ima.alg,
      salt: ima.salt,
      count: c,
      banks: snaps.at(c)!,
    });
    if (bytesEqual(commitment, tokens[ti]!.value)) {
      v.state = position !== undefined && v.record < position ? 'verified' : 'pending';
      from = c;
      continue;
    }
    v.state = 'mismatch';
    failed = true;
    issues.push({
      // sent from a checkpoint, the first token past it may fail because the list does not
      // continue from the trusted value: the error says which
      code: start !== undefined && from === since ? 'ERR_IMA_DISCONTINUOUS' : 'ERR_REPLAY_MISMATCH',
      message:
        start !== undefined && from === since
          ? `physical record ${v.record}: the IMA entries ${since}..${c - 1} do not fold from the trusted checkpoint's value to the mr_ima commitment for ${c} entries (the list does not continue from it, or one of these entries differs)`
          : `physical record ${v.record}: the mr_ima commitment for ${c} entries does not follow from the IMA list (the difference is in entries ${from}..${c - 1})`,
      record: v.record,
      count: c,
      first_entry: from,
      last_entry: c - 1,
    });
  }
  const f = snaps.failure;
  if (!failed && f !== undefined) {
    failed = true;
    issues.push(
      f.column
        ? {
            // the list would not be what the kernel logged, and IMA tools reading the column
            // disagree
            code: f.code,
            message: `IMA entry ${f.index} (offset ${f.offset}): ${f.message}`,
            entry: f.index,
            offset: f.offset,
          }
        : {
            code: f.code,
            message: `IMA entry ${f.index}: ${f.message}`,
            entry: f.index,
            offset: f.offset,
          },
    );
  }
  // a list of another length is still folded: the tokens then say where it differs
  const lengthIssue: ImaLayerIssue[] = [];
  if (n !== ima.count) {
    lengthIssue.push({
      code: 'ERR_REPLAY_MISMATCH',
      message: `the IMA list holds ${n} entries, ima_log.count says ${ima.count}`,
      entries: n,
      count: ima.count,
    });
  }
  if (!failed && ti < views.length) {
    const v = views[ti]!;
    failed = true;
    issues.push({
      code: 'ERR_REPLAY_MISMATCH',
      message: `physical record ${v.record}: the mr_ima token counts ${v.count} entries, the IMA list ends after ${n} (the difference is in entries ${from}..${v.count - 1})`,
      record: v.record,
      count: v.count,
      first_entry: from,
      last_entry: v.count - 1,
    });
  }
  const last = views[views.length - 1];
  // continued from the checkpoint with no token in the window: nothing was mirrored since the
  // physical checkpoint the window starts at, so the list must be exactly the checkpoint's
  const none = last === undefined && start !== undefined;
  if (!failed && (last?.count ?? (none ? since : 0)) !== ima.count) {
    failed = true;
    issues.push({
      code: 'ERR_BINDING_MISMATCH',
      message:
        last === undefined
          ? `the physical log has no mr_ima token: none commits to the ${ima.count} entries of ima_log`
          : `the last mr_ima token counts ${last.count} entries, ima_log.count says ${ima.count}`,
      count: ima.count,
    });
  }
  if (!failed && atCount !== undefined) {
    banks.forEach((b, i) => {
      const given = ima.banks.get(b);
      if (given === undefined || !bytesEqual(given, atCount[i]!)) {
        failed = true;
        issues.push({
          code: 'ERR_BINDING_MISMATCH',
          message: `ima_log.banks.${b} is not the fold of the ${ima.count} entries`,
          bank: b,
          given: given === undefined ? null : toHex(given),
          replayed: toHex(atCount[i]!),
        });
      }
    });
  }
  issues.unshift(...lengthIssue);
  if (lengthIssue.length > 0) failed = true;
  const verified = failed || target === undefined ? 0 : target;
  const list = new ImaEntryList(ima.data, n, Math.min(verified, n), since);
  let events: ImaEventView[] | undefined;
  return {
    vmr: ima.vmr,
    alg: ima.alg,
    count: ima.count,
    entries: n,
    verified,
    pending: n - verified,
    banks: failed
      ? {}
      : Object.fromEntries(
          banks.map((b, i) => [b, toHex((atTarget ?? new ImaBankFold(banks).values())[i]!)]),
        ),
    tokens: views,
    since,
    checkpoint: meet.use,
    get events(): readonly ImaEventView[] {
      return (events ??= [...list]);
    },
    list,
    issues,
  };
}

/**
 * How an ima bundle's list meets the trusted IMA checkpoint (see `imaStartFor`): the start its
 * fold must use. The bundle verifier folds with the same start on worker threads.
 */
export function imaLayerStart(ima: BundleImaLog, checkpoint: ImaCheckpoint | undefined): ImaStart {
  return imaStartFor(ima.since ?? 0, checkpoint, mrImaBankAlgs(ima.alg), ima.salt);
}

function eventView(v: ImaRecordView, verified: boolean, index: number): ImaEventView {
  const f = imaViewFileFields(v);
  return {
    index,
    offset: v.offset,
    template: v.templateName,
    path: f.path,
    digest_alg: f.digestAlg,
    digest: f.digest,
    ...(f.signature === undefined ? {} : { signature: toHex(f.signature) }),
    ...(f.buf === undefined ? {} : { buf: toHex(f.buf) }),
    ...(v.violation ? { violation: true as const } : {}),
    state: verified ? 'verified' : 'pending',
  };
}

/**
 * An ima bundle's verify result with `claims.events` cut to the entries that are not verified
 * (`events_listed: "unverified"`), as `evidence verify --json` prints it and the verifier
 * service stores it: a million entries as JSON are ~300 MB. Any other result is returned as is.
 */
export function withUnverifiedImaEvents<
  T extends { readonly claims: Readonly<Record<string, unknown>> },
>(r: T): T {
  const list = imaEntryListOf(r);
  if (list === undefined) return r;
  const claims: Record<string, unknown> = {};
  // own keys, not a spread: a spread would build every event through the claims' getter
  for (const k of Object.keys(r.claims)) {
    if (k !== 'events') claims[k] = r.claims[k];
    else {
      claims['events'] = [...list.views(list.verified)];
      claims['events_listed'] = 'unverified';
    }
  }
  return { ...r, claims };
}

/**
 * The entries of an ima bundle's verify result as a list decoded on demand (the entries of
 * `claims.events`, without building them all); undefined for any other result.
 */
export function imaEntryListOf(r: {
  readonly claims: Readonly<Record<string, unknown>>;
}): ImaEntryList | undefined {
  const l = (r.claims as Readonly<Record<symbol, unknown>>)[IMA_ENTRY_LIST];
  return l instanceof ImaEntryList ? l : undefined;
}
