/**
 * Arm CCA token verification (offline): the realm token's COSE_Sign1 signature by the RAK it
 * carries (claim 44237), the binding of that key to the platform (platform challenge =
 * H(RAK bytes as carried), H named by claim 44240), the platform token's signature by the CPAK
 * from a trust anchor (PEM/DER public key or certificate, a JWK, or a Veraison-style JSON list
 * of `{pkey, implementation-id, instance-id}`), or by a key certified in the platform token's
 * `x5chain` header up to an anchor of the caller's policy (a `--trust-anchor` certificate or the
 * caller's emulated TVM root, by SPKI fingerprint). Nonce = realm challenge.
 *
 * @module
 */
import {
  createPublicKey,
  verify as cryptoVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { MrstackError, ParseError } from '../../errors.js';
import { hash } from '../../crypto/hash.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import {
  coseAlgInfo,
  decodeCbor,
  isBytes,
  sigStructure,
  type CoseSign1,
} from '../../formats/cca/cose_sign1.js';
import {
  ccaHashAlg,
  ccaTokenClaims,
  looksLikeCcaToken,
  parseCcaToken,
  type CcaToken,
} from '../../formats/cca/token.js';
import {
  ResultBuilder,
  checkReportDataNonce,
  reportDataBinding,
  type EvidenceResult,
  type EvidenceShowResult,
  type EvidenceVerifier,
  type ResolvedVerifyOptions,
} from './evidence_result.js';
import { policyAnchors, resolveTrustPolicy, type TrustPolicy } from './trust_policy.js';
import { parseCertificate, parseCertificates, type Certificate } from './x509/certificate.js';
import {
  anchorFromCertificate,
  anchorFromKey,
  validateChain,
  type ValidatedChain,
} from './x509/chain.js';
import { CCA_PLATFORM_PROFILE } from './x509/profiles.js';
import type { Crl } from './x509/crl.js';
import { checkLeafRevocation, crlsOf } from './leaf_revocation.js';
import { parseJsonText } from '../../formats/json/json_text.js';

/** Options of {@link verifyCcaToken}. */
export interface CcaVerifyOptions {
  readonly at: Date;
  /** Trust-anchor files (PEM/DER key or certificate, JWK, or a JSON list of anchors). */
  readonly trustAnchors?: readonly Uint8Array[];
  /** The caller's emulated TVM roots (PEM/DER certificates), for a token's `x5chain`. */
  readonly emulatedAnchors?: readonly Uint8Array[];
  /** Expected realm challenge (prefix rule of `checkReportDataNonce`). */
  readonly nonce?: Uint8Array;
  readonly limits?: Limits;
  /** The caller's trust policy (relaxations decide which skipped checks keep `verified`). */
  readonly policy?: TrustPolicy;
  /** Set for the report inside a bundle: freshness is checked by the bundle binding. */
  readonly freshnessElsewhere?: boolean;
  /** CRLs (collateral): the CPAK certificate of a token's x5chain is checked against its issuer's. */
  readonly crls?: readonly Crl[];
}

/** One usable (or unusable) platform trust anchor. */
export interface CcaTrustAnchor {
  readonly key?: KeyObject;
  readonly certificate?: Certificate;
  readonly implementationId?: Uint8Array;
  readonly instanceId?: Uint8Array;
  /** Why the anchor could not be used (e.g. a point not on its curve). */
  readonly unusable?: string;
}

function jwkKey(j: Record<string, unknown>): CcaTrustAnchor {
  try {
    const pub: Record<string, unknown> = {};
    for (const k of ['kty', 'crv', 'x', 'y', 'n', 'e']) if (j[k] !== undefined) pub[k] = j[k];
    return { key: createPublicKey({ key: pub as JsonWebKey, format: 'jwk' }) };
  } catch (e) {
    return { unusable: e instanceof Error ? e.message : String(e) };
  }
}

const hexBytes = (v: unknown): Uint8Array | undefined =>
  typeof v === 'string' && /^[0-9a-fA-F]*$/.test(v)
    ? new Uint8Array(Buffer.from(v, 'hex'))
    : undefined;

/**
 * Reads platform trust anchors from one file's bytes.
 * @throws ParseError `ERR_BAD_JSON` / `ERR_BAD_ENCODING` when the file is none of the forms
 */
export function loadCcaTrustAnchors(bytes: Uint8Array): CcaTrustAnchor[] {
  const text = Buffer.from(bytes).toString('utf8').trim();
  if (text.startsWith('[') || text.startsWith('{')) {
    const j = parseJsonText(text, 'trust_anchor');
    const items: unknown[] = Array.isArray(j)
      ? j
      : typeof j === 'object' && j !== null && Array.isArray((j as { keys?: unknown }).keys)
        ? (j as { keys: unknown[] }).keys
        : [j];
    return items.map((it) => {
      if (typeof it !== 'object' || it === null) return { unusable: 'not an object' };
      const o = it as Record<string, unknown>;
      if (typeof o['pkey'] === 'object' && o['pkey'] !== null) {
        const impl = hexBytes(o['implementation-id']);
        const inst = hexBytes(o['instance-id']);
        return {
          ...jwkKey(o['pkey'] as Record<string, unknown>),
          ...(impl === undefined ? {} : { implementationId: impl }),
          ...(inst === undefined ? {} : { instanceId: inst }),
        };
      }
      return jwkKey(o);
    });
  }
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    return parseCertificates(bytes, 'trust_anchor').map((c) => ({
      certificate: c,
      key: c.publicKey,
    }));
  }
  try {
    if (text.includes('-----BEGIN')) return [{ key: createPublicKey(text) }];
    try {
      const c = parseCertificate(bytes, 'trust_anchor');
      return [{ certificate: c, key: c.publicKey }];
    } catch {
      return [{ key: createPublicKey({ key: Buffer.from(bytes), format: 'der', type: 'spki' }) }];
    }
  } catch (cause) {
    throw new ParseError({
      code: 'ERR_BAD_ENCODING',
      format: 'x509',
      offset: 0,
      field: 'trust_anchor',
      expected: 'a PEM/DER public key or certificate, a JWK, or a JSON list of anchors',
      cause,
    });
  }
}

const CURVE_BY_SIZE: Readonly<Record<number, string>> = { 65: 'P-256', 97: 'P-384', 133: 'P-521' };
const COSE_CURVES: Readonly<Record<number, string>> = { 1: 'P-256', 2: 'P-384', 3: 'P-521' };

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/**
 * The RAK as a key: a raw uncompressed point, or an encoded COSE_Key (EC2).
 * @throws ParseError `ERR_BAD_VALUE` when it is neither, or not a valid point
 */
export function realmPublicKey(bytes: Uint8Array): KeyObject {
  let crv: string | undefined;
  let x: Uint8Array | undefined;
  let y: Uint8Array | undefined;
  if (bytes[0] === 0x04 && CURVE_BY_SIZE[bytes.length] !== undefined) {
    crv = CURVE_BY_SIZE[bytes.length];
    const n = (bytes.length - 1) / 2;
    x = bytes.subarray(1, 1 + n);
    y = bytes.subarray(1 + n);
  } else {
    const m = decodeCbor(bytes, 'cca-token', 'realm.public_key');
    if (m instanceof Map && m.get(1) === 2) {
      crv = COSE_CURVES[m.get(-1) as number];
      const mx = m.get(-2) as unknown;
      const my = m.get(-3) as unknown;
      if (isBytes(mx) && isBytes(my)) {
        x = mx;
        y = my;
      }
    }
  }
  if (crv === undefined || x === undefined || y === undefined) {
    throw new ParseError({
      code: 'ERR_BAD_VALUE',
      format: 'cca-token',
      offset: 0,
      field: 'realm.public_key',
      expected: 'an uncompressed EC point or an EC2 COSE_Key',
    });
  }
  try {
    return createPublicKey({ key: { kty: 'EC', crv, x: b64u(x), y: b64u(y) }, format: 'jwk' });
  } catch (cause) {
    throw new ParseError({
      code: 'ERR_BAD_VALUE',
      format: 'cca-token',
      offset: 0,
      field: 'realm.public_key',
      expected: `a valid ${crv} point`,
      cause,
    });
  }
}

/** Checks a COSE_Sign1 signature with a key (ECDSA, raw r‖s). */
export function coseSignatureValid(s: CoseSign1, key: KeyObject): boolean {
  const info = s.alg === undefined ? undefined : coseAlgInfo(s.alg);
  if (s.signature.length !== info?.sigSize) return false;
  try {
    return cryptoVerify(
      info.hash,
      sigStructure(s.protectedBytes, s.payload),
      { key, dsaEncoding: 'ieee-p1363' },
      s.signature,
    );
  } catch {
    return false;
  }
}

/** The certificates of a COSE `x5chain` header (label 33), leaf first. */
function x5chain(s: CoseSign1): Certificate[] {
  const v = s.unprotectedHeader.get(33) ?? s.protectedHeader.get(33);
  const list = isBytes(v) ? [v] : Array.isArray(v) ? (v as unknown[]).filter(isBytes) : [];
  return list.map((b, i) => parseCertificate(b, `platform.x5chain[${i}]`));
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;
}

function verifyPlatform(b: ResultBuilder, t: CcaToken, opts: CcaVerifyOptions): void {
  const anchors = (opts.trustAnchors ?? []).flatMap(loadCcaTrustAnchors);
  const pc = t.platformClaims;
  // Anchors naming a platform apply only to it.
  const forThis = anchors.filter(
    (a) =>
      (a.implementationId === undefined || sameBytes(a.implementationId, pc.implementation_id)) &&
      (a.instanceId === undefined || sameBytes(a.instanceId, pc.instance_id)),
  );
  const chain = x5chain(t.platform);
  let failure: unknown;
  if (chain.length > 0) {
    // The x5chain is checked by the chain core: names chain issuer to subject, every signature,
    // basicConstraints, validity, and it must end at an anchor of the caller's policy — its
    // `--trust-anchor` certificates or its emulated TVM's roots, by SPKI fingerprint. There are
    // no built-in CCA roots, and no certificate of the token is trusted for what it says.
    const policy = resolveTrustPolicy({
      ...(opts.policy === undefined ? {} : { policy: opts.policy }),
      ...(opts.trustAnchors === undefined ? {} : { trustAnchors: opts.trustAnchors }),
      ...(opts.emulatedAnchors === undefined ? {} : { emulatedAnchors: opts.emulatedAnchors }),
    });
    const seen = new Set<string>();
    const certAnchors = policyAnchors(policy, []).filter((a) => {
      const k = `${a.sha256}/${a.certificate?.sha256 ?? ''}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    let validated: ValidatedChain | undefined;
    try {
      validated = validateChain({
        leaf: chain[0]!,
        intermediates: chain.slice(1),
        profile: CCA_PLATFORM_PROFILE,
        anchors: certAnchors,
        at: opts.at,
        ordered: true,
      });
    } catch (e) {
      if (!(e instanceof MrstackError)) throw e;
      failure = e;
    }
    if (validated !== undefined) {
      b.trustedBy(validated.anchor);
      b.ok('platform_cert_validity');
      checkLeafRevocation(b, validated, opts.crls ?? [], opts.at, 'the CPAK certificate');
      if (coseSignatureValid(t.platform, validated.leaf.publicKey)) b.ok('platform_signature');
      else
        b.fail(
          'platform_signature',
          'ERR_SIGNATURE_INVALID',
          'the platform token signature does not verify with its certified key',
        );
      return;
    }
    if (forThis.length === 0) {
      const e = failure as MrstackError;
      const validity = e.code === 'ERR_CERT_EXPIRED' || e.code === 'ERR_CERT_NOT_YET_VALID';
      b.failWith(validity ? 'platform_cert_validity' : 'platform_signature', e);
      return;
    }
  }
  if (anchors.length === 0) {
    throw new MrstackError(
      'ERR_COLLATERAL_MISSING',
      'CCA verification needs the platform attestation key (--trust-anchor FILE)',
    );
  }
  if (forThis.length === 0) {
    b.fail(
      'platform_signature',
      'ERR_UNTRUSTED_ROOT',
      'no trust anchor names this platform (implementation/instance id)',
    );
    return;
  }
  const usable = forThis.filter((a) => a.key !== undefined);
  if (usable.length === 0) {
    b.fail(
      'platform_signature',
      'ERR_UNTRUSTED_ROOT',
      `the trust anchor's key is unusable: ${forThis.map((a) => a.unusable ?? 'no key').join('; ')}`,
    );
    return;
  }
  const ok = usable.find((a) => coseSignatureValid(t.platform, a.key!));
  if (ok === undefined && failure instanceof MrstackError) {
    // The token's x5chain failed and no anchor is the platform key itself: the chain's
    // failure is the reason (a key-signature miss against a root would hide it).
    const validity =
      failure.code === 'ERR_CERT_EXPIRED' || failure.code === 'ERR_CERT_NOT_YET_VALID';
    b.failWith(validity ? 'platform_cert_validity' : 'platform_signature', failure);
    return;
  }
  if (ok === undefined) {
    b.fail(
      'platform_signature',
      'ERR_SIGNATURE_INVALID',
      'the platform token signature does not verify with the trust anchor',
    );
    return;
  }
  b.trustedBy(
    ok.certificate === undefined
      ? anchorFromKey(ok.key!, 'trust anchor (CPAK)')
      : anchorFromCertificate(ok.certificate),
  );
  b.ok('platform_signature');
}

function verifyRealm(b: ResultBuilder, t: CcaToken): void {
  const r = t.realmClaims;
  let rak: KeyObject | undefined;
  try {
    rak = realmPublicKey(r.public_key);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    b.fail('realm_signature', 'ERR_BINDING_MISMATCH', `realm public key unusable: ${e.message}`);
  }
  if (rak !== undefined) {
    if (coseSignatureValid(t.realm, rak)) b.ok('realm_signature');
    else
      b.fail(
        'realm_signature',
        'ERR_SIGNATURE_INVALID',
        'the realm token signature does not verify with its RAK',
      );
  }
  const alg = ccaHashAlg(r.public_key_hash_algo_id);
  if (alg === undefined) {
    b.fail(
      'realm_binding',
      'ERR_BINDING_MISMATCH',
      `unknown RAK hash algorithm ${JSON.stringify(r.public_key_hash_algo_id)}`,
    );
    return;
  }
  const h = hash(alg, r.public_key);
  if (Buffer.compare(h, t.platformClaims.challenge) === 0) b.ok('realm_binding');
  else {
    b.fail(
      'realm_binding',
      'ERR_BINDING_MISMATCH',
      `platform challenge is not ${alg}(realm public key)`,
      {
        expected: Buffer.from(h).toString('hex'),
        actual: Buffer.from(t.platformClaims.challenge).toString('hex'),
      },
    );
  }
}

/**
 * Verifies a CCA token at `opts.at`.
 * @throws ParseError for malformed input; MrstackError `ERR_COLLATERAL_MISSING` with no platform
 *   key (no trust anchor and no trusted x5chain)
 */
export function verifyCcaToken(data: Uint8Array, opts: CcaVerifyOptions): EvidenceResult {
  const t = parseCcaToken(data, opts.limits ?? DEFAULT_LIMITS);
  const b = new ResultBuilder('cca', opts.at, opts.policy);
  b.claims = ccaTokenClaims(t);
  verifyRealm(b, t);
  verifyPlatform(b, t, opts);
  b.freshness(opts, (nonce) =>
    checkReportDataNonce(t.realmClaims.challenge, nonce)?.replace('report data', 'realm challenge'),
  );
  return b.build();
}

/** The CCA entry of the evidence front door's dispatch table. */
export const CCA_VERIFIER: EvidenceVerifier = {
  detect: looksLikeCcaToken,
  show: (data: Uint8Array, limits: Limits): EvidenceShowResult => ({
    kind: 'cca',
    claims: ccaTokenClaims(parseCcaToken(data, limits)),
    warnings: [],
  }),
  verify: (data: Uint8Array, o: ResolvedVerifyOptions) =>
    Promise.resolve(
      verifyCcaToken(data, {
        at: o.at,
        limits: o.limits,
        ...(o.trustAnchors === undefined ? {} : { trustAnchors: o.trustAnchors }),
        ...(o.nonce === undefined ? {} : { nonce: reportDataBinding(o.nonce, o.userData) }),
        policy: o.policy,
        ...(o.freshnessElsewhere === undefined ? {} : { freshnessElsewhere: o.freshnessElsewhere }),
        crls: crlsOf(o.collateral?.files?.values()),
      }),
    ),
};
