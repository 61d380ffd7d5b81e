/**
 * The anchors a verifier hands to {@link validateChain}: the vendor's built-in roots, or the
 * caller's `--trust-anchor` certificates instead of them, plus — transitionally — emulated roots.
 *
 * TRANSITIONAL (issue #12): until the trust policy's emulated anchors (`--trust-emulated
 * --tvm-state DIR`, trusted by SPKI fingerprint) reach every verifier, `trustEmulated` still
 * accepts a self-signed certificate carrying the emulated organisation that the evidence itself
 * supplies ({@link legacyEmulatedAnchors}). That is trust by subject name, the gap the trust
 * policy closes; it is kept in this one function so that it can be deleted in one place.
 *
 * @module
 */
import { EMULATED_ROOT_ORGANIZATION } from '../../../formats/x509/emulated_root.js';
import { parseCertificate, type Certificate } from './certificate.js';
import { anchorFromCertificate, anchorsFromCertificateFiles, type TrustAnchor } from './chain.js';
import { verifySignature } from './algorithms.js';

export { EMULATED_ROOT_ORGANIZATION };

/** True when the certificate's subject names the emulated organisation. */
export function hasEmulatedOrganization(c: Certificate): boolean {
  return c.subject.split(', ').includes(`O=${EMULATED_ROOT_ORGANIZATION}`);
}

const builtinCache = new Map<string, readonly TrustAnchor[]>();

/** Built-in anchors from PEM/DER texts, parsed once per process (they are constants). */
export function builtinAnchors(
  name: string,
  certs: readonly (string | Uint8Array)[],
): readonly TrustAnchor[] {
  let a = builtinCache.get(name);
  if (a === undefined) {
    a = certs.map((c, i) =>
      anchorFromCertificate(
        typeof c === 'string'
          ? parseCertificate(
              new Uint8Array(
                Buffer.from(c.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'),
              ),
              `${name}[${i}]`,
            )
          : parseCertificate(c, `${name}[${i}]`),
      ),
    );
    builtinCache.set(name, a);
  }
  return a;
}

/**
 * TRANSITIONAL: self-signed certificates with the emulated organisation among `certs`, as
 * emulated anchors, when the caller asked to trust emulated roots (see the module note).
 */
export function legacyEmulatedAnchors(
  certs: readonly Certificate[],
  trustEmulated: boolean | undefined,
): TrustAnchor[] {
  if (trustEmulated !== true) return [];
  return certs
    .filter(
      (c) =>
        hasEmulatedOrganization(c) &&
        Buffer.compare(c.issuerDer, c.subjectDer) === 0 &&
        verifySignature(c.signatureAlgorithm, c.tbs, c.signature, c.publicKey),
    )
    .map((c) => anchorFromCertificate(c, true));
}

/**
 * The anchors of one verification: the caller's (`--trust-anchor`, replacing the built-in roots
 * when given) or the built-in ones, plus the transitional emulated ones.
 */
export function verifierAnchors(
  builtin: readonly TrustAnchor[],
  callerFiles: readonly Uint8Array[] | undefined,
  supplied: readonly Certificate[],
  trustEmulated: boolean | undefined,
): TrustAnchor[] {
  const caller =
    callerFiles !== undefined && callerFiles.length > 0
      ? anchorsFromCertificateFiles(callerFiles).map((a) =>
          a.certificate !== undefined && hasEmulatedOrganization(a.certificate)
            ? { ...a, emulated: true }
            : a,
        )
      : [...builtin];
  return [...caller, ...legacyEmulatedAnchors(supplied, trustEmulated)];
}
