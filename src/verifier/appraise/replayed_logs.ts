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
  ImaCheckpointBreak,
  ImaInput,
  ImaRecord,
  ProvenClaims,
  ReplayedEvidence,
  ReplayedRegister,
} from './appraisal_input.js';
import { imaRecordOf, imaRecordOfEntry } from './ima_rules.js';
import { imaStartFor, type ImaCheckpoint, type ImaStart } from '../replay/ima_checkpoint.js';
import { resetValue } from '../../eventlog/reset_values.js';
import { ImaFold } from '../../formats/ima/ima_fold.js';
import { ImaBinaryScanner } from '../../formats/ima/ima_binary.js';
import { bytesEqual } from '../../bytes/hex.js';

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

/**
 * The boot a verified TPM quote was taken in, as the TPM counts them (`tpm-reset:<resetCount>`
 * of its clock info: TPM2_Startup(CLEAR) after a reset increments it); undefined without one.
 */
export function tpmBootIdOf(claims: ProvenClaims | undefined): string | undefined {
  const n = claims?.signature === 'ok' ? claims.values['reset_count'] : undefined;
  return typeof n === 'number' ? `tpm-reset:${n}` : undefined;
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
  /**
   * Incremental verification of a TPM quote's IMA list: the first IMA list given holds the
   * entries from `since` on, and `checkpoint` is the verifier's trusted IMA checkpoint (its
   * running value in PCR 10's banks). Continued from it, PCR 10 in the quote must equal the
   * fold of that value over the entries sent, in every bank the quote carries; a whole list
   * must fold to it at its offset. `otherBoot`: the checkpoint is of another boot (another TPM
   * reset count).
   */
  readonly imaCheckpoint?: {
    readonly since: number;
    readonly checkpoint?: ImaCheckpoint;
    /** The boot the checkpoint was taken in ({@link tpmBootIdOf}); another is no start. */
    readonly bootId?: string | null;
  };
}

/**
 * A log to replay: a file path, or bytes that came inside the evidence (trustee's TDX evidence
 * carries its CCEL as `cc_eventlog`), named for messages and results.
 */
export type EvidenceLogInput =
  | string
  | {
      readonly name: string;
      readonly bytes: Uint8Array;
      /** The log's format when the carrier says it (an envelope's `ima_log`): no detection. */
      readonly format?: string;
    };

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
  const breaks: ImaCheckpointBreak[] = [];
  let incremental = opts.imaCheckpoint;
  for (const input of logs) {
    const path = typeof input === 'string' ? input : input.name;
    const imaBanks = quotedBanks(claims, 'pcr10');
    const format = typeof input === 'string' ? opts.format : (input.format ?? opts.format);
    const parseOpts = {
      ...(format === undefined ? {} : { format }),
      ...(imaBanks.length > 0 ? { imaBanks } : {}),
    };
    const log =
      typeof input === 'string'
        ? await openLogFile(input, parseOpts)
        : await openLogStream([input.bytes], { logName: input.name, ...parseOpts });
    const fmt = log.format.id;
    const imaFmt = fmt === 'ima-binary' || fmt === 'ima-ascii' ? fmt : undefined;
    // the first IMA list meets the trusted IMA checkpoint (incremental verification)
    let meet: ImaStart | undefined;
    let base = 0;
    if (imaFmt !== undefined && incremental !== undefined) {
      const inc = incremental;
      incremental = undefined;
      base = inc.since;
      meet =
        imaBanks.length === 0 && (inc.since > 0 || inc.checkpoint !== undefined)
          ? inc.since > 0
            ? {
                use: 'refused',
                issue: {
                  code: 'ERR_IMA_DISCONTINUOUS',
                  message: `the IMA list is sent from entry ${inc.since}, but the quote carries no PCR 10 to bind it to`,
                },
              }
            : { use: 'none' }
          : imaStartFor(
              inc.since,
              inc.checkpoint,
              imaBanks,
              undefined,
              inc.bootId != null && inc.bootId !== tpmBootIdOf(claims),
            );
      if (meet.use === 'refused') {
        // nothing the verifier trusts precedes the entries sent: none of them is judged
        breaks.push({
          log: path,
          register: 'pcr10',
          kind: 'discontinuous',
          message: meet.issue.message,
          ...(inc.checkpoint === undefined ? {} : { checkpoint: inc.checkpoint.offset }),
        });
        continue;
      }
    }
    const start = meet?.use === 'continued' ? meet.start : undefined;
    const replay = new Replay({
      onGap: 'unverified',
      // continued: PCR 10 starts at the checkpoint's running value, not at its reset value
      ...(start === undefined
        ? {}
        : {
            resetValue: (register: string, alg: HashAlg) =>
              register === 'pcr10' && start.banks.has(alg)
                ? start.banks.get(alg)!
                : resetValue(register, alg),
          }),
    });
    const records: ImaRecord[] = [];
    let imaRegister: string | undefined;
    // The last record extended into each register: what a mismatch points at.
    const last = new Map<string, { record: number; offset: number }>();
    // prefix matching (the list that meets the IMA checkpoint): the quote is taken before the
    // list is read, and the kernel appends an entry before extending PCR 10, so the list may
    // run past the quoted value; the shortest prefix that folds to it is replayed and judged,
    // the entries after it are only counted (the next attestation sends them)
    let unquoted: number | undefined;
    const quoted =
      meet === undefined
        ? undefined
        : new Map(imaBanks.map((alg) => [alg, reportedValue(claims, 'pcr10', alg)]));
    const until =
      quoted !== undefined && quoted.size > 0 && [...quoted.values()].every((v) => v !== undefined)
        ? {
            values: quoted as Map<HashAlg, Uint8Array>,
            onPrefix: (_entries: number, after: number) => {
              unquoted = after;
            },
          }
        : undefined;
    if (imaFmt !== undefined && log.format.replay !== undefined) {
      // an IMA list is folded by the one IMA fold (ImaFold, through the format's replay), its
      // entries taken for the rules as they pass (numbered in the whole list when sent from a
      // checkpoint)
      await log.format.replay(log.input, replay, {
        ...log.options,
        ...(until === undefined ? {} : { imaUntil: until }),
        onImaEntry: (e) => {
          imaRegister ??= `pcr${e.pcr}`;
          last.set(`pcr${e.pcr}`, { record: base + e.index, offset: e.offset });
          const r = imaRecordOfEntry(e, imaFmt);
          records.push(base === 0 ? r : { ...r, record: base + e.index });
        },
      });
      if (meet?.use === 'compared' && typeof input !== 'string' && imaFmt === 'ima-binary') {
        // a whole list sent again: its first entries must fold to the checkpoint's value
        const at = foldPcr10At(input.bytes, imaBanks, meet.offset);
        if (!(at?.every((v, i) => bytesEqual(v, meet.banks[i]!)) ?? false)) {
          breaks.push({
            log: path,
            register: 'pcr10',
            kind: 'mismatch',
            message:
              at === undefined
                ? `the IMA list holds fewer entries than the ${meet.offset} of the trusted IMA checkpoint: entries below it were removed`
                : `the first ${meet.offset} IMA entries do not fold to the trusted checkpoint's value: an entry below it was changed or removed`,
            checkpoint: meet.offset,
          });
        }
      }
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
    if (start !== undefined && records.length === 0) {
      // nothing new: PCR 10 must still be the checkpoint's value
      for (const [alg, value] of start.banks) {
        const reported = reportedValue(claims, 'pcr10', alg);
        if (reported === undefined) continue;
        const ok = bytesEqual(reported, value);
        registers.push({
          name: 'pcr10',
          alg,
          value,
          proof: ok ? 'ok' : 'failed',
          ...(ok ? {} : { reported }),
          log: path,
          layer: 'firmware-log',
        });
        imaProof = ok && imaProof !== 'failed' ? 'ok' : 'failed';
      }
    }
    if (start !== undefined && imaProof === 'failed') {
      breaks.push({
        log: path,
        register: 'pcr10',
        kind: 'discontinuous',
        message: `PCR 10 in the quote is not the fold of the trusted IMA checkpoint's running value (entry ${start.count}) over the ${records.length} entries sent: the list does not continue from it, or one of these entries differs`,
        checkpoint: start.count,
      });
    }
    // a list met at the checkpoint is PCR 10's, also when no entry of it was replayed
    imaRegister ??= meet === undefined ? undefined : 'pcr10';
    if (records.length > 0 || start !== undefined || unquoted !== undefined)
      ima.push({
        log: path,
        proof: imaProof,
        ...(imaRegister === undefined ? {} : { register: imaRegister }),
        entries: records,
        ...(meet === undefined ? {} : { since: base, end: base + records.length }),
        ...(unquoted === undefined || unquoted === 0 ? {} : { unquoted }),
      });
  }
  return {
    registers,
    tenantEvents: [],
    ima,
    ...(breaks.length === 0 ? {} : { imaCheckpoint: breaks }),
  };
}

/**
 * PCR 10 after the first `count` entries of a binary IMA list, in `banks`, as log replay folds
 * it (the logged column in its own bank); undefined when the list is shorter.
 */
function foldPcr10At(
  data: Uint8Array,
  banks: readonly HashAlg[],
  count: number,
): Uint8Array[] | undefined {
  const fold = new ImaFold({
    banks,
    columnExtends: 'logged',
    columnCheck: 'off',
    rule: 'log',
  });
  const sc = new ImaBinaryScanner();
  let n = 0;
  sc.pushEach(data, (v) => {
    if (n >= count) return;
    fold.pushView(v);
    n++;
  });
  return n < count ? undefined : fold.values();
}
