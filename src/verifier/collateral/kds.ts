/**
 * Fetching SEV-SNP collateral from the AMD Key Distribution Service into the collateral cache:
 * the VCEK for a chip and reported TCB (`/vcek/v1/<Product>/<hwid>?blSPL=…&teeSPL=…&snpSPL=…
 * &ucodeSPL=…[&fmcSPL=…]`, hwID = CHIP_ID, its first 8 bytes on Turin), the product's ASK+ARK
 * chain (`/vcek/v1/<Product>/cert_chain`) and CRL (`/vcek/v1/<Product>/crl`). KDS limits request
 * rates: requests are spaced (default 2 s apart) and 429 + Retry-After is honoured. A VCEK never
 * changes for a chip and TCB, so it is fetched once; the CRL is refreshed after its nextUpdate.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError, UsageError } from '../../errors.js';
import { formatTcb, type SnpProduct, type SnpTcb } from '../../formats/snp/tcb.js';
import { parseCertificates } from '../verify/x509/certificate.js';
import { parseCrl } from '../verify/x509/crl.js';
import { absentItem, fetchedItem, type CollateralCache, type NewCachedItem } from './cache.js';
import { PoliteFetcher } from './cache_http.js';
import type { FetchResult } from './pcs.js';

/** AMD KDS. */
export const AMD_KDS_URL = 'https://kdsintf.amd.com';
/** Spacing between KDS requests when the caller gives none (ms). */
export const KDS_DEFAULT_INTERVAL_MS = 2000;

const PRODUCT_PATH: Readonly<Record<SnpProduct, string>> = {
  milan: 'Milan',
  genoa: 'Genoa',
  turin: 'Turin',
};

/** Options of {@link fetchSnpCollateral}. */
export interface SnpFetchOptions {
  readonly product: SnpProduct;
  /** CHIP_ID (64 bytes; Turin uses the first 8). */
  readonly chipId: Uint8Array;
  /** REPORTED_TCB, decoded in the product's layout. */
  readonly reportedTcb: SnpTcb;
  readonly cache: CollateralCache;
  readonly baseUrl?: string;
  readonly now: Date;
  readonly force?: boolean;
  /** Default: a fetcher spacing requests by {@link KDS_DEFAULT_INTERVAL_MS}. */
  readonly fetcher?: PoliteFetcher;
}

/** The KDS VCEK URL for a chip and TCB. */
export function kdsVcekUrl(
  base: string,
  product: SnpProduct,
  chipId: Uint8Array,
  t: SnpTcb,
): string {
  const hwid = Buffer.from(product === 'turin' ? chipId.subarray(0, 8) : chipId).toString('hex');
  const q = [
    ...(product === 'turin' ? [`fmcSPL=${t.fmc ?? 0}`] : []),
    `blSPL=${t.bootloader}`,
    `teeSPL=${t.tee}`,
    `snpSPL=${t.snp}`,
    `ucodeSPL=${t.microcode}`,
  ].join('&');
  return `${base.replace(/\/+$/, '')}/vcek/v1/${PRODUCT_PATH[product]}/${hwid}?${q}`;
}

/**
 * Fetches (or reuses) the VCEK, certificate chain and CRL for one chip and TCB.
 * @throws UsageError for a malformed chip id; MrstackError `ERR_NOT_FOUND` (KDS 404),
 *   `ERR_IO`, `ERR_RATE_LIMITED`, `ERR_TIMEOUT`
 */
export async function fetchSnpCollateral(o: SnpFetchOptions): Promise<FetchResult> {
  if (o.chipId.length !== 64 && !(o.product === 'turin' && o.chipId.length === 8)) {
    throw new UsageError(
      'ERR_USAGE',
      `--chip-id: expected 64 bytes (128 hex digits), got ${o.chipId.length}`,
    );
  }
  const base = (o.baseUrl ?? AMD_KDS_URL).replace(/\/+$/, '');
  const fetcher = o.fetcher ?? new PoliteFetcher({ minIntervalMs: KDS_DEFAULT_INTERVAL_MS });
  const before = fetcher.requests;
  const hwid = Buffer.from(o.product === 'turin' ? o.chipId.subarray(0, 8) : o.chipId).toString(
    'hex',
  );
  const key = `${o.product}/${hwid}_${formatTcb(o.reportedTcb)}`;
  const crlKey = `${o.product}/crl`;
  const meta = o.cache.readMeta('snp', key);
  const crlMeta = o.cache.readMeta('snp', crlKey);
  const at = o.now.toISOString();
  const fetched: string[] = [];
  const cached: string[] = [];
  const warnings: string[] = [];
  const items: NewCachedItem[] = [];
  const fresh = (m: typeof meta, name: string, k: 'snp'): boolean =>
    o.force !== true && o.cache.isFresh(m, name, o.now, k);

  if (fresh(meta, 'vcek', 'snp')) cached.push('vcek');
  else {
    const url = kdsVcekUrl(base, o.product, o.chipId, o.reportedTcb);
    const res = await fetcher.getOk(url);
    items.push(fetchedItem('vcek', 'vcek.der', url, res.body, at));
    fetched.push('vcek');
  }
  if (fresh(meta, 'cert_chain', 'snp')) cached.push('cert_chain');
  else {
    const url = `${base}/vcek/v1/${PRODUCT_PATH[o.product]}/cert_chain`;
    const res = await fetcher.getOk(url);
    // The chain's earliest notAfter bounds the cache entry; an unreadable chain is cached
    // without a bound and refused when it is verified.
    let ends: number[] = [];
    try {
      ends = parseCertificates(res.body, 'cert_chain').map((c) => c.notAfter.getTime());
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
    const nu = ends.length === 0 ? undefined : new Date(Math.min(...ends)).toISOString();
    items.push(fetchedItem('cert_chain', 'cert_chain.pem', url, res.body, at, nu));
    fetched.push('cert_chain');
  }
  if (items.length > 0) o.cache.store('snp', key, items);

  if (fresh(crlMeta, 'crl', 'snp')) {
    if (crlMeta?.items['crl']?.absent === true)
      warnings.push(`no CRL for ${PRODUCT_PATH[o.product]} (cached 404)`);
    else cached.push('crl');
  } else {
    const url = `${base}/vcek/v1/${PRODUCT_PATH[o.product]}/crl`;
    const res = await fetcher.get(url);
    if (res.status === 200) {
      const nu = crlNextUpdate(res.body);
      o.cache.store('snp', crlKey, [fetchedItem('crl', 'crl.der', url, res.body, at, nu)]);
      fetched.push('crl');
    } else {
      warnings.push(`no CRL for ${PRODUCT_PATH[o.product]} (HTTP ${res.status})`);
      if (res.status === 404) {
        // Remembered for a day, so repeated fetches do not ask KDS again.
        const retry = new Date(o.now.getTime() + 24 * 3600 * 1000).toISOString();
        o.cache.store('snp', crlKey, [absentItem('crl', url, at, retry)]);
      }
    }
  }
  // A copy of the product's CRL goes into the entry, so `--collateral <entry>` checks revocation.
  const crlNow = o.cache.readMeta('snp', crlKey)?.items['crl'];
  if (crlNow !== undefined && crlNow.absent !== true) {
    let data: Uint8Array | undefined;
    try {
      data = new Uint8Array(readFileSync(join(o.cache.entryDir('snp', crlKey), crlNow.file)));
    } catch {
      warnings.push('the cached KDS CRL could not be read; fetch again with --force');
    }
    if (data !== undefined) o.cache.store('snp', key, [{ ...crlNow, name: 'crl', data }]);
  }
  return {
    kind: 'snp',
    dir: o.cache.entryDir('snp', key),
    fetched,
    cached,
    requests: fetcher.requests - before,
    warnings,
  };
}

function crlNextUpdate(der: Uint8Array): string | undefined {
  try {
    return parseCrl(der).nextUpdate?.toISOString();
  } catch {
    return undefined;
  }
}
