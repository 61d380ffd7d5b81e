/**
 * TPM PCRs as the kernel shows them without a TPM stack: `sys/class/tpm/tpm0/pcr-<alg>/<n>`,
 * one file per PCR and bank holding the value as hex text (read-only; Linux ≥ 5.12).
 *
 * @module
 */
import { ProviderError } from '../../errors.js';
import { digestSize, lookupHashAlg, type HashAlg } from '../../crypto/hash_alg.js';
import type { MrInfo } from '../provider.js';
import { TPM_PCR_DIR } from './kernel_paths.js';
import type { TsmFs } from './tsm_fs.js';

/** One PCR bank file. */
export interface SysfsPcr extends MrInfo {
  readonly path: string;
}

/** Every PCR bank file under `tpm0`, by bank then index. */
export async function listSysfsPcrs(fs: TsmFs): Promise<readonly SysfsPcr[]> {
  const top = await fs.stat(TPM_PCR_DIR);
  if (top?.isDirectory !== true) return [];
  const out: SysfsPcr[] = [];
  for (const entry of await fs.list(TPM_PCR_DIR)) {
    if (!entry.startsWith('pcr-')) continue;
    const alg = lookupHashAlg(entry.slice(4));
    if (alg === undefined) continue;
    const dir = `${TPM_PCR_DIR}/${entry}`;
    const indices = (await fs.list(dir))
      .filter((n) => /^(0|[1-9][0-9]?)$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
    for (const i of indices) {
      out.push({
        name: `pcr${i}`,
        alg,
        size: digestSize(alg),
        kind: 'runtime',
        extendable: false,
        path: `${dir}/${i}`,
      });
    }
  }
  return out;
}

/**
 * Decodes a sysfs PCR file: hex digits of the bank's digest size, then a newline.
 * @throws ProviderError `ERR_DEVICE` when the text is not such a value
 */
export function decodeSysfsPcr(text: Uint8Array, alg: HashAlg, path: string): Uint8Array {
  const s = Buffer.from(text).toString('latin1').trim();
  const size = digestSize(alg);
  if (s.length !== size * 2 || !/^[0-9A-Fa-f]*$/.test(s)) {
    throw new ProviderError(
      'ERR_DEVICE',
      `${path}: expected ${size * 2} hex digits, found ${JSON.stringify(s.slice(0, 140))}`,
      { details: { path } },
    );
  }
  return new Uint8Array(Buffer.from(s, 'hex'));
}
