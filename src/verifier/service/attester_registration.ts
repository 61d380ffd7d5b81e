/**
 * Attester registration by TPM credential activation (DESIGN §6.5, docs/verifier.md): the
 * verifier's half of TPM 2.0 Part 1 §24 "Credential Protection".
 *
 * Activation proves only that the AK lives in the TPM that holds the EK, so the EK is trusted
 * first, by one of two routes:
 *
 * - its **certificate** validates through the X.509 core ({@link validateChain},
 *   {@link TPM_EK_PROFILE}) to a TPM-vendor anchor the operator configured (`--tpm-ca`), and
 *   certifies the very key the challenge is sealed to;
 * - a **bare EK public** is accepted only when the operator allowlisted it (by the SHA-256 of its
 *   SubjectPublicKeyInfo or its TPM name); the attester then carries the relaxation
 *   `unverified-ek`, so its results never count as unrelaxed.
 *
 * The AK must be an attestation key that cannot leave that TPM: restricted, sign, fixedTPM and
 * fixedParent set, decrypt clear (`ERR_AK_ATTRIBUTES`). The challenge is MakeCredential
 * ({@link makeCredential}) of a fresh 32-byte secret to (EK, name(AK)); the store keeps only the
 * secret's SHA-256.
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { bytesEqual, toHex } from '../../bytes/hex.js';
import { MrstackError, VerifyError } from '../../errors.js';
import { TPM_ECC, TPMA_OBJECT } from '../../formats/tpm2/constants.js';
import { makeCredential, type MadeCredential } from '../../formats/tpm2/credential.js';
import { encodePublic, readPublicArea, type TpmPublic } from '../../formats/tpm2/marshal/public.js';
import {
  objectName,
  publicFromKeyObject,
  publicToKeyObject,
} from '../../formats/tpm2/public_key.js';
import { ekTemplate } from '../../formats/tpm2/templates.js';
import type { EkTrustReason } from '../store/store.js';
import { anchorRef, type AnchorRef } from '../verify/trust_policy.js';
import { parseCertificates, spkiSha256Of, type Certificate } from '../verify/x509/certificate.js';
import { validateChain, type TrustAnchor } from '../verify/x509/chain.js';
import { TPM_EK_PROFILE } from '../verify/x509/profiles.js';

/** The relaxation an attester registered with an allowlisted bare EK carries. */
export const UNVERIFIED_EK = 'unverified-ek';

/** What the operator configured for registration. */
export interface RegistrationTrust {
  /** TPM-vendor anchors EK certificates must chain to (`--tpm-ca`). */
  readonly tpmAnchors: readonly TrustAnchor[];
  /**
   * Bare EKs the operator accepts (`--ek-allowlist`): lowercase hex of the EK's SPKI SHA-256 or
   * of its TPM name.
   */
  readonly ekAllowlist: ReadonlySet<string>;
}

/** An EK the verifier decided to trust, and why. */
export interface TrustedEk {
  readonly public: TpmPublic;
  /** The TPMT_PUBLIC the challenge is sealed to. */
  readonly publicBytes: Uint8Array;
  readonly certificate: Uint8Array | null;
  /**
   * `certificate` (chained to a TPM-vendor anchor), `allowlist` (relaxed), or `svsm_report` (a
   * verified SVSM report lists it: svsm_registration.ts).
   */
  readonly reason: EkTrustReason;
  readonly anchor?: AnchorRef;
  readonly relaxed: readonly string[];
  /** SHA-256 of the EK's SubjectPublicKeyInfo (hex). */
  readonly spkiSha256: string;
}

/** The AK to register: its public area, exact bytes and name. */
export interface RegistrableAk {
  readonly public: TpmPublic;
  readonly publicBytes: Uint8Array;
  readonly name: Uint8Array;
}

/**
 * A TPMT_PUBLIC given as bytes: the bare structure, or a TPM2B_PUBLIC around it (what
 * `tpm2_createak -u` writes). The exact TPMT_PUBLIC bytes are kept, since a name hashes them.
 */
export function tpmtPublicOf(
  bytes: Uint8Array,
  field: string,
): { pub: TpmPublic; bytes: Uint8Array } {
  const a = readPublicArea(bytes, field);
  return { pub: a.public, bytes: a.bytes };
}

const REQUIRED_AK = ['restricted', 'sign', 'fixedTPM', 'fixedParent'] as const;

/**
 * Checks that an AK may be registered: restricted, sign, fixedTPM and fixedParent set, decrypt
 * clear (a key that can leave its TPM, or sign arbitrary data, proves nothing by activation).
 * @throws VerifyError `ERR_AK_ATTRIBUTES` naming the wrong attributes
 */
export function checkRegistrableAk(akPublic: Uint8Array): RegistrableAk {
  const { pub, bytes } = tpmtPublicOf(akPublic, 'ak_public');
  const a = pub.objectAttributes;
  const missing = REQUIRED_AK.filter((n) => (a & TPMA_OBJECT[n]) === 0);
  const forbidden = (a & TPMA_OBJECT.decrypt) !== 0 ? ['decrypt'] : [];
  if (missing.length > 0 || forbidden.length > 0) {
    const why = [
      ...(missing.length > 0 ? [`lacks ${missing.join(', ')}`] : []),
      ...(forbidden.length > 0 ? ['has decrypt set'] : []),
    ].join(' and ');
    throw new VerifyError(
      'ERR_AK_ATTRIBUTES',
      `ak_public: not a restricted signing key bound to its TPM: objectAttributes 0x${(a >>> 0).toString(16).padStart(8, '0')} ${why}`,
      { details: { object_attributes: a >>> 0, missing, forbidden } },
    );
  }
  return { public: pub, publicBytes: bytes, name: objectName(bytes) };
}

/** The EK template a certified key stands in (TCG EK Credential Profile L-1 / L-2). */
function ekPublicFromCertificateKey(cert: Certificate): TpmPublic {
  const key = cert.publicKey;
  const type = key.asymmetricKeyType;
  if (type === 'rsa' && key.asymmetricKeyDetails?.modulusLength === 2048) {
    return publicFromKeyObject(key, ekTemplate('rsa'));
  }
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    const p = publicFromKeyObject(key, ekTemplate('ecc'));
    return p.type === 'ecc' ? { ...p, curveId: TPM_ECC.NIST_P256 } : p;
  }
  throw new MrstackError(
    'ERR_UNSUPPORTED',
    'ek_cert: the certified key is neither RSA 2048 nor ECC P-256; send ek_public (its TPMT_PUBLIC) beside the certificate',
  );
}

/** What the attester sends to register. */
export interface RegistrationInput {
  readonly ekCert?: Uint8Array;
  /** Intermediate CA certificates of the EK certificate (DER or PEM). */
  readonly ekChain?: readonly Uint8Array[];
  readonly ekPublic?: Uint8Array;
}

/**
 * Decides whether the EK is trusted (see the module comment).
 * @throws VerifyError `ERR_UNTRUSTED_KEY` (a bare EK not allowlisted), `ERR_BINDING_MISMATCH`
 *   (a certificate for another key), and the X.509 core's chain errors
 */
export function trustEk(input: RegistrationInput, trust: RegistrationTrust, at: Date): TrustedEk {
  const given =
    input.ekPublic === undefined ? undefined : tpmtPublicOf(input.ekPublic, 'ek_public');
  if (input.ekCert !== undefined) {
    // DER, or PEM whose first certificate is the EK's (any others are its issuers).
    const [leaf, ...served]: (Certificate | undefined)[] = parseCertificates(
      input.ekCert,
      'ek_cert',
    );
    if (leaf === undefined) {
      throw new MrstackError('ERR_USAGE', 'ek_cert holds no certificate');
    }
    const intermediates = [
      ...(served as Certificate[]),
      ...(input.ekChain ?? []).flatMap((c, i) => parseCertificates(c, `ek_chain[${i}]`)),
    ];
    let chain;
    try {
      chain = validateChain({
        leaf,
        intermediates,
        profile: TPM_EK_PROFILE,
        anchors: trust.tpmAnchors,
        at,
      });
    } catch (e) {
      if (e instanceof MrstackError && trust.tpmAnchors.length === 0) {
        throw new VerifyError(
          e.code,
          `${e.message} — the verifier has no TPM-vendor anchor configured (--tpm-ca)`,
          { details: e.details },
        );
      }
      throw e;
    }
    let pub: TpmPublic;
    let bytes: Uint8Array;
    if (given !== undefined) {
      if (spkiSha256Of(publicToKeyObject(given.pub)) !== leaf.spkiSha256) {
        throw new VerifyError(
          'ERR_BINDING_MISMATCH',
          'ek_public is not the key ek_cert certifies',
          { details: { ek_cert_spki_sha256: leaf.spkiSha256 } },
        );
      }
      pub = given.pub;
      bytes = given.bytes;
    } else {
      pub = ekPublicFromCertificateKey(leaf);
      bytes = encodePublic(pub);
    }
    return {
      public: pub,
      publicBytes: bytes,
      certificate: leaf.der,
      reason: 'certificate',
      anchor: anchorRef(chain.anchor),
      relaxed: [],
      spkiSha256: leaf.spkiSha256,
    };
  }
  if (given === undefined) {
    throw new MrstackError('ERR_USAGE', 'registration needs ek_cert or ek_public');
  }
  const spki = spkiSha256Of(publicToKeyObject(given.pub));
  const name = toHex(objectName(given.bytes));
  if (!trust.ekAllowlist.has(spki) && !trust.ekAllowlist.has(name)) {
    throw new VerifyError(
      'ERR_UNTRUSTED_KEY',
      `ek_public (SPKI SHA-256 ${spki}) has no certificate and is not on the verifier's EK allowlist`,
      { details: { ek_spki_sha256: spki, ek_name: name } },
    );
  }
  return {
    public: given.pub,
    publicBytes: given.bytes,
    certificate: null,
    reason: 'allowlist',
    relaxed: [UNVERIFIED_EK],
    spkiSha256: spki,
  };
}

/** A challenge ready to send, and the digest of its secret to store. */
export interface CredentialChallenge {
  readonly credential: MadeCredential;
  readonly secretDigest: Uint8Array;
}

/** MakeCredential of a fresh 32-byte secret to the EK and the AK's name. */
export function credentialChallenge(ek: TrustedEk, ak: RegistrableAk): CredentialChallenge {
  const secret = new Uint8Array(randomBytes(32));
  const credential = makeCredential(ek.public, ak.name, secret);
  return { credential, secretDigest: sha256(secret) };
}

function sha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(b).digest());
}

/** True when `secret` is the one whose digest was stored (compared in constant time). */
export function secretMatches(secret: Uint8Array, digest: Uint8Array): boolean {
  const d = sha256(secret);
  return d.length === digest.length && timingSafeEqual(d, digest);
}

/** True when two EK public areas are the same key (for a second AK of a known attester). */
export function sameEk(a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b);
}

/**
 * Reads an allowlist file: one hex value per line (EK SPKI SHA-256, or EK TPM name); `#` starts
 * a comment.
 */
export function parseEkAllowlist(text: string): Set<string> {
  const out = new Set<string>();
  text.split('\n').forEach((line, i) => {
    const v = line.replace(/#.*/, '').trim().toLowerCase();
    if (v === '') return;
    if (!/^(?:[0-9a-f]{2})+$/.test(v)) {
      throw new MrstackError('ERR_BAD_HEX', `EK allowlist line ${i + 1}: expected hex`, {
        details: { line: i + 1 },
      });
    }
    out.add(v);
  });
  return out;
}
