/**
 * Event logs given beside evidence (`mrstack appraise … --eventlog FILE`), or alone: each log is
 * replayed with the one replay engine of `src/eventlog/`, and every register it extends is
 * compared with the value the verified evidence reports (TDX RTMRs, TPM PCRs, CCA REMs). IMA
 * entries are collected for the IMA rules in the same pass. With no evidence, nothing vouches
 * for a log: its registers and its IMA list are `skipped`, never proven.
 *
 * @module
 */
import { toHex } from '../../bytes/hex.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import type { LogEvent } from '../../eventlog/event.js';
import type { LogFormat } from '../../eventlog/log_format.js';
import { openLogFile, openLogStream } from '../../eventlog/log_source.js';
import { isReplayable } from '../../eventlog/mr_map.js';
import { Replay } from '../../eventlog/replay.js';
import type {
  ImaInput,
  ImaRecord,
  ProvenClaims,
  ReplayedEvidence,
  ReplayedRegister,
} from './appraisal_input.js';
import { imaRecordOf, imaRecordOfEntry } from './ima_rules.js';

/** The value verified evidence reports for a register in a bank, if it carries one. */
export function reportedValue(
  claims: ProvenClaims | undefined,
  name: string,
  alg: HashAlg,
): Uint8Array | undefined {
  if (claims?.signature !== 'ok') return undefined;
  const v = claims.values;
  const pcrs = v['pcrs'] as Record<string, Record<string, unknown>> | undefined;
  const banked = pcrs?.[alg]?.[name];
  if (banked instanceof Uint8Array) return banked;
  const direct = v[name];
  // TDX RTMRs are SHA-384, CCA REMs in the realm hash; a direct claim has the bank's size
  if (direct instanceof Uint8Array && pcrs === undefined) return direct;
  return undefined;
}

/** Banks the evidence quotes for a register (TPM quotes can carry several). */
function quotedBanks(claims: ProvenClaims | undefined, name: string): HashAlg[] {
  const pcrs = claims?.values['pcrs'] as Record<string, Record<string, unknown>> | undefined;
  if (pcrs === undefined) return [];
  return Object.keys(pcrs).filter((b) => pcrs[b]?.[name] instanceof Uint8Array) as HashAlg[];
}

/** The Spec ID header of a TCG2/CCEL log: a log header at index 0, not a measurement. */
const isHeader = (e: LogEvent): boolean => e.kind === 'tcg2' && e.header;

/** Options of {@link replayEvidenceLogs}. */
export interface EvidenceLogsOptions {
  /** `--format` for every log (default: detect). */
  readonly format?: string;
  /**
   * Called for each record at a register replay never extends (TDX MRTD, CC MR index 0: the
   * TDX module builds MRTD), so that a caller can list it; such a record is never compared.
   */
  readonly onNotReplayed?: (e: LogEvent, log: { path: string; format: LogFormat }) => void;
}

/**
 * A log to replay: a file path, or bytes that came inside the evidence (trustee's TDX evidence
 * carries its CCEL as `cc_eventlog`), named for messages and results.
 */
export type EvidenceLogInput = string | { readonly name: string; readonly bytes: Uint8Array };

/**
 * Replays each log (a file, or bytes with a name) against the evidence's reported registers.
 * @throws ParseError for a malformed log; ProviderError when a file cannot be read
 */
export async function replayEvidenceLogs(
  logs: readonly EvidenceLogInput[],
  claims: ProvenClaims | undefined,
  opts: EvidenceLogsOptions = {},
): Promise<ReplayedEvidence> {
  const registers: ReplayedRegister[] = [];
  const ima: ImaInput[] = [];
  for (const input of logs) {
    const path = typeof input === 'string' ? input : input.name;
    const imaBanks = quotedBanks(claims, 'pcr10');
    const parseOpts = {
      ...(opts.format === undefined ? {} : { format: opts.format }),
      ...(imaBanks.length > 0 ? { imaBanks } : {}),
    };
    const log =
      typeof input === 'string'
        ? await openLogFile(input, parseOpts)
        : await openLogStream([input.bytes], { logName: input.name, ...parseOpts });
    const replay = new Replay({ onGap: 'unverified' });
    const records: ImaRecord[] = [];
    let imaRegister: string | undefined;
    // The last record extended into each register: what a mismatch points at.
    const last = new Map<string, { record: number; offset: number }>();
    const fmt = log.format.id;
    const imaFmt = fmt === 'ima-binary' || fmt === 'ima-ascii' ? fmt : undefined;
    if (imaFmt !== undefined && log.format.replay !== undefined) {
      // an IMA list is folded by the one IMA fold (ImaFold, through the format's replay), its
      // entries taken for the rules as they pass
      await log.format.replay(log.input, replay, {
        ...log.options,
        onImaEntry: (e) => {
          imaRegister ??= `pcr${e.pcr}`;
          last.set(`pcr${e.pcr}`, { record: e.index, offset: e.offset });
          records.push(imaRecordOfEntry(e, imaFmt));
        },
      });
    } else {
      for await (const batch of log.batches) {
        for (const e of batch) {
          replay.add(e);
          if (e.register !== undefined && !isReplayable(e.register) && !isHeader(e))
            opts.onNotReplayed?.(e, { path, format: log.format });
          if (e.extend && e.register !== undefined)
            last.set(e.register, { record: e.index, offset: e.source.offset });
          if (e.kind === 'ima') {
            imaRegister ??= e.register;
            records.push(imaRecordOf(e));
          }
        }
      }
    }
    const result = replay.result();
    let imaProof = 'skipped' as ImaInput['proof'];
    for (const [name, banks] of result.registers) {
      for (const [alg, value] of banks) {
        const reported = reportedValue(claims, name, alg);
        if (reported === undefined) {
          // log-only: nothing vouches for the value; with evidence: the report does not carry it
          if (claims === undefined)
            registers.push({
              name,
              alg,
              value,
              proof: 'skipped',
              log: path,
              layer: 'firmware-log',
            });
          continue;
        }
        if (reported.length !== value.length) continue;
        const ok = toHex(reported) === toHex(value);
        registers.push({
          name,
          alg,
          value,
          proof: ok ? 'ok' : 'failed',
          ...(ok ? {} : { reported }),
          ...(ok || !last.has(name) ? {} : { divergence: last.get(name)! }),
          log: path,
          layer: 'firmware-log',
        });
        if (name === imaRegister) imaProof = ok && imaProof !== 'failed' ? 'ok' : 'failed';
      }
    }
    if (records.length > 0)
      ima.push({
        log: path,
        proof: imaProof,
        ...(imaRegister === undefined ? {} : { register: imaRegister }),
        entries: records,
      });
  }
  return { registers, tenantEvents: [], ima };
}
