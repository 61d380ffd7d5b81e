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
 * Tenant logs (`tenants` in the value, per tenant of the attester): the tenant's vMR value and
 * log position at the stored physical checkpoint — where the first VMR record of its vMR after
 * that CHECKPOINT (or else the last before it) puts it — so that the next session's tenant log
 * is sent since that position and folded from the stored value. VMR records after the
 * physical checkpoint are never older than it, so every one the next window holds is a running
 * value from there. Entries of other tenants are carried when the physical checkpoint moves
 * (they stay valid: a later window holds only later VMR records); a new boot drops them.
 *
 * @module
 */
import { BUNDLE_FORMAT, parseBundle, type EvidenceBundle } from '../../formats/bundle/bundle.js';
import { looksLikeBundle } from '../verify/evidence_input.js';
import {
  parseTrustedCheckpoint,
  type TrustedCheckpoint,
} from '../../formats/bundle/checkpoint_spec.js';
import type {
  CheckpointSeen,
  TenantAtCheckpoint,
  TrustedTenantCheckpoint,
} from '../replay/bundle_replay.js';
import { digestSize, lookupHashAlg } from '../../crypto/hash_alg.js';
import type { EvidenceResult } from '../verify/evidence_result.js';
import type {
  CheckpointKey,
  CheckpointMove,
  CheckpointRecord,
  VerifierStore,
} from '../store/store.js';

/** A tenant's entry in a stored checkpoint (`checkpoints.value.tenants[name]`). */
export interface TenantCheckpointJson {
  readonly vmr: string;
  readonly alg: string;
  /** Lines of the tenant log before the position, and extended records among them. */
  readonly line: number;
  readonly record: number;
  /** The vMR after `record` records (hex). */
  readonly value: string;
  /** The physical checkpoint it was taken at. */
  readonly seq: number;
}

/** The checkpoint as stored (`checkpoints.value`). */
export interface CheckpointValue {
  /** The CHECKPOINT number; null: this boot has no trusted checkpoint yet. */
  readonly seq: number | null;
  /** The register's value just before it, per bank (hex). */
  readonly values?: Readonly<Record<string, string>>;
  /** Per tenant: where its log continues from (see the module notes). */
  readonly tenants?: Readonly<Record<string, TenantCheckpointJson>>;
}

/** Which tenant log position a session asks the attester to send since. */
export interface TenantSinceHint {
  readonly tenant: string;
  readonly vmr: string;
  /** Extended records to leave out (the agent's `tenant_since`), and the lines they take. */
  readonly record: number;
  readonly line: number;
  /** The boot of the stored checkpoint: an agent in another boot sends the whole log. */
  readonly boot_id?: string;
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
  /** A tenant bundle: the tenant, and the line its log is sent since (0: whole). */
  readonly tenant?: { readonly name: string; readonly since: number };
}

/** A request's bundle as read once ({@link readBundleOnce}). */
export interface BundleRead {
  /** The physical log window (which stored checkpoint to hand the verifier). */
  readonly window?: BundleWindow;
  /** The strictly parsed bundle and the bytes it came from (the verifier's `parsedBundle`). */
  readonly parsed?: { readonly bytes: Uint8Array; readonly bundle: EvidenceBundle };
}

/**
 * Reads evidence bytes that are a bundle once per request. Bytes naming the bundle format in
 * their first 4 KiB (what agents send) are parsed strictly, as the bundle verifier parses them
 * (`parseBundle`: a duplicate member name, a bad field refused): the window comes from the parsed
 * bundle, which goes to the verifier with its bytes so that it is not parsed again. A bundle
 * that fails that parse gives nothing (its verifier reports why). Other JSON (a bundle naming its
 * format later) gets the window of {@link bundleWindowOf}; anything else nothing.
 */
export function readBundleOnce(data: Uint8Array): BundleRead {
  if (!looksLikeBundle(data)) {
    const window = bundleWindowOf(data);
    return window === undefined ? {} : { window };
  }
  let bundle: EvidenceBundle;
  try {
    bundle = parseBundle(data);
  } catch {
    return {};
  }
  const p = bundle.physicalLog;
  const window: BundleWindow = {
    register: p.register,
    since: p.since,
    ...(bundle.imaLog === undefined ? {} : { ima: { since: bundle.imaLog.since ?? 0 } }),
    ...(bundle.tenantLog === undefined
      ? {}
      : { tenant: { name: bundle.binding.tenant, since: bundle.tenantLog.since?.line ?? 0 } }),
  };
  return { window, parsed: { bytes: data, bundle } };
}

/**
 * The physical log window of evidence bytes that are a bundle; undefined for anything else.
 * Only a hint for which stored checkpoint to hand the verifier: the bundle verifier parses the
 * bundle strictly afterwards (a duplicate key, a bad field fail there), so plain `JSON.parse`
 * is enough here.
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
  const b = o as {
    format?: unknown;
    physical_log?: unknown;
    ima_log?: unknown;
    tenant_log?: unknown;
    binding?: unknown;
  } | null;
  const p = b?.physical_log as { register?: unknown; since?: unknown } | null | undefined;
  if (b?.format !== BUNDLE_FORMAT || typeof p !== 'object' || p === null) return undefined;
  if (typeof p.register !== 'string') return undefined;
  if (typeof p.since !== 'number' || !Number.isSafeInteger(p.since) || p.since < 0) {
    return undefined;
  }
  const ima = b.ima_log as { since?: unknown } | null | undefined;
  const imaSince = typeof ima?.since === 'number' ? ima.since : 0;
  const tl = b.tenant_log as { since?: unknown } | null | undefined;
  const tenant = (b.binding as { tenant?: unknown } | null | undefined)?.tenant;
  return {
    register: p.register,
    since: p.since,
    ...(typeof ima === 'object' && ima !== null ? { ima: { since: imaSince } } : {}),
    ...(typeof tl === 'object' && tl !== null && typeof tenant === 'string'
      ? { tenant: { name: tenant, since: typeof tl.since === 'number' ? tl.since : 0 } }
      : {}),
  };
}

function valueOf(v: unknown): CheckpointValue | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as { seq?: unknown; values?: unknown; tenants?: unknown };
  if (o.seq === null) return { seq: null };
  if (typeof o.seq !== 'number' || typeof o.values !== 'object' || o.values === null)
    return undefined;
  const tenants =
    typeof o.tenants === 'object' && o.tenants !== null
      ? (o.tenants as Record<string, TenantCheckpointJson>)
      : undefined;
  return {
    seq: o.seq,
    values: o.values as Record<string, string>,
    ...(tenants === undefined ? {} : { tenants }),
  };
}

function tenantEntryOf(e: unknown): TenantCheckpointJson | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const t = e as Record<string, unknown>;
  const int = (k: string): boolean => Number.isSafeInteger(t[k]) && (t[k] as number) >= 0;
  return typeof t['vmr'] === 'string' &&
    typeof t['alg'] === 'string' &&
    typeof t['value'] === 'string' &&
    /^[0-9a-f]+$/.test(t['value']) &&
    int('line') &&
    int('record') &&
    int('seq')
    ? (t as unknown as TenantCheckpointJson)
    : undefined;
}

/**
 * The trusted tenant checkpoint a tenant log sent since a position is folded from: the stored
 * entry of the bundle's tenant when the physical log is sent since the stored checkpoint;
 * `'none'` when the log is sent since a position and there is no such entry (the replay then
 * refuses it: `ERR_TENANT_DISCONTINUOUS`); undefined for a whole tenant log.
 */
export function trustedTenantCheckpointOf(
  rec: CheckpointRecord | null,
  window: BundleWindow,
): TrustedTenantCheckpoint | 'none' | undefined {
  const t = window.tenant;
  if (t === undefined || t.since === 0) return undefined;
  const v = valueOf(rec?.value);
  if (v?.seq == null || v.seq !== window.since) return 'none';
  const e = tenantEntryOf(v.tenants?.[t.name]);
  const alg = e === undefined ? undefined : lookupHashAlg(e.alg);
  if (e === undefined || alg === undefined || e.value.length !== digestSize(alg) * 2) return 'none';
  return {
    tenant: t.name,
    vmr: e.vmr,
    alg,
    line: e.line,
    record: e.record,
    value: new Uint8Array(Buffer.from(e.value, 'hex')),
    seq: e.seq,
  };
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
  /** The bundle's tenant's entry this result stored (its log is sent since it next time). */
  readonly tenant?: { readonly name: string; readonly record: number; readonly line: number };
}

/** Where a verified bundle would move its attester's checkpoint (see {@link planAdvance}). */
export interface AdvancePlan {
  readonly register: string;
  /** The stored checkpoint's number before (null: none, or none for this boot). */
  readonly currentSeq: number | null;
  /** The move to make; undefined when the bundle moves nothing forward. */
  readonly move?: Omit<CheckpointMove, 'key'> & {
    readonly seq: number | null;
    /** False when only the bundle's tenant's entry moves (the physical checkpoint stays). */
    readonly physical: boolean;
    /** The bundle's tenant's entry the move stores. */
    readonly tenant?: { readonly name: string; readonly record: number; readonly line: number };
  };
}

/** The tenant layer of a verified tenant bundle: its name and its states at checkpoints. */
function tenantOf(
  r: EvidenceResult,
): { name: string; vmr: string; alg: string; at: readonly TenantAtCheckpoint[] } | undefined {
  const layers = r.claims['layers'] as Record<string, unknown> | undefined;
  const vmr = layers?.['vmr'] as
    { name?: unknown; alg?: unknown; checkpoints?: readonly TenantAtCheckpoint[] } | undefined;
  const binding = layers?.['binding'] as { tenant?: unknown } | undefined;
  if (
    typeof vmr?.name !== 'string' ||
    typeof vmr.alg !== 'string' ||
    typeof binding?.tenant !== 'string'
  )
    return undefined;
  return { name: binding.tenant, vmr: vmr.name, alg: vmr.alg, at: vmr.checkpoints ?? [] };
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
  // the tenant's entry at the checkpoint stored after this move (or at the stored one)
  const target = forward ? next : curValue;
  const t = tenantOf(verify);
  const at = target?.seq == null ? undefined : t?.at.find((c) => c.seq === target.seq);
  const mine: TenantCheckpointJson | undefined =
    t === undefined || at === undefined
      ? undefined
      : { vmr: t.vmr, alg: t.alg, line: at.line, record: at.record, value: at.value, seq: at.seq };
  const carried = forward && newBoot ? {} : { ...(curValue?.tenants ?? {}) };
  const old = t === undefined ? undefined : tenantEntryOf(carried[t.name]);
  const tenantMoves = mine !== undefined && (old?.vmr !== mine.vmr || mine.record > old.record);
  if (!forward && !tenantMoves) return { register: p.register, currentSeq: curSeq };
  const tenants =
    mine === undefined || (!tenantMoves && old !== undefined)
      ? carried
      : { ...carried, [t!.name]: mine };
  const value: CheckpointValue = forward
    ? next.seq === null
      ? next
      : { ...next, ...(Object.keys(tenants).length === 0 ? {} : { tenants }) }
    : { seq: curValue!.seq, values: curValue!.values!, tenants };
  return {
    register: p.register,
    currentSeq: curSeq,
    move: {
      expectedVersion: cur?.version ?? null,
      bootId: p.bootId ?? cur?.bootId ?? null,
      value,
      seq: value.seq,
      physical: forward,
      ...(mine === undefined || !tenantMoves
        ? {}
        : { tenant: { name: t!.name, record: mine.record, line: mine.line } }),
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
    advanced: out.ok && plan.move.physical,
    ...(out.ok && plan.move.tenant !== undefined ? { tenant: plan.move.tenant } : {}),
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

/**
 * The tenant log position a new session for `tenant` should ask for: its entry in the stored
 * checkpoint the physical hint names (checkpoints read already, newest update first).
 */
export function tenantSinceHintOf(
  checkpoints: readonly CheckpointRecord[],
  policyDigest: string,
  tenant: string,
): TenantSinceHint | undefined {
  for (const c of checkpoints) {
    if (c.policyDigest !== policyDigest) continue;
    const v = valueOf(c.value);
    if (v?.seq == null) continue;
    const e = tenantEntryOf(v.tenants?.[tenant]);
    if (e === undefined) return undefined;
    return {
      tenant,
      vmr: e.vmr,
      record: e.record,
      line: e.line,
      ...(c.bootId === null ? {} : { boot_id: c.bootId }),
    };
  }
  return undefined;
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
