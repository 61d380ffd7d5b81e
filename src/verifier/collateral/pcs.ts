/**
 * Fetching TDX collateral from Intel PCS v4 (or a PCCS, which serves the same paths) into the
 * collateral cache: TCB info for an FMSPC, the TD QE identity, the PCK CRLs and the root CA CRL,
 * with their issuer chains (sent by PCS as URL-encoded PEM in response headers). Bodies are kept
 * byte-exact (the signatures cover the served JSON members). Each item is asked for again only
 * after its `nextUpdate` (or with `force`).
 *
 * @module
 */
import { MrstackError, UsageError } from '../../errors.js';
import { parseCrl } from '../verify/x509/crl.js';
import { absentItem, fetchedItem, type CollateralCache, type NewCachedItem } from './cache.js';
import { PoliteFetcher, type HttpResponse } from './cache_http.js';

/** Intel's PCS and the root CA CRL location. */
export const INTEL_PCS_URL = 'https://api.trustedservices.intel.com';
export const INTEL_ROOT_CA_CRL_URL =
  'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der';

/** Options of {@link fetchTdxCollateral}. */
export interface TdxFetchOptions {
  /** 6-byte FMSPC, hex. */
  readonly fmspc: string;
  readonly cache: CollateralCache;
  /** PCS or PCCS base URL (default Intel PCS). */
  readonly baseUrl?: string;
  /** Root CA CRL URL (default: Intel's for PCS, `<base>/sgx/certification/v4/rootcacrl` else). */
  readonly rootCrlUrl?: string;
  /** The time freshness is judged at. */
  readonly now: Date;
  /** Fetch even what is still fresh. */
  readonly force?: boolean;
  readonly fetcher?: PoliteFetcher;
}

/** What a fetch did. */
export interface FetchResult {
  readonly kind: 'tdx' | 'snp';
  /** The entry directory: pass it to `evidence verify --collateral`. */
  readonly dir: string;
  readonly fetched: readonly string[];
  readonly cached: readonly string[];
  readonly requests: number;
  readonly warnings: readonly string[];
  /** Earliest `next_update` of the entry's items. */
  readonly next_update?: string;
}

function issuerChain(res: HttpResponse, header: string): string | undefined {
  const v = res.headers.get(header);
  return v === null ? undefined : decodeURIComponent(v);
}

function jsonNextUpdate(body: Uint8Array, member: string): string | undefined {
  try {
    const j = JSON.parse(Buffer.from(body).toString('utf8')) as Record<
      string,
      { nextUpdate?: unknown } | undefined
    >;
    const n = j[member]?.nextUpdate;
    return typeof n === 'string' ? new Date(n).toISOString() : undefined;
  } catch {
    return undefined;
  }
}

/** A CRL body: DER, or hex text of DER (PCCS serves the root CA CRL as hex). */
function crlBytes(body: Uint8Array): Uint8Array {
  const t = Buffer.from(body).toString('latin1').trim();
  return /^[0-9a-fA-F]+$/.test(t) && t.length % 2 === 0
    ? new Uint8Array(Buffer.from(t, 'hex'))
    : body;
}

function crlNextUpdate(der: Uint8Array): string | undefined {
  try {
    return parseCrl(der).nextUpdate?.toISOString();
  } catch {
    return undefined;
  }
}

/**
 * Fetches (or reuses) the TDX collateral of one FMSPC.
 * @throws UsageError for a malformed FMSPC; MrstackError `ERR_NOT_FOUND` when PCS has no TCB
 *   info for it, `ERR_IO` / `ERR_RATE_LIMITED` / `ERR_TIMEOUT` for transport failures
 */
export async function fetchTdxCollateral(o: TdxFetchOptions): Promise<FetchResult> {
  const fmspc = o.fmspc.toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(fmspc)) {
    throw new UsageError('ERR_USAGE', `--fmspc ${JSON.stringify(o.fmspc)}: expected 12 hex digits`);
  }
  const base = (o.baseUrl ?? INTEL_PCS_URL).replace(/\/+$/, '');
  const rootCrlUrl =
    o.rootCrlUrl ??
    (base === INTEL_PCS_URL ? INTEL_ROOT_CA_CRL_URL : `${base}/sgx/certification/v4/rootcacrl`);
  const fetcher = o.fetcher ?? new PoliteFetcher();
  const before = fetcher.requests;
  const meta = o.cache.readMeta('tdx', fmspc);
  const fresh = (name: string): boolean =>
    o.force !== true && o.cache.isFresh(meta, name, o.now, 'tdx');
  const fetched: string[] = [];
  const cached: string[] = [];
  const warnings: string[] = [];
  const items: NewCachedItem[] = [];
  const absent: NewCachedItem[] = [];
  const at = o.now.toISOString();

  if (fresh('tcb_info')) cached.push('tcb_info');
  else {
    const url = `${base}/tdx/certification/v4/tcb?fmspc=${fmspc}`;
    const res = await fetcher.getOk(url);
    const nu = jsonNextUpdate(res.body, 'tcbInfo');
    items.push(fetchedItem('tcb_info', 'tcb_info.json', url, res.body, at, nu));
    const chain =
      issuerChain(res, 'tcb-info-issuer-chain') ?? issuerChain(res, 'sgx-tcb-info-issuer-chain');
    if (chain !== undefined) {
      items.push(
        fetchedItem(
          'tcb_info_issuer_chain',
          'tcb_signing_issuer_chain.pem',
          url,
          Buffer.from(chain),
          at,
        ),
      );
    } else warnings.push('PCS sent no TCB-Info-Issuer-Chain header');
    fetched.push('tcb_info');
  }

  if (fresh('qe_identity')) cached.push('qe_identity');
  else {
    const url = `${base}/tdx/certification/v4/qe/identity`;
    const res = await fetcher.getOk(url);
    const nu = jsonNextUpdate(res.body, 'enclaveIdentity');
    items.push(fetchedItem('qe_identity', 'qe_identity.json', url, res.body, at, nu));
    // The QE identity chain is the TCB-signing chain again; store it only when it differs.
    const chain = issuerChain(res, 'sgx-enclave-identity-issuer-chain');
    const tcbChain = items.find((i) => i.name === 'tcb_info_issuer_chain');
    if (
      chain !== undefined &&
      (tcbChain === undefined || Buffer.from(tcbChain.data).toString() !== chain)
    ) {
      items.push(
        fetchedItem(
          'qe_identity_issuer_chain',
          'qe_identity_issuer_chain.pem',
          url,
          Buffer.from(chain),
          at,
        ),
      );
    }
    fetched.push('qe_identity');
  }

  let pckCrls = 0;
  for (const ca of ['platform', 'processor'] as const) {
    const name = `pck_crl_${ca}`;
    if (fresh(name)) {
      if (meta?.items[name]?.absent === true)
        warnings.push(`no PCK CRL for the ${ca} CA (cached 404)`);
      else {
        cached.push(name);
        pckCrls++;
      }
      continue;
    }
    const url = `${base}/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`;
    const res = await fetcher.get(url);
    if (res.status === 404) {
      warnings.push(`no PCK CRL for the ${ca} CA (HTTP 404)`);
      absent.push(absentItem(name, url, at));
      continue;
    }
    if (res.status !== 200) {
      throw new MrstackError('ERR_IO', `GET ${url}: HTTP ${res.status}`, {
        details: { url, status: res.status },
      });
    }
    const der = crlBytes(res.body);
    const nu = crlNextUpdate(der);
    items.push(fetchedItem(name, `${name}.der`, url, der, at, nu));
    const chain = issuerChain(res, 'sgx-pck-crl-issuer-chain');
    if (chain !== undefined) {
      items.push(
        fetchedItem(
          `${name}_issuer_chain`,
          `${name}_issuer_chain.pem`,
          url,
          Buffer.from(chain),
          at,
        ),
      );
    }
    fetched.push(name);
    pckCrls++;
  }
  if (pckCrls === 0)
    throw new MrstackError('ERR_NOT_FOUND', 'PCS served neither PCK CRL (platform, processor)');

  if (fresh('root_ca_crl')) cached.push('root_ca_crl');
  else {
    const res = await fetcher.getOk(rootCrlUrl);
    const der = crlBytes(res.body);
    const nu = crlNextUpdate(der);
    items.push(fetchedItem('root_ca_crl', 'root_ca_crl.der', rootCrlUrl, der, at, nu));
    fetched.push('root_ca_crl');
  }

  // A missing CRL is asked for again when the rest of the entry goes stale.
  const soonest = items
    .map((i) => i.next_update)
    .filter((x): x is string => x !== undefined)
    .sort()[0];
  for (const a of absent)
    items.push({ ...a, ...(soonest === undefined ? {} : { next_update: soonest }) });
  const m = items.length > 0 ? o.cache.store('tdx', fmspc, items) : meta;
  const nexts = Object.values(m?.items ?? {})
    .filter((i) => i.absent !== true)
    .map((i) => i.next_update)
    .filter((x): x is string => x !== undefined)
    .sort();
  return {
    kind: 'tdx',
    dir: o.cache.entryDir('tdx', fmspc),
    fetched,
    cached,
    requests: fetcher.requests - before,
    warnings,
    ...(nexts[0] === undefined ? {} : { next_update: nexts[0] }),
  };
}
