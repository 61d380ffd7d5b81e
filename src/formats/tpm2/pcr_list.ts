/**
 * PCR selections as tpm2-tools writes them (`tpm2_pcrread`, `tpm2_quote -l`):
 * `BANK:PCRS[+BANK:PCRS…]`, where BANK is a hash name (`sha1`, `sha256` …) and PCRS is a
 * comma-separated list of PCR numbers or `all`. Example: `sha256:0,1,7+sha1:10`.
 *
 * @module
 */
import { parseHashAlg, type HashAlg } from '../../crypto/hash_alg.js';
import { UsageError } from '../../errors.js';

/** PCRs a TPM 2.0 PC Client platform has (TCG PC Client PTP: 24). */
export const PCR_COUNT = 24;

/** One bank of a selection and its PCRs, ascending, without duplicates. */
export interface PcrBankSelection {
  readonly alg: HashAlg;
  readonly pcrs: readonly number[];
}

function bad(text: string, offset: number, expected: string, actual: string): UsageError {
  return new UsageError(
    'ERR_USAGE',
    `PCR selection ${JSON.stringify(text)} @${offset}: expected ${expected}, found ${actual === '' ? 'nothing' : JSON.stringify(actual)}`,
  );
}

/** Parses `sha256:0,1,7+sha1:10`; a bank named twice has its PCRs merged. */
export function parsePcrList(text: string): PcrBankSelection[] {
  const banks = new Map<HashAlg, Set<number>>();
  let offset = 0;
  for (const part of text.split('+')) {
    const colon = part.indexOf(':');
    if (colon <= 0) throw bad(text, offset, 'BANK:PCRS (e.g. sha256:0,1,7)', part);
    const alg = parseHashAlg(part.slice(0, colon).trim(), 'pcr-list bank');
    const set = banks.get(alg) ?? new Set<number>();
    const list = part.slice(colon + 1).trim();
    if (list === 'all') for (let i = 0; i < PCR_COUNT; i++) set.add(i);
    else {
      let o = offset + colon + 1;
      for (const n of list.split(',')) {
        const v = n.trim();
        if (!/^\d{1,2}$/.test(v) || Number(v) >= PCR_COUNT)
          throw bad(text, o, `a PCR number 0..${PCR_COUNT - 1} or "all"`, v);
        set.add(Number(v));
        o += n.length + 1;
      }
    }
    banks.set(alg, set);
    offset += part.length + 1;
  }
  return [...banks].map(([alg, set]) => ({ alg, pcrs: [...set].sort((a, b) => a - b) }));
}

/** The text form of a selection (`sha256:0,1,7+sha1:10`). */
export function formatPcrList(sel: readonly PcrBankSelection[]): string {
  return sel.map((b) => `${b.alg}:${b.pcrs.join(',')}`).join('+');
}
