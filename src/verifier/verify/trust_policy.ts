/**
 * The trust policy (DESIGN §6.1): one object, built by the caller (the CLI from its flags, a
 * service from its configuration) and passed to every evidence verifier, saying
 *
 * - which **anchors** a chain may end in: the caller's `--trust-anchor` certificates (which
 *   replace a vendor's built-in roots when given), the built-in vendor roots otherwise, and the
 *   roots of the caller's own emulated TVM (`--trust-emulated --tvm-state DIR`). Every anchor is
 *   the X.509 core's {@link TrustAnchor}, identified by the SHA-256 of its SubjectPublicKeyInfo
 *   — never by its subject name;
 * - which **keys are pinned** (a TPM AK given with `--ak`);
 * - which **relaxations** the caller named (`--relax`); every other check is required.
 *
 * Nothing in the evidence can add to the policy: a key or certificate the evidence carries is
 * trusted only through a chain to one of these anchors or by equality with a pinned key.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { ParseError, UsageError } from '../../errors.js';
import { EMULATED_ROOT_ORGANIZATION } from '../../formats/x509/emulated_root.js';
import { spkiSha256Of } from './x509/certificate.js';
import { anchorsFromCertificateFiles, type TrustAnchor } from './x509/chain.js';

export type { TrustAnchor } from './x509/chain.js';

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

/** A key the caller pinned (a TPM AK given with `--ak`), by its SPKI SHA-256. */
export interface PinnedKey {
  readonly sha256: string;
  readonly key: KeyObject;
}

/** The trust policy every verifier receives. */
export interface TrustPolicy {
  /** The caller's anchors (`--trust-anchor`): when any, they replace the built-in roots. */
  readonly anchors: readonly TrustAnchor[];
  /** The roots of the caller's emulated TVM (`emulated: true`), trusted beside the others. */
  readonly emulatedAnchors: readonly TrustAnchor[];
  /** Pinned keys (TPM AKs). */
  readonly pinnedKeys: readonly PinnedKey[];
  /** The relaxations the caller named. */
  readonly relax: ReadonlySet<Relaxation>;
}

/** What a result prints as `trust.anchor`. */
export interface AnchorRef {
  readonly sha256: string;
  readonly subject: string;
}

/** The policy with nothing relaxed, no caller anchors (so the built-in vendor roots). */
export const DEFAULT_TRUST_POLICY: TrustPolicy = Object.freeze({
  anchors: Object.freeze([]),
  emulatedAnchors: Object.freeze([]),
  pinnedKeys: Object.freeze([]),
  relax: new Set<Relaxation>(),
});

/** A pinned key. */
export function pinnedKey(key: KeyObject): PinnedKey {
  return Object.freeze({ sha256: spkiSha256Of(key), key });
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
  readonly emulatedAnchors?: readonly TrustAnchor[];
  readonly pinnedKeys?: readonly PinnedKey[];
  readonly relax?: Iterable<Relaxation>;
}

/** Builds a frozen policy. */
export function makeTrustPolicy(init: TrustPolicyInit = {}): TrustPolicy {
  return Object.freeze({
    anchors: Object.freeze([...(init.anchors ?? [])]),
    emulatedAnchors: Object.freeze(
      (init.emulatedAnchors ?? []).map((a) => ({ ...a, emulated: true })),
    ),
    pinnedKeys: Object.freeze([...(init.pinnedKeys ?? [])]),
    relax: new Set(init.relax ?? []),
  });
}

/**
 * Caller anchors from files (`--trust-anchor`): every certificate of each file. Files that hold
 * no certificate (a CCA verifier's bare key or JWK) are left to the verifier that reads them.
 * An anchor whose subject names the emulated organisation is *labelled* emulated (the result
 * then says it is not hardware); the label only ever downgrades, it never adds trust.
 */
export function callerAnchorsFromFiles(files: readonly Uint8Array[]): TrustAnchor[] {
  return files.flatMap((b, i) => {
    try {
      return anchorsFromCertificateFiles([b], `trust_anchor[${i}]`).map((a) =>
        a.certificate?.subject.split(', ').includes(`O=${EMULATED_ROOT_ORGANIZATION}`) === true
          ? { ...a, emulated: true }
          : a,
      );
    } catch (e) {
      if (e instanceof ParseError) return [];
      throw e;
    }
  });
}

/**
 * The roots of the caller's emulated TVM (`--trust-emulated --tvm-state DIR`), as emulated
 * anchors identified by their SPKI SHA-256.
 * @throws ParseError when a file holds no certificate
 */
export function emulatedAnchorsFromFiles(files: readonly Uint8Array[]): TrustAnchor[] {
  return anchorsFromCertificateFiles(files, 'emulated_root', true);
}

/** What a verification's policy is made of when the caller gives parts instead of a policy. */
export interface TrustInputs {
  /** A policy built by the caller; the other fields add to it. */
  readonly policy?: TrustPolicy;
  /** `--trust-anchor` files (PEM/DER certificates; other forms are left to CCA). */
  readonly trustAnchors?: readonly Uint8Array[];
  /** The caller's emulated TVM roots (PEM/DER certificates). */
  readonly emulatedAnchors?: readonly Uint8Array[];
  readonly relax?: readonly Relaxation[];
  /** The older spelling of the `collateral` relaxation. */
  readonly allowMissingCollateral?: boolean;
}

/**
 * The one policy of a verification: the caller's policy, with the anchors, emulated roots and
 * relaxations of the other fields added to it.
 */
export function resolveTrustPolicy(o: TrustInputs): TrustPolicy {
  const given = o.policy;
  return makeTrustPolicy({
    anchors: [...(given?.anchors ?? []), ...callerAnchorsFromFiles(o.trustAnchors ?? [])],
    emulatedAnchors: [
      ...(given?.emulatedAnchors ?? []),
      ...emulatedAnchorsFromFiles(o.emulatedAnchors ?? []),
    ],
    pinnedKeys: given?.pinnedKeys ?? [],
    relax: [
      ...(given?.relax ?? []),
      ...(o.relax ?? []),
      ...(o.allowMissingCollateral === true ? (['collateral'] as const) : []),
    ],
  });
}

/**
 * A stable key for the anchors of a policy (each anchor's certificate or key fingerprint and
 * whether it is emulated): caches of validated chains are keyed by it, so two policies with
 * different anchors never share a trusted result.
 */
export function anchorsKey(anchors: readonly TrustAnchor[]): string {
  return anchors
    .map((a) => `${a.emulated === true ? 'E' : 'A'}${a.sha256}/${a.certificate?.sha256 ?? '-'}`)
    .join(',');
}

/**
 * The anchors a vendor's chains may end in under a policy: the caller's anchors instead of the
 * built-in roots when the caller gave any, and the emulated TVM's roots beside them.
 */
export function policyAnchors(p: TrustPolicy, builtin: readonly TrustAnchor[]): TrustAnchor[] {
  return [...(p.anchors.length > 0 ? p.anchors : builtin), ...p.emulatedAnchors];
}

/** `trust.anchor` of a result: the anchor's SPKI SHA-256 and its subject (or label). */
export function anchorRef(a: Pick<TrustAnchor, 'sha256' | 'subject'>): AnchorRef {
  return { sha256: a.sha256, subject: a.subject };
}
