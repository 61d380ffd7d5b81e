/**
 * SEV-SNP certificate chains: VCEK → ASK → ARK and VLEK → ASVK → ARK (RSASSA-PSS SHA-384),
 * validity at a chosen time, trust in the built-in AMD roots (or given anchors, or an mrstack
 * emulated root when asked), and a cache so a verifier service checks each chain once.
 *
 * @module
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { VerifyError, MrstackError, ParseError } from '../../errors.js';
import { parseSnpCertTable } from '../../formats/snp/cert_table.js';
import { parseVcekExtensions, type VcekExtensions } from '../../formats/snp/vcek_extensions.js';
import { productFromName, type SnpProduct } from '../../formats/snp/tcb.js';
import { AMD_ROOTS } from './snp_roots.js';
import { isEmulatedRoot } from './x509_chain.js';

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Certificates from one input: PEM (any number), DER (one), or an SNP extended-report
 * certificate table (auxblob).
 * @throws ParseError `ERR_BAD_ENCODING` when the bytes are none of these
 */
export function loadCertificates(bytes: Uint8Array, what = 'certificate'): X509Certificate[] {
  const text = Buffer.from(bytes).toString('latin1');
  const pems = text.match(PEM_RE);
  if (pems !== null) return pems.map((p) => new X509Certificate(p));
  if (bytes[0] === 0x30) {
    try {
      return [new X509Certificate(Buffer.from(bytes))];
    } catch {
      // fall through to the certificate table
    }
  }
  try {
    const entries = parseSnpCertTable(bytes);
    if (entries.length > 0) {
      return entries
        .filter((e) => e.name !== undefined)
        .map((e) => new X509Certificate(Buffer.from(e.data)));
    }
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
  }
  throw new ParseError({
    code: 'ERR_BAD_ENCODING',
    format: 'x509',
    offset: 0,
    field: what,
    expected: 'PEM or DER certificate(s), or an SNP certificate table',
  });
}

/** True for a root made by mrstack's emulated PKI (docs/emulated-pki.md). */
export function isEmulatedCert(c: X509Certificate): boolean {
  return isEmulatedRoot(c);
}

const fp = (c: X509Certificate): string => createHash('sha256').update(c.raw).digest('hex');

function cn(c: X509Certificate): string {
  const m = /(?:^|\n)CN=([^\n]*)/.exec(c.subject);
  return m?.[1] ?? c.subject;
}

/** One certificate of a verified chain, as reported in claims. */
export interface ChainLink {
  readonly subject: string;
  readonly not_before: string;
  readonly not_after: string;
  readonly sha256: string;
}

/** A chain checked once (signatures and trust), with validity windows kept for `at` checks. */
export interface SnpVerifiedChain {
  /** The leaf (VCEK or VLEK). */
  readonly leaf: X509Certificate;
  readonly leafKey: KeyObject;
  readonly leafKind: 'vcek' | 'vlek';
  readonly extensions: VcekExtensions;
  readonly product: SnpProduct | undefined;
  /** Leaf, intermediate, root. */
  readonly links: readonly X509Certificate[];
  readonly root: string;
  readonly emulated: boolean;
  /** Validity windows (ms since the epoch), computed once. */
  readonly windows: readonly {
    readonly name: string;
    readonly from: number;
    readonly to: number;
  }[];
  /** The chain as claims, computed once. */
  readonly claims: readonly ChainLink[];
}

/** Where the chain check can fail. */
export type ChainFailureCode =
  | 'ERR_CHAIN_INVALID'
  | 'ERR_UNTRUSTED_ROOT'
  | 'ERR_CERT_EXPIRED'
  | 'ERR_CERT_NOT_YET_VALID'
  | 'ERR_COLLATERAL_MISSING';

/** Options for {@link buildSnpChain}. */
export interface SnpChainOptions {
  /** Certificates supplied by the user (leaf, maybe ASK/ASVK/ARK). */
  readonly certs: readonly X509Certificate[];
  /** Roots to trust instead of the built-in ARKs. */
  readonly trustAnchors?: readonly X509Certificate[];
  readonly trustEmulated?: boolean;
  /** Which leaf the report asks for (from KEY_INFO). */
  readonly signingKey?: 'vcek' | 'vlek';
  /** The product when known (CPUID or `--product`); narrows the built-in roots. */
  readonly product?: SnpProduct;
}

let builtins: { ark: X509Certificate[]; inter: X509Certificate[] } | undefined;
function builtIn(): { ark: X509Certificate[]; inter: X509Certificate[] } {
  if (builtins === undefined) {
    const ark: X509Certificate[] = [];
    const inter: X509Certificate[] = [];
    for (const p of Object.values(AMD_ROOTS)) {
      ark.push(new X509Certificate(p.ark));
      inter.push(new X509Certificate(p.ask), new X509Certificate(p.asvk));
    }
    builtins = { ark, inter };
  }
  return builtins;
}

function isLeafCandidate(c: X509Certificate): boolean {
  return c.publicKey.asymmetricKeyType === 'ec' && !c.ca;
}

/**
 * Finds the leaf among the certificates, builds leaf → intermediate → root and checks the
 * signatures and trust (not validity: see {@link checkChainValidity}).
 * @throws VerifyError `ERR_CHAIN_INVALID`, `ERR_UNTRUSTED_ROOT`; MrstackError
 *   `ERR_COLLATERAL_MISSING` when no VCEK/VLEK was given
 */
export function buildSnpChain(opts: SnpChainOptions): SnpVerifiedChain {
  const leaves = opts.certs.filter(isLeafCandidate);
  const want = opts.signingKey;
  const leaf =
    leaves.find((c) => (want === 'vlek' ? cn(c).includes('VLEK') : !cn(c).includes('VLEK'))) ??
    leaves[0];
  if (leaf === undefined) {
    throw new MrstackError(
      'ERR_COLLATERAL_MISSING',
      'SNP verification needs the VCEK or VLEK certificate (--cert FILE, or an auxblob)',
    );
  }
  const leafKind: 'vcek' | 'vlek' = cn(leaf).includes('VLEK') ? 'vlek' : 'vcek';
  let extensions: VcekExtensions = {};
  try {
    extensions = parseVcekExtensions(new Uint8Array(leaf.raw));
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
  }
  const product =
    (extensions.product_name === undefined
      ? undefined
      : productFromName(extensions.product_name)) ?? opts.product;
  const b = builtIn();
  const anchors = opts.trustAnchors ?? [];
  const pool = [
    ...opts.certs.filter((c) => c !== leaf),
    ...anchors,
    ...(anchors.length === 0 ? [...b.inter, ...b.ark] : []),
  ];
  const issuerOf = (c: X509Certificate): X509Certificate | undefined =>
    pool.find(
      (p) =>
        p.subject === c.issuer && p.fingerprint256 !== c.fingerprint256 && c.verify(p.publicKey),
    );
  const inter = issuerOf(leaf);
  if (inter === undefined) {
    const named = pool.some((p) => p.subject === leaf.issuer);
    throw new VerifyError(
      'ERR_CHAIN_INVALID',
      named
        ? `${cn(leaf)} signature does not verify under ${cn(pool.find((p) => p.subject === leaf.issuer)!)}`
        : `no issuer certificate for ${cn(leaf)} (issuer ${leaf.issuer.replace(/\n/g, ', ')})`,
      { details: { certificate: cn(leaf) } },
    );
  }
  // The intermediate may itself be the root (an anchor that signs leaves directly).
  let root: X509Certificate;
  let links: X509Certificate[];
  if (inter.subject === inter.issuer && inter.verify(inter.publicKey)) {
    root = inter;
    links = [leaf, inter];
  } else {
    const r = pool.find((p) => p.subject === inter.issuer && p.subject === p.issuer);
    if (r === undefined || !inter.verify(r.publicKey)) {
      throw new VerifyError(
        'ERR_CHAIN_INVALID',
        r === undefined
          ? `no root certificate for ${cn(inter)}`
          : `${cn(inter)} signature does not verify under ${cn(r)}`,
        { details: { certificate: cn(inter) } },
      );
    }
    if (!r.verify(r.publicKey)) {
      throw new VerifyError('ERR_CHAIN_INVALID', `${cn(r)} is not validly self-signed`);
    }
    root = r;
    links = [leaf, inter, r];
  }
  const emulated = isEmulatedCert(root);
  const rootFp = fp(root);
  const trusted =
    anchors.length > 0
      ? anchors.some((a) => fp(a) === rootFp)
      : emulated
        ? opts.trustEmulated === true
        : b.ark.some((a) => fp(a) === rootFp);
  if (!trusted) {
    throw new VerifyError(
      'ERR_UNTRUSTED_ROOT',
      emulated
        ? `${cn(root)} is an mrstack emulated root: pass --trust-emulated or --trust-anchor`
        : `${cn(root)} is not a trusted AMD root`,
      { details: { root: cn(root), emulated } },
    );
  }
  return {
    leaf,
    leafKey: leaf.publicKey,
    leafKind,
    extensions,
    product,
    links,
    root: cn(root),
    emulated,
    windows: links.map((c) => ({
      name: cn(c),
      from: Date.parse(c.validFrom),
      to: Date.parse(c.validTo),
    })),
    claims: links.map((c) => ({
      subject: cn(c),
      not_before: new Date(Date.parse(c.validFrom)).toISOString(),
      not_after: new Date(Date.parse(c.validTo)).toISOString(),
      sha256: fp(c),
    })),
  };
}

/**
 * Checks every certificate of a chain is valid at `at`.
 * @throws VerifyError `ERR_CERT_EXPIRED`, `ERR_CERT_NOT_YET_VALID`
 */
export function checkChainValidity(chain: SnpVerifiedChain, at: Date): void {
  const t = at.getTime();
  for (const w of chain.windows) {
    if (t < w.from) {
      const nb = new Date(w.from).toISOString();
      throw new VerifyError(
        'ERR_CERT_NOT_YET_VALID',
        `${w.name} is not valid before ${nb} (time ${at.toISOString()})`,
        { details: { certificate: w.name, not_before: nb } },
      );
    }
    if (t > w.to) {
      const na = new Date(w.to).toISOString();
      throw new VerifyError(
        'ERR_CERT_EXPIRED',
        `${w.name} expired at ${na} (time ${at.toISOString()})`,
        {
          details: { certificate: w.name, not_after: na },
        },
      );
    }
  }
}

/** The chain as claims. */
export function chainLinks(chain: SnpVerifiedChain): ChainLink[] {
  return [...chain.claims];
}

/**
 * Caches verified chains by the bytes they were built from and the trust settings, so a service
 * verifying many reports from one chip checks the RSA chain once and pays one P-384 verify per
 * report. Validity times are still checked at each verification's own time.
 */
export class SnpChainCache {
  readonly #map = new Map<string, SnpVerifiedChain>();
  readonly #digests = new WeakMap<Uint8Array, string>();
  readonly #max: number;

  constructor(maxEntries = 1024) {
    this.#max = maxEntries;
  }

  /** The cached chain under `key`, building (and caching) it when absent. */
  getOrBuild(key: string, build: () => SnpVerifiedChain): SnpVerifiedChain {
    const hit = this.#map.get(key);
    if (hit !== undefined) return hit;
    const chain = build();
    if (this.#map.size >= this.#max) {
      const first = this.#map.keys().next();
      if (first.done !== true) this.#map.delete(first.value);
    }
    this.#map.set(key, chain);
    return chain;
  }

  /** SHA-256 of an input, memoised per buffer object (a service passes the same bytes again). */
  digest(b: Uint8Array): string {
    let d = this.#digests.get(b);
    if (d === undefined) {
      d = createHash('sha256').update(b).digest('hex');
      this.#digests.set(b, d);
    }
    return d;
  }

  /** Number of cached chains. */
  get size(): number {
    return this.#map.size;
  }
}
