/**
 * SEV-SNP report verification (offline): the report signature (ECDSA P-384 over [0, 0x2A0),
 * SHA-384), the VCEK/VLEK chain to a trusted ARK, validity of every certificate at `at`,
 * REPORTED_TCB against the certificate's SPL extensions, CHIP_ID against hwID, and the nonce.
 * An Azure HCL report is accepted too: its SNP report is verified and its runtime-data binding
 * checked (binding.ts).
 *
 * @module
 */
import { X509Certificate, constants, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { MrstackError } from '../../errors.js';
import { parseSnpReport, snpReportClaims, type SnpReport } from '../../formats/snp/report.js';
import { looksLikeHclReport, parseHclReport } from '../../formats/azure/hcl_report.js';
import { parseKdsCrl, serialHex } from '../../formats/snp/kds_crl.js';
import type { SnpProduct } from '../../formats/snp/tcb.js';
import {
  ResultBuilder,
  checkReportDataNonce,
  reportDataBinding,
  type EvidenceResult,
  type EvidenceShowResult,
  type EvidenceVerifier,
  type ResolvedVerifyOptions,
} from './evidence_result.js';
import type { TrustPolicy } from './trust_policy.js';
import {
  SnpChainCache,
  buildSnpChain,
  chainLinks,
  checkChainValidity,
  loadCertificates,
  type SnpVerifiedChain,
} from './snp_chain.js';
import { checkHclBinding } from './binding_hcl.js';
import { checkSvsmBinding } from './binding_svsm.js';

/** Options of {@link verifySnpReport}. */
export interface SnpVerifyOptions {
  /** Verification time. */
  readonly at: Date;
  /** VCEK/VLEK (and optionally ASK/ASVK/ARK): PEM, DER or a certificate table each. */
  readonly certs?: readonly Uint8Array[];
  /** The extended-report certificate table (configfs-tsm auxblob). */
  readonly auxblob?: Uint8Array;
  /** Roots to trust instead of the built-in AMD ARKs. */
  readonly trustAnchors?: readonly Uint8Array[];
  readonly trustEmulated?: boolean;
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

function chainFor(report: SnpReport, opts: SnpVerifyOptions): SnpVerifiedChain {
  const inputs = [...(opts.certs ?? []), ...(opts.auxblob === undefined ? [] : [opts.auxblob])];
  const signingKey =
    report.signing_key === 'vlek' ? 'vlek' : report.signing_key === 'vcek' ? 'vcek' : undefined;
  const product = report.product ?? opts.product;
  const build = (): SnpVerifiedChain => {
    const certs: X509Certificate[] = inputs.flatMap((b) => loadCertificates(b));
    const anchors = (opts.trustAnchors ?? []).flatMap((b) => loadCertificates(b, 'trust anchor'));
    return buildSnpChain({
      certs,
      ...(anchors.length > 0 ? { trustAnchors: anchors } : {}),
      ...(opts.trustEmulated === true ? { trustEmulated: true } : {}),
      ...(signingKey === undefined ? {} : { signingKey }),
      ...(product === undefined ? {} : { product }),
    });
  };
  if (opts.cache === undefined) return build();
  const c = opts.cache;
  const key = [
    ...inputs.map((b) => c.digest(b)),
    '|',
    ...(opts.trustAnchors ?? []).map((b) => c.digest(b)),
    opts.trustEmulated === true ? 'E' : '',
    signingKey ?? '',
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

/** Revocation: the intermediate (ASK/ASVK) against the ARK's CRL, its signature and window. */
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
  const root = chain.links[chain.links.length - 1]!;
  const inter = chain.links.length === 3 ? chain.links[1] : undefined;
  const pss = { key: root.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 };
  const parsed = crls.map((d) => parseKdsCrl(d));
  const mine = parsed.find((c) => {
    try {
      return cryptoVerify('sha384', c.tbs, pss, c.signature);
    } catch {
      return false;
    }
  });
  if (mine === undefined) {
    b.fail('crl', 'ERR_CHAIN_INVALID', `no given CRL is signed by ${chain.root}`);
    return;
  }
  const t = opts.at.getTime();
  if (t < mine.thisUpdate.getTime()) {
    b.fail(
      'crl',
      'ERR_CERT_NOT_YET_VALID',
      `the ${chain.root} CRL is not valid before ${mine.thisUpdate.toISOString()}`,
    );
    return;
  }
  if (mine.nextUpdate !== undefined && t > mine.nextUpdate.getTime()) {
    b.fail(
      'crl',
      'ERR_CERT_EXPIRED',
      `the ${chain.root} CRL expired at ${mine.nextUpdate.toISOString()}`,
    );
    return;
  }
  const serial =
    inter === undefined ? undefined : serialHex(Buffer.from(inter.serialNumber, 'hex'));
  if (serial !== undefined && mine.revoked.has(serial)) {
    b.fail(
      'crl',
      'ERR_CERT_REVOKED',
      `the intermediate certificate (serial ${serial}) is revoked by ${chain.root}`,
      { serial },
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
    b.trust = { root: chain.root, emulated: chain.emulated };
    if (chain.emulated) b.warnings.push('verified against an mrstack EMULATED root (not hardware)');
    b.claims['signing_cert'] = chain.leafKind;
    if (chain.product !== undefined && b.claims['product'] === undefined) {
      b.claims['product'] = chain.product;
    }
    b.claims['cert_chain'] = chainLinks(chain);
    try {
      checkChainValidity(chain, opts.at);
      b.ok('cert_validity');
    } catch (e) {
      b.failWith('cert_validity', e);
    }
    if (
      (report.signing_key === 'vcek' || report.signing_key === 'vlek') &&
      report.signing_key !== chain.leafKind
    ) {
      b.fail(
        'report_signature',
        'ERR_SIGNATURE_INVALID',
        `the report is signed by its ${report.signing_key.toUpperCase()} but a ${chain.leafKind.toUpperCase()} was given`,
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
        'this HCL report holds a TDX TDREPORT, which only the CPU can check: verify the TD quote instead',
      );
    }
    const report = parseSnpReport(hcl.report);
    b.claims['hcl'] = hcl.claims;
    // The nonce of an HCL report lives in the runtime claims, not in REPORT_DATA.
    const { nonce, ...rest } = opts;
    verifyParsedSnpReport(report, { ...rest, freshnessElsewhere: true }, b);
    checkHclBinding(b, hcl, report.report_data);
    if (nonce !== undefined) checkHclNonce(b, hcl.runtime_claims, nonce);
    else b.freshness(opts, () => undefined);
    return b.build();
  }
  const report = parseSnpReport(data);
  return verifyParsedSnpReport(report, opts, b).build();
}

/**
 * An HCL report is made at boot; its only fresh field is the runtime claims' `user-data` (hex,
 * written by the guest before asking for a new report). A nonce is checked against it, and fails
 * closed when it is absent (the vTPM quote is then what carries the nonce).
 */
function checkHclNonce(b: ResultBuilder, runtimeClaims: unknown, nonce: Uint8Array): void {
  const ud = (runtimeClaims as Record<string, unknown> | undefined)?.['user-data'];
  if (typeof ud !== 'string' || !/^[0-9a-fA-F]*$/.test(ud) || ud.length % 2 !== 0) {
    b.fail(
      'nonce',
      'ERR_NONCE_MISMATCH',
      'the HCL report carries no user-data to bind a nonce: verify the vTPM quote with it',
    );
    return;
  }
  const why = checkReportDataNonce(new Uint8Array(Buffer.from(ud, 'hex')), nonce);
  if (why === undefined) b.ok('nonce');
  else b.fail('nonce', 'ERR_NONCE_MISMATCH', why.replace('report data', 'HCL user-data'));
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
      new X509Certificate(Buffer.from(b));
      certs.push(b);
    } catch {
      try {
        parseKdsCrl(b);
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
        ...(o.trustAnchors === undefined ? {} : { trustAnchors: o.trustAnchors }),
        ...(o.trustEmulated === undefined ? {} : { trustEmulated: o.trustEmulated }),
        ...(o.nonce === undefined ? {} : { nonce: reportDataBinding(o.nonce, o.userData) }),
        policy: o.policy,
        ...(o.freshnessElsewhere === undefined ? {} : { freshnessElsewhere: o.freshnessElsewhere }),
      }),
    );
  },
};
