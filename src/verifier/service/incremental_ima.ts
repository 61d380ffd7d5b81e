/**
 * Incremental IMA verification in the verifier service (DESIGN §6.5, docs/verifier.md
 * "Incremental IMA"): per attester, IMA register (`mr_ima` for an agent's ima bundle, `pcr10`
 * for a TPM quote with its IMA list) and policy digest, the store keeps a trusted IMA
 * checkpoint (`verifier/replay/ima_checkpoint.ts`) as the checkpoint value `{"ima": …}`. The
 * session tells the attester the entry to send its list from (`ima_since`); the evidence is
 * verified from the stored running value; a passed result with nothing relaxed moves it forward
 * by the store's compare-and-set.
 *
 * What binds the entries sent: for a TPM quote, PCR 10 in the verified quote must equal the fold
 * of the stored running value over them, in every bank the quote carries; for `mr_ima`, the
 * `mr_ima` tokens of the physical log (replayed to the quoted register) must commit to that fold
 * at their counts. A new boot (another `mr_ima` salt, another TPM reset count) starts over.
 *
 * @module
 */
import { toHex } from '../../bytes/hex.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import { MR_IMA_VMR } from '../../formats/mrlog/record.js';
import type { EvidenceAppraisal } from '../appraise/appraise_evidence.js';
import { tpmBootIdOf } from '../appraise/replayed_logs.js';
import {
  imaCheckpointFromJson,
  imaCheckpointToJson,
  type ImaCheckpoint,
} from '../replay/ima_checkpoint.js';
import type { CheckpointRecord } from '../store/store.js';

/** The register an IMA checkpoint of a TPM quote's list is kept under. */
export const TPM_IMA_REGISTER = 'pcr10';

/** The IMA checkpoint in a stored checkpoint record, if it holds one. */
export function imaCheckpointOf(rec: CheckpointRecord | null): ImaCheckpoint | undefined {
  const v = rec?.value as { ima?: unknown } | null | undefined;
  return v?.ima === undefined ? undefined : imaCheckpointFromJson(v.ima);
}

/** Which IMA entry a new session's attester should send its list from. */
export interface ImaSinceHint {
  /** `mr_ima` (the agent's ima tenant) or `pcr10` (a TPM quote's list). */
  readonly register: string;
  readonly offset: number;
  /** The boot the checkpoint was taken in (`mr_ima`: the agent's boot id), when known. */
  readonly boot_id?: string;
}

/** The IMA hints of an attester's checkpoints under a policy (newest update first). */
export function imaSinceHintOf(
  checkpoints: readonly CheckpointRecord[],
  policyDigest: string,
): ImaSinceHint | undefined {
  for (const c of checkpoints) {
    if (c.policyDigest !== policyDigest) continue;
    const cp = imaCheckpointOf(c);
    if (cp !== undefined && cp.offset > 0)
      return {
        register: c.register,
        offset: cp.offset,
        ...(c.bootId === null ? {} : { boot_id: c.bootId }),
      };
  }
  return undefined;
}

/** What {@link planImaAdvance} proposes to store. */
export interface ImaAdvancePlan {
  readonly bootId: string | null;
  readonly value: { readonly ima: ReturnType<typeof imaCheckpointToJson> };
  readonly offset: number;
}

function mergeKeys(a: readonly Uint8Array[], b: readonly Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const k of [...a, ...b]) {
    const h = toHex(k);
    if (seen.has(h)) continue;
    seen.add(h);
    out.push(k);
  }
  return out;
}

/**
 * The IMA checkpoint a passed, unrelaxed appraisal moves to (the caller checks that), or
 * undefined when it moves nothing forward. `prev` is the stored record read before the
 * evidence was evaluated; `learned` the buffers of the keyring entries the policy accepted.
 */
export function planImaAdvance(
  register: string,
  prev: CheckpointRecord | null,
  a: EvidenceAppraisal,
  learned: readonly Uint8Array[],
): ImaAdvancePlan | undefined {
  const old = imaCheckpointOf(prev);
  let next: ImaCheckpoint;
  let bootId: string | null;
  let continued: boolean;
  if (register === MR_IMA_VMR) {
    const layers = a.verify.claims['layers'] as Record<string, unknown> | undefined;
    const ima = layers?.['ima'] as
      | {
          verified: number;
          banks: Record<string, string>;
          salt?: string;
          since?: number;
          checkpoint?: string;
        }
      | undefined;
    if (ima === undefined || typeof ima.salt !== 'string' || ima.verified <= 0) return undefined;
    if (a.verify.errors.some((e) => e['check'] === 'ima')) return undefined;
    const banks = new Map(
      Object.entries(ima.banks).map(([k, v]) => [
        k as HashAlg,
        new Uint8Array(Buffer.from(v, 'hex')),
      ]),
    );
    const salt = new Uint8Array(Buffer.from(ima.salt, 'hex'));
    continued = ima.checkpoint === 'continued' || ima.checkpoint === 'compared';
    next = { offset: ima.verified, banks, keys: [], salt };
    const physical = layers?.['physical'] as { bootId?: string } | undefined;
    bootId = physical?.bootId ?? (continued ? (prev?.bootId ?? null) : null);
  } else {
    // a TPM quote's list: every PCR 10 bank the quote carries replayed, and the list judged
    const list = a.replay.ima?.find((l) => l.register === TPM_IMA_REGISTER);
    const pcr10 = a.replay.registers.filter((r) => r.name === TPM_IMA_REGISTER);
    if (list?.proof !== 'ok' || list.end === undefined) return undefined;
    if (pcr10.length === 0 || pcr10.some((r) => r.proof !== 'ok')) return undefined;
    if ((a.replay.imaCheckpoint ?? []).length > 0) return undefined;
    next = {
      offset: list.end,
      banks: new Map(pcr10.map((r) => [r.alg, r.value])),
      keys: [],
    };
    continued = (list.since ?? 0) > 0 || old !== undefined;
    bootId = tpmBootIdOf(a.claims) ?? null;
    if (old !== undefined && prev?.bootId != null && bootId !== prev.bootId) continued = false;
  }
  const keys =
    continued && old !== undefined ? mergeKeys(old.keys, learned) : mergeKeys([], learned);
  const sameBoot =
    old !== undefined &&
    (register === MR_IMA_VMR
      ? old.salt !== undefined && next.salt !== undefined && toHex(old.salt) === toHex(next.salt)
      : prev?.bootId == null || prev.bootId === bootId);
  // forward only: a first checkpoint, a new boot, or more entries than the stored one
  if (old !== undefined && sameBoot && next.offset <= old.offset) return undefined;
  return {
    bootId,
    value: { ima: imaCheckpointToJson({ ...next, keys }) },
    offset: next.offset,
  };
}

/** `{unquoted}` when a TPM quote's list ran past the prefix the quote covers, else `{}`. */
export function unquotedOf(
  lists: readonly { readonly register?: string; readonly unquoted?: number }[] | undefined,
): { unquoted?: number } {
  const n = lists?.find((l) => l.register === TPM_IMA_REGISTER)?.unquoted;
  return n === undefined ? {} : { unquoted: n };
}
