/**
 * The `tcg2` log format: TCG PC Client event logs (`binary_bios_measurements`, WBCL), crypto-agile
 * or SHA-1 layout, PCR-indexed. Read and write.
 *
 * @module
 */
import { u32leAt } from '../bytes/reader.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { hashEquals } from '../crypto/hash.js';
import { DIGEST_IS_HASH_OF_DATA, EventType, eventTypeName } from '../formats/tcg2/event_types.js';
import { isSpecIdEvent03 } from '../formats/tcg2/spec_id_event.js';
import { describeTcgEventData } from '../formats/tcg2/event_data.js';
import type { AnyIterable, LogEvent } from './event.js';
import {
  flattenBatches,
  type DigestCheck,
  type LogFormat,
  type LogParseOptions,
  type LogReplayOptions,
} from './log_format.js';
import { ccMrName, pcrName, pcrToCcMrIndex, PCR_INDEX_NONE } from './mr_map.js';
import type { Replay } from './replay.js';
import { replayTcgBatches, TcgFold } from './tcg2_fold.js';
import { encodeTcgRecords, parseTcgRecordBatches, type IndexMapping } from './tcg2_stream.js';

/** The first record's PCR index and event type, and whether it holds a Spec ID Event03. */
export function tcgHead(
  head: Uint8Array,
): { pcr: number; type: number; size: number; specId: boolean; algs: number[] } | undefined {
  if (head.length < 32) return undefined;
  const pcr = u32leAt(head, 0);
  const type = u32leAt(head, 4);
  const size = u32leAt(head, 28);
  const data = head.subarray(32, 32 + size);
  const specId = type === EventType.EV_NO_ACTION && isSpecIdEvent03(data);
  const algs: number[] = [];
  if (specId && data.length >= 28) {
    const n = u32leAt(data, 24);
    for (let i = 0; i < n && 28 + 4 * i + 2 <= data.length; i++) {
      algs.push(data[28 + 4 * i]! | (data[29 + 4 * i]! << 8));
    }
  }
  return { pcr, type, size, specId, algs };
}

/** Whether a PC Client record's digests are the hash of its data: the types the spec says so of. */
export function tcgDigestIsDataHash(eventType: number): boolean {
  return DIGEST_IS_HASH_OF_DATA.has(eventType);
}

/** Whether an event's digests are the hash of its data, for the types where the spec says so. */
export function checkTcgDigest(e: LogEvent): DigestCheck {
  if (e.kind !== 'tcg2' || !tcgDigestIsDataHash(e.untrustedType)) return 'n/a';
  for (const [alg, d] of e.digests) {
    if (!hashEquals(alg, e.data, d)) return 'mismatch';
  }
  return 'match';
}

/** The fold a TCG-record format's `replay` parses with (see {@link TcgFold}). */
export function tcgFold(
  replay: Replay,
  opts: LogReplayOptions,
  digestIsDataHash: (eventType: number, data: Uint8Array) => boolean,
): TcgFold {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  return new TcgFold({
    replay,
    logName: opts.logName ?? '-',
    ...(opts.banks === undefined ? {} : { banks: opts.banks }),
    checkDigests: opts.checkDigests ?? true,
    digestIsDataHash,
    ...(opts.onWarning === undefined ? {} : { onWarning: opts.onWarning }),
    maxDigests: limits.maxDigestsPerEvent,
    maxEventSize: limits.maxRecordSize,
  });
}

function tcgIndexMap(opts: LogParseOptions): (i: number) => IndexMapping {
  const map = opts.pcrMap;
  if (map === undefined) return (i) => ({ register: pcrName(i), extendable: true });
  return (i) => {
    const cc = i === PCR_INDEX_NONE ? undefined : pcrToCcMrIndex(i, map);
    const register = cc === undefined ? undefined : ccMrName(cc);
    return { register, extendable: cc !== undefined && cc !== 0 };
  };
}

/** The `tcg2` format's events in batches (see `LogFormat.parseBatches`). */
function tcg2Batches(
  input: AnyIterable<Uint8Array>,
  opts: LogParseOptions = {},
  fold?: TcgFold,
): AsyncIterable<readonly LogEvent[]> {
  return parseTcgRecordBatches(input, {
    ...(fold === undefined ? {} : { fold }),
    format: 'tcg2',
    logName: opts.logName ?? '-',
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
    mapIndex: tcgIndexMap(opts),
    zeroPadding: false,
    ...(opts.onWarning === undefined ? {} : { onWarning: opts.onWarning }),
  });
}

/** The `tcg2` format. */
export const tcg2Format: LogFormat = {
  id: 'tcg2',
  description: 'TCG PC Client event log (crypto-agile or SHA-1), PCR-indexed',
  detect(head: Uint8Array): number {
    const h = tcgHead(head);
    if (h === undefined) return 0;
    if (h.specId && h.pcr === 0) return 90;
    // SHA-1 layout: a plausible first record (PCR 0–23, a known-looking type, a sane size).
    if (
      h.pcr <= 23 &&
      h.size <= head.length + 16 * 1024 * 1024 &&
      (h.type <= 0x13 || h.type >= 0x80000000)
    ) {
      return h.pcr === 0 ? 40 : 20;
    }
    return 0;
  },
  parseBatches: tcg2Batches,
  parse(input: AnyIterable<Uint8Array>, opts: LogParseOptions = {}): AsyncIterable<LogEvent> {
    return flattenBatches(tcg2Batches(input, opts));
  },
  encode(events: AnyIterable<LogEvent>): AsyncIterable<Uint8Array> {
    return encodeTcgRecords(events, 'tcg2');
  },
  describe(e: LogEvent): Record<string, unknown> {
    return e.kind === 'tcg2' ? describeTcgEventData(e.untrustedType, e.data, e.header) : {};
  },
  checkDigest: checkTcgDigest,
  replay(input: AnyIterable<Uint8Array>, replay: Replay, opts: LogReplayOptions): Promise<void> {
    const fold = tcgFold(replay, opts, tcgDigestIsDataHash);
    return replayTcgBatches(tcg2Batches(input, opts, fold), fold, replay);
  },
  typeName(e: LogEvent): string | undefined {
    return e.kind === 'tcg2' ? eventTypeName(e.untrustedType) : undefined;
  },
};
