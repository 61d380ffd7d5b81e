/**
 * Offline verification of TDX quotes (v4, v5) with collateral, at a chosen time.
 *
 * Checks, each named in the result's `checks`:
 * - `quote_signature`: raw r‖s ECDSA P-256 (SHA-256) by the attestation key over header+body;
 * - `qe_report_signature`: the QE report signed by the PCK leaf key;
 * - `qe_report_binding`: QE REPORTDATA = SHA-256(attestation key ‖ QE auth data) ‖ 32 zeros;
 * - `pck_chain`: PCK leaf → PCK CA → Intel SGX Root CA (or the caller's `--trust-anchor` roots,
 *   or the caller's emulated TVM roots — all by SPKI fingerprint), every certificate valid at `at`;
 * - `root_ca_crl`, `pck_crl`: CRLs signed by their issuers, current at `at`, listing no
 *   certificate of the chain;
 * - `tcb_info`, `qe_identity`: signed by the TCB signing chain (to the same roots, not revoked),
 *   current at `at` (issueDate ≤ at ≤ nextUpdate);
 * - `tcb`: TCB evaluation (tdx_tcb.ts), giving `tcbStatus` and `advisories`;
 * - `nonce`: report data bound to the expected nonce, when one is given.
 *
 * `verified` covers signatures, chains, revocation and validity; the TCB status stands beside
 * it. Without collateral, revocation and TCB are `skipped` (only with
 * `allowMissingCollateral`; else `ERR_COLLATERAL_MISSING`).
 *
 * {@link TdxQuoteVerifier} caches what does not depend on the quote (chain signatures, PCK
 * extensions, collateral signatures); per quote only the two P-256 verifications, the binding
 * hash and the time-window comparisons run again.
 *
 * @module
 */
import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { MrstackError, VerifyError } from '../../errors.js';
import { bytesEqual, concatBytes, toHex } from '../../bytes/hex.js';
import { hash } from '../../crypto/hash.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import {
  decodePckChain,
  parseTdxQuote,
  tdxQuoteClaims,
  type TdxQuote,
} from '../../formats/tdx/quote.js';
import { parsePckExtension, type PckExtension } from '../../formats/tdx/pck_extension.js';
import {
  ResultBuilder,
  checkReportDataNonce,
  reportDataBinding,
  type EvidenceResult,
  type EvidenceShowResult,
  type EvidenceVerifier,
  type ResolvedVerifyOptions,
} from './evidence_result.js';
import { anchorsKey, policyAnchors, resolveTrustPolicy, type TrustPolicy } from './trust_policy.js';
import { parseCertificate, type Certificate } from './x509/certificate.js';
import {
  chainTimeWindow,
  checkChainTimes,
  validateChain,
  type TrustAnchor,
  type ValidatedChain,
} from './x509/chain.js';
import { checkCrl, checkTimeWindow, crlIssuerOf, isRevoked, type Crl } from './x509/crl.js';
import { builtinAnchors } from './x509/anchors.js';
import {
  INTEL_PCK_PROFILE,
  INTEL_TCB_SIGNING_PROFILE,
  SGX_EXTENSION_OID,
} from './x509/profiles.js';
import { INTEL_SGX_ROOT_CA_PEM } from './tdx_roots.js';
import { looksLikeTdxQuote } from './evidence_detect.js';
import { evaluateTdxTcb } from './tdx_tcb.js';
import { parseTdxCollateralFiles, type TdxCollateral } from '../collateral/tdx_collateral.js';

export { looksLikeTdxQuote };

/**
 * Reads the SGX extension of a PCK certificate (found among its parsed extensions).
 * @throws VerifyError `ERR_CERT_PROFILE` when absent (the leaf is no PCK certificate);
 *   ParseError when malformed
 */
export function pckExtensionOf(cert: Certificate): PckExtension {
  const ext = cert.extensions.get(SGX_EXTENSION_OID);
  if (ext === undefined) {
    throw new VerifyError(
      'ERR_CERT_PROFILE',
      `PCK certificate "${cert.cn}" has no SGX extension (${SGX_EXTENSION_OID})`,
      { details: { rule: 'required_extension', position: 0, subject: cert.subject } },
    );
  }
  return parsePckExtension(ext.value);
}

/** A P-256 public key from raw X‖Y (64 bytes), imported as a JWK (faster than SPKI DER). */
function p256KeyFromRaw(xy: Uint8Array): KeyObject {
  const b = Buffer.from(xy.buffer, xy.byteOffset, xy.byteLength);
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: b.subarray(0, 32).toString('base64url'),
      y: b.subarray(32, 64).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** Verifies a raw r‖s ECDSA P-256/SHA-256 signature (quotes, QE reports, Intel's JSON). */
function verifyRawEcdsa(key: KeyObject, data: Uint8Array, rs: Uint8Array): boolean {
  try {
    return nodeVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, rs);
  } catch {
    return false;
  }
}

/** A verified PCK chain with its leaf key and SGX extension (cached per chain). */
interface PckEntry {
  readonly chain: ValidatedChain;
  readonly leafKey: KeyObject;
  readonly pck: PckExtension;
  readonly rootName: string;
  readonly claims: Record<string, unknown>;
  /** When every certificate of the chain is valid (ms since the epoch). */
  readonly window: { readonly notBefore: number; readonly notAfter: number };
  /**
   * QE reports (bytes ‖ signature) already verified with this leaf key. A platform's Quoting
   * Enclave keeps its attestation key, so its QE report and signature repeat from quote to
   * quote; a verified identical pair need not be verified again.
   */
  readonly qeVerified: Set<string>;
}

/** Collateral signatures checked once per collateral object and root set. */
interface CollateralEntry {
  readonly tcbChain: ValidatedChain;
  readonly qeChain: ValidatedChain;
  readonly tcbSigOk: boolean;
  readonly qeSigOk: boolean;
  readonly window: { readonly notBefore: number; readonly notAfter: number };
}

/** Re-checks validity at `at` only when `at` leaves the window where all certificates hold. */
function recheck(chains: readonly ValidatedChain[], w: CollateralEntry['window'], at: Date): void {
  const t = at.getTime();
  if (t >= w.notBefore && t <= w.notAfter) return;
  for (const c of chains) checkChainTimes(c, at);
}

/** The window where every certificate of the chains holds. */
function windowOf(chains: readonly ValidatedChain[]): CollateralEntry['window'] {
  const ws = chains.map(chainTimeWindow);
  return {
    notBefore: Math.max(...ws.map((w) => w.notBefore)),
    notAfter: Math.min(...ws.map((w) => w.notAfter)),
  };
}

/** Options fixed for a verifier instance (the trust configuration). */
export interface TdxVerifierConfig {
  /**
   * The anchors this verifier's chains may end in (default: the Intel SGX Root CA); a front
   * door passes `policyAnchors(policy, …)`.
   */
  readonly anchors?: readonly TrustAnchor[];
  /** Roots to trust instead of the Intel SGX Root CA (PEM or DER each; with no `anchors`). */
  readonly trustAnchors?: readonly Uint8Array[];
  /** The caller's emulated TVM roots (PEM or DER each; with no `anchors`). */
  readonly emulatedAnchors?: readonly Uint8Array[];
  /** Most PCK chains kept in the cache (default 1024). */
  readonly cacheSize?: number;
  /**
   * Remember verified QE report signatures per PCK leaf (default true): repeated quotes from one
   * platform then cost one P-256 verification (the quote's) instead of two.
   */
  readonly cacheQeReports?: boolean;
}

/** Options per verification. */
export interface TdxVerifyOptions {
  readonly at: Date;
  /** The expected report data (the caller's nonce, bound as `mrstack report` binds it). */
  readonly nonce?: Uint8Array;
  /** The caller's trust policy (relaxations decide which skipped checks keep `verified`). */
  readonly policy?: TrustPolicy;
  /** Set for the report inside a bundle: freshness is checked by the bundle binding. */
  readonly freshnessElsewhere?: boolean;
  /** Parsed collateral (see tdx_collateral.ts); undefined → revocation and TCB skipped. */
  readonly collateral?: TdxCollateral;
  readonly limits?: Limits;
}

/** The Intel SGX Root CA as an anchor. */
function intelRoots(): readonly TrustAnchor[] {
  return builtinAnchors('intel-sgx-root', [INTEL_SGX_ROOT_CA_PEM]);
}

/** A TDX quote verifier with a fixed trust configuration and caches. */
export class TdxQuoteVerifier {
  readonly #anchorList: readonly TrustAnchor[];
  readonly #cacheSize: number;
  readonly #cacheQe: boolean;
  readonly #pckCache = new Map<string, PckEntry>();
  readonly #akCache = new Map<string, KeyObject>();
  #lastAk: { readonly raw: Uint8Array; readonly key: KeyObject } | undefined;
  readonly #collCache = new WeakMap<TdxCollateral, CollateralEntry>();
  /** CRLs already checked (issuer and signature), per CRL object and issuer key. */
  readonly #crlSigCache = new WeakMap<Crl, WeakSet<KeyObject>>();

  /** Checks a CRL against its issuer (cached once it passed) and its window at `at`. */
  #verifyCrl(crl: Crl, issuer: ReturnType<typeof crlIssuerOf>, at: Date, what: string): void {
    let ok = this.#crlSigCache.get(crl);
    if (ok === undefined) {
      ok = new WeakSet();
      this.#crlSigCache.set(crl, ok);
    }
    if (ok.has(issuer.key) && crl.nextUpdate !== undefined) {
      checkTimeWindow(what, crl.thisUpdate, crl.nextUpdate, at);
      return;
    }
    checkCrl(crl, issuer, at, what);
    ok.add(issuer.key);
  }

  /** The anchors every chain of this verifier must end in (nothing the evidence supplies). */
  #anchors(): TrustAnchor[] {
    return [...this.#anchorList];
  }

  /** The anchors of this verifier (fixed at construction). */
  get anchors(): readonly TrustAnchor[] {
    return this.#anchorList;
  }

  constructor(config: TdxVerifierConfig = {}) {
    this.#anchorList =
      config.anchors ??
      policyAnchors(
        resolveTrustPolicy({
          ...(config.trustAnchors === undefined ? {} : { trustAnchors: config.trustAnchors }),
          ...(config.emulatedAnchors === undefined
            ? {}
            : { emulatedAnchors: config.emulatedAnchors }),
        }),
        intelRoots(),
      );
    this.#cacheSize = config.cacheSize ?? 1024;
    this.#cacheQe = config.cacheQeReports ?? true;
  }

  /** Verifies a QE report signature with the PCK leaf key, remembering verified pairs. */
  #qeReportOk(pck: PckEntry, report: Uint8Array, sig: Uint8Array): boolean {
    if (!this.#cacheQe) return verifyRawEcdsa(pck.leafKey, report, sig);
    const k =
      Buffer.from(report.buffer, report.byteOffset, report.byteLength).toString('latin1') +
      Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).toString('latin1');
    if (pck.qeVerified.has(k)) return true;
    const ok = verifyRawEcdsa(pck.leafKey, report, sig);
    if (ok) {
      if (pck.qeVerified.size >= 64) pck.qeVerified.clear();
      pck.qeVerified.add(k);
    }
    return ok;
  }

  /** The attestation key as a KeyObject; a platform's QE keeps its key, so it is cached. */
  #akKey(raw: Uint8Array): KeyObject {
    if (this.#lastAk !== undefined && bytesEqual(this.#lastAk.raw, raw)) return this.#lastAk.key;
    const k = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
    let key = this.#akCache.get(k);
    if (key === undefined) {
      key = p256KeyFromRaw(raw);
      if (this.#akCache.size >= this.#cacheSize) this.#akCache.clear();
      this.#akCache.set(k, key);
    }
    this.#lastAk = { raw: new Uint8Array(raw), key };
    return key;
  }

  #pckEntry(q: TdxQuote, at: Date): PckEntry {
    const key = q.certificationData.pckChainPem;
    const hit = this.#pckCache.get(key);
    if (hit !== undefined) {
      recheck([hit.chain], hit.window, at);
      return hit;
    }
    const certs = decodePckChain(q.certificationData).map((d, i) =>
      parseCertificate(d, `pck_chain[${i}]`),
    );
    const chain = validateChain({
      leaf: certs[0]!,
      intermediates: certs.slice(1),
      profile: INTEL_PCK_PROFILE,
      anchors: this.#anchors(),
      at,
      ordered: true,
    });
    const pck = pckExtensionOf(chain.leaf);
    const partial = { chain, leafKey: chain.leaf.publicKey, pck };
    const entry: PckEntry = {
      ...partial,
      rootName: chain.anchor.certificate?.cn ?? chain.anchor.subject,
      claims: pckClaims(partial),
      window: windowOf([chain]),
      qeVerified: new Set(),
    };
    if (this.#pckCache.size >= this.#cacheSize) {
      const first = this.#pckCache.keys().next().value;
      if (first !== undefined) this.#pckCache.delete(first);
    }
    this.#pckCache.set(key, entry);
    return entry;
  }

  #collateralEntry(c: TdxCollateral, at: Date): CollateralEntry {
    const hit = this.#collCache.get(c);
    if (hit !== undefined) {
      recheck([hit.tcbChain, hit.qeChain], hit.window, at);
      return hit;
    }
    const chainOf = (ders: readonly Uint8Array[], what: string): ValidatedChain => {
      const certs = ders.map((d, i) => parseCertificate(d, `${what}[${i}]`));
      if (certs.length === 0)
        throw new MrstackError('ERR_COLLATERAL_MISSING', `the collateral has no ${what}`);
      return validateChain({
        leaf: certs[0]!,
        intermediates: certs.slice(1),
        profile: INTEL_TCB_SIGNING_PROFILE,
        anchors: this.#anchors(),
        at,
      });
    };
    const tcbChain = chainOf(c.tcbInfoIssuerChain, 'TCB info issuer chain');
    const qeChain =
      c.qeIdentityIssuerChain.length > 0
        ? chainOf(c.qeIdentityIssuerChain, 'QE identity issuer chain')
        : tcbChain;
    const sigOk = (chain: ValidatedChain, raw: Uint8Array, sig: Uint8Array): boolean =>
      verifyRawEcdsa(chain.leaf.publicKey, raw, sig);
    const entry: CollateralEntry = {
      tcbChain,
      qeChain,
      tcbSigOk: sigOk(tcbChain, c.tcbInfo.raw, c.tcbInfo.signature),
      qeSigOk: sigOk(qeChain, c.qeIdentity.raw, c.qeIdentity.signature),
      window: windowOf([tcbChain, qeChain]),
    };
    this.#collCache.set(c, entry);
    return entry;
  }

  /**
   * Verifies a quote (bytes or parsed).
   * @throws ParseError for a malformed quote
   */
  verify(quote: Uint8Array | TdxQuote, opts: TdxVerifyOptions): EvidenceResult {
    const q =
      quote instanceof Uint8Array
        ? parseTdxQuote(quote, opts.limits ?? DEFAULT_LIMITS, { decodeChain: false })
        : quote;
    const at = opts.at;
    const b = new ResultBuilder('tdx', at, opts.policy);
    b.claims = tdxQuoteClaims(q);
    b.warnings.push(...q.warnings);
    const cd = q.certificationData;

    // Quote signature by the attestation key.
    let akOk = false;
    try {
      akOk = verifyRawEcdsa(this.#akKey(q.attestationKey), q.signedBytes, q.signature);
    } catch {
      akOk = false;
    }
    if (akOk) b.ok('quote_signature');
    else
      b.fail(
        'quote_signature',
        'ERR_SIGNATURE_INVALID',
        'the quote signature does not verify with the attestation key',
      );

    // QE binding.
    const expected = hash('sha256', concatBytes(q.attestationKey, cd.qeAuthData));
    const rd = cd.qeReport.reportData;
    if (bytesEqual(rd.subarray(0, 32), expected) && rd.subarray(32).every((x) => x === 0))
      b.ok('qe_report_binding');
    else {
      b.fail(
        'qe_report_binding',
        'ERR_BINDING_MISMATCH',
        'QE report data is not SHA-256(attestation key ‖ QE auth data) ‖ zeros',
        {
          expected: toHex(expected),
          actual: toHex(rd),
        },
      );
    }

    // PCK chain, then the QE report signature by the PCK leaf.
    let pck: PckEntry | undefined;
    try {
      pck = this.#pckEntry(q, at);
      b.ok('pck_chain');
      b.trustedBy(pck.chain.anchor);
    } catch (e) {
      b.failWith('pck_chain', e);
    }
    if (pck !== undefined) {
      b.claims = { ...b.claims, pck: pck.claims };
      if (this.#qeReportOk(pck, cd.qeReportBytes, cd.qeReportSignature))
        b.ok('qe_report_signature');
      else
        b.fail(
          'qe_report_signature',
          'ERR_SIGNATURE_INVALID',
          'the QE report signature does not verify with the PCK leaf key',
        );
    } else {
      b.checks['qe_report_signature'] = 'skipped';
    }

    // Collateral: revocation, TCB info, QE identity, TCB evaluation.
    const c = opts.collateral;
    if (c === undefined) {
      b.skip('root_ca_crl', 'no collateral: revocation (CRLs) not checked', 'collateral');
      b.skip('pck_crl', 'no collateral: PCK CRL not checked', 'collateral');
      b.skip('tcb', 'no collateral: TCB status not evaluated', 'collateral');
    } else if (pck !== undefined) {
      this.#checkCollateral(b, c, pck, q, at);
    } else {
      for (const k of ['root_ca_crl', 'pck_crl', 'tcb_info', 'qe_identity', 'tcb'])
        b.checks[k] = 'skipped';
      b.warnings.push('the PCK chain did not verify: collateral not checked');
    }

    b.freshness(opts, (nonce) => checkReportDataNonce(q.body.reportData, nonce));
    return b.build();
  }

  #checkCollateral(b: ResultBuilder, c: TdxCollateral, pck: PckEntry, q: TdxQuote, at: Date): void {
    const path = pck.chain.path;
    const anchor = pck.chain.anchor;
    const rootIssuer =
      anchor.certificate === undefined
        ? { subject: anchor.subject, key: anchor.key }
        : crlIssuerOf(anchor.certificate);
    // Root CA CRL: issued by the root; lists none of the chain's CAs.
    if (c.rootCaCrl === undefined) b.skip('root_ca_crl', 'collateral has no root CA CRL', 'crl');
    else {
      try {
        this.#verifyCrl(c.rootCaCrl, rootIssuer, at, 'root CA CRL');
        const revoked = path.slice(1).find((x) => isRevoked(c.rootCaCrl!, x));
        if (revoked !== undefined) {
          b.fail(
            'root_ca_crl',
            'ERR_CERT_REVOKED',
            `"${revoked.cn}" is revoked by the root CA CRL`,
            {
              serial: revoked.serial,
            },
          );
        } else b.ok('root_ca_crl');
      } catch (e) {
        b.failWith('root_ca_crl', e);
      }
    }
    // PCK CRL: issued by the PCK CA that issued the leaf; must not list the leaf.
    if (c.pckCrl === undefined) b.skip('pck_crl', 'collateral has no PCK CRL', 'crl');
    else {
      try {
        this.#verifyCrl(c.pckCrl, crlIssuerOf(path[1]!), at, 'PCK CRL');
        if (isRevoked(c.pckCrl, path[0]!)) {
          b.fail('pck_crl', 'ERR_CERT_REVOKED', `PCK certificate ${path[0]!.serial} is revoked`, {
            serial: path[0]!.serial,
          });
        } else b.ok('pck_crl');
      } catch (e) {
        b.failWith('pck_crl', e);
      }
    }
    // TCB info and QE identity: signatures, signing-chain revocation, windows.
    let collOk = true;
    try {
      const e = this.#collateralEntry(c, at);
      const signer = e.tcbChain.leaf;
      if (c.rootCaCrl !== undefined && isRevoked(c.rootCaCrl, signer)) {
        b.fail('tcb_info', 'ERR_CERT_REVOKED', `TCB signing certificate "${signer.cn}" is revoked`);
        collOk = false;
      }
      const ti = c.tcbInfo.value;
      if (!e.tcbSigOk) {
        b.fail('tcb_info', 'ERR_SIGNATURE_INVALID', 'the TCB info signature does not verify');
        collOk = false;
      } else {
        try {
          checkTimeWindow('TCB info', ti.issueDate, ti.nextUpdate, at);
          b.ok('tcb_info');
        } catch (err) {
          b.failWith('tcb_info', err);
          collOk = false;
        }
      }
      const qi = c.qeIdentity.value;
      if (!e.qeSigOk) {
        b.fail('qe_identity', 'ERR_SIGNATURE_INVALID', 'the QE identity signature does not verify');
        collOk = false;
      } else {
        try {
          checkTimeWindow('QE identity', qi.issueDate, qi.nextUpdate, at);
          b.ok('qe_identity');
        } catch (err) {
          b.failWith('qe_identity', err);
          collOk = false;
        }
      }
    } catch (err) {
      b.failWith('tcb_info', err);
      collOk = false;
    }
    if (!collOk) {
      b.checks['tcb'] = 'skipped';
      return;
    }
    try {
      const ev = evaluateTdxTcb(
        {
          pck: pck.pck,
          teeTcbSvn: q.body.teeTcbSvn,
          mrSignerSeam: q.body.mrSignerSeam,
          seamAttributes: q.body.seamAttributes,
          qeReport: q.certificationData.qeReport,
        },
        c.tcbInfo.value,
        c.qeIdentity.value,
      );
      b.tcbStatus = ev.status;
      b.advisories = [...ev.advisoryIds];
      b.claims = {
        ...b.claims,
        tcb: {
          status: ev.status,
          platform_status: ev.platformStatus,
          tcb_date: ev.tcbDate,
          tdx_module_id: ev.tdxModuleId,
          tdx_module_status: ev.tdxModuleStatus,
          qe_status: ev.qeStatus,
          qe_tcb_date: ev.qeTcbDate,
          tcb_evaluation_data_number: ev.tcbEvaluationDataNumber,
        },
      };
      b.ok('tcb');
    } catch (e) {
      b.failWith('tcb', e);
    }
  }
}

function pckClaims(e: Pick<PckEntry, 'chain' | 'pck'>): Record<string, unknown> {
  const leaf = e.chain.leaf;
  const caName = e.chain.path[1]?.cn ?? '';
  return {
    fmspc: e.pck.fmspc,
    pce_id: e.pck.pceId,
    pcesvn: e.pck.pceSvn,
    cpusvn: e.pck.cpuSvn,
    sgx_tcb_components: e.pck.sgxTcbComponents,
    ppid: e.pck.ppid,
    sgx_type: e.pck.sgxType,
    ...(e.pck.platformInstanceId === undefined
      ? {}
      : { platform_instance_id: e.pck.platformInstanceId }),
    ...(e.pck.configuration === undefined ? {} : { configuration: e.pck.configuration }),
    ca: /Platform/i.test(caName) ? 'platform' : /Processor/i.test(caName) ? 'processor' : caName,
    // The intermediate the result page shows between anchor and leaf (as `evidence show` names it).
    issuer: leaf.issuerCn === '' ? leaf.issuer : leaf.issuerCn,
    serial: leaf.serial,
    not_before: leaf.notBefore.toISOString(),
    not_after: leaf.notAfter.toISOString(),
  };
}

/**
 * The verifier for the policy's anchors: from the caller's injected cache (keyed by the anchors,
 * so a chain validated under one set of anchors never serves another), else a fresh one.
 */
function verifierFor(opts: ResolvedVerifyOptions): TdxQuoteVerifier {
  const anchors = policyAnchors(opts.policy, intelRoots());
  const make = (): TdxQuoteVerifier => new TdxQuoteVerifier({ anchors });
  if (opts.verifierCache === undefined) return make();
  return opts.verifierCache.getOrCreate(`tdx|${anchorsKey(anchors)}`, make);
}

/** Parsed collateral from the front door's input (cached parse when given as `parsed`). */
function collateralFrom(opts: ResolvedVerifyOptions): TdxCollateral | undefined {
  const c = opts.collateral;
  if (c === undefined) return undefined;
  if (c.parsed !== undefined) return c.parsed as TdxCollateral;
  if (c.files !== undefined && c.files.size > 0) return parseTdxCollateralFiles(c.files);
  return undefined;
}

/** The TDX entry of the front door's dispatch table. */
export const TDX_VERIFIER: EvidenceVerifier = {
  detect: looksLikeTdxQuote,
  show(data: Uint8Array, limits: Limits): EvidenceShowResult {
    const q = parseTdxQuote(data, limits);
    const claims = tdxQuoteClaims(q);
    const warnings = [...q.warnings];
    // The PCK certificate's platform identity, decoded but not verified.
    try {
      const leaf = parseCertificate(decodePckChain(q.certificationData)[0]!, 'pck_chain[0]');
      const e = pckExtensionOf(leaf);
      claims['pck'] = {
        fmspc: e.fmspc,
        pce_id: e.pceId,
        pcesvn: e.pceSvn,
        cpusvn: e.cpuSvn,
        sgx_tcb_components: e.sgxTcbComponents,
        ppid: e.ppid,
        sgx_type: e.sgxType,
        issuer: leaf.issuerCn === '' ? leaf.issuer : leaf.issuerCn,
        serial: leaf.serial,
        not_before: leaf.notBefore.toISOString(),
        not_after: leaf.notAfter.toISOString(),
      };
    } catch (err) {
      if (!(err instanceof MrstackError)) throw err;
      warnings.push(`PCK certificate not decoded: ${err.message}`);
    }
    return { kind: 'tdx', claims, warnings };
  },
  verify(data: Uint8Array, opts: ResolvedVerifyOptions): Promise<EvidenceResult> {
    const q = parseTdxQuote(data, opts.limits, { decodeChain: false });
    const collateral = collateralFrom(opts);
    if (collateral === undefined && !opts.policy.relax.has('collateral')) {
      throw new MrstackError(
        'ERR_COLLATERAL_MISSING',
        'TDX verification needs collateral (--collateral FILE|DIR, or --trust-emulated --tvm-state DIR for emulated quotes); --relax collateral checks signatures and chain only',
      );
    }
    const v = verifierFor(opts);
    return Promise.resolve(
      v.verify(q, {
        at: opts.at,
        policy: opts.policy,
        ...(opts.freshnessElsewhere === undefined
          ? {}
          : { freshnessElsewhere: opts.freshnessElsewhere }),
        ...(opts.nonce === undefined
          ? {}
          : { nonce: reportDataBinding(opts.nonce, opts.userData) }),
        ...(collateral === undefined ? {} : { collateral }),
      }),
    );
  },
};
