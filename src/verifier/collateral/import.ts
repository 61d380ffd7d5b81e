/**
 * The offline route into the collateral cache (`mrstack collateral import DIR|FILE`). **SNP**:
 * AMD KDS files fetched elsewhere — the VCEK or VLEK (DER or PEM), the product's `cert_chain`
 * (ASK or ASVK, then ARK, PEM) and its CRL — are verified first (the leaf chains to a pinned AMD
 * ARK, or a caller's anchor, with the roles and product generation pinned as for a report; the
 * CRL is the ARK's, signed by it, with a nextUpdate) and stored as `collateral fetch --kind snp`
 * would: the entry `<product>/<hwID>_<TCB>` from the VCEK's own extensions, and the product's
 * `<product>/crl`. **TDX**: collateral
 * fetched elsewhere — a directory of Intel PCS responses, or one QuoteCollateralV3
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
import { MrstackError, ParseError, UsageError, VerifyError } from '../../errors.js';
import {
  decodeTcb,
  encodeTcb,
  formatTcb,
  tcbLayoutForProduct,
  type SnpProduct,
} from '../../formats/snp/tcb.js';
import { toPem } from '../../formats/x509/pem_encode.js';
import { validateSnpChain } from '../verify/snp.js';
import { AMD_ROOTS } from '../verify/snp_roots.js';
import { parseCertificates, type Certificate } from '../verify/x509/certificate.js';
import { checkChainTimes } from '../verify/x509/chain.js';
import { checkCrl, crlIssuerOf, isRevoked, parseCrl, type Crl } from '../verify/x509/crl.js';
import { fetchedItem, type CollateralCache, type NewCachedItem } from './cache.js';
import { parseTdxCollateralFiles } from './tdx_collateral.js';

/** What an import stored. */
export interface CollateralImportResult {
  readonly kind: 'tdx' | 'snp';
  /** The cache key (TDX: the FMSPC; SNP: `<product>/<hwID>_<TCB>`, or `<product>/crl`). */
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

/** Options of {@link importSnpCollateral}. */
export interface SnpImportOptions extends CollateralImportOptions {
  /** The product the files must be for (`--product`); refused when they are another's. */
  readonly product?: SnpProduct;
  /** Roots to chain to instead of the built-in AMD ARKs (PEM or DER; `--trust-anchor`). */
  readonly trustAnchors?: readonly Uint8Array[];
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
  const warnings = items
    .filter((i) => i.next_update !== undefined && Date.parse(i.next_update) <= o.now.getTime())
    .map(
      (i) =>
        `${i.name} is past its nextUpdate ${i.next_update!} (verify with --at inside its window)`,
    );
  return importResult(o, 'tdx', fmspc, items, warnings);
}

/** What an import of `items` into the cache entry `key` reports (their earliest next update). */
function importResult(
  o: CollateralImportOptions,
  kind: CollateralImportResult['kind'],
  key: string,
  items: readonly NewCachedItem[],
  warnings: string[],
): CollateralImportResult {
  const next = items
    .map((i) => i.next_update)
    .filter((n): n is string => n !== undefined)
    .sort()[0];
  return {
    kind,
    key,
    dir: o.cache.entryDir(kind, key),
    imported: items.map((i) => i.name),
    ...(next === undefined ? {} : { next_update: next }),
    warnings,
  };
}

const AMD_NAME = /^(SEV-VCEK|SEV-VLEK|ASK-|ASVK-|ARK-|SEV-)/;

/**
 * True when the files hold AMD SEV collateral (a certificate or CRL with an AMD KDS name: the
 * VCEK/VLEK, ASK/ASVK or ARK) rather than Intel's.
 */
export function looksLikeSnpCollateral(files: ReadonlyMap<string, Uint8Array>): boolean {
  for (const b of files.values()) {
    const split = splitSnpFiles(new Map([['f', b]]));
    if (split.certs.some((c) => AMD_NAME.test(c.cn))) return true;
    if (split.crls.some((c) => AMD_NAME.test(c.issuerCn))) return true;
  }
  return false;
}

/** Certificates and CRLs among the files; anything else is refused, naming the file. */
function splitSnpFiles(
  files: ReadonlyMap<string, Uint8Array>,
  strict = false,
): { certs: Certificate[]; crls: Crl[] } {
  const certs: Certificate[] = [];
  const crls: Crl[] = [];
  for (const [name, b] of files) {
    const head = Buffer.from(b.subarray(0, 64)).toString('latin1');
    if (head.includes('-----BEGIN X509 CRL')) {
      crls.push(parseCrl(b, name));
      continue;
    }
    try {
      certs.push(...parseCertificates(b, name));
      continue;
    } catch (e) {
      if (!(e instanceof ParseError || e instanceof MrstackError)) throw e;
    }
    try {
      crls.push(parseCrl(b, name));
    } catch (e) {
      if (!(e instanceof ParseError || e instanceof MrstackError)) throw e;
      if (strict)
        throw new ParseError({
          code: 'ERR_UNKNOWN_FORMAT',
          format: 'x509',
          offset: 0,
          field: name,
          expected: 'an AMD KDS certificate (VCEK/VLEK, cert_chain PEM) or CRL, DER or PEM',
          cause: e,
        });
    }
  }
  return { certs, crls };
}

/**
 * Verifies AMD KDS files (name → bytes) and stores them in the cache as `collateral fetch
 * --kind snp` lays them out (see the module comment). With a leaf certificate: its entry (leaf,
 * `cert_chain.pem`, and a copy of the CRL when one is given); with only a chain and a CRL: the
 * product's CRL entry. Stale items are imported with a warning (`--at` may verify at an older
 * time); a CRL listing the given ASK/ASVK is imported (it is AMD's word) with a warning.
 * @throws VerifyError from the chain (a leaf that chains to no pinned ARK, a mixed product
 *   generation, swapped roles), `ERR_CRL_INVALID` / `ERR_SIGNATURE_INVALID` for a CRL the ARK
 *   did not issue; UsageError `ERR_USAGE` for no leaf and no CRL, several leaves, or a product
 *   other than `--product`; ParseError for a file that is neither certificate nor CRL
 */
export function importSnpCollateral(
  files: ReadonlyMap<string, Uint8Array>,
  o: SnpImportOptions,
): CollateralImportResult {
  const { certs, crls } = splitSnpFiles(files, true);
  const leaves = certs.filter((c) => c.basicConstraints?.ca !== true);
  if (leaves.length > 1)
    throw new UsageError(
      'ERR_USAGE',
      `one VCEK or VLEK per import: got ${leaves.map((c) => c.cn).join(', ')}`,
    );
  const url = `import:${o.source}`;
  const at = o.now.toISOString();
  const warnings: string[] = [];
  const trust = {
    at: o.now,
    ...(o.trustAnchors === undefined ? {} : { trustAnchors: o.trustAnchors }),
  };
  const leaf = leaves[0];
  if (leaf === undefined && crls.length === 0)
    throw new UsageError(
      'ERR_USAGE',
      'no VCEK/VLEK and no CRL among the files: nothing SNP to import (KDS vcek, cert_chain, crl)',
    );
  // The chain: the leaf's, or (a CRL alone) the ARK the CRL names, with the given certificates.
  let ark: Certificate | undefined;
  let product: SnpProduct | undefined;
  let chainItems: NewCachedItem[] = [];
  let leafItem: NewCachedItem | undefined;
  let key: string | undefined;
  let inter: Certificate | undefined;
  if (leaf !== undefined) {
    const v = validateSnpChain(certs, o.product, trust);
    product = v.product;
    if (product === undefined)
      throw new UsageError(
        'ERR_USAGE',
        `${leaf.cn}: no productName extension names its product: add --product`,
      );
    if (o.product !== undefined && product !== o.product)
      throw new UsageError(
        'ERR_USAGE',
        `the ${leaf.cn} is a ${product} certificate, not ${o.product} (--product)`,
        { details: { expected: o.product, actual: product } },
      );
    try {
      checkChainTimes(v.chain, o.now);
    } catch (e) {
      if (!(e instanceof MrstackError)) throw e;
      warnings.push(`${e.message} (imported: verify with --at inside its validity)`);
    }
    ark = v.chain.anchor.certificate;
    inter = v.chain.path[1];
    // Every certificate given must be on that path: a cert_chain of another product (or another
    // chain) beside the leaf is refused, not dropped for the built-in one.
    const onPath = new Set(
      [...v.chain.path, ...(ark === undefined ? [] : [ark])].map((c) => c.sha256),
    );
    const stray = certs.filter((c) => !onPath.has(c.sha256));
    if (stray.length > 0)
      throw new VerifyError(
        'ERR_CERT_PROFILE',
        `${stray.map((c) => `"${c.cn}"`).join(', ')} is not in the ${leaf.cn}'s chain (${v.chain.path
          .slice(1)
          .map((c) => c.cn)
          .join(
            ' → ',
          )}${ark === undefined ? '' : ` → ${ark.cn}`}): a cert_chain of another product or chain`,
        { details: { rule: 'product', stray: stray.map((c) => c.subject) } },
      );
    const x = v.extensions;
    const layout = tcbLayoutForProduct(product);
    const tcb = decodeTcb(
      encodeTcb(
        {
          bootloader: x.bl_spl ?? 0,
          tee: x.tee_spl ?? 0,
          snp: x.snp_spl ?? 0,
          microcode: x.ucode_spl ?? 0,
          ...(x.fmc_spl === undefined ? {} : { fmc: x.fmc_spl }),
        },
        layout,
      ),
      layout,
    );
    if (v.leafKind === 'vcek') {
      if (x.hwid === undefined)
        throw new VerifyError('ERR_CERT_PROFILE', `${leaf.cn}: no hwID extension`);
      const hw = product === 'turin' ? x.hwid.subarray(0, 8) : x.hwid;
      key = `${product}/${toHex(hw)}_${formatTcb(tcb)}`;
    } else {
      // KDS serves no VLEK (the host gets it): an entry per VLEK, named by its fingerprint.
      key = `${product}/vlek-${leaf.sha256.slice(0, 16)}_${formatTcb(tcb)}`;
    }
    leafItem = fetchedItem(v.leafKind, `${v.leafKind}.der`, url, leaf.der, at);
    const chain = v.chain.path.slice(1);
    if (ark !== undefined && !chain.includes(ark)) chain.push(ark);
    const ends = chain.map((c) => c.notAfter.getTime());
    chainItems = [
      fetchedItem(
        'cert_chain',
        'cert_chain.pem',
        url,
        pemChain(chain.map((c) => c.der)),
        at,
        ends.length === 0 ? undefined : new Date(Math.min(...ends)).toISOString(),
      ),
    ];
  }
  // The CRL: issued and signed by the ARK, with a nextUpdate (its window is judged at `now` only
  // for a warning: an older one verifies with --at).
  let crlItem: NewCachedItem | undefined;
  if (crls.length > 1)
    throw new UsageError('ERR_USAGE', `one KDS CRL per import: got ${crls.length}`);
  const crl = crls[0];
  if (crl !== undefined) {
    if (ark === undefined) {
      // No leaf: the CRL's issuer among the ARKs the certificates and the pinned roots hold.
      const arks = certs.filter((c) => c.cn.startsWith('ARK-'));
      ark = arks.find((c) => Buffer.compare(c.subjectDer, crl.issuerDer) === 0);
      if (ark === undefined)
        throw new UsageError(
          'ERR_USAGE',
          `the CRL is issued by "${crl.issuerCn}": give its product's cert_chain (ASK/ASVK and ARK) beside it`,
        );
      // That ARK must itself be a pinned root (or a caller's anchor): validate ARK → ASK.
      const ask = certs.find((c) => c !== ark && c.basicConstraints?.ca === true);
      const pinned = pinnedArk(ark, o);
      if (!pinned)
        throw new VerifyError(
          'ERR_UNTRUSTED_ROOT',
          `${ark.cn} (SPKI SHA-256 ${ark.spkiSha256}) is not a pinned AMD ARK${o.trustAnchors === undefined ? '' : ' nor a --trust-anchor'}`,
        );
      inter = ask;
      product = productOfArk(ark);
      if (o.product !== undefined && product !== undefined && product !== o.product)
        throw new UsageError(
          'ERR_USAGE',
          `the CRL is ${ark.cn}'s, not ${o.product}'s (--product)`,
          { details: { expected: o.product, actual: product } },
        );
    }
    // Signature, issuer and nextUpdate, judged inside its own window.
    checkCrl(crl, crlIssuerOf(ark), crl.thisUpdate, `the ${ark.cn} CRL`);
    if (crl.nextUpdate !== undefined && crl.nextUpdate.getTime() <= o.now.getTime())
      warnings.push(
        `crl is past its nextUpdate ${crl.nextUpdate.toISOString()} (verify with --at inside its window)`,
      );
    if (inter !== undefined && isRevoked(crl, inter))
      warnings.push(`the CRL revokes ${inter.cn} (serial ${inter.serial}): reports under it fail`);
    crlItem = fetchedItem('crl', 'crl.der', url, crl.der, at, crl.nextUpdate?.toISOString());
  }
  if (product === undefined)
    throw new UsageError('ERR_USAGE', 'the product of the CRL is unknown: add --product');
  if (crlItem !== undefined) o.cache.store('snp', `${product}/crl`, [crlItem]);
  const items = [
    ...(leafItem === undefined ? [] : [leafItem]),
    ...chainItems,
    ...(crlItem === undefined ? [] : [crlItem]),
  ];
  const entry = key ?? `${product}/crl`;
  if (key !== undefined) o.cache.store('snp', key, items);
  return importResult(o, 'snp', entry, items, warnings);
}

/** True when the ARK is one of the built-in AMD roots, or a caller's anchor, by SPKI. */
function pinnedArk(ark: Certificate, o: SnpImportOptions): boolean {
  const builtin = Object.values(AMD_ROOTS).some(
    (p) => parseCertificates(utf8(p.ark), 'amd-ark')[0]?.spkiSha256 === ark.spkiSha256,
  );
  if (builtin) return true;
  return (o.trustAnchors ?? []).some((a) =>
    parseCertificates(a, 'trust-anchor').some((c) => c.spkiSha256 === ark.spkiSha256),
  );
}

function productOfArk(ark: Certificate): SnpProduct | undefined {
  const m = /^ARK-(Milan|Genoa|Turin)/i.exec(ark.cn);
  return m === null ? undefined : (m[1]!.toLowerCase() as SnpProduct);
}
