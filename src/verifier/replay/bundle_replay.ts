/**
 * Layered replay of an agent evidence bundle (DESIGN §6): given the register value and report
 * data a verified report carries,
 *
 * 1. **binding** — the report data is the Merkle root (or, alone, the value) of
 *    SHA-512("mrstack-evidence-v1" ‖ len‖tenant ‖ len‖nonce ‖ len‖user-data) for the expected
 *    nonce (`ERR_NONCE_MISMATCH` otherwise);
 * 2. **physical** — the physical mrlog replays, from its anchor (the firmware log's replay when it
 *    extends the register, else its reset value; a trusted checkpoint for a log served from one),
 *    to the reported register value
 *    at a position inside the window [before, after] (`ERR_REPLAY_MISMATCH` otherwise); a SYNC
 *    that differs from the running value is an off-log extend (`ERR_LOG_GAP`); records after the
 *    position are pending;
 * 3. **vMR** — the tenant log replays into the vMR and every value the physical log's VMR
 *    records (up to the position) give it is, in order, one of its running values
 *    (`ERR_BINDING_MISMATCH` otherwise);
 * 4. **tenant events** — the events covered by the last matching VMR value are verified; later
 *    ones are pending.
 *
 * The `ima` tenant's bundle has no tenant log: its layers 3–4 are the IMA list checked against
 * the `mr_ima` tokens (`ima_layer.ts`).
 *
 * @module
 */
import { MrstackError, type ErrorCode } from '../../errors.js';
import { bytesEqual, toHex } from '../../bytes/hex.js';
import { digestSize, type HashAlg } from '../../crypto/hash_alg.js';
import { hash } from '../../crypto/hash.js';
import { parseMrlog, type MrlogRole } from '../../formats/mrlog/parse.js';
import { IMA_TENANT, type MrlogRecord } from '../../formats/mrlog/record.js';
import { evidenceBinding } from '../../formats/envelope/binding.js';
import { merkleRootFromProof } from '../../formats/bundle/merkle.js';
import type { TrustedTenantCheckpointSpec } from '../../formats/bundle/checkpoint_spec.js';
import type {
  BundleFirmwareLog,
  BundleTenantLog,
  EvidenceBundle,
} from '../../formats/bundle/bundle.js';
import {
  MrlogReplayer,
  type BankValues,
  type MrlogGap,
  type MrlogStart,
  type VmrObservation,
} from '../../eventlog/mrlog_replay.js';
import { replayImaLayer, type ImaLayerResult } from './ima_layer.js';
import type { ImaFoldSnapshots } from './ima_layer_fold.js';
import type { ImaCheckpoint } from './ima_checkpoint.js';
import { replayVmr } from '../../eventlog/mrlog_vmr.js';
import type { AnchorKind } from '../../eventlog/event.js';
import { bytesInput } from '../../formats/stream/framer.js';
import { getLogFormat } from '../../eventlog/registry.js';
import { replay } from '../../eventlog/replay.js';

/** What the verified report says. */
export interface ReportedValues {
  /** The physical register's value per bank, from the report. */
  readonly register: BankValues;
  readonly reportData: Uint8Array;
}

/** Options of {@link replayBundle}. */
export interface BundleReplayOptions {
  /** The nonce the verifier issued; without it freshness is not checked (a warning says so). */
  readonly nonce?: Uint8Array;
  /** A checkpoint the verifier trusts: its number and the register value just before it. */
  readonly trustedCheckpoint?: { readonly seq: number; readonly values: BankValues };
  /** The bundle's firmware log replayed ({@link replayFirmwareLog}); absent: not replayed. */
  readonly firmware?: FirmwareReplay;
  /**
   * An ima bundle's list already folded (`foldImaSnapshotsParallel`, worker threads) at the
   * counts of its `mr_ima` tokens; absent or short of a count: folded here.
   */
  readonly imaFold?: ImaFoldSnapshots;
  /** The trusted IMA checkpoint of an ima bundle's attester (`replayImaLayer`). */
  readonly imaCheckpoint?: ImaCheckpoint;
  /**
   * A tenant log sent since a position (`tenant_log.since`) is folded from this trusted tenant
   * checkpoint. `'none'`: the caller keeps tenant checkpoints and holds none for this tenant —
   * such a log is `ERR_TENANT_DISCONTINUOUS`. Absent (offline): it is folded from the start the
   * bundle asserts, and `vmr.start` says so.
   */
  readonly trustedTenantCheckpoint?: TrustedTenantCheckpoint | 'none';
}

/**
 * A tenant checkpoint a verifier trusts (from an earlier passed attestation): the tenant's vMR
 * after `record` extended records (`line` lines of its log), as a VMR record the physical log
 * committed to before or just after physical checkpoint `seq` showed it (VMR records before
 * that CHECKPOINT are older). Parsed from JSON by `parseTrustedTenantCheckpoints`.
 */
export type TrustedTenantCheckpoint = TrustedTenantCheckpointSpec;

/**
 * The tenant's state at a physical checkpoint of the window — what a verifier that stores that
 * checkpoint can continue the tenant's fold from: the first VMR value of this vMR after the
 * CHECKPOINT record (below the report's position), else the last one before it, else the
 * trusted start.
 */
export interface TenantAtCheckpoint {
  readonly seq: number;
  readonly line: number;
  readonly record: number;
  /** The vMR's value (hex). */
  readonly value: string;
}

/** What the firmware log of a bundle says of the agent's register. */
export interface FirmwareReplay {
  /** The firmware log's format id. */
  readonly format: string;
  /** Events the firmware log extends into the register. */
  readonly events: number;
  /** The register's value per bank after the firmware log (undefined: it has no events for it). */
  readonly values: BankValues | undefined;
}

/**
 * Replays a bundle's firmware log (CCEL or TCG, per its `format`) and returns the agent
 * register's value after it, or `values: undefined` when the log extends nothing into it (then the
 * register's reset value is its correct starting point).
 * @throws ParseError for a malformed firmware log
 */
export async function replayFirmwareLog(
  fw: BundleFirmwareLog,
  register: string,
  algs: readonly HashAlg[],
): Promise<FirmwareReplay> {
  let events = 0;
  const mine = (async function* () {
    for await (const e of getLogFormat(fw.format).parse(bytesInput(fw.data), {
      logName: 'firmware-log',
    })) {
      if (e.register === register && e.extend) events++;
      yield e;
    }
  })();
  const r = await replay(mine);
  const banks = r.registers.get(register);
  if (events === 0 || banks === undefined)
    return { format: fw.format, events: 0, values: undefined };
  const values = new Map<HashAlg, Uint8Array>();
  for (const a of algs) {
    const v = banks.get(a);
    if (v === undefined) return { format: fw.format, events, values: undefined };
    values.set(a, v);
  }
  return { format: fw.format, events, values };
}

// Firmware-log replays by the SHA-256 of the log's bytes, its format, the register and the
// banks: an attester's boot log is the same 64 KiB CCEL in every bundle its agent sends, and
// its replay is a pure function of those inputs (a changed byte is another key; a log that
// fails to parse is not kept). Bounded: cleared when full.
const firmwareMemo = new Map<string, FirmwareReplay>();
const FIRMWARE_MEMO_MAX = 64;

function copyReplay(r: FirmwareReplay): FirmwareReplay {
  return {
    format: r.format,
    events: r.events,
    values:
      r.values === undefined ? undefined : new Map([...r.values].map(([a, v]) => [a, v.slice()])),
  };
}

/**
 * {@link replayFirmwareLog}, remembered per process by the content digest of the log: the
 * verifier service replays the same platform's boot log in every session of it.
 * @throws ParseError for a malformed firmware log (never remembered)
 */
export async function replayFirmwareLogMemo(
  fw: BundleFirmwareLog,
  register: string,
  algs: readonly HashAlg[],
): Promise<FirmwareReplay> {
  const key = `${fw.format}|${register}|${algs.join(',')}|${toHex(hash('sha256', fw.data))}`;
  const hit = firmwareMemo.get(key);
  if (hit !== undefined) return copyReplay(hit);
  const r = await replayFirmwareLog(fw, register, algs);
  if (firmwareMemo.size >= FIRMWARE_MEMO_MAX) firmwareMemo.clear();
  firmwareMemo.set(key, copyReplay(r));
  return r;
}

/** A checkpoint of the window, as a verifier may trust it next time (`N:alg/hex,…`). */
export interface CheckpointSeen {
  readonly seq: number;
  /** The register's value just before the CHECKPOINT record, per bank (hex). */
  readonly values: Readonly<Record<string, string>>;
  /** The same as a `--trusted-checkpoint` SPEC. */
  readonly spec: string;
  /**
   * Index of the CHECKPOINT record among the physical log's lines: it is covered by the report
   * (its value proven by the quoted register) only when below the physical layer's `position`.
   */
  readonly record: number;
}

/** One failed layer check. */
export interface LayerIssue {
  readonly code: ErrorCode;
  readonly layer: 'binding' | 'physical' | 'vmr' | 'tenant' | 'ima';
  readonly message: string;
  readonly [k: string]: unknown;
}

/** A tenant event with its verification state. */
export interface TenantEventView {
  /** 1-based record number in the tenant log (SALT is 1). */
  readonly record: number;
  readonly domain: string;
  readonly operation: string;
  readonly content: string;
  readonly state: 'verified' | 'pending';
}

/** The layered result. */
export interface BundleReplayResult {
  readonly ok: boolean;
  readonly errors: readonly LayerIssue[];
  readonly warnings: readonly string[];
  readonly binding: {
    readonly tenant: string;
    readonly nonce: string;
    readonly userData: string;
    readonly treeSize: number;
    readonly leafIndex: number;
    readonly ok: boolean;
  };
  readonly physical: {
    readonly register: string;
    readonly algs: readonly HashAlg[];
    readonly anchor: AnchorKind;
    readonly records: number;
    /** Records in the register when the report was taken (undefined: no position matched). */
    readonly position: number | undefined;
    readonly pending: number;
    readonly gaps: readonly MrlogGap[];
    /** How the firmware log was used: absent when the bundle has none. */
    readonly firmwareLog?: {
      readonly format: string;
      readonly events: number;
      readonly use: 'anchor' | 'no-events-for-register' | 'mismatch' | 'not-needed';
    };
    /** Checkpoints in the window whose preceding value the replay verified. */
    readonly checkpoints: readonly CheckpointSeen[];
    /** The boot id of the log's BOOT record, when the window starts at boot. */
    readonly bootId?: string;
  };
  /** The vMR of a tenant bundle (absent for the ima bundle). */
  readonly vmr?: {
    readonly name: string;
    readonly alg: HashAlg;
    readonly value: string | undefined;
    readonly observations: number;
    readonly matched: number;
    /** A tenant log sent since a position: the line it starts at, and how its fold started. */
    readonly since?: number;
    readonly start?: TenantStartKind;
    /** The tenant's state at each covered physical checkpoint of the window. */
    readonly checkpoints: readonly TenantAtCheckpoint[];
  };
  /** The tenant events of a tenant bundle (absent for the ima bundle). */
  readonly tenant?: {
    readonly records: number;
    readonly verified: number;
    readonly pending: number;
    readonly events: readonly TenantEventView[];
  };
  /** The ima layer of the ima bundle: the IMA list against the `mr_ima` tokens. */
  readonly ima?: ImaLayerResult;
}

/** The reset value of a register the agent may own (RTMR/REM: zero; PCR 17–22: all ones). */
export function agentRegisterReset(register: string, alg: HashAlg): Uint8Array {
  const n = /^pcr([0-9]+)$/.exec(register);
  const pcr = n === null ? -1 : Number(n[1]);
  return new Uint8Array(digestSize(alg)).fill(pcr >= 17 && pcr <= 22 ? 0xff : 0);
}

function parseLines(lines: readonly string[], role: MrlogRole): MrlogRecord[] {
  return [...parseMrlog(lines.map((l) => `${l}\n`).join(''), { role }).records];
}

/**
 * Replays a bundle's layers against what its (already verified) report says.
 * @throws ParseError for malformed logs (bad input, exit 2)
 */
export function replayBundle(
  b: EvidenceBundle,
  reported: ReportedValues,
  opts: BundleReplayOptions = {},
): BundleReplayResult {
  const errors: LayerIssue[] = [];
  const warnings: string[] = [];
  const bd = b.binding;
  // 1. binding
  let bindingOk = true;
  if (opts.nonce === undefined)
    warnings.push('no --nonce given: the evidence was not checked for freshness');
  else if (!bytesEqual(opts.nonce, bd.nonce)) {
    bindingOk = false;
    errors.push({
      code: 'ERR_NONCE_MISMATCH',
      layer: 'binding',
      message: `the bundle is for nonce ${toHex(bd.nonce)}, not ${toHex(opts.nonce)}`,
    });
  }
  const leaf = evidenceBinding(bd.tenant, opts.nonce ?? bd.nonce, bd.userData);
  const root = merkleRootFromProof(leaf, bd.leafIndex, bd.treeSize, bd.proof);
  if (bindingOk && (root === undefined || !bytesEqual(root, reported.reportData))) {
    bindingOk = false;
    errors.push({
      code: 'ERR_NONCE_MISMATCH',
      layer: 'binding',
      message: `report data ${toHex(reported.reportData)} is not bound to tenant ${bd.tenant}, this nonce and user data${bd.treeSize > 1 ? ` (Merkle proof, ${bd.treeSize} leaves)` : ''}`,
    });
  }
  // 2. physical
  const pl = b.physicalLog;
  const prs = parseLines(pl.lines, 'physical');
  const first = prs.find((r) => r.kind !== 'comment');
  const startsAtBoot = first?.kind === 'boot';
  const bootId = first?.kind === 'boot' ? first.bootId : undefined;
  const reset = new Map(pl.algs.map((a) => [a, agentRegisterReset(pl.register, a)]));
  let start: MrlogStart | undefined = startsAtBoot ? { values: reset, anchor: 'reset' } : undefined;
  const fw = opts.firmware;
  let fwUse: 'anchor' | 'no-events-for-register' | 'mismatch' | 'not-needed' | undefined;
  if (fw !== undefined) {
    if (!startsAtBoot) fwUse = 'not-needed';
    else if (fw.values === undefined) {
      fwUse = 'no-events-for-register';
      warnings.push(
        `the firmware log (${fw.format}) extends nothing into ${pl.register}: it is anchored at its reset value`,
      );
    } else {
      // the log's first SYNC must equal the firmware replay (extended by what precedes the SYNC)
      const probe = new MrlogReplayer({
        algs: pl.algs,
        start: { values: fw.values, anchor: 'firmware-log' },
      });
      for (const r of prs) {
        probe.push(r);
        if (r.kind === 'sync') break;
      }
      if (probe.gaps.length === 0) {
        fwUse = 'anchor';
        start = { values: fw.values, anchor: 'firmware-log' };
      } else {
        fwUse = 'mismatch';
        start = undefined;
        errors.push({
          code: 'ERR_REPLAY_MISMATCH',
          layer: 'physical',
          message: `the firmware log (${fw.format}) replays ${pl.register} to a value the mrlog's first SYNC does not state`,
          firmware: Object.fromEntries([...fw.values].map(([a, v]) => [a, toHex(v)])),
          sync: probe.gaps[0]!.found,
          expected: probe.gaps[0]!.expected,
        });
      }
    }
  } else if (b.firmwareLog !== undefined) {
    warnings.push(
      `firmware log (${b.firmwareLog.format}) not replayed: ${pl.register} is anchored at its reset value`,
    );
  }
  const replayer = new MrlogReplayer({
    algs: pl.algs,
    ...(start === undefined ? {} : { start }),
    ...(opts.trustedCheckpoint === undefined ? {} : { trustedCheckpoint: opts.trustedCheckpoint }),
  });
  const matches = (): boolean => {
    const v = replayer.values;
    return (
      v !== undefined &&
      pl.algs.every((a) => {
        const x = reported.register.get(a);
        return x !== undefined && bytesEqual(x, v.get(a)!);
      })
    );
  };
  let position: number | undefined;
  if (pl.before === 0 && matches()) position = 0;
  const checkpoints: CheckpointSeen[] = [];
  for (const [i, r] of prs.entries()) {
    if (r.kind === 'checkpoint' && replayer.values !== undefined && replayer.gaps.length === 0) {
      const values = Object.fromEntries([...replayer.values].map(([a, v]) => [a, toHex(v)]));
      checkpoints.push({
        seq: r.seq,
        record: i,
        values,
        spec: `${r.seq}:${Object.entries(values)
          .map(([a, v]) => `${a}/${v}`)
          .join(',')}`,
      });
    }
    replayer.push(r);
    if (i + 1 >= pl.extendedBefore && i + 1 <= pl.after && matches()) position = i + 1;
  }
  for (const g of replayer.gaps) {
    errors.push({
      code: 'ERR_LOG_GAP',
      layer: 'physical',
      message: `mrlog line ${g.lineNo}: ${pl.register} moved off-log (SYNC differs from the replayed value)`,
      record: g.record,
      expected: g.expected,
      found: g.found,
    });
  }
  const tc = opts.trustedCheckpoint;
  if (tc !== undefined) {
    const firstRec = prs.find((r) => r.kind !== 'comment');
    if (firstRec?.kind !== 'checkpoint') {
      warnings.push(
        `the physical log starts at boot: the trusted checkpoint ${tc.seq} is not needed`,
      );
    } else if (replayer.anchor !== 'trusted-checkpoint' && replayer.gaps.length === 0) {
      errors.push({
        code: 'ERR_REPLAY_MISMATCH',
        layer: 'physical',
        message:
          firstRec.seq === tc.seq
            ? `the SYNC after CHECKPOINT ${tc.seq} does not follow from the trusted value`
            : `the physical log starts at checkpoint ${firstRec.seq}, not the trusted checkpoint ${tc.seq}`,
      });
    }
  }
  if (replayer.unanchored > 0 && replayer.anchor === 'unverified') {
    warnings.push(
      `${replayer.unanchored} physical record(s) before the first SYNC could not be replayed`,
    );
  }
  if (position === undefined) {
    errors.push({
      code: 'ERR_REPLAY_MISMATCH',
      layer: 'physical',
      message: `${pl.register} in the report matches no position of the physical log between records ${pl.before} and ${pl.after}`,
      reported: Object.fromEntries([...reported.register].map(([a, v]) => [a, toHex(v)])),
      replayed:
        replayer.values === undefined
          ? null
          : Object.fromEntries([...replayer.values].map(([a, v]) => [a, toHex(v)])),
    });
  }
  // 3–4. the vMR and its events, or for the ima tenant the IMA list against mr_ima
  const upto = position ?? pl.after;
  let upper: Pick<BundleReplayResult, 'vmr' | 'tenant' | 'ima'>;
  if (b.imaLog !== undefined) {
    if (bd.tenant !== IMA_TENANT) {
      errors.push({
        code: 'ERR_BINDING_MISMATCH',
        layer: 'ima',
        message: `an ima_log is served to the ${IMA_TENANT} tenant only, not to ${bd.tenant}`,
      });
    }
    const ima = replayImaLayer(
      b.imaLog,
      replayer.vmrs.get(b.imaLog.vmr) ?? [],
      position,
      opts.imaFold,
      opts.imaCheckpoint,
    );
    for (const { code, message, ...rest } of ima.issues)
      errors.push({ code, layer: 'ima', message, ...rest });
    if (ima.tokens.length === 0)
      warnings.push(`no ${b.imaLog.vmr} token in the physical log: no IMA entry is verified`);
    upper = { ima };
  } else {
    const tl = b.tenantLog!;
    const obs = (replayer.vmrs.get(tl.vmr) ?? []).filter((o) => o.record < upto);
    // the window's physical checkpoints: its starting one (sent since it) and those seen
    const firstCp = prs.findIndex((r) => r.kind !== 'comment');
    const marks = [
      ...(pl.since > 0 && prs[firstCp]?.kind === 'checkpoint'
        ? [{ seq: pl.since, record: firstCp }]
        : []),
      ...checkpoints.map((c) => ({ seq: c.seq, record: c.record })),
    ].filter((c) => c.record < upto);
    upper = tenantLayers(tl, bd.tenant, obs, errors, warnings, {
      checkpoints: marks,
      physicalSince: pl.since,
      ...(opts.trustedTenantCheckpoint === undefined
        ? {}
        : { trusted: opts.trustedTenantCheckpoint }),
    });
  }
  return {
    ok: errors.length === 0,
    errors,
    warnings,
    binding: {
      tenant: bd.tenant,
      nonce: toHex(bd.nonce),
      userData: toHex(bd.userData),
      treeSize: bd.treeSize,
      leafIndex: bd.leafIndex,
      ok: bindingOk,
    },
    physical: {
      register: pl.register,
      algs: pl.algs,
      anchor: replayer.anchor,
      records: prs.length,
      position,
      pending: position === undefined ? 0 : prs.length - position,
      gaps: replayer.gaps,
      ...(fw === undefined || fwUse === undefined
        ? {}
        : { firmwareLog: { format: fw.format, events: fw.events, use: fwUse } }),
      checkpoints,
      ...(bootId === undefined ? {} : { bootId }),
    },
    ...upper,
  };
}

/** How a tenant bundle's vMR fold started (`vmr.start`). */
export type TenantStartKind = 'log-start' | 'trusted-checkpoint' | 'asserted' | 'refused';

/** Layers 3–4 of a tenant bundle: the vMR from the tenant log, then its events. */
function tenantLayers(
  tl: BundleTenantLog,
  tenant: string,
  observedAll: readonly VmrObservation[],
  errors: LayerIssue[],
  warnings: string[],
  ctx: {
    readonly checkpoints: readonly { readonly seq: number; readonly record: number }[];
    readonly physicalSince: number;
    readonly trusted?: TrustedTenantCheckpoint | 'none';
  },
): Pick<BundleReplayResult, 'vmr' | 'tenant'> {
  const since = tl.since;
  const trs = parseLines(tl.lines, since === undefined ? 'tenant' : 'tenant-tail');
  const base = { line: since?.line ?? 0, record: since?.record ?? 0 };
  let startKind: TenantStartKind = 'log-start';
  let start: { records: number; value: Uint8Array } | undefined;
  let observed = observedAll;
  const trusted = ctx.trusted;
  if (since === undefined) {
    const head = trs.find((r) => r.kind === 'tenant');
    if (head?.kind !== 'tenant' || head.name !== tenant || head.vmr !== tl.vmr) {
      errors.push({
        code: 'ERR_BINDING_MISMATCH',
        layer: 'vmr',
        message: `the tenant log's TENANT record does not name tenant ${tenant} and vMR ${tl.vmr}`,
      });
    }
  } else if (trusted === undefined) {
    // offline: the attester's word for the start, as a physical log's first SYNC
    startKind = 'asserted';
    start = { records: since.record, value: since.value };
  } else {
    const why =
      trusted === 'none'
        ? `the verifier holds no tenant checkpoint for ${tenant}`
        : trusted.tenant !== tenant || trusted.vmr !== tl.vmr || trusted.alg !== tl.alg
          ? `the trusted tenant checkpoint is for ${trusted.tenant}'s ${trusted.vmr} (${trusted.alg}), not ${tenant}'s ${tl.vmr} (${tl.alg})`
          : trusted.line !== since.line || trusted.record !== since.record
            ? `the tenant log starts at line ${since.line} (record ${since.record}), the trusted tenant checkpoint is at line ${trusted.line} (record ${trusted.record})`
            : !bytesEqual(trusted.value, since.value)
              ? `the tenant log's since_value is not the trusted tenant checkpoint's vMR value`
              : (() => {
                  // VMR records before the checkpoint's physical CHECKPOINT are of older values
                  const at = ctx.checkpoints.find((c) => c.seq === trusted.seq);
                  if (at !== undefined) return undefined;
                  return ctx.physicalSince >= trusted.seq
                    ? undefined
                    : `the physical log starts before checkpoint ${trusted.seq}, where the trusted tenant checkpoint was taken, and does not hold it`;
                })();
    if (why === undefined && trusted !== 'none') {
      startKind = 'trusted-checkpoint';
      start = { records: trusted.record, value: trusted.value };
      const at = ctx.checkpoints.find((c) => c.seq === trusted.seq);
      if (at !== undefined) observed = observedAll.filter((o) => o.record > at.record);
    } else {
      startKind = 'refused';
      errors.push({
        code: 'ERR_TENANT_DISCONTINUOUS',
        layer: 'vmr',
        message: `vMR ${tl.vmr}: the tenant log is sent since line ${since.line} and does not continue from a trusted tenant checkpoint: ${why ?? ''}`,
        since: since.line,
        ...(trusted === 'none' ? {} : { checkpoint: trusted.line }),
      });
    }
  }
  const obs = observed;
  let vmrValue: string | undefined;
  let matched = 0;
  let covered = 0;
  let extended = base.record;
  let marks: readonly number[] = [];
  if (startKind !== 'refused') {
    try {
      const v = replayVmr(trs, tl.alg, obs, start);
      vmrValue = toHex(v.value);
      matched = v.matched;
      covered = v.covered;
      extended = v.records;
      marks = v.marks;
    } catch (e) {
      if (!(e instanceof MrstackError)) throw e;
      errors.push({
        code:
          startKind === 'trusted-checkpoint'
            ? 'ERR_TENANT_CONTINUATION_MISMATCH'
            : 'ERR_BINDING_MISMATCH',
        layer: 'vmr',
        message:
          startKind === 'trusted-checkpoint'
            ? `vMR ${tl.vmr}: folded from the trusted tenant checkpoint (record ${base.record}), ${e.message}`
            : `vMR ${tl.vmr}: ${e.message}`,
        ...e.details,
      });
    }
  }
  if (obs.length === 0)
    warnings.push(
      `no VMR record for ${tl.vmr} in the physical log window: no tenant event is verified`,
    );
  // the line just after the records the checkpoint states below may name (record numbers are
  // the whole log's)
  const lineAfter = new Map<number, number>([[base.record, base.line]]);
  const wanted = new Set(marks);
  // 4. tenant events
  const events: TenantEventView[] = [];
  let n = base.record;
  for (const r of trs) {
    if (r.kind === 'comment') continue;
    n++;
    if (wanted.has(n)) lineAfter.set(n, base.line + r.lineNo);
    if (r.kind === 'event') {
      events.push({
        record: n,
        domain: r.domain,
        operation: r.operation,
        content: r.content,
        state: n <= covered && matched > 0 && startKind !== 'refused' ? 'verified' : 'pending',
      });
    }
  }
  // where a verifier storing one of the window's physical checkpoints continues this fold
  const atCheckpoints: TenantAtCheckpoint[] = [];
  const failed = errors.some((e) => e.layer === 'vmr');
  if (!failed && (startKind === 'log-start' || startKind === 'trusted-checkpoint')) {
    for (const c of ctx.checkpoints) {
      const after = obs.findIndex((o) => o.record > c.record);
      const j = after >= 0 ? after : obs.findLastIndex((o) => o.record < c.record);
      const record = j >= 0 ? marks[j] : start?.records;
      const value = j >= 0 ? obs[j]!.value : start?.value;
      const line = record === undefined ? undefined : lineAfter.get(record);
      if (record === undefined || value === undefined || line === undefined || record < 2) continue;
      atCheckpoints.push({ seq: c.seq, line, record, value: toHex(value) });
    }
  }
  const verifiedEvents = events.filter((e) => e.state === 'verified').length;
  return {
    vmr: {
      name: tl.vmr,
      alg: tl.alg,
      value: vmrValue,
      observations: obs.length,
      matched,
      ...(since === undefined ? {} : { since: since.line, start: startKind }),
      checkpoints: atCheckpoints,
    },
    tenant: {
      records: extended,
      verified: verifiedEvents,
      pending: events.length - verifiedEvents,
      events,
    },
  };
}
