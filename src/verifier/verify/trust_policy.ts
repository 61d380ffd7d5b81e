/**
 * The trust policy (DESIGN §6.1): one object, built by the caller (the CLI from its flags, a
 * service from its configuration) and passed to every evidence verifier, saying
 *
 * - which **anchors** a chain may end in: the built-in vendor roots (on unless the caller turns
 *   them off), the caller's `--trust-anchor` certificates, and the roots of the caller's own
 *   emulated TVM (`--trust-emulated`), each identified by the SHA-256 of its
 *   SubjectPublicKeyInfo — never by its subject name;
 * - which **keys are pinned** (a TPM AK given with `--ak`);
 * - which **relaxations** the caller named (`--relax`); every other check is required.
 *
 * Nothing in the evidence can add to the policy: a key or certificate the evidence carries is
 * trusted only through a chain to one of these anchors or by equality with a pinned key.
 *
 * @module
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { ParseError, UsageError } from '../../errors.js';

/**
 * The relaxation vocabulary (`--relax a,b`): each names one kind of required check the caller
 * accepts as skipped. Nothing else is ever waived.
 *
 * - `collateral`: no TDX collateral (TCB info, QE identity, CRLs) — TCB status and revocation
 *   are not evaluated (`--no-collateral` is an alias);
 * - `crl`: a CRL is missing (collateral without the PCK or root CA CRL, SNP without AMD's CRL);
 * - `nonce`: no `--nonce` was given, so freshness is not checked;
 * - `unverified-anchor`: a bundle's physical register is anchored on a SYNC the attester
 *   asserted and nothing confirmed;
 * - `missing-checkpoint`: a bundle served from a checkpoint (`--since`) and no
 *   `--trusted-checkpoint` was given.
 */
export const RELAXATIONS = [
  'collateral',
  'crl',
  'nonce',
  'unverified-anchor',
  'missing-checkpoint',
] as const;

/** One relaxation name. */
export type Relaxation = (typeof RELAXATIONS)[number];

/** Where an anchor came from. */
export type AnchorSource = 'builtin' | 'caller' | 'emulated';

/** A certificate a chain may end in, identified by the SHA-256 of its SubjectPublicKeyInfo. */
export interface TrustAnchor {
  /** The certificate (DER). */
  readonly der: Uint8Array;
  /** SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex: what identifies the anchor. */
  readonly sha256: string;
  /** The subject, for people (never used to decide trust). */
  readonly subject: string;
  readonly source: AnchorSource;
}

/** A key the caller pinned (a TPM AK given with `--ak`), by its SPKI SHA-256. */
export interface PinnedKey {
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  readonly sha256: string;
}

/** The trust policy every verifier receives. */
export interface TrustPolicy {
  /** The caller's anchors and the emulated TVM's roots (built-in roots are added per vendor). */
  readonly anchors: readonly TrustAnchor[];
  /** Whether each vendor's built-in roots (Intel SGX Root CA, AMD ARKs …) are anchors too. */
  readonly builtinRoots: boolean;
  /** Pinned keys (TPM AKs). */
  readonly pinnedKeys: readonly PinnedKey[];
  /** The relaxations the caller named. */
  readonly relax: ReadonlySet<Relaxation>;
}

/** What {@link anchorRef} prints in results: `trust.anchor`. */
export interface AnchorRef {
  readonly sha256: string;
  readonly subject: string;
}

/** The policy with nothing relaxed, no caller anchors and the built-in vendor roots. */
export const DEFAULT_TRUST_POLICY: TrustPolicy = Object.freeze({
  anchors: Object.freeze([]),
  builtinRoots: true,
  pinnedKeys: Object.freeze([]),
  relax: new Set<Relaxation>(),
});

/** SHA-256 of a key's DER SubjectPublicKeyInfo, lowercase hex. */
export function spkiSha256(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

/** The subject as one line (`CN=…, O=…`). */
function subjectLine(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ');
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;

/**
 * Reads the certificates of a file: every PEM block, or one DER certificate.
 * @throws ParseError (`x509`) `ERR_BAD_ENCODING`
 */
export function certificatesFromBytes(bytes: Uint8Array, field = 'certificate'): Uint8Array[] {
  const text = Buffer.from(bytes).toString('latin1');
  const ders: Uint8Array[] = [];
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    for (const m of text.matchAll(PEM_CERT)) {
      ders.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
    }
  } else ders.push(bytes);
  if (ders.length === 0) {
    throw new ParseError({
      code: 'ERR_BAD_ENCODING',
      format: 'x509',
      offset: 0,
      field,
      expected: 'a DER certificate or PEM CERTIFICATE blocks',
    });
  }
  return ders.map((d, i) => {
    try {
      return new Uint8Array(new X509Certificate(d).raw);
    } catch (cause) {
      throw new ParseError({
        code: 'ERR_BAD_ENCODING',
        format: 'x509',
        offset: 0,
        field: ders.length > 1 ? `${field}[${i}]` : field,
        expected: 'an X.509 certificate (DER or PEM)',
        cause,
      });
    }
  });
}

/**
 * An anchor from a certificate (DER or PEM bytes of exactly one certificate, or an
 * `X509Certificate`).
 * @throws ParseError (`x509`) `ERR_BAD_ENCODING`
 */
export function trustAnchor(cert: Uint8Array | X509Certificate, source: AnchorSource): TrustAnchor {
  const c =
    cert instanceof X509Certificate ? cert : new X509Certificate(certificatesFromBytes(cert)[0]!);
  return Object.freeze({
    der: new Uint8Array(c.raw),
    sha256: spkiSha256(c.publicKey),
    subject: subjectLine(c),
    source,
  });
}

/** Every anchor of a file (a PEM bundle may hold several roots). */
export function trustAnchorsFromBytes(bytes: Uint8Array, source: AnchorSource): TrustAnchor[] {
  return certificatesFromBytes(bytes, 'trust_anchor').map((d) => trustAnchor(d, source));
}

/** A pinned key from a public key. */
export function pinnedKey(key: KeyObject): PinnedKey {
  const spki = new Uint8Array(key.export({ format: 'der', type: 'spki' }));
  return Object.freeze({ spki, sha256: createHash('sha256').update(spki).digest('hex') });
}

/**
 * Parses a `--relax` list (comma-separated; repeated flags concatenate).
 * @throws UsageError `ERR_USAGE` naming the unknown relaxation and the vocabulary
 */
export function parseRelaxations(list: readonly string[]): Relaxation[] {
  const out = new Set<Relaxation>();
  for (const item of list.flatMap((s) => s.split(','))) {
    const name = item.trim();
    if (name === '') continue;
    if (!(RELAXATIONS as readonly string[]).includes(name)) {
      throw new UsageError(
        'ERR_USAGE',
        `--relax ${JSON.stringify(name)}: expected one of ${RELAXATIONS.join(', ')}`,
      );
    }
    out.add(name as Relaxation);
  }
  return [...out];
}

/** Options of {@link makeTrustPolicy}. */
export interface TrustPolicyInit {
  readonly anchors?: readonly TrustAnchor[];
  readonly builtinRoots?: boolean;
  readonly pinnedKeys?: readonly PinnedKey[];
  readonly relax?: Iterable<Relaxation>;
}

/** Builds a frozen policy. */
export function makeTrustPolicy(init: TrustPolicyInit = {}): TrustPolicy {
  return Object.freeze({
    anchors: Object.freeze([...(init.anchors ?? [])]),
    builtinRoots: init.builtinRoots ?? true,
    pinnedKeys: Object.freeze([...(init.pinnedKeys ?? [])]),
    relax: new Set(init.relax ?? []),
  });
}

/** The policy with `more` relaxations added (used by verifiers that check a part elsewhere). */
export function withRelaxations(p: TrustPolicy, more: Iterable<Relaxation>): TrustPolicy {
  return Object.freeze({ ...p, relax: new Set([...p.relax, ...more]) });
}

/** The anchors a vendor's chains may end in: the built-in roots (when on) and the policy's. */
export function anchorsFor(p: TrustPolicy, builtin: readonly TrustAnchor[]): TrustAnchor[] {
  return [...(p.builtinRoots ? builtin : []), ...p.anchors];
}

/** The anchor whose public key is `key`, if any (trust is decided by SPKI SHA-256 only). */
export function findAnchorByKey(
  anchors: readonly TrustAnchor[],
  key: KeyObject,
): TrustAnchor | undefined {
  const fp = spkiSha256(key);
  return anchors.find((a) => a.sha256 === fp);
}

/** `trust.anchor` of a result. */
export function anchorRef(a: TrustAnchor): AnchorRef {
  return { sha256: a.sha256, subject: a.subject };
}

/** The public key of an anchor. */
export function anchorKey(a: TrustAnchor): KeyObject {
  return new X509Certificate(a.der).publicKey;
}
