/**
 * The `ccel` log format: the confidential-computing event log of TDX (and Hygon CSV) guests,
 * `/sys/firmware/acpi/tables/data/CCEL`. TCG PC Client records whose index is a CC MR index
 * (0 = MRTD, 1–4 = RTMR0–3); the log area is padded with 0xFF (zeros in old TDVF captures)
 * after the last record. CoCo AAEL v2 entries are EV_EVENT_TAG records in it. Read and write
 * (writing drops the padding).
 *
 * @module
 */
import { hashEquals } from '../crypto/hash.js';
import { hashAlgFromId } from '../crypto/hash_alg.js';
import { AAEL_TAGGED_EVENT_ID } from '../formats/tcg2/event_data.js';
import { EventType, eventTypeName } from '../formats/tcg2/event_types.js';
import { describeTcgEventData } from '../formats/tcg2/event_data.js';
import type { AnyIterable, LogEvent } from './event.js';
import {
  flattenBatches,
  type DigestCheck,
  type LogFormat,
  type LogParseOptions,
  type LogReplayOptions,
} from './log_format.js';
import { u32leAt } from '../bytes/reader.js';
import { ccMrName } from './mr_map.js';
import { encodeTcgRecords, parseTcgRecordBatches } from './tcg2_stream.js';
import { tcgDigestIsDataHash, tcgFold, tcgHead } from './tcg2_format.js';
import type { Replay } from './replay.js';
import { replayTcgBatches, type TcgFold } from './tcg2_fold.js';
import { splitAppLine } from './aael_format.js';

/** True when a CCEL record is a CoCo AAEL v2 tagged event. */
export function isAaelV2Record(e: LogEvent): boolean {
  return (
    e.kind === 'tcg2' &&
    e.untrustedType === EventType.EV_EVENT_TAG &&
    e.data.length >= 8 &&
    u32leAt(e.data, 0) === AAEL_TAGGED_EVENT_ID
  );
}

/**
 * Whether a CCEL record's digests are the hash of its data: the PC Client types, and CoCo AAEL
 * v2 tagged events (digest = H(TCG_PCClientTaggedEvent) = H(le32 id ‖ le32 size ‖ text)).
 */
export function ccelDigestIsDataHash(eventType: number, data: Uint8Array): boolean {
  return (
    tcgDigestIsDataHash(eventType) ||
    (eventType === EventType.EV_EVENT_TAG &&
      data.length >= 8 &&
      u32leAt(data, 0) === AAEL_TAGGED_EVENT_ID)
  );
}

function checkCcelDigest(e: LogEvent): DigestCheck {
  if (e.kind !== 'tcg2' || !ccelDigestIsDataHash(e.untrustedType, e.data)) return 'n/a';
  for (const [alg, d] of e.digests) if (!hashEquals(alg, e.data, d)) return 'mismatch';
  return 'match';
}

/** The `ccel` format's events in batches (see `LogFormat.parseBatches`). */
function ccelBatches(
  input: AnyIterable<Uint8Array>,
  opts: LogParseOptions = {},
  fold?: TcgFold,
): AsyncIterable<readonly LogEvent[]> {
  return parseTcgRecordBatches(input, {
    ...(fold === undefined ? {} : { fold }),
    format: 'ccel',
    logName: opts.logName ?? '-',
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
    mapIndex: (i) => {
      const register = ccMrName(i);
      // CC MR index 0 is MRTD: built by the TDX module, never replayed.
      return { register, extendable: register !== undefined && i !== 0 };
    },
    zeroPadding: true,
    ...(opts.onWarning === undefined ? {} : { onWarning: opts.onWarning }),
  });
}

/** The `ccel` format. */
export const ccelFormat: LogFormat = {
  id: 'ccel',
  description:
    'TDX/CSV CC event log (CCEL): TCG records indexed by CC MR (0 = MRTD, 1-4 = RTMR0-3)',
  detect(head: Uint8Array): number {
    const h = tcgHead(head);
    if (!h?.specId) return 0;
    // CCEL headers sit at MR index 1 (TDVF/OVMF) or 0 (old TDVF) and declare one bank; the
    // PC Client logs declare SHA-1/SHA-256 banks at PCR 0.
    if (h.pcr === 1) return 95;
    const single = h.algs.length === 1 ? hashAlgFromId(h.algs[0]!) : undefined;
    if (h.pcr === 0 && (single === 'sha384' || single === 'sm3')) return 92;
    return 0;
  },
  parseBatches: ccelBatches,
  parse(input: AnyIterable<Uint8Array>, opts: LogParseOptions = {}): AsyncIterable<LogEvent> {
    return flattenBatches(ccelBatches(input, opts));
  },
  encode(events: AnyIterable<LogEvent>): AsyncIterable<Uint8Array> {
    return encodeTcgRecords(events, 'ccel');
  },
  describe(e: LogEvent): Record<string, unknown> {
    if (e.kind !== 'tcg2') return {};
    const d = describeTcgEventData(e.untrustedType, e.data, e.header);
    const text = d['aael'];
    if (typeof text === 'string') {
      const parts = splitAppLine(text);
      if (parts !== undefined)
        return { ...d, domain: parts[0], operation: parts[1], content: parts[2] };
    }
    return d;
  },
  checkDigest: checkCcelDigest,
  replay(input: AnyIterable<Uint8Array>, replay: Replay, opts: LogReplayOptions): Promise<void> {
    const fold = tcgFold(replay, opts, ccelDigestIsDataHash);
    return replayTcgBatches(ccelBatches(input, opts, fold), fold, replay);
  },
  typeName(e: LogEvent): string | undefined {
    return e.kind === 'tcg2' ? eventTypeName(e.untrustedType) : undefined;
  },
};
