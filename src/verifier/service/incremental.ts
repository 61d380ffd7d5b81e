/**
 * Incremental verification in the verifier service (DESIGN §6.5, docs/verifier.md): per
 * attester, physical register and policy digest, the store keeps the last **trusted
 * checkpoint** — a CHECKPOINT record of the agent's physical log and the register's value just
 * before it, as a passed and unrelaxed result proved it. The next session tells the attester to
 * send its log `--since` that checkpoint, and the bundle is replayed from the stored value
 * instead of from boot.
 *
 * Rules:
 * - only a checkpoint **covered by the report** counts (its record is below the position the
 *   quoted register matched): a value replayed from records the quote does not cover proves
 *   nothing;
 * - the checkpoint advances by the store's compare-and-set, which itself refuses a result that
 *   did not pass or was relaxed; a lost race is no error (another process advanced it);
 * - a bundle that starts at BOOT with another boot id resets it: the new boot's newest covered
 *   checkpoint replaces it, or `seq: null` (none yet) when there is none;
 * - a bundle sent `--since` a checkpoint other than the stored one gets no trusted checkpoint,
 *   and its replay stays unanchored (not verified).
 *
 * @module
 */
import { BUNDLE_FORMAT } from '../../formats/bundle/bundle.js';
import {
  parseTrustedCheckpoint,
  type TrustedCheckpoint,
} from '../../formats/bundle/checkpoint_spec.js';
import type { CheckpointSeen } from '../replay/bundle_replay.js';
import type { EvidenceResult } from '../verify/evidence_result.js';
import type {
  CheckpointKey,
  CheckpointMove,
  CheckpointRecord,
  VerifierStore,
} from '../store/store.js';

/** The checkpoint as stored (`checkpoints.value`). */
export interface CheckpointValue {
  /** The CHECKPOINT number; null: this boot has no trusted checkpoint yet. */
  readonly seq: number | null;
  /** The register's value just before it, per bank (hex). */
  readonly values?: Readonly<Record<string, string>>;
}

/** Which checkpoint a session asks the attester to send its log since. */
export interface SinceHint {
  readonly register: string;
  readonly seq: number;
}

/** The digest part of a policy id `<name>@sha256:<hex>`. */
export function policyDigestOf(policyId: string): string {
  const at = policyId.indexOf('@');
  return at < 0 ? policyId : policyId.slice(at + 1);
}

/** What a bundle says about its physical log before it is verified. */
export interface BundleWindow {
  readonly register: string;
  /** The checkpoint its lines start at (0: at BOOT). */
  readonly since: number;
  /** The ima bundle's list: the entry it is sent from (`ima_log.since`, 0: whole). */
  readonly ima?: { readonly since: number };
}

/**
 * The physical log window of evidence bytes that are a bundle; undefined for anything else.
 * Only a hint for which stored checkpoint to hand the verifier: the bundle verifier parses the
 * bundle strictly afterwards (a duplicate key, a bad field fail there), so plain `JSON.parse`
 * is enough here — the strict parse was a second full parse of every bundle.
 */
export function bundleWindowOf(data: Uint8Array): BundleWindow | undefined {
  // Bundles are JSON objects; a raw report is not worth a parse attempt.
  let i = 0;
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x0a || data[i] === 0x0d)) i++;
  if (data[i] !== 0x7b) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return undefined; // verification reports what is wrong with it
  }
  const b = o as { format?: unknown; physical_log?: unknown; ima_log?: unknown } | null;
  const p = b?.physical_log as { register?: unknown; since?: unknown } | null | undefined;
  if (b?.format !== BUNDLE_FORMAT || typeof p !== 'object' || p === null) return undefined;
  if (typeof p.register !== 'string') return undefined;
  if (typeof p.since !== 'number' || !Number.isSafeInteger(p.since) || p.since < 0) {
    return undefined;
  }
  const ima = b.ima_log as { since?: unknown } | null | undefined;
  const imaSince = typeof ima?.since === 'number' ? ima.since : 0;
  return {
    register: p.register,
    since: p.since,
    ...(typeof ima === 'object' && ima !== null ? { ima: { since: imaSince } } : {}),
  };
}

function valueOf(v: unknown): CheckpointValue | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as { seq?: unknown; values?: unknown };
  if (o.seq === null) return { seq: null };
  if (typeof o.seq !== 'number' || typeof o.values !== 'object' || o.values === null)
    return undefined;
  return { seq: o.seq, values: o.values as Record<string, string> };
}

/**
 * The trusted checkpoint a `--since` bundle is replayed from: the stored one when the bundle
 * starts at exactly it; undefined otherwise (the replay then stays unanchored).
 */
export async function trustedCheckpointFor(
  store: VerifierStore,
  key: CheckpointKey,
  window: BundleWindow,
): Promise<TrustedCheckpoint | undefined> {
  if (window.since === 0) return undefined;
  return trustedCheckpointOf(await store.getCheckpoint(key), window);
}

/** {@link trustedCheckpointFor} on a checkpoint record the caller read already. */
export function trustedCheckpointOf(
  rec: CheckpointRecord | null,
  window: BundleWindow,
): TrustedCheckpoint | undefined {
  if (window.since === 0) return undefined;
  const v = valueOf(rec?.value);
  if (v?.seq !== window.since || v.values === undefined) return undefined;
  return parseTrustedCheckpoint(JSON.stringify({ seq: v.seq, values: v.values }));
}

/** The physical layer of a verified bundle's claims. */
interface PhysicalClaims {
  readonly register: string;
  readonly position?: number;
  readonly checkpoints: readonly CheckpointSeen[];
  readonly bootId?: string;
}

function physicalOf(r: EvidenceResult): PhysicalClaims | undefined {
  if (r.kind !== 'bundle') return undefined;
  const layers = r.claims['layers'] as Record<string, unknown> | undefined;
  const p = layers?.['physical'] as PhysicalClaims | undefined;
  return p !== undefined && typeof p.register === 'string' ? p : undefined;
}

/** The newest checkpoint the report covers (its record below the matched position). */
export function coveredCheckpoint(r: EvidenceResult): CheckpointSeen | undefined {
  const p = physicalOf(r);
  if (p?.position === undefined) return undefined;
  const pos = p.position;
  return p.checkpoints.filter((c) => c.record < pos).sort((a, b) => b.seq - a.seq)[0];
}

/** What {@link advanceCheckpoint} did. */
export interface AdvanceReport {
  readonly register: string;
  /** The stored checkpoint after the call (null seq: none for this boot). */
  readonly seq: number | null;
  /** True when this result moved it. */
  readonly advanced: boolean;
}

/** Where a verified bundle would move its attester's checkpoint (see {@link planAdvance}). */
export interface AdvancePlan {
  readonly register: string;
  /** The stored checkpoint's number before (null: none, or none for this boot). */
  readonly currentSeq: number | null;
  /** The move to make; undefined when the bundle moves nothing forward. */
  readonly move?: Omit<CheckpointMove, 'key'> & { readonly seq: number | null };
}

/**
 * Where a verified bundle moves the checkpoint `cur` (read before the evidence was evaluated):
 * to the newest checkpoint the report covers when it is past the stored one, or a new boot's
 * start. Undefined for evidence that is not a bundle. Pure: the caller writes it.
 */
export function planAdvance(
  cur: CheckpointRecord | null,
  verify: EvidenceResult,
): AdvancePlan | undefined {
  const p = physicalOf(verify);
  if (p === undefined) return undefined;
  const curValue = valueOf(cur?.value);
  const seen = coveredCheckpoint(verify);
  const newBoot = p.bootId !== undefined && cur !== null && cur.bootId !== p.bootId;
  const next: CheckpointValue | undefined =
    seen !== undefined
      ? { seq: seen.seq, values: seen.values }
      : newBoot || cur === null
        ? { seq: null }
        : undefined;
  // Forward: a first checkpoint, a new boot, or a higher number than the stored one.
  const curSeq = curValue?.seq ?? null;
  const forward =
    next !== undefined &&
    (cur === null || newBoot || (next.seq !== null && (curSeq === null || next.seq > curSeq)));
  if (!forward) return { register: p.register, currentSeq: curSeq };
  return {
    register: p.register,
    currentSeq: curSeq,
    move: {
      expectedVersion: cur?.version ?? null,
      bootId: p.bootId ?? cur?.bootId ?? null,
      value: next,
      seq: next.seq,
    },
  };
}

/**
 * Moves the stored checkpoint forward from a passed, unrelaxed result of a bundle (the store
 * re-checks that rule in the same statement). Nothing happens for other evidence.
 */
export async function advanceFromResult(
  store: VerifierStore,
  attesterId: string,
  policyDigest: string,
  resultId: string,
  verify: EvidenceResult,
): Promise<AdvanceReport | undefined> {
  const p = physicalOf(verify);
  if (p === undefined) return undefined;
  const key = { attesterId, register: p.register, policyDigest };
  const plan = planAdvance(await store.getCheckpoint(key), verify)!;
  if (plan.move === undefined)
    return { register: p.register, seq: plan.currentSeq, advanced: false };
  const out = await store.advanceCheckpoint(key, plan.move.expectedVersion, {
    bootId: plan.move.bootId,
    value: plan.move.value,
    resultId,
  });
  return {
    register: p.register,
    seq: out.ok ? plan.move.seq : plan.currentSeq,
    advanced: out.ok,
  };
}

/** The checkpoint a new session for the attester should ask for, under a policy. */
export async function sinceHintFor(
  store: VerifierStore,
  attesterId: string,
  policyDigest: string,
): Promise<SinceHint | undefined> {
  return sinceHintOf(await store.listCheckpoints(attesterId), policyDigest);
}

/** {@link sinceHintFor} over checkpoints read already (newest update first). */
export function sinceHintOf(
  checkpoints: readonly CheckpointRecord[],
  policyDigest: string,
): SinceHint | undefined {
  for (const c of checkpoints) {
    if (c.policyDigest !== policyDigest) continue;
    const v = valueOf(c.value);
    if (v?.seq != null) return { register: c.register, seq: v.seq };
  }
  return undefined;
}
