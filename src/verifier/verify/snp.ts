/**
 * SEV-SNP report verification (offline): the report signature (ECDSA P-384 over [0, 0x2A0),
 * SHA-384), the VCEK/VLEK chain to a trusted ARK, validity of every certificate at `at`,
 * REPORTED_TCB against the certificate's SPL extensions, CHIP_ID against hwID, and the nonce.
 * An Azure HCL report is accepted too: its SNP report is verified and its runtime-data binding
 * checked (binding.ts).
 *
 * @module
 */
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { MrstackError, ParseError } from '../../errors.js';
import { parseSnpReport, snpReportClaims, type SnpReport } from '../../formats/snp/report.js';
import { looksLikeHclReport, parseHclReport } from '../../formats/azure/hcl_report.js';
import { parseSnpCertTable } from '../../formats/snp/cert_table.js';
import { parseVcekExtensions, type VcekExtensions } from '../../formats/snp/vcek_extensions.js';
import { productFromName, type SnpProduct } from '../../formats/snp/tcb.js';
import {
  ResultBuilder,
  checkReportDataNonce,
  reportDataBinding,
  type EvidenceResult,
  type EvidenceShowResult,
  type EvidenceVerifier,
  type ResolvedVerifyOptions,
} from './evidence_result.js';
import {
  anchorsKey,
  DEFAULT_TRUST_POLICY,
  policyAnchors,
  resolveTrustPolicy,
  type TrustPolicy,
} from './trust_policy.js';
import { parseCertificate, parseCertificates, type Certificate } from './x509/certificate.js';
import {
  checkChainTimes,
  validateChain,
  type TrustAnchor,
  type ValidatedChain,
} from './x509/chain.js';
import { checkCrl, crlIssuerOf, isRevoked, parseCrl, type Crl } from './x509/crl.js';
import { builtinAnchors } from './x509/anchors.js';
import { amdProfile } from './x509/profiles.js';
import { AMD_ROOTS } from './snp_roots.js';
import { checkHclBinding, checkHclNonce } from './binding_hcl.js';
import { checkSvsmBinding, checkSvsmVmpl } from './binding_svsm.js';

/** Options of {@link verifySnpReport}. */
export interface SnpVerifyOptions {
  /** Verification time. */
  readonly at: Date;
  /** VCEK/VLEK (and optionally ASK/ASVK/ARK): PEM, DER or a certificate table each. */
  readonly certs?: readonly Uint8Array[];
  /** The extended-report certificate table (configfs-tsm auxblob). */
  readonly auxblob?: Uint8Array;
  /** Roots to trust instead of the built-in AMD ARKs (added to the policy's anchors). */
  readonly trustAnchors?: readonly Uint8Array[];
  /** The caller's emulated TVM roots (added to the policy's emulated anchors). */
  readonly emulatedAnchors?: readonly Uint8Array[];
  /** Expected nonce (report data rule of `checkReportDataNonce`). */
  readonly nonce?: Uint8Array;
  /** The product when the report cannot say (v2). */
  readonly product?: SnpProduct;
  /** A chain cache shared between calls (a verifier service). */
  readonly cache?: SnpChainCache;
  /**
   * The SVSM services manifest (configfs-tsm `manifestblob`): with `nonce`, REPORT_DATA must be
   * SHA-512(nonce ‖ manifest) instead of the nonce itself.
   */
  readonly manifest?: Uint8Array;
  /** AMD KDS CRLs (DER): the ARK's CRL of revoked ASKs/ASVKs. Without one, revocation is skipped. */
  readonly crls?: readonly Uint8Array[];
  /** The caller's trust policy (relaxations decide which skipped checks keep `verified`). */
  readonly policy?: TrustPolicy;
  /** Set for the report inside a bundle: freshness is checked by the bundle binding. */
  readonly freshnessElsewhere?: boolean;
}

/** The checks of an SNP verification, by name. */
export const SNP_CHECKS = [
  'report_signature',
  'cert_chain',
  'cert_validity',
  'reported_tcb',
  'chip_id',
  'crl',
  'nonce',
] as const;

/**
 * Certificates from one input: PEM (any number), DER (one), or an SNP extended-report
 * certificate table (auxblob).
 * @throws ParseError `ERR_BAD_ENCODING` when the bytes are none of these
 */
export function loadCertificates(bytes: Uint8Array, what = 'certificate'): Certificate[] {
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  if (head.includes('-----BEGIN') || bytes[0] === 0x30) return parseCertificates(bytes, what);
  let entries: ReturnType<typeof parseSnpCertTable>;
  try {
    entries = parseSnpCertTable(bytes);
  } catch (cause) {
    if (!(cause instanceof ParseError)) throw cause;
    throw new ParseError({
      code: 'ERR_BAD_ENCODING',
      format: 'x509',
      offset: 0,
      field: what,
      expected: 'PEM or DER certificate(s), or an SNP certificate table',
      cause,
    });
  }
  return entries
    .filter((e) => e.name !== undefined)
    .map((e, i) => parseCertificate(e.data, `${what}.${e.name ?? i}`));
}

/** One certificate of a verified chain, as reported in claims. */
export interface ChainLink {
  readonly subject: string;
  readonly not_before: string;
  readonly not_after: string;
  readonly sha256: string;
}

/** A chain validated once (signatures, roles, trust), with what the checks read from it. */
export interface SnpVerifiedChain {
  readonly chain: ValidatedChain;
  readonly leafKey: KeyObject;
  /** The leaf's role: the report's signing-key field, which the profile pinned. */
  readonly leafKind: 'vcek' | 'vlek';
  readonly extensions: VcekExtensions;
  readonly product: SnpProduct | undefined;
  readonly root: string;
  readonly emulated: boolean;
  readonly claims: readonly ChainLink[];
}

/**
 * Caches validated chains by the bytes they were built from and the trust settings, so a
 * service verifying many reports from one chip checks the RSA chain once and pays one P-384
 * verify per report. Validity times are still checked at each verification's own time.
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

/** AMD's ARKs, and their ASKs and ASVKs as candidate intermediates. */
function amdBuiltins(): { arks: readonly TrustAnchor[]; inter: readonly Certificate[] } {
  const arks = builtinAnchors(
    'amd-ark',
    Object.values(AMD_ROOTS).map((p) => p.ark),
  );
  const inter = builtinAnchors(
    'amd-ask-asvk',
    Object.values(AMD_ROOTS).flatMap((p) => [p.ask, p.asvk]),
  ).map((a) => a.certificate!);
  return { arks, inter };
}

/**
 * Validates the VCEK or VLEK chain: the leaf's role is the report's signing-key field (never the
 * certificate's name), ARK → ASK → VCEK or ARK → ASVK → VLEK of one product generation — the
 * report's when it names one.
 * @throws MrstackError `ERR_COLLATERAL_MISSING` without a leaf certificate; VerifyError from
 *   the chain validation
 */
function buildChain(
  certs: readonly Certificate[],
  leafKind: 'vcek' | 'vlek',
  product: SnpProduct | undefined,
  opts: SnpVerifyOptions,
): SnpVerifiedChain {
  // The leaf: a certificate that is not a CA (the profile then pins its name, key and issuer).
  const leaves = certs.filter((c) => c.basicConstraints?.ca !== true);
  const named = leafKind === 'vlek' ? 'SEV-VLEK' : 'SEV-VCEK';
  const leaf = leaves.find((c) => c.cn === named) ?? leaves[0];
  if (leaf === undefined) {
    throw new MrstackError(
      'ERR_COLLATERAL_MISSING',
      `SNP verification needs the ${leafKind.toUpperCase()} certificate (--cert FILE, or an auxblob)`,
    );
  }
  const b = amdBuiltins();
  const policy = policyOf(opts);
  const caller = policy.anchors.length > 0;
  const anchors = policyAnchors(policy, b.arks);
  const chain = validateChain({
    leaf,
    intermediates: [...certs.filter((c) => c !== leaf), ...(caller ? [] : b.inter)],
    profile: amdProfile(leafKind, product),
    anchors,
    at: opts.at,
    checkTimes: false,
  });
  let extensions: VcekExtensions = {};
  try {
    extensions = parseVcekExtensions(leaf.extensions);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
  }
  const links = [
    ...chain.path,
    ...(chain.anchor.certificate === undefined ? [] : [chain.anchor.certificate]),
  ];
  return {
    chain,
    leafKey: leaf.publicKey,
    leafKind,
    extensions,
    product:
      (extensions.product_name === undefined
        ? undefined
        : productFromName(extensions.product_name)) ?? product,
    root: chain.anchor.certificate?.cn ?? chain.anchor.subject,
    emulated: chain.anchor.emulated === true,
    claims: links.map((c) => ({
      subject: c.cn,
      not_before: c.notBefore.toISOString(),
      not_after: c.notAfter.toISOString(),
      sha256: c.sha256,
    })),
  };
}

/**
 * Validates an SNP leaf's chain outside a report (`collateral import`): the leaf's role from its
 * name (`SEV-VCEK` or `SEV-VLEK`), the roles and product generation pinned as for a report, to
 * the built-in AMD ARKs or the caller's anchors. Validity times are not checked here
 * ({@link checkChainTimes} on the result's `chain`).
 * @throws MrstackError `ERR_COLLATERAL_MISSING` without a leaf; VerifyError from the chain
 */
export function validateSnpChain(
  certs: readonly Certificate[],
  product: SnpProduct | undefined,
  opts: Pick<SnpVerifyOptions, 'at' | 'trustAnchors' | 'emulatedAnchors' | 'policy'>,
): SnpVerifiedChain {
  const leaf = certs.find((c) => c.basicConstraints?.ca !== true);
  return buildChain(certs, leaf?.cn === 'SEV-VLEK' ? 'vlek' : 'vcek', product, opts);
}

/** The policy's anchors with the option fields' anchors and emulated roots added. */
function policyOf(opts: SnpVerifyOptions): TrustPolicy {
  if (opts.trustAnchors === undefined && opts.emulatedAnchors === undefined)
    return opts.policy ?? DEFAULT_TRUST_POLICY;
  return resolveTrustPolicy({
    ...(opts.policy === undefined ? {} : { policy: opts.policy }),
    ...(opts.trustAnchors === undefined ? {} : { trustAnchors: opts.trustAnchors }),
    ...(opts.emulatedAnchors === undefined ? {} : { emulatedAnchors: opts.emulatedAnchors }),
  });
}

function chainFor(report: SnpReport, opts: SnpVerifyOptions): SnpVerifiedChain {
  const inputs = [...(opts.certs ?? []), ...(opts.auxblob === undefined ? [] : [opts.auxblob])];
  // Reports name their signing key (KEY_INFO); 'none' or an unknown value cannot verify.
  const leafKind = report.signing_key === 'vlek' ? 'vlek' : 'vcek';
  const product = report.product ?? opts.product;
  const build = (): SnpVerifiedChain =>
    buildChain(
      inputs.flatMap((b) => loadCertificates(b)),
      leafKind,
      product,
      opts,
    );
  if (opts.cache === undefined) return build();
  const c = opts.cache;
  const key = [
    ...inputs.map((b) => c.digest(b)),
    '|',
    anchorsKey(policyAnchors(policyOf(opts), amdBuiltins().arks)),
    leafKind,
    product ?? '',
  ].join(':');
  return opts.cache.getOrBuild(key, build);
}

function checkTcb(b: ResultBuilder, report: SnpReport, chain: SnpVerifiedChain): void {
  const x = chain.extensions;
  const t = report.reported_tcb;
  const pairs: [string, number | undefined, number | undefined][] = [
    ['bl_spl', x.bl_spl, t.bootloader],
    ['tee_spl', x.tee_spl, t.tee],
    ['snp_spl', x.snp_spl, t.snp],
    ['ucode_spl', x.ucode_spl, t.microcode],
  ];
  if (x.fmc_spl !== undefined || t.fmc !== undefined) pairs.push(['fmc_spl', x.fmc_spl, t.fmc]);
  const missing = pairs.filter(([, c]) => c === undefined).map(([n]) => n);
  if (missing.length === pairs.length) {
    b.skip('reported_tcb', `the ${chain.leafKind.toUpperCase()} carries no TCB extensions`);
    return;
  }
  const bad = pairs.filter(([, c, r]) => c !== undefined && c !== r);
  if (bad.length > 0) {
    b.fail(
      'reported_tcb',
      'ERR_TCB_MISMATCH',
      `REPORTED_TCB does not match the ${chain.leafKind.toUpperCase()}: ${bad
        .map(([n, c, r]) => `${n} certificate ${String(c)} report ${String(r)}`)
        .join(', ')}`,
      { fields: bad.map(([n]) => n) },
    );
    return;
  }
  b.ok('reported_tcb');
}

function checkChipId(b: ResultBuilder, report: SnpReport, chain: SnpVerifiedChain): void {
  const hwid = chain.extensions.hwid;
  if (chain.leafKind === 'vlek' || hwid === undefined) {
    // A VLEK names no chip: nothing to compare (the signature still ties the report to AMD).
    b.optional('chip_id', `the ${chain.leafKind.toUpperCase()} carries no hwID`);
    return;
  }
  if (report.mask_chip_key) {
    b.optional('chip_id', 'MASK_CHIP_KEY is set: the report carries no CHIP_ID');
    return;
  }
  // Turin hwIDs are 8 bytes: the report's CHIP_ID starts with them and is zero after.
  const head = report.chip_id.subarray(0, hwid.length);
  const tail = report.chip_id.subarray(hwid.length);
  if (Buffer.compare(head, hwid) !== 0 || tail.some((x) => x !== 0)) {
    b.fail('chip_id', 'ERR_BINDING_MISMATCH', 'CHIP_ID does not match the VCEK hwID', {
      chip_id: Buffer.from(report.chip_id).toString('hex'),
      hwid: Buffer.from(hwid).toString('hex'),
    });
    return;
  }
  b.ok('chip_id');
}

/** Revocation: the intermediate (ASK/ASVK) against the ARK's CRL (issuer, signature, window). */
function checkCrls(b: ResultBuilder, chain: SnpVerifiedChain, opts: SnpVerifyOptions): void {
  const crls = opts.crls ?? [];
  if (crls.length === 0) {
    b.skip(
      'crl',
      'revocation not checked: no KDS CRL given (mrstack collateral fetch --kind snp caches it)',
      'crl',
    );
    return;
  }
  const anchor = chain.chain.anchor;
  const issuer =
    anchor.certificate === undefined
      ? { subject: anchor.subject, key: anchor.key }
      : crlIssuerOf(anchor.certificate);
  const parsed: Crl[] = crls.map((d, i) => parseCrl(d, `crl[${i}]`));
  // The ARK's CRL among those given: the one whose issuer is the ARK (or the only one).
  const mine =
    parsed.find(
      (c) =>
        issuer.subjectDer !== undefined && Buffer.compare(c.issuerDer, issuer.subjectDer) === 0,
    ) ?? (parsed.length === 1 ? parsed[0] : undefined);
  if (mine === undefined) {
    b.fail('crl', 'ERR_CRL_INVALID', `no given CRL is issued by ${chain.root}`, {
      rule: 'crl_issuer',
    });
    return;
  }
  try {
    checkCrl(mine, issuer, opts.at, `the ${chain.root} CRL`);
  } catch (e) {
    b.failWith('crl', e);
    return;
  }
  const inter = chain.chain.path[1];
  if (inter !== undefined && isRevoked(mine, inter)) {
    b.fail(
      'crl',
      'ERR_CERT_REVOKED',
      `the intermediate certificate (serial ${inter.serial}) is revoked by ${chain.root}`,
      { serial: inter.serial },
    );
    return;
  }
  b.ok('crl');
}

/** ECDSA P-384 check of the report signature with a public key. */
export function snpSignatureValid(report: SnpReport, key: KeyObject): boolean {
  const sig = Buffer.concat([report.signature_r, report.signature_s]);
  return cryptoVerify('sha384', report.signed, { key, dsaEncoding: 'ieee-p1363' }, sig);
}

/**
 * Verifies a parsed SNP report.
 * @throws ParseError for a malformed certificate input; MrstackError `ERR_COLLATERAL_MISSING`
 *   when no VCEK/VLEK is given
 */
export function verifyParsedSnpReport(
  report: SnpReport,
  opts: SnpVerifyOptions,
  b: ResultBuilder = new ResultBuilder('snp', opts.at, opts.policy),
): ResultBuilder {
  b.claims = { ...b.claims, ...snpReportClaims(report) };
  let chain: SnpVerifiedChain | undefined;
  try {
    chain = chainFor(report, opts);
    b.ok('cert_chain');
  } catch (e) {
    if (e instanceof MrstackError && e.code === 'ERR_COLLATERAL_MISSING') throw e;
    b.failWith('cert_chain', e);
  }
  if (chain !== undefined) {
    b.trustedBy(chain.chain.anchor);
    b.claims['signing_cert'] = chain.leafKind;
    if (chain.product !== undefined && b.claims['product'] === undefined) {
      b.claims['product'] = chain.product;
    }
    b.claims['cert_chain'] = [...chain.claims];
    try {
      checkChainTimes(chain.chain, opts.at);
      b.ok('cert_validity');
    } catch (e) {
      b.failWith('cert_validity', e);
    }
    if (report.signing_key !== 'vcek' && report.signing_key !== 'vlek') {
      b.fail(
        'report_signature',
        'ERR_SIGNATURE_INVALID',
        `the report's signing-key field is ${String(report.signing_key)}: no VCEK or VLEK signed it`,
      );
    } else if (snpSignatureValid(report, chain.leafKey)) {
      b.ok('report_signature');
    } else {
      b.fail(
        'report_signature',
        'ERR_SIGNATURE_INVALID',
        `the report signature does not verify with the ${chain.leafKind.toUpperCase()}`,
      );
    }
    checkTcb(b, report, chain);
    checkChipId(b, report, chain);
    checkCrls(b, chain, opts);
  } else {
    b.fail('report_signature', 'ERR_SIGNATURE_INVALID', 'no trusted key to check the signature');
  }
  if (opts.manifest !== undefined) {
    checkSvsmVmpl(b, report.vmpl);
    if (opts.nonce === undefined)
      b.skip('svsm_manifest', 'an SVSM manifest is checked only with the nonce', 'nonce');
    else checkSvsmBinding(b, report.report_data, opts.nonce, opts.manifest);
    b.freshness(opts, () =>
      b.checks['svsm_manifest'] === 'ok'
        ? undefined
        : 'report data is not bound to the nonce (SHA-512(nonce ‖ services manifest))',
    );
  } else b.freshness(opts, (nonce) => checkReportDataNonce(report.report_data, nonce));
  return b;
}

/**
 * Verifies an SNP report (or an Azure HCL report wrapping one) at `opts.at`.
 * @throws ParseError for malformed input; MrstackError `ERR_COLLATERAL_MISSING` without a VCEK
 */
export function verifySnpReport(data: Uint8Array, opts: SnpVerifyOptions): EvidenceResult {
  const b = new ResultBuilder('snp', opts.at, opts.policy);
  if (looksLikeHclReport(data)) {
    const hcl = parseHclReport(data);
    if (hcl.report_type !== 'snp') {
      throw new MrstackError(
        'ERR_UNSUPPORTED',
        'this HCL report holds a TDX TDREPORT: it is TDX evidence, verified through its TD quote (--kind tdx --td-quote FILE)',
      );
    }
    const report = parseSnpReport(hcl.report);
    b.claims['hcl'] = hcl.claims;
    // The nonce of an HCL report lives in the runtime claims, not in REPORT_DATA.
    const { nonce, ...rest } = opts;
    verifyParsedSnpReport(report, { ...rest, freshnessElsewhere: true }, b);
    checkHclBinding(b, hcl, report.report_data);
    if (nonce !== undefined) checkHclNonce(b, hcl, nonce);
    else b.freshness(opts, () => undefined);
    return b.build();
  }
  const report = parseSnpReport(data);
  return verifyParsedSnpReport(report, opts, b).build();
}

/** Decodes an SNP (or HCL) report without verifying it. */
export function showSnpReport(data: Uint8Array): EvidenceShowResult {
  if (looksLikeHclReport(data)) {
    const hcl = parseHclReport(data);
    return {
      kind: 'snp',
      claims: { ...snpReportClaims(parseSnpReport(hcl.report)), hcl: hcl.claims },
      warnings: [],
    };
  }
  return { kind: 'snp', claims: snpReportClaims(parseSnpReport(data)), warnings: [] };
}

function detectSnp(d: Uint8Array): boolean {
  if (looksLikeHclReport(d)) return true;
  if (d.length !== 0x4a0) return false;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const ver = v.getUint32(0, true);
  return ver >= 2 && ver <= 5 && v.getUint32(0x34, true) === 1;
}

/** Collateral files split into certificates and CRLs (anything else is ignored). */
function splitCollateral(files: ReadonlyMap<string, Uint8Array> | undefined): {
  certs: Uint8Array[];
  crls: Uint8Array[];
} {
  const certs: Uint8Array[] = [];
  const crls: Uint8Array[] = [];
  for (const b of files?.values() ?? []) {
    if (Buffer.from(b.subarray(0, 64)).toString('latin1').includes('-----BEGIN CERT')) {
      certs.push(b);
      continue;
    }
    if (b[0] !== 0x30) continue;
    try {
      parseCertificate(b);
      certs.push(b);
    } catch {
      try {
        parseCrl(b);
        crls.push(b);
      } catch {
        // neither: not SNP collateral
      }
    }
  }
  return { certs, crls };
}

/** The SVSM manifest from an envelope's parts (`manifestblob` or `manifest`). */
function manifestPart(o: ResolvedVerifyOptions): Uint8Array | undefined {
  return o.parts?.['manifestblob'] ?? o.parts?.['manifest'];
}

/** The SNP entry of the evidence front door's dispatch table. */
export const SNP_VERIFIER: EvidenceVerifier = {
  detect: detectSnp,
  show: (data: Uint8Array) => showSnpReport(data),
  verify: (data: Uint8Array, o: ResolvedVerifyOptions) => {
    const coll = splitCollateral(o.collateral?.files);
    return Promise.resolve(
      verifySnpReport(data, {
        at: o.at,
        certs: [...(o.certs ?? []), ...coll.certs],
        ...(coll.crls.length === 0 ? {} : { crls: coll.crls }),
        ...(o.auxblob === undefined ? {} : { auxblob: o.auxblob }),
        ...(manifestPart(o) === undefined ? {} : { manifest: manifestPart(o)! }),
        ...(o.nonce === undefined ? {} : { nonce: reportDataBinding(o.nonce, o.userData) }),
        policy: o.policy,
        ...(o.freshnessElsewhere === undefined ? {} : { freshnessElsewhere: o.freshnessElsewhere }),
      }),
    );
  },
};
