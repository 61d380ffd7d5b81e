/**
 * A trusted IMA checkpoint (incremental verification, DESIGN §6.5, docs/verifier.md): after a
 * passed attestation, the verifier keeps where an attester's IMA list stood — the number of
 * entries that were verified, PCR 10's running value after them in **every** bank the
 * evidence proved (never SHA-1 alone), the keys that accepted `ima-buf` keyring entries below
 * it brought (so `ima-sig` entries after it still find their key) and, for `mr_ima`, the boot's
 * salt. The next attestation sends only the entries after `offset` and they are folded from
 * `banks`.
 *
 * {@link imaStartFor} decides how a list sent from entry `since` meets a checkpoint: folded from
 * it (`since` = `offset`), checked against it (a whole list: the fold at `offset` must give
 * `banks`, else an entry below the checkpoint was changed or removed —
 * `ERR_IMA_CHECKPOINT_MISMATCH`), or refused (`ERR_IMA_DISCONTINUOUS`: the list does not
 * continue from a value the verifier trusts).
 *
 * @module
 */
import type { ErrorCode } from '../../errors.js';
import { bytesEqual, fromHex, toHex } from '../../bytes/hex.js';
import { digestSize, lookupHashAlg, type HashAlg } from '../../crypto/hash_alg.js';
import type { ImaFoldStart } from './ima_layer_fold.js';

/** Where an attester's IMA list stood at its last passed attestation. */
export interface ImaCheckpoint {
  /** Entries verified (the list's first `offset` entries). */
  readonly offset: number;
  /** PCR 10 (or `mr_ima`'s banks) after them. */
  readonly banks: ReadonlyMap<HashAlg, Uint8Array>;
  /** Key material of accepted `ima-buf` keyring entries below `offset` (DER, as logged). */
  readonly keys: readonly Uint8Array[];
  /** `mr_ima` only: the boot's commitment salt (another salt is another boot). */
  readonly salt?: Uint8Array;
}

/** The JSON form a store keeps (`checkpoints.value.ima`). */
export interface ImaCheckpointJson {
  readonly offset: number;
  readonly banks: Readonly<Record<string, string>>;
  readonly keys: readonly string[];
  readonly salt?: string;
}

/** The JSON form of a checkpoint (hex bytes). */
export function imaCheckpointToJson(c: ImaCheckpoint): ImaCheckpointJson {
  return {
    offset: c.offset,
    banks: Object.fromEntries([...c.banks].map(([a, v]) => [a, toHex(v)])),
    keys: c.keys.map(toHex),
    ...(c.salt === undefined ? {} : { salt: toHex(c.salt) }),
  };
}

/**
 * A checkpoint from its JSON form; undefined for anything that is not one (a store value this
 * build does not read is no checkpoint, never a crash).
 */
export function imaCheckpointFromJson(v: unknown): ImaCheckpoint | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const offset = o['offset'];
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return undefined;
  const b = o['banks'];
  if (typeof b !== 'object' || b === null) return undefined;
  const banks = new Map<HashAlg, Uint8Array>();
  try {
    for (const [name, hex] of Object.entries(b)) {
      const alg = lookupHashAlg(name);
      if (alg === undefined || typeof hex !== 'string') return undefined;
      const value = fromHex(hex, `ima checkpoint ${name}`);
      if (value.length !== digestSize(alg)) return undefined;
      banks.set(alg, value);
    }
    const k = o['keys'];
    if (!Array.isArray(k) || !k.every((x) => typeof x === 'string')) return undefined;
    const keys = k.map((x: string, i) => fromHex(x, `ima checkpoint key ${i}`));
    const s = o['salt'];
    if (s !== undefined && typeof s !== 'string') return undefined;
    if (banks.size === 0) return undefined;
    return {
      offset,
      banks,
      keys,
      ...(s === undefined ? {} : { salt: fromHex(s, 'ima checkpoint salt') }),
    };
  } catch {
    return undefined;
  }
}

/** A failed meeting of a list and a checkpoint. */
export interface ImaCheckpointIssue {
  readonly code: Extract<ErrorCode, 'ERR_IMA_CHECKPOINT_MISMATCH' | 'ERR_IMA_DISCONTINUOUS'>;
  readonly message: string;
  readonly [k: string]: unknown;
}

/** How a list sent from entry `since` meets the trusted checkpoint (see {@link imaStartFor}). */
export type ImaStart =
  /** The whole list, folded from the reset value; no checkpoint applies (none, another boot). */
  | { readonly use: 'none' | 'other-boot' }
  /** Folded from the checkpoint's value: the list was sent from its offset. */
  | { readonly use: 'continued'; readonly start: ImaFoldStart }
  /** The whole list; the fold at the checkpoint's offset must give its value. */
  | { readonly use: 'compared'; readonly offset: number; readonly banks: readonly Uint8Array[] }
  /** Refused: the list does not continue from a value the verifier trusts. */
  | { readonly use: 'refused'; readonly issue: ImaCheckpointIssue };

/**
 * How a list sent from entry `since` meets the trusted checkpoint `cp` (undefined: none), for a
 * fold in `banks` of a list of `salt` (mr_ima; undefined for PCR 10).
 */
export function imaStartFor(
  since: number,
  cp: ImaCheckpoint | undefined,
  banks: readonly HashAlg[],
  salt?: Uint8Array,
  /** The caller knows the checkpoint is of another boot (a TPM's reset count differs). */
  otherBootKnown = false,
): ImaStart {
  const refuse = (message: string, more: Record<string, unknown> = {}): ImaStart => ({
    use: 'refused',
    issue: { code: 'ERR_IMA_DISCONTINUOUS', message, since, ...more },
  });
  const otherBoot =
    cp !== undefined &&
    (otherBootKnown || (cp.salt !== undefined && salt !== undefined && !bytesEqual(cp.salt, salt)));
  if (cp === undefined || otherBoot) {
    if (since === 0) return { use: otherBoot ? 'other-boot' : 'none' };
    return refuse(
      otherBoot
        ? `the IMA list is sent from entry ${since}, but the trusted IMA checkpoint belongs to another boot`
        : `the IMA list is sent from entry ${since}, and the verifier holds no trusted IMA checkpoint to continue from`,
    );
  }
  const missing = banks.filter((b) => !cp.banks.has(b));
  if (since === 0 && cp.offset > 0) {
    if (missing.length > 0) return { use: 'none' };
    return { use: 'compared', offset: cp.offset, banks: banks.map((b) => cp.banks.get(b)!) };
  }
  if (since !== cp.offset) {
    return refuse(
      since > cp.offset
        ? `the IMA list is sent from entry ${since}, but the trusted IMA checkpoint is at entry ${cp.offset}: entries ${cp.offset}..${since - 1} are missing`
        : `the IMA list is sent from entry ${since}, but the trusted IMA checkpoint is at entry ${cp.offset}: there is no trusted value at ${since}`,
      { checkpoint: cp.offset },
    );
  }
  if (missing.length > 0) {
    return refuse(
      `the trusted IMA checkpoint holds no running value in ${missing.join(', ')}: the list cannot continue from it in every bank`,
      { checkpoint: cp.offset, banks: missing },
    );
  }
  if (since === 0) return { use: 'none' };
  return {
    use: 'continued',
    start: { count: cp.offset, banks: new Map(banks.map((b) => [b, cp.banks.get(b)!])) },
  };
}
