/**
 * The built-in vendor roots as anchors (Intel SGX Root CA, AMD ARKs), parsed once per process.
 *
 * Which anchors a verification trusts is the trust policy's decision (`trust_policy.ts`
 * `policyAnchors`): the caller's `--trust-anchor` certificates instead of these, and the caller's
 * emulated TVM roots beside them — each identified by its SPKI SHA-256, never by its name.
 *
 * @module
 */
import { parseCertificate } from './certificate.js';
import { anchorFromCertificate, type TrustAnchor } from './chain.js';

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
