/**
 * systemd-pcrlock definitions → policy v1 `registers` (DESIGN §6.3).
 *
 * A `.pcrlock` file is one boot component: `{"records":[{"pcr":N,"digests":[{"hashAlg","digest"}]}…]}`,
 * the measurements it makes in order. A `NNN-name.pcrlock.d/` directory holds the variants of one
 * component (one of them happens per boot; `{"records":[]}` is "measures nothing"). Components
 * are ordered by file name alone, as systemd-pcrlock does. Every value a PCR can reach — one
 * variant per component — becomes an accepted value of `pcrN:<bank>` (at most
 * {@link MAX_VARIANT_VALUES} per register, as systemd refuses policies beyond its own bound).
 *
 * RTMRs: pcrlock files do not order records of different PCRs against each other, so an RTMR
 * is predicted only when exactly one PCR of those the CCEL map folds into it (PCR 1,7 → RTMR0;
 * 2–6 → RTMR1; 8–15 → RTMR2) has records; its SHA-384 fold becomes `rtmrN`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { MrstackError } from '../../errors.js';
import type { PolicyV1 } from './policy.js';

/** Bound on predicted values per register. */
export const MAX_VARIANT_VALUES = 64;

const ALG_SIZE: Readonly<Record<string, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
const NODE_ALG: Readonly<Record<string, string>> = {
  sha1: 'sha1',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
};

/** One component file: its name (for ordering) and bytes. */
export interface PcrlockFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** A component: its sort key and its variants (each a record list). */
export interface PcrlockComponent {
  readonly key: string;
  readonly variants: readonly PcrlockRecord[][];
}

/** One record: a PCR and its digests per bank. */
export interface PcrlockRecord {
  readonly pcr: number;
  readonly digests: ReadonlyMap<string, Uint8Array>;
}

function invalid(file: string, message: string): MrstackError {
  return new MrstackError('ERR_POLICY_INVALID', `pcrlock ${file}: ${message}`, {
    details: { file },
  });
}

/** Parses one `.pcrlock` file. */
export function parsePcrlock(f: PcrlockFile): PcrlockRecord[] {
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(f.bytes).toString('utf8'));
  } catch (e) {
    throw invalid(f.name, `not JSON (${(e as Error).message})`);
  }
  const records = (obj as { records?: unknown } | null)?.records;
  if (!Array.isArray(records)) throw invalid(f.name, 'no "records" list');
  return records.map((r: unknown, i) => {
    const rec = r as { pcr?: unknown; digests?: unknown };
    if (typeof rec.pcr !== 'number' || !Number.isInteger(rec.pcr) || rec.pcr < 0 || rec.pcr > 23)
      throw invalid(f.name, `records[${i}].pcr is not 0..23`);
    if (!Array.isArray(rec.digests)) throw invalid(f.name, `records[${i}].digests is not a list`);
    const digests = new Map<string, Uint8Array>();
    for (const d of rec.digests as { hashAlg?: unknown; digest?: unknown }[]) {
      const alg = typeof d.hashAlg === 'string' ? d.hashAlg : '';
      const size = ALG_SIZE[alg];
      if (size === undefined) continue; // banks this importer does not predict
      if (typeof d.digest !== 'string' || !new RegExp(`^[0-9a-fA-F]{${size * 2}}$`).test(d.digest))
        throw invalid(f.name, `records[${i}] ${alg} digest is not ${size} bytes of hex`);
      digests.set(alg, Buffer.from(d.digest, 'hex'));
    }
    return { pcr: rec.pcr, digests };
  });
}

function fold(alg: string, start: Uint8Array, digests: readonly Uint8Array[]): Uint8Array {
  let v = start;
  for (const d of digests) v = createHash(NODE_ALG[alg]!).update(v).update(d).digest();
  return v;
}

const RTMR_OF_PCR = (pcr: number): number | undefined =>
  pcr === 1 || pcr === 7 ? 0 : pcr >= 2 && pcr <= 6 ? 1 : pcr >= 8 && pcr <= 15 ? 2 : undefined;

/**
 * Predicts register values from ordered components.
 * @throws MrstackError `ERR_POLICY_INVALID` when a register would have too many values
 */
export function predictPcrlock(
  components: readonly PcrlockComponent[],
  opts: { readonly rtmr?: boolean } = {},
): Record<string, string[]> {
  const sorted = [...components].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // per PCR and bank: the set of reachable values
  const pcrs = new Set<number>();
  const banks = new Set<string>();
  for (const c of sorted)
    for (const v of c.variants)
      for (const r of v) {
        pcrs.add(r.pcr);
        for (const b of r.digests.keys()) banks.add(b);
      }
  const out: Record<string, string[]> = {};
  const reach = (pcr: number, bank: string, size: number): string[] => {
    let values = new Set<string>([Buffer.alloc(size).toString('hex')]);
    for (const c of sorted) {
      const next = new Set<string>();
      for (const v of values)
        for (const variant of c.variants) {
          const ds = variant.filter((r) => r.pcr === pcr).map((r) => r.digests.get(bank));
          if (ds.some((d) => d === undefined)) continue; // variant lacks this bank: not predictable
          next.add(
            Buffer.from(fold(bank, Buffer.from(v, 'hex'), ds as Uint8Array[])).toString('hex'),
          );
        }
      values = next;
      if (values.size > MAX_VARIANT_VALUES)
        throw new MrstackError(
          'ERR_POLICY_INVALID',
          `pcrlock: pcr${pcr}:${bank} would have more than ${MAX_VARIANT_VALUES} values`,
        );
    }
    return [...values];
  };
  for (const pcr of [...pcrs].sort((a, b) => a - b))
    for (const bank of banks) {
      const values = reach(pcr, bank, ALG_SIZE[bank]!);
      if (values.length > 0) out[`pcr${pcr}:${bank}`] = values;
    }
  if (opts.rtmr === true && banks.has('sha384')) {
    for (const rtmr of [0, 1, 2]) {
      const feeding = [...pcrs].filter((p) => RTMR_OF_PCR(p) === rtmr);
      if (feeding.length !== 1) continue;
      const values = reach(feeding[0]!, 'sha384', 48);
      if (values.length > 0) out[`rtmr${rtmr}`] = values;
    }
  }
  return out;
}

/**
 * Builds a policy from pcrlock components (files, and variant directories already read).
 */
export function importPcrlock(
  components: readonly PcrlockComponent[],
  opts: { readonly name: string; readonly files: readonly string[]; readonly rtmr?: boolean },
): PolicyV1 {
  return {
    version: 1,
    name: opts.name,
    description:
      'imported from systemd-pcrlock component definitions (every reachable value per PCR)',
    source: { importer: 'pcrlock', files: [...opts.files] },
    registers: predictPcrlock(components, opts.rtmr === undefined ? {} : { rtmr: opts.rtmr }),
  };
}
