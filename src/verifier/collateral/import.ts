/**
 * The offline route into the collateral cache (`mrstack collateral import DIR|FILE`): TDX
 * collateral fetched elsewhere — a directory of Intel PCS responses, or one QuoteCollateralV3
 * JSON (dcap-qvl's layout) — is recognised by content (the same reader `evidence verify
 * --collateral` uses, so what does not parse is refused before anything is written) and stored
 * as the entry `collateral fetch --kind tdx --fmspc <its FMSPC>` would have written: the same
 * file names, the same meta (`next_update` from each item), the source recorded as an `import:`
 * URL. `evidence verify --collateral <entry dir>` then reads it with no network.
 *
 * The signed members keep their exact bytes: a TCB info or QE identity taken from a
 * QuoteCollateralV3 file is written as the PCS response body `{"tcbInfo":<member as
 * signed>,"signature":"<hex>"}`, whose member span the verifier reads back byte for byte.
 *
 * @module
 */
import { toHex } from '../../bytes/hex.js';
import { toPem } from '../../formats/x509/pem_encode.js';
import type { Crl } from '../verify/x509/crl.js';
import { fetchedItem, type CollateralCache, type NewCachedItem } from './cache.js';
import { parseTdxCollateralFiles } from './tdx_collateral.js';

/** What an import stored. */
export interface CollateralImportResult {
  readonly kind: 'tdx';
  /** The cache key (the FMSPC). */
  readonly key: string;
  /** The entry directory, for `evidence verify --collateral DIR`. */
  readonly dir: string;
  /** Item names written (`tcb_info`, `qe_identity`, `pck_crl_platform`, `root_ca_crl` …). */
  readonly imported: string[];
  /** The earliest next update among the items. */
  readonly next_update?: string;
  /** Items already stale at `now` (imported all the same: `--at` may verify at an older time). */
  readonly warnings: string[];
}

/** Options of {@link importTdxCollateral}. */
export interface CollateralImportOptions {
  readonly cache: CollateralCache;
  /** The time recorded as `fetched_at`, and the one staleness is judged at. */
  readonly now: Date;
  /** Where the files came from (recorded as `import:<source>` in the meta). */
  readonly source: string;
}

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const pemChain = (certs: readonly Uint8Array[]): Uint8Array =>
  utf8(certs.map((c) => toPem(c)).join(''));

/**
 * Stores TDX collateral files (name → bytes) in the cache under their FMSPC.
 * @throws ParseError (`tdx-collateral`, `x509`, `json`) for files that are not TDX collateral or
 *   lack a TCB info or QE identity; MrstackError `ERR_IO` when the cache cannot be written
 */
export function importTdxCollateral(
  files: ReadonlyMap<string, Uint8Array>,
  o: CollateralImportOptions,
): CollateralImportResult {
  const c = parseTdxCollateralFiles(files);
  const fmspc = c.tcbInfo.value.fmspc;
  const url = `import:${o.source}`;
  const at = o.now.toISOString();
  const body = (member: string, raw: Uint8Array, sig: Uint8Array): Uint8Array =>
    utf8(`{"${member}":${Buffer.from(raw).toString('utf8')},"signature":"${toHex(sig)}"}`);
  const items: NewCachedItem[] = [
    fetchedItem(
      'tcb_info',
      'tcb_info.json',
      url,
      body('tcbInfo', c.tcbInfo.raw, c.tcbInfo.signature),
      at,
      c.tcbInfo.value.nextUpdate.toISOString(),
    ),
    fetchedItem(
      'qe_identity',
      'qe_identity.json',
      url,
      body('enclaveIdentity', c.qeIdentity.raw, c.qeIdentity.signature),
      at,
      c.qeIdentity.value.nextUpdate.toISOString(),
    ),
  ];
  if (c.tcbInfoIssuerChain.length > 0)
    items.push(
      fetchedItem(
        'tcb_info_issuer_chain',
        'tcb_signing_issuer_chain.pem',
        url,
        pemChain(c.tcbInfoIssuerChain),
        at,
      ),
    );
  const crl = (name: string, x: Crl): NewCachedItem =>
    fetchedItem(name, `${name}.der`, url, x.der, at, x.nextUpdate?.toISOString());
  if (c.pckCrl !== undefined) {
    // the PCK CRL's CA by its issuer's name, as PCS names them (`ca=platform|processor`)
    const name = /processor/i.test(c.pckCrl.issuerCn) ? 'pck_crl_processor' : 'pck_crl_platform';
    items.push(crl(name, c.pckCrl));
    if (c.pckCrlIssuerChain.length > 0)
      items.push(
        fetchedItem(
          `${name}_issuer_chain`,
          `${name}_issuer_chain.pem`,
          url,
          pemChain(c.pckCrlIssuerChain),
          at,
        ),
      );
  }
  if (c.rootCaCrl !== undefined) items.push(crl('root_ca_crl', c.rootCaCrl));
  o.cache.store('tdx', fmspc, items);
  const next = items
    .map((i) => i.next_update)
    .filter((n): n is string => n !== undefined)
    .sort()[0];
  const warnings = items
    .filter((i) => i.next_update !== undefined && Date.parse(i.next_update) <= o.now.getTime())
    .map(
      (i) =>
        `${i.name} is past its nextUpdate ${i.next_update!} (verify with --at inside its window)`,
    );
  return {
    kind: 'tdx',
    key: fmspc,
    dir: o.cache.entryDir('tdx', fmspc),
    imported: items.map((i) => i.name),
    ...(next === undefined ? {} : { next_update: next }),
    warnings,
  };
}
