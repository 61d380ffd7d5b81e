/**
 * keylime's IMA semantics over a measurement list (DESIGN §6.3): an entry passes when its path
 * is excluded, its file digest is allowed for its path, or its `ima-sig` signature verifies
 * with a trusted key; `ima-buf` entries are judged against keyrings and `ima_buf` rules. Unlike
 * keylime with no policy at all, an entry nothing vouches for always fails (`ima.file.unknown`):
 * with neither allowlist nor keys every file is unknown.
 *
 * Entries come from the one IMA engine in `src/eventlog/ima_format.ts` ({@link imaRecordOf}).
 *
 * @module
 */
import { createHash, createPublicKey } from 'node:crypto';
import { MrstackError } from '../../errors.js';
import type { ImaEvent } from '../../eventlog/ima_format.js';
import { imaFileFields } from '../../formats/ima/ima_file_fields.js';
import { isAllZero, type ImaEntry } from '../../formats/ima/ima_template.js';
import {
  ImaBinaryScanner,
  imaBinaryMaxRecords,
  type ImaRecordView,
} from '../../formats/ima/ima_binary.js';
import { imaNgSpans, type ImaNgSpans } from '../../formats/ima/ima_file_fields.js';
import type { ImaCounts, ImaInput, ImaRecord, ImaVerdictsAhead } from './appraisal_input.js';
import type { Finding, FindingId } from './finding.js';
import { findingIdInfo } from './finding.js';
import { pathHash, type CompiledIma, type CompiledPolicy } from './policy.js';
import {
  checkImaSignature,
  imaKeyidOfKey,
  imaSigningKeysOf,
  type ImaSigningKey,
} from '../verify/ima_signature.js';

/** The appraisal view of one IMA event (fields split once). */
export function imaRecordOf(e: ImaEvent): ImaRecord {
  return imaRecordOfEntry(e.entry, e.source.format === 'ima-ascii' ? 'ima-ascii' : 'ima-binary');
}

/** The appraisal view of one IMA entry of a list in `format` (fields split once). */
export function imaRecordOfEntry(e: ImaEntry, format: 'ima-binary' | 'ima-ascii'): ImaRecord {
  return {
    record: e.index,
    offset: e.offset,
    template: e.templateName,
    ...imaFileFields(e, format),
    violation: isAllZero(e.templateHash),
  };
}

/**
 * The ima-sig keys in key material — policy `ima.keys` strings (PEM, or base64 DER), `--ima-key`
 * files, an `ima-buf` keyring entry (a DER certificate): PEM public keys and certificates, DER
 * certificates, DER SubjectPublicKeyInfo. Key ids follow the kernel and evmctl
 * ({@link imaSigningKeysOf}): a certificate's subjectKeyIdentifier, else SHA-1 of the key.
 * @throws ParseError / a node:crypto error for material that holds no key
 */
export function imaKeysOf(material: string | Uint8Array, label: string): ImaSigningKey[] {
  const bytes =
    typeof material === 'string'
      ? Buffer.from(material, material.includes('-----BEGIN') ? 'utf8' : 'base64')
      : Buffer.from(material);
  if (bytes.toString('latin1', 0, Math.min(bytes.length, 4096)).includes('-----BEGIN'))
    return imaSigningKeysOf(bytes, label);
  try {
    return imaSigningKeysOf(bytes, label); // DER certificate(s)
  } catch (e) {
    if (!(e instanceof MrstackError)) throw e;
  }
  const key = createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  return [{ keyid: imaKeyidOfKey(key), key, label }];
}

function fail(
  policy: CompiledPolicy,
  id: FindingId,
  input: ImaInput,
  r: ImaRecord,
  expected: unknown,
  message: string,
): Finding {
  return {
    id,
    status: policy.status(id, findingIdInfo(id).status),
    claim: r.path,
    ...(expected === undefined ? {} : { expected }),
    actual: `${r.digestAlg}:${r.digest}`,
    where: { layer: 'ima', log: input.log, record: r.record, offset: r.offset },
    message,
  };
}

/** A list's verdict counts and failing findings. */
export interface ImaJudgement {
  readonly counts: ImaCounts;
  readonly failures: Finding[];
}

/**
 * Judges every entry of one list.
 * @param extraKeys keys given by the caller (`--ima-key`)
 * @param onKeyLearned called with the buffer of each keyring entry the policy accepted
 */
export function judgeImaList(
  input: ImaInput,
  policy: CompiledPolicy,
  extraKeys: readonly ImaSigningKey[],
  onKeyLearned?: (buf: Uint8Array) => void,
): ImaJudgement {
  const ima: CompiledIma = policy.ima;
  const keys: ImaSigningKey[] = [
    ...ima.keys.flatMap((k, i) => imaKeysOf(k, `policy ima.keys[${i}]`)),
    ...extraKeys,
  ];
  const failures: Finding[] = [];
  let entries = 0;
  let matched = 0;
  let signed = 0;
  let excluded = 0;
  let unknown = 0;
  let mismatched = 0;
  let violations = 0;
  const allIgnored = ima.ignoredKeyrings.has('*');
  const watch = input.watch;
  // one entry through every rule, in keylime's order
  const judge = (r: ImaRecord): void => {
    if (watch?.paths.has(r.path) === true) watch.seen(r.path, r.record);
    if (r.violation) {
      violations++;
      failures.push(
        fail(policy, 'ima.violation', input, r, undefined, `measurement violation for ${r.path}`),
      );
      return;
    }
    if (ima.excluded(r.path)) {
      excluded++;
      return;
    }
    if (r.template === 'ima-buf') {
      const ring = ima.keyrings.get(r.path);
      if (ring !== undefined || ima.ignoredKeyrings.has(r.path) || allIgnored) {
        if (allIgnored || ima.ignoredKeyrings.has(r.path)) {
          excluded++;
          return;
        }
        const h =
          r.digestAlg === 'sha256' || r.buf === undefined
            ? r.digest
            : createHash('sha256').update(r.buf).digest('hex');
        if (ring!.has(h)) {
          matched++;
          // a key accepted on a keyring vouches for later ima-sig signatures (keylime)
          if (r.buf !== undefined) {
            onKeyLearned?.(r.buf);
            try {
              keys.push(...imaKeysOf(r.buf, `keyring ${r.path}`));
            } catch {
              // not a key this runtime reads (an X.509 certificate, say): nothing to add
            }
          }
          return;
        }
        unknown++;
        failures.push(
          fail(
            policy,
            'ima.buf.unknown',
            input,
            r,
            [...ring!].slice(0, 8),
            `key on keyring ${r.path} is not allowed`,
          ),
        );
        return;
      }
      const bufs = ima.imaBuf.get(r.path);
      if (bufs?.has(r.digest) === true) {
        matched++;
        return;
      }
      unknown++;
      failures.push(
        fail(
          policy,
          'ima.buf.unknown',
          input,
          r,
          bufs === undefined ? undefined : [...bufs].slice(0, 8),
          `ima-buf ${r.path} is not allowed`,
        ),
      );
      return;
    }
    // One checker for verify and appraisal: the key the header's key id names, as the kernel
    // (request_asymmetric_key by id), evmctl and keylime select it — no other key is tried.
    if (
      r.signature !== undefined &&
      keys.length > 0 &&
      checkImaSignature(r.signature, r.digestAlg, Buffer.from(r.digest, 'hex'), keys).status ===
        'verified'
    ) {
      signed++;
      return;
    }
    // the common case answered in place (policy cache table), the list built only to report
    if (ima.digests.allows?.(r.path, r.digest) === true) {
      matched++;
      return;
    }
    const allowed = ima.digests.get(r.path);
    if (allowed === undefined) {
      unknown++;
      failures.push(
        fail(
          policy,
          r.signature !== undefined && keys.length > 0
            ? 'ima.file.signature-invalid'
            : 'ima.file.unknown',
          input,
          r,
          undefined,
          `${r.path} is not in the allowlist`,
        ),
      );
    } else if (allowed.includes(r.digest)) {
      matched++;
    } else {
      mismatched++;
      failures.push(
        fail(
          policy,
          'ima.file.digest-mismatch',
          input,
          r,
          allowed.slice(0, 8),
          `${r.path} has a digest the allowlist does not list`,
        ),
      );
    }
  };
  const records = input.records;
  if (records === undefined) {
    for (const r of input.entries) {
      entries++;
      judge(r);
    }
  } else {
    // Plain ima-ng entries from their bytes: an allowed digest (or an excluded path) is the
    // verdict judge() would give, with no string or object made; any other entry, and any entry
    // that would fail, goes through judge() as `entries` gives it — the same findings. Verdicts
    // computed ahead (while the list was being verified) are read instead of the bytes.
    const ahead = input.ahead;
    const usable =
      ahead !== undefined && [...(watch?.paths ?? [])].every((p) => ahead.watched.has(p));
    const fast = new FastVerdicts(policy, watch?.paths ?? []);
    const at: ImaNgSpans = { pathAt: 0, pathEnd: 0, digestAt: 0, digestEnd: 0 };
    // every verdict ahead an allowed digest or an excluded path (no watched path): the counts
    // are those verdicts', and the list is not read again
    const tally = usable ? tallyAhead(ahead, records.first, records.end) : undefined;
    if (tally !== undefined) {
      entries += tally.matched + tally.excluded;
      matched += tally.matched;
      excluded += tally.excluded;
    } else
      records.each((v, index) => {
        entries++;
        const k = usable ? (ahead.of[index - ahead.base] ?? OTHER) : fast.of(v);
        const verdict = k & 3;
        if (verdict === OTHER) {
          judge(records.record(v));
          return;
        }
        if (verdict === MATCHED) matched++;
        else excluded++;
        if ((k & WATCHED) !== 0 && watch !== undefined && imaNgSpans(v, at)) {
          const path = latin1Slice.call(v.bytes, at.pathAt, at.pathEnd);
          if (watch.paths.has(path)) watch.seen(path, index);
        }
      });
  }
  return {
    counts: { entries, matched, signed, excluded, unknown, mismatched, violations },
    failures,
  };
}

/** Verdicts of {@link FastVerdicts}: `OTHER` leaves the entry to the full rules. */
const OTHER = 0;
const MATCHED = 1;
const EXCLUDED = 2;

/** Buffer's latin1 and hex writers, called on a range of any Uint8Array (no Buffer made). */
type Slice = (this: Uint8Array, from: number, to: number) => string;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: Slice }).latin1Slice;
const hexSlice = (Buffer.prototype as unknown as { hexSlice: Slice }).hexSlice;

/**
 * The counts of the verdicts ahead of entries `[first, end)` when every one is an allowed digest
 * or an excluded path (nothing to judge in full, no watched path); undefined otherwise.
 */
function tallyAhead(
  ahead: ImaVerdictsAhead,
  first: number | undefined,
  end: number | undefined,
): { matched: number; excluded: number } | undefined {
  if (first === undefined || end === undefined) return undefined;
  const from = first - ahead.base;
  const to = end - ahead.base;
  if (from < 0 || to > ahead.of.length) return undefined;
  let matched = 0;
  let excluded = 0;
  for (let i = from; i < to; i++) {
    const k = ahead.of[i];
    if (k === MATCHED) matched++;
    else if (k === EXCLUDED) excluded++;
    else return undefined;
  }
  return { matched, excluded };
}

/** A verdict's flag: the path's hash is a watched path's (the consumer compares the path). */
const WATCHED = 4;

/**
 * The verdict of the IMA rules on a record read in place, when it is a plain `ima-ng` entry
 * ({@link imaNgSpans}) with an ASCII path that is excluded or whose digest the allowlist lists
 * — the path then is the same text the full rules decode, the digest the same hex, and nothing
 * before those rules applies to an `ima-ng` entry (no signature, not `ima-buf`, no violation).
 * `OTHER` for every other record, so anything unusual or failing is judged in full. `WATCHED`
 * is added when the path's hash is that of one of `watched` (the caller then compares it).
 * Pure: a function of the policy and the record's bytes.
 */
class FastVerdicts {
  readonly #ima: CompiledIma;
  readonly #excludes: boolean;
  /** A watched path is made into text only when its hash is a watched one's. */
  readonly #hashes = new Set<number>();
  readonly #at: ImaNgSpans = { pathAt: 0, pathEnd: 0, digestAt: 0, digestEnd: 0 };

  constructor(policy: CompiledPolicy, watched: Iterable<string>) {
    this.#ima = policy.ima;
    this.#excludes = (policy.policy.ima?.excludes?.length ?? 0) > 0;
    for (const p of watched) {
      const b = Buffer.from(p, 'utf8');
      this.#hashes.add(pathHash(b, 0, b.length));
    }
  }

  /** The verdict of one record. */
  of(v: ImaRecordView): number {
    const at = this.#at;
    const hash = this.spans(v, at);
    return hash < 0 ? OTHER : this.decide(v.bytes, at, hash);
  }

  /**
   * The spans of a record the fast rules may judge (a plain `ima-ng` entry, no violation, an
   * ASCII path) into `at`, and its path's {@link pathHash}; -1 for any other record (`OTHER`).
   */
  spans(v: ImaRecordView, at: ImaNgSpans): number {
    if (!imaNgSpans(v, at) || v.violation) return -1;
    // pathHash (FNV-1a over the path's bytes) in the same pass as the ASCII test
    const b = v.bytes;
    let high = 0;
    let h = 0x811c9dc5;
    for (let i = at.pathAt; i < at.pathEnd; i++) {
      const c = b[i]!;
      high |= c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    if (high > 0x7f) return -1; // not ASCII: the full rules decode it as UTF-8
    return h >>> 0;
  }

  /** The verdict of a record {@link FastVerdicts.spans} took, its spans in `b`. */
  decide(b: Uint8Array, at: ImaNgSpans, hash: number): number {
    const { pathAt, pathEnd, digestAt, digestEnd } = at;
    const ima = this.#ima;
    const digests = ima.digests;
    let verdict = OTHER;
    if (this.#excludes && ima.excluded(latin1Slice.call(b, pathAt, pathEnd))) verdict = EXCLUDED;
    else if (digests.allowsBytes !== undefined) {
      if (digests.allowsBytes(b, pathAt, pathEnd, hash, digestAt, digestEnd) === true)
        verdict = MATCHED;
    } else {
      const path = latin1Slice.call(b, pathAt, pathEnd);
      const digest = hexSlice.call(b, digestAt, digestEnd);
      if (digests.allows?.(path, digest) === true || digests.get(path)?.includes(digest) === true)
        verdict = MATCHED;
    }
    return verdict !== OTHER && this.#hashes.has(hash) ? verdict | WATCHED : verdict;
  }

  /**
   * Readies the lookups of a batch of paths by their hashes ({@link DigestLookup.prefetch}), so
   * that their cache misses overlap.
   */
  prefetch(hashes: Uint32Array, count: number): void {
    this.#ima.digests.prefetch?.(hashes, count);
  }
}

/** Records a verdict pass holds back, to look their paths up together ({@link imaVerdictsAhead}). */
const BATCH = 64;

/**
 * The in-place verdicts of every entry of a binary IMA list whose first entry has index `base`,
 * computed before the list is verified — on the thread that would otherwise wait for the fold's
 * workers — for {@link judgeImaList} to read instead of the entries' bytes (given as
 * {@link ImaInput.ahead}; it judges only the verified entries, and every other verdict as
 * before). Nothing is reported here; undefined for a list that does not parse.
 *
 * The verdicts are those {@link FastVerdicts.of} gives one record at a time; the records the
 * fast rules may judge are held back {@link BATCH} at a time and their paths looked up together
 * (a million-path table is read at random: one path at a time, each lookup waits for memory).
 */
export function imaVerdictsAhead(
  policy: CompiledPolicy,
  data: Uint8Array,
  base: number,
): ImaVerdictsAhead | undefined {
  const watched = new Set(policy.policy.ima?.agent_files ?? []);
  const fast = new FastVerdicts(policy, watched);
  const of = new Uint8Array(imaBinaryMaxRecords(data.length));
  // per record held back: its index and spans, as positions in `data`, and its path's hash
  const index = new Float64Array(BATCH);
  const spans = new Int32Array(4 * BATCH);
  const hashes = new Uint32Array(BATCH);
  const at: ImaNgSpans = { pathAt: 0, pathEnd: 0, digestAt: 0, digestEnd: 0 };
  let held = 0;
  const flush = (): void => {
    fast.prefetch(hashes, held);
    for (let j = 0; j < held; j++) {
      at.pathAt = spans[4 * j]!;
      at.pathEnd = spans[4 * j + 1]!;
      at.digestAt = spans[4 * j + 2]!;
      at.digestEnd = spans[4 * j + 3]!;
      of[index[j]! - base] = fast.decide(data, at, hashes[j]!);
    }
    held = 0;
  };
  // the list is scanned in one piece, so its records are read where they lie in `data` (a
  // scanner given slices copies them): each one's positions are then those in `data`
  const small = data.length < 2 ** 31;
  const from = data.byteOffset;
  const to = from + data.length;
  try {
    new ImaBinaryScanner().pushEach(data, (v) => {
      const i = base + v.index;
      const b = v.bytes;
      if (
        !small ||
        b.buffer !== data.buffer ||
        b.byteOffset < from ||
        b.byteOffset + b.length > to
      ) {
        of[i - base] = fast.of(v);
        return;
      }
      const hash = fast.spans(v, at);
      if (hash < 0) {
        of[i - base] = OTHER;
        return;
      }
      const shift = b.byteOffset - data.byteOffset;
      index[held] = i;
      spans[4 * held] = at.pathAt + shift;
      spans[4 * held + 1] = at.pathEnd + shift;
      spans[4 * held + 2] = at.digestAt + shift;
      spans[4 * held + 3] = at.digestEnd + shift;
      hashes[held] = hash;
      if (++held === BATCH) flush();
    });
    flush();
  } catch (e) {
    if (e instanceof MrstackError) return undefined; // the verification reports it
    throw e;
  }
  return { base, of, watched };
}
