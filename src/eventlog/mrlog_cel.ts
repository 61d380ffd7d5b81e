/**
 * Export of mrlog to the TCG Canonical Event Log (CEL-JSON and CEL-TLV), where it is lossless
 * (`docs/mrlog.md` "Exports").
 *
 * Each mrlog record becomes one CEL record:
 * - `recnum`: the record's 0-based position in the mrlog (comments included);
 * - register: `rtmr<N>` as Google's CC-MR handle (type 108, index N+1 as CCEL numbers them),
 *   `pcr<N>` as a PCR handle; a tenant (vMR) log has no CEL register and is refused;
 * - content: `pcclient_std` with event type `EV_IPL` (0x0D) and the line's UTF-8 bytes (without
 *   the LF) as event data — the convention GRUB and systemd-boot use for measured strings, so the
 *   line travels byte-exact and each digest is `H_bank(event_data)`;
 * - digests: H(line) per bank for extended records; informative `#` lines are written as
 *   `EV_NO_ACTION` (0x03) records with no digests (not extended, text kept).
 *
 * CEL has no way to state a register's starting value, so what a SYNC asserts can only be kept
 * when it is implied: the export replays the log from the register's reset value and refuses
 * with `ERR_LOSSY_CONVERSION` a log served from a checkpoint (its value starts at the SYNC's)
 * and a SYNC that differs from the running value (an off-log extend). Every exported CEL
 * therefore replays to the same register values as the mrlog does from reset.
 *
 * @module
 */
import { hashAlgId, type HashAlg } from '../crypto/hash_alg.js';
import { extend } from '../crypto/hash.js';
import { bytesEqual } from '../bytes/hex.js';
import { ParseError } from '../errors.js';
import type { CelDigest, CelRecord, CelRegister } from '../formats/cel/cel_record.js';
import type { AnyIterable, LogEvent } from './event.js';
import type { CelEvent } from './cel_format.js';
import type { LogFormat } from './log_format.js';
import { resetValue } from './reset_values.js';

/** PC Client event types the export uses. */
export const MRLOG_CEL_EVENT_TYPES = { line: 0x0d, comment: 0x03 } as const;

const enc = new TextEncoder();

function lossy(e: LogEvent, target: string, expected: string, actual: string): ParseError {
  return new ParseError({
    code: 'ERR_LOSSY_CONVERSION',
    format: target === 'cel-json' ? 'cel-json' : 'cel-tlv',
    offset: e.source.offset,
    field: `event[${e.index}]`,
    expected,
    actual,
  });
}

/** The CEL register handle of an mrlog register name, if CEL has one. */
export function mrlogCelRegister(register: string | undefined): CelRegister | undefined {
  if (register === undefined) return undefined;
  const rt = /^rtmr([0-3])$/.exec(register);
  if (rt !== null) return { kind: 'cc_mr', index: Number(rt[1]) + 1 };
  const pcr = /^pcr([0-9]{1,2})$/.exec(register);
  if (pcr !== null) return { kind: 'pcr', index: Number(pcr[1]) };
  return undefined;
}

/**
 * Turns the mrlog events of a stream into `cel` events carrying their CEL record (other events
 * pass through unchanged), for a CEL encoder.
 * @param target - `cel-json` or `cel-tlv` (names the format in errors).
 * @throws ParseError `ERR_LOSSY_CONVERSION` for what CEL cannot carry (see the module doc).
 */
export async function* mrlogEventsToCel(
  events: AnyIterable<LogEvent>,
  target: string,
): AsyncIterable<LogEvent> {
  let values: Map<HashAlg, Uint8Array> | undefined;
  let first = true;
  for await (const e of events) {
    const isMrlog = e.source.format === 'mrlog' && (e.kind === 'app' || e.kind === 'directive');
    if (!isMrlog) {
      yield e;
      continue;
    }
    const register = mrlogCelRegister(e.register);
    if (register === undefined) {
      throw lossy(
        e,
        target,
        'an mrlog of a physical register (rtmr0-3 or pcrN)',
        `a record of register ${e.register ?? '(none)'} (a tenant vMR log has no CEL register)`,
      );
    }
    const directive = e.kind === 'directive' ? e.directive : undefined;
    if (first && directive !== 'COMMENT') {
      first = false;
      if (directive === 'CHECKPOINT') {
        throw lossy(
          e,
          target,
          'a log starting with BOOT (replayed from the register reset value)',
          'a log served from a checkpoint (CEL cannot state its starting value)',
        );
      }
    }
    if (e.kind === 'directive' && e.anchor !== undefined && values !== undefined) {
      for (const [alg, v] of e.anchor.values) {
        const running = values.get(alg);
        if (running !== undefined && !bytesEqual(running, v)) {
          throw lossy(
            e,
            target,
            'a SYNC equal to the replayed value',
            `an off-log extend at line ${e.source.line ?? '?'} (CEL cannot carry the jump)`,
          );
        }
      }
    }
    const line = enc.encode(e.line);
    const digests: CelDigest[] = [];
    if (e.extend) {
      values ??= new Map([...e.digests.keys()].map((a) => [a, resetValue(e.register!, a)]));
      for (const [alg, d] of e.digests) {
        digests.push({ algId: hashAlgId(alg), digest: d });
        values.set(alg, extend(alg, values.get(alg)!, d));
      }
    }
    const record: CelRecord = {
      index: e.index,
      offset: e.source.offset,
      recnum: e.index,
      register,
      digests,
      content: {
        type: 'pcclient_std',
        eventType: e.extend ? MRLOG_CEL_EVENT_TYPES.line : MRLOG_CEL_EVENT_TYPES.comment,
        eventData: line,
      },
    };
    const out: CelEvent = {
      kind: 'cel',
      index: e.index,
      register: e.register,
      digests: e.digests,
      extend: e.extend,
      source: e.source,
      record,
    };
    yield out;
  }
}

/**
 * A CEL format whose encoder also takes mrlog events (through {@link mrlogEventsToCel}); the
 * registry lists the CEL formats wrapped by it.
 */
export function withMrlogExport(format: LogFormat): LogFormat {
  const encode = format.encode?.bind(format);
  if (encode === undefined) return format;
  return {
    ...format,
    encode: (events, opts) => encode(mrlogEventsToCel(events, format.id), opts),
  };
}
