/**
 * The `ima-binary` and `ima-ascii` log formats (IMA runtime measurement lists; see
 * `formats/ima/`). Each entry becomes an `ima` event of `pcr<N>` (the PCR field of the entry,
 * PCR10 in the default policy) carrying, in the list's bank, the digest replay extends: the
 * logged template hash, or all ones for a violation (whose logged hash is all zeros — kept in
 * `templateHash`). Template hashes are checked against the template data (`checkDigest`).
 * Read and write; converts losslessly to and from CEL (`ima_template` content).
 *
 * @module
 */
import { hashEquals } from '../crypto/hash.js';
import { hashAlgFromId, hashAlgId, type HashAlg } from '../crypto/hash_alg.js';
import { ParseError } from '../errors.js';
import { ImaAsciiReader, banksForHashHex, formatImaAsciiLine } from '../formats/ima/ima_ascii.js';
import {
  ImaBinaryReader,
  ImaBinaryScanner,
  detectImaBinaryLayout,
  encodeImaBinaryEntry,
  type ImaRecordView,
} from '../formats/ima/ima_binary.js';
import { IMA_PCR, ImaFold, imaExtendedDigest } from '../formats/ima/ima_fold.js';
import { bytesEqual } from '../bytes/hex.js';
import {
  imaEntryDetails,
  imaTemplateHashInput,
  isAllZero,
  type ImaEntry,
} from '../formats/ima/ima_template.js';
import type { AnyIterable, EventBase, LogEvent } from './event.js';
import {
  flattenBatches,
  type DigestCheck,
  type LogFormat,
  type LogParseOptions,
  type LogReplayOptions,
} from './log_format.js';
import type { Replay } from './replay.js';

/** An IMA measurement-list entry as an event. */
export interface ImaEvent extends EventBase {
  readonly kind: 'ima';
  /** The bank of the list's template-hash column. */
  readonly bank: HashAlg;
  /** The entry as logged (template hash, name, data, byte order). */
  readonly entry: ImaEntry;
  /** True for a violation: logged hash all zeros, all ones extended. */
  readonly violation: boolean;
}

declare module './event.js' {
  interface EventKindMap {
    ima: ImaEvent;
  }
}

/**
 * The bank of a template-hash column from one entry: a 32-byte column is SHA-256 unless the
 * entry's template hash is SM3's (neither a binary nor an ascii list names its bank).
 */
function columnBank(e: ImaEntry): HashAlg {
  const banks = banksForHashHex(e.templateHash.length * 2);
  if (banks.length === 1 || isAllZero(e.templateHash)) return banks[0]!;
  const input = imaTemplateHashInput(e);
  return banks.find((b) => hashEquals(b, input, e.templateHash)) ?? banks[0]!;
}

function toEvent(
  e: ImaEntry,
  bank: HashAlg,
  logName: string,
  format: string,
  length: number,
  opts: LogParseOptions = {},
): ImaEvent {
  const violation = isAllZero(e.templateHash);
  // what the one IMA fold extends per bank (the events replay as ImaFold folds the list)
  const mode = opts.imaBankMode;
  const digests = new Map<HashAlg, Uint8Array>([[bank, imaExtendedDigest(e, bank, bank, mode)]]);
  for (const alg of opts.imaBanks ?? []) {
    if (alg !== bank) digests.set(alg, imaExtendedDigest(e, alg, bank, mode));
  }
  return {
    kind: 'ima',
    index: e.index,
    register: `pcr${e.pcr}`,
    digests,
    extend: true,
    // One object shape per format (no spread): replay reads these for every event.
    source:
      format === 'ima-ascii'
        ? { log: logName, format, offset: e.offset, length, line: e.offset }
        : { log: logName, format, offset: e.offset, length },
    bank,
    entry: e,
    violation,
  };
}

/** A binary list's events, a batch per input chunk (see `LogFormat.parseBatches`). */
async function* binaryBatches(
  input: AnyIterable<Uint8Array>,
  opts: LogParseOptions = {},
): AsyncIterable<readonly LogEvent[]> {
  const logName = opts.logName ?? '-';
  const rd = new ImaBinaryReader(opts.limits === undefined ? {} : { limits: opts.limits });
  let bank: HashAlg | undefined;
  for await (const chunk of input) {
    const entries = rd.push(chunk);
    if (entries.length === 0) continue;
    bank ??= columnBank(entries.find((e) => !isAllZero(e.templateHash)) ?? entries[0]!);
    const b = bank;
    yield entries.map((e) => {
      const len = 12 + e.templateHash.length + e.templateName.length + e.templateData.length;
      return toEvent(e, b, logName, 'ima-binary', len, opts);
    });
  }
  rd.end();
}

/** An ascii list's events, a batch per input chunk. */
async function* asciiBatches(
  input: AnyIterable<Uint8Array>,
  opts: LogParseOptions = {},
): AsyncIterable<readonly LogEvent[]> {
  const logName = opts.logName ?? '-';
  const rd = new ImaAsciiReader(opts.limits === undefined ? {} : { limits: opts.limits });
  let bank: HashAlg | undefined;
  const emit = (entries: readonly ImaEntry[]): ImaEvent[] => {
    // The column's bank is told by the first entry that is not a violation (a violation's
    // all-zero hash verifies in no bank): boot_aggregate of a TPM-less boot often is one.
    bank ??= columnBank(entries.find((e) => !isAllZero(e.templateHash)) ?? entries[0]!);
    const b = bank;
    return entries.map((e) => toEvent(e, b, logName, 'ima-ascii', 0, opts));
  };
  for await (const chunk of input) {
    const entries = rd.push(chunk);
    if (entries.length > 0) yield emit(entries);
  }
  const rest = rd.end();
  if (rest.length > 0) yield emit(rest);
}

/** Leading violations held while a 32-byte column's bank (sha256 or sm3) is not yet told. */
const MAX_HELD_VIOLATIONS = 1024;

/**
 * Replays an IMA list into `replay` with the one IMA fold ({@link ImaFold}), as replaying its
 * events would: per register, the column's bank extends the logged template hash (all ones for a
 * violation) and every other bank of `imaBanks` its own rule; a template hash that is not the
 * hash of its data is an `ERR_EVENT_DIGEST_MISMATCH` warning. A binary list is read in place
 * (no object per entry).
 */
async function replayIma(
  kind: 'ima-binary' | 'ima-ascii',
  input: AnyIterable<Uint8Array>,
  replay: Replay,
  opts: LogReplayOptions,
): Promise<void> {
  const logName = opts.logName ?? '-';
  const limits = opts.limits === undefined ? {} : { limits: opts.limits };
  let fold: ImaFold | undefined;
  const held: ImaEntry[] = [];
  const start = (column: HashAlg): ImaFold => {
    const want = [column, ...(opts.imaBanks ?? []).filter((b) => b !== column)];
    const only = opts.banks;
    const f = new ImaFold({
      banks: only === undefined ? want : want.filter((b) => only.includes(b)),
      column,
      columnExtends: 'logged',
      mode: opts.imaBankMode ?? 'per-bank',
      columnCheck: opts.checkDigests === false ? 'off' : 'always',
      rule: 'log',
      initial: (pcr, alg) => replay.value(`pcr${pcr}`, alg),
    });
    fold = f;
    for (const e of held.splice(0)) f.push(e);
    return f;
  };
  const warn = (index: number, offset: number, pcr: number): void => {
    opts.onWarning?.({
      code: 'ERR_EVENT_DIGEST_MISMATCH',
      message: `record ${index} (pcr${pcr}): the logged digest is not the hash of the event data`,
      log: logName,
      offset,
      index,
      register: `pcr${pcr}`,
    });
  };
  // The column's bank: unique by size but for 32 bytes (sha256 or sm3), told by the first entry
  // that is not a violation (whose all-zero hash verifies in no bank).
  const foldFor = (
    hashSize: number,
    violation: boolean,
    entry: () => ImaEntry,
  ): ImaFold | undefined => {
    if (fold !== undefined) return fold;
    const banks = banksForHashHex(2 * hashSize);
    if (banks.length === 1) return start(banks[0]!);
    if (!violation || held.length >= MAX_HELD_VIOLATIONS) return start(columnBank(entry()));
    return undefined;
  };
  const onEntry = opts.onImaEntry;
  // prefix matching: entries folded until PCR 10 holds the quoted values, counted after that
  const until = opts.imaUntil;
  let prefix: number | undefined;
  let after = 0;
  if (until !== undefined) {
    const at0 = [...until.values].every(([alg, v]) => bytesEqual(replay.value('pcr10', alg), v));
    if (at0 && until.values.size > 0) prefix = 0;
  }
  const reached = (f: ImaFold, pcr: number, folded: number): void => {
    if (until !== undefined && pcr === IMA_PCR && f.pcr10Is(until.values)) prefix = folded;
  };
  let seen = 0;
  const visit = (v: ImaRecordView): void => {
    if (prefix !== undefined) {
      after++;
      return;
    }
    seen++;
    onEntry?.(v.entry());
    const f = foldFor(v.hashSize, v.violation, () => v.entry());
    if (f === undefined) held.push(v.entry());
    else {
      if (!f.pushView(v)) warn(v.index, v.offset, v.pcr);
      reached(f, v.pcr, seen);
    }
  };
  const take = (e: ImaEntry): void => {
    if (prefix !== undefined) {
      after++;
      return;
    }
    seen++;
    onEntry?.(e);
    const f = foldFor(e.templateHash.length, isAllZero(e.templateHash), () => e);
    if (f === undefined) held.push(e);
    else {
      if (!f.push(e)) warn(e.index, e.offset, e.pcr);
      reached(f, e.pcr, seen);
    }
  };
  try {
    if (kind === 'ima-binary') {
      const sc = new ImaBinaryScanner(limits);
      for await (const chunk of input) sc.pushEach(chunk, visit);
      sc.end();
    } else {
      const rd = new ImaAsciiReader(limits);
      for await (const chunk of input) for (const e of rd.push(chunk)) take(e);
      for (const e of rd.end()) take(e);
    }
    if (held.length > 0) start(columnBank(held[0]!));
    if (prefix !== undefined) until?.onPrefix?.(prefix, after);
  } finally {
    // records before an error are replayed (a partial tail may be allowed by the caller)
    const f = fold;
    if (f !== undefined) {
      replay.addReplayed(
        logName,
        f.count,
        f.registers().map((r) => ({
          register: `pcr${r.pcr}`,
          values: r.values,
          extended: r.entries,
          lastIndex: r.lastIndex,
        })),
      );
    }
  }
}

/** An IMA entry from an event of a format that can carry one losslessly (IMA, CEL ima_template). */
export function imaEntryOfEvent(e: LogEvent, target: string): { entry: ImaEntry; bank: HashAlg } {
  if (e.kind === 'ima') return { entry: e.entry, bank: e.bank };
  if (
    e.kind === 'cel' &&
    e.record.content.type === 'ima_template' &&
    e.record.register.kind === 'pcr'
  ) {
    const r = e.record;
    const c = e.record.content;
    const d = r.digests[0];
    const alg = d === undefined ? undefined : hashAlgFromId(d.algId);
    if (r.digests.length === 1 && alg !== undefined) {
      return {
        entry: {
          index: e.index,
          offset: e.source.offset,
          pcr: r.register.index,
          templateHash: d!.digest,
          templateName: c.templateName,
          templateData: c.templateData,
          littleEndian: true,
        },
        bank: alg,
      };
    }
  }
  throw new ParseError({
    code: 'ERR_LOSSY_CONVERSION',
    format: target === 'ima-ascii' ? 'ima-ascii' : 'ima-binary',
    offset: e.source.offset,
    field: `event[${e.index}]`,
    expected: 'IMA entries (or CEL ima_template records with one digest)',
    actual: `a ${e.kind} event from ${e.source.format}`,
  });
}

function checkImaDigest(e: LogEvent): DigestCheck {
  if (e.kind !== 'ima' || e.violation) return 'n/a';
  return hashEquals(e.bank, imaTemplateHashInput(e.entry), e.entry.templateHash)
    ? 'match'
    : 'mismatch';
}

function describeIma(e: LogEvent): Record<string, unknown> {
  if (e.kind !== 'ima') return {};
  let fields: Record<string, unknown>;
  try {
    fields = imaEntryDetails(e.entry, e.source.format === 'ima-ascii' ? 'ima-ascii' : 'ima-binary');
  } catch {
    fields = {};
  }
  return {
    template_name: e.entry.templateName,
    template_hash: e.entry.templateHash,
    ...(e.violation ? { violation: true } : {}),
    ...fields,
  };
}

/** The `ima-binary` format. */
export const imaBinaryFormat: LogFormat = {
  id: 'ima-binary',
  description: 'IMA binary_runtime_measurements (any template, any bank, either byte order)',
  detect(head: Uint8Array): number {
    try {
      detectImaBinaryLayout(head);
      return 80;
    } catch {
      return 0;
    }
  },
  parseBatches: binaryBatches,
  parse(input: AnyIterable<Uint8Array>, opts: LogParseOptions = {}): AsyncIterable<LogEvent> {
    return flattenBatches(binaryBatches(input, opts));
  },
  async *encode(events: AnyIterable<LogEvent>): AsyncIterable<Uint8Array> {
    for await (const e of events)
      yield encodeImaBinaryEntry(imaEntryOfEvent(e, 'ima-binary').entry);
  },
  describe: describeIma,
  checkDigest: checkImaDigest,
  typeName(e: LogEvent): string | undefined {
    return e.kind === 'ima' ? e.entry.templateName : undefined;
  },
  replay(input: AnyIterable<Uint8Array>, replay: Replay, opts: LogReplayOptions): Promise<void> {
    return replayIma('ima-binary', input, replay, opts);
  },
};

const ASCII_HEAD = /^ ?[0-9]{1,10} [0-9a-fA-F]{40,128} [\x21-\x7e]+ /;

/** The `ima-ascii` format. */
export const imaAsciiFormat: LogFormat = {
  id: 'ima-ascii',
  description: 'IMA ascii_runtime_measurements (any template, any bank)',
  detect(head: Uint8Array): number {
    const text = new TextDecoder('latin1').decode(head.subarray(0, 512));
    return ASCII_HEAD.test(text) ? 80 : 0;
  },
  parseBatches: asciiBatches,
  parse(input: AnyIterable<Uint8Array>, opts: LogParseOptions = {}): AsyncIterable<LogEvent> {
    return flattenBatches(asciiBatches(input, opts));
  },
  async *encode(events: AnyIterable<LogEvent>): AsyncIterable<Uint8Array> {
    const enc = new TextEncoder();
    for await (const e of events) {
      yield enc.encode(`${formatImaAsciiLine(imaEntryOfEvent(e, 'ima-ascii').entry)}\n`);
    }
  },
  describe: describeIma,
  checkDigest: checkImaDigest,
  typeName(e: LogEvent): string | undefined {
    return e.kind === 'ima' ? e.entry.templateName : undefined;
  },
  replay(input: AnyIterable<Uint8Array>, replay: Replay, opts: LogReplayOptions): Promise<void> {
    return replayIma('ima-ascii', input, replay, opts);
  },
};

/** TPM_ALG_ID of an IMA event's bank (for CEL conversion). */
export function imaBankAlgId(e: ImaEvent): number {
  return hashAlgId(e.bank);
}
