/**
 * The one certificate-chain validator of mrstack (DESIGN §6.1): builds the path from a leaf to a
 * trust anchor the caller configured, pins each position of the path to a role of a
 * {@link ChainProfile}, and checks at every step
 *
 * - issuer–subject chaining (byte-equal Names) and the signature by the next certificate's key,
 *   with an algorithm the profile allows for that position;
 * - basicConstraints (issuers are CAs, the leaf is not; pathLenConstraint holds, the anchor's
 *   too), keyUsage (keyCertSign for issuers, the role's bits for the leaf), extendedKeyUsage
 *   where the role names purposes, the key type, and no unknown critical extension;
 * - validity of every certificate (the anchor's too) at `at`, from strictly parsed times.
 *
 * Anchors are pinned by the SHA-256 of their SubjectPublicKeyInfo — never by a subject name —
 * so a self-signed certificate that copies a root's name is just an untrusted root.
 *
 * Failures are {@link VerifyError}s: `ERR_UNTRUSTED_ROOT` (no anchor reached),
 * `ERR_CHAIN_INVALID` (no issuer, a bad signature), `ERR_CERT_PROFILE` (a role rule; `rule`
 * and `position` in the details), `ERR_CERT_EXPIRED` / `ERR_CERT_NOT_YET_VALID`.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { VerifyError } from '../../../errors.js';
import { verifySignature, type SignatureAlgorithmName } from './algorithms.js';
import {
  parseCertificates,
  spkiSha256Of,
  type Certificate,
  type KeyUsageName,
} from './certificate.js';
import { checkTimeWindow } from './crl.js';

/** A trust anchor: a key the caller trusts, pinned by its SPKI SHA-256. */
export interface TrustAnchor {
  /** SHA-256 of the SubjectPublicKeyInfo DER (hex). */
  readonly sha256: string;
  /** The anchor's subject (or a label for a bare key). */
  readonly subject: string;
  readonly key: KeyObject;
  /** The anchor's certificate, when it came as one (then its name and validity count too). */
  readonly certificate?: Certificate;
  /** True for an mrstack emulated root (trusted because the caller named its TVM). */
  readonly emulated?: boolean;
}

/** An anchor from a certificate. */
export function anchorFromCertificate(c: Certificate, emulated = false): TrustAnchor {
  return {
    sha256: c.spkiSha256,
    subject: c.subject,
    key: c.publicKey,
    certificate: c,
    ...(emulated ? { emulated: true } : {}),
  };
}

/** An anchor from a bare public key (a pinned CPAK, say). */
export function anchorFromKey(key: KeyObject, subject: string): TrustAnchor {
  return { sha256: spkiSha256Of(key), subject, key };
}

/**
 * Anchors from certificate files (PEM with any number of certificates, or DER).
 * @throws ParseError when a file holds no certificate
 */
export function anchorsFromCertificateFiles(
  files: readonly Uint8Array[],
  field = 'trust_anchor',
  emulated = false,
): TrustAnchor[] {
  return files.flatMap((b, i) =>
    parseCertificates(b, `${field}[${i}]`).map((c) => anchorFromCertificate(c, emulated)),
  );
}

/** What one position of a path must be. */
export interface RoleRule {
  /** The role's name in messages (`PCK leaf`, `ASK` …). */
  readonly role: string;
  /** The subject CN the role must have. */
  readonly cn?: RegExp;
  /** The leaf's required keyUsage bits (when the extension is present, unless `keyUsageRequired`). */
  readonly keyUsage?: readonly KeyUsageName[];
  readonly keyUsageRequired?: boolean;
  /** extendedKeyUsage: the extension must be present and hold one of these. */
  readonly eku?: readonly string[];
  /** The subject key: an EC curve (`P-256`, `P-384`) or `rsa`. */
  readonly key?: 'P-256' | 'P-384' | 'rsa' | 'ec';
  /** Algorithms the issuer may have signed this certificate with. */
  readonly signedWith?: readonly SignatureAlgorithmName[];
  /** Extensions that must be present (by OID). */
  readonly requiredExtensions?: readonly string[];
}

/** The roles of a chain, leaf first, up to (not including) the anchor. */
export interface ChainProfile {
  /** Names the chain in messages (`PCK chain`, `VCEK chain` …). */
  readonly name: string;
  /** Leaf first. With `repeatLast`, the last rule applies to any further CAs. */
  readonly levels: readonly RoleRule[];
  readonly repeatLast?: boolean;
  /** With `repeatLast`: the fewest certificates below the anchor (default: `levels.length`). */
  readonly minLength?: number;
  /** Rules for the anchor when it is a certificate (its name, its self-signature). */
  readonly anchor?: RoleRule;
  /** Critical extensions the profile understands beyond RFC 5280's. */
  readonly criticalExtensions?: readonly string[];
  /** A check over the whole path once it is built (product consistency, say). */
  readonly finally?: (path: readonly Certificate[], anchor: TrustAnchor) => void;
}

/** What {@link validateChain} takes. */
export interface ValidateChainInput {
  readonly leaf: Certificate;
  /** Candidate issuers in any order (the anchor itself may be among them). */
  readonly intermediates?: readonly Certificate[];
  readonly profile: ChainProfile;
  readonly anchors: readonly TrustAnchor[];
  readonly at: Date;
  /**
   * Check validity times (default true). A verifier that reports validity as its own check
   * passes false and calls {@link checkChainTimes} itself.
   */
  readonly checkTimes?: boolean;
  /**
   * The intermediates are the chain as served, in order (a quote's PCK chain, a COSE x5chain):
   * then they must be exactly the path, optionally followed by the anchor's own certificate,
   * byte for byte — no certificate in it goes unchecked.
   */
  readonly ordered?: boolean;
}

/** A validated chain. */
export interface ValidatedChain {
  readonly anchor: TrustAnchor;
  readonly leaf: Certificate;
  /** Leaf first, up to the certificate the anchor signed (the anchor not included). */
  readonly path: readonly Certificate[];
}

const MAX_DEPTH = 8;

/** Extensions RFC 5280 defines that the core processes or may safely leave to the caller. */
const KNOWN_CRITICAL = new Set([
  '2.5.29.19', // basicConstraints
  '2.5.29.15', // keyUsage
  '2.5.29.37', // extendedKeyUsage
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.17', // subjectAltName
  '2.5.29.31', // cRLDistributionPoints
  '2.5.29.32', // certificatePolicies (no policy processing: none of the profiles constrain it)
]);

/** A role-rule failure. */
export function profileError(
  profile: ChainProfile,
  rule: string,
  position: number,
  c: { readonly subject: string },
  message: string,
): VerifyError {
  return new VerifyError('ERR_CERT_PROFILE', `${profile.name}: ${message}`, {
    details: { rule, position, subject: c.subject },
  });
}

function signedBy(c: Certificate, key: KeyObject): boolean {
  return c.algorithmsAgree && verifySignature(c.signatureAlgorithm, c.tbs, c.signature, key);
}

function sameName(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** The anchor that issued `c`: same name (when the anchor has one) and a verifying signature. */
function anchorOf(c: Certificate, anchors: readonly TrustAnchor[]): TrustAnchor | undefined {
  return anchors.find(
    (a) =>
      (a.certificate === undefined || sameName(a.certificate.subjectDer, c.issuerDer)) &&
      signedBy(c, a.key),
  );
}

function curveOf(key: KeyObject): string | undefined {
  const c = key.asymmetricKeyDetails?.namedCurve;
  return c === 'prime256v1' ? 'P-256' : c === 'secp384r1' ? 'P-384' : c;
}

function checkRole(
  profile: ChainProfile,
  rule: RoleRule,
  c: Certificate,
  position: number,
  isIssuer: boolean,
  belowCount: number,
): void {
  const fail = (r: string, m: string): never => {
    throw profileError(profile, r, position, c, `${rule.role} "${c.cn}": ${m}`);
  };
  const bc = c.basicConstraints;
  if (isIssuer) {
    if (bc?.ca !== true)
      fail('basic_constraints', 'it issues certificates but is not a CA (basicConstraints cA)');
    if (bc?.pathLen !== undefined && belowCount > bc.pathLen)
      fail('path_length', `pathLenConstraint ${bc.pathLen} but ${belowCount} CA(s) below it`);
    if (c.keyUsage !== undefined && !c.keyUsage.has('keyCertSign'))
      fail('key_usage', 'it issues certificates but its keyUsage lacks keyCertSign');
  } else {
    if (bc?.ca === true) fail('basic_constraints', 'a leaf must not be a CA (basicConstraints cA)');
    if (rule.keyUsageRequired === true && c.keyUsage === undefined)
      fail('key_usage', 'it has no keyUsage extension');
    for (const bit of rule.keyUsage ?? [])
      if (c.keyUsage !== undefined && !c.keyUsage.has(bit))
        fail('key_usage', `its keyUsage lacks ${bit}`);
  }
  if (rule.cn !== undefined && !rule.cn.test(c.cn))
    fail('role_name', `the ${rule.role} must be named ${String(rule.cn)}`);
  if (rule.signedWith !== undefined && !rule.signedWith.includes(c.signatureAlgorithm.name))
    fail(
      'algorithm',
      `signed with ${c.signatureAlgorithm.name}, not ${rule.signedWith.join(' or ')}`,
    );
  if (rule.key !== undefined) {
    const type = c.publicKey.asymmetricKeyType;
    const ok =
      rule.key === 'rsa'
        ? type === 'rsa' || type === 'rsa-pss'
        : rule.key === 'ec'
          ? type === 'ec'
          : type === 'ec' && curveOf(c.publicKey) === rule.key;
    if (!ok)
      fail('key_type', `its key is ${type ?? '?'} ${curveOf(c.publicKey) ?? ''}, not ${rule.key}`);
  }
  for (const oid of rule.requiredExtensions ?? [])
    if (!c.extensions.has(oid)) fail('required_extension', `it lacks the extension ${oid}`);
  if (rule.eku !== undefined) {
    const eku = c.extendedKeyUsage;
    if (eku === undefined || !rule.eku.some((p) => eku.includes(p)))
      fail('extended_key_usage', `its extendedKeyUsage must hold ${rule.eku.join(' or ')}`);
  }
  const known = new Set([...KNOWN_CRITICAL, ...(profile.criticalExtensions ?? [])]);
  for (const [oid, e] of c.extensions)
    if (e.critical && !known.has(oid))
      fail('critical_extension', `unknown critical extension ${oid}`);
}

/** The rule for position `i` of a path of `n` certificates. */
function ruleAt(profile: ChainProfile, i: number): RoleRule | undefined {
  const l = profile.levels;
  return i < l.length ? l[i] : profile.repeatLast === true ? l[l.length - 1] : undefined;
}

/**
 * Builds and validates the path from `leaf` to one of `anchors` under `profile` at `at`.
 * @throws VerifyError `ERR_UNTRUSTED_ROOT`, `ERR_CHAIN_INVALID`, `ERR_CERT_PROFILE`,
 *   `ERR_CERT_EXPIRED`, `ERR_CERT_NOT_YET_VALID`
 */
export function validateChain(input: ValidateChainInput): ValidatedChain {
  const { profile, anchors } = input;
  const pool = input.intermediates ?? [];
  const path: Certificate[] = [input.leaf];
  let anchor: TrustAnchor | undefined;
  for (;;) {
    const cur = path[path.length - 1]!;
    anchor = anchorOf(cur, anchors);
    if (anchor !== undefined) break;
    const selfIssued = sameName(cur.issuerDer, cur.subjectDer);
    if (selfIssued && signedBy(cur, cur.publicKey)) {
      throw new VerifyError(
        'ERR_UNTRUSTED_ROOT',
        `${profile.name} ends in "${cur.subject}" (SPKI SHA-256 ${cur.spkiSha256}), which is not a trust anchor`,
        { details: { root: cur.subject, spki_sha256: cur.spkiSha256 } },
      );
    }
    const named = pool.filter(
      (p) => p !== cur && !path.includes(p) && sameName(p.subjectDer, cur.issuerDer),
    );
    const next = named.find((p) => signedBy(cur, p.publicKey));
    if (next === undefined) {
      throw new VerifyError(
        'ERR_CHAIN_INVALID',
        named.length > 0
          ? `${profile.name}: the signature of "${cur.cn}" does not verify with its issuer "${named[0]!.cn}"`
          : `${profile.name}: no issuer certificate or trust anchor for "${cur.cn}" (issuer ${cur.issuer})`,
        { details: { position: path.length - 1, subject: cur.subject, issuer: cur.issuer } },
      );
    }
    if (path.length >= MAX_DEPTH) {
      throw new VerifyError('ERR_CHAIN_INVALID', `${profile.name} is longer than ${MAX_DEPTH}`);
    }
    path.push(next);
  }
  // A path that ends in a copy of the anchor's own certificate: the anchor is above it already.
  const top = path[path.length - 1]!;
  if (
    path.length > 1 &&
    top.spkiSha256 === anchor.sha256 &&
    sameName(top.issuerDer, top.subjectDer)
  )
    path.pop();
  if (input.ordered === true) checkOrdered(profile, path, pool, anchor);
  // Each certificate against its position's role (CA-ness first), then the path's shape.
  path.forEach((c, i) => {
    checkRole(profile, ruleAt(profile, i) ?? { role: 'CA' }, c, i, i > 0, Math.max(0, i - 1));
  });
  const need = profile.minLength ?? profile.levels.length;
  if (path.length < need || (profile.repeatLast !== true && path.length > need)) {
    throw profileError(
      profile,
      'path_shape',
      path.length - 1,
      path[path.length - 1]!,
      `the path has ${path.length} certificate(s) below the anchor; the profile has ${need}${profile.repeatLast === true ? ' or more' : ''}`,
    );
  }

  const ac = anchor.certificate;
  if (ac !== undefined) {
    // The anchor's own constraints: a CA whose pathLen covers the CAs below it.
    const a = profile.anchor ?? { role: 'anchor' };
    checkRole(profile, a, ac, path.length, true, path.length - 1);
  }
  profile.finally?.(path, anchor);
  const chain = { anchor, leaf: input.leaf, path };
  if (input.checkTimes !== false) checkChainTimes(chain, input.at);
  return chain;
}

/** An ordered chain must be the path, then at most the anchor's certificate itself. */
function checkOrdered(
  profile: ChainProfile,
  path: readonly Certificate[],
  given: readonly Certificate[],
  anchor: TrustAnchor,
): void {
  const n = path.length - 1;
  const same = given.slice(0, n).every((c, i) => c === path[i + 1]);
  const extra = given.slice(n);
  const ac = anchor.certificate;
  const extraOk =
    extra.length === 0 ||
    (extra.length === 1 && ac !== undefined && Buffer.compare(extra[0]!.der, ac.der) === 0);
  if (!same || !extraOk) {
    throw new VerifyError(
      'ERR_CHAIN_INVALID',
      `${profile.name}: the chain as served is not leaf → issuers → the trust anchor's own certificate`,
      { details: { position: same ? n + 1 : 1 } },
    );
  }
}

/**
 * Re-checks the validity times of a chain validated earlier (a cached one) at another time.
 * @throws VerifyError `ERR_CERT_EXPIRED` / `ERR_CERT_NOT_YET_VALID`
 */
export function checkChainTimes(chain: ValidatedChain, at: Date): void {
  const ac = chain.anchor.certificate;
  for (const c of chain.path) checkTimeWindow(`certificate "${c.cn}"`, c.notBefore, c.notAfter, at);
  if (ac !== undefined) checkTimeWindow(`anchor "${ac.cn}"`, ac.notBefore, ac.notAfter, at);
}

/** The window in which every certificate of a chain is valid (ms since the epoch). */
export function chainTimeWindow(chain: ValidatedChain): { notBefore: number; notAfter: number } {
  const certs = [
    ...chain.path,
    ...(chain.anchor.certificate === undefined ? [] : [chain.anchor.certificate]),
  ];
  return {
    notBefore: Math.max(...certs.map((c) => c.notBefore.getTime())),
    notAfter: Math.min(...certs.map((c) => c.notAfter.getTime())),
  };
}
