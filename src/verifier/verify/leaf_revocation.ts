/**
 * Revocation of a validated chain's leaf by its issuer's CRL, for the profiles whose collateral
 * is only that CRL: the TPM AK certificate (its TPM CA) and the CCA CPAK certificate (its
 * platform root). Neither ecosystem publishes a TCB status; a CA that revokes the platform's
 * attestation key is how it says the platform is no longer vouched for (docs/appraisal.md).
 *
 * The check is `crl`: `ok` when the issuer's CRL (issuer name and signature, current at `at`)
 * does not list the leaf, `failed` with `ERR_CERT_REVOKED` when it does, and — when no CRL of
 * that issuer was given — skipped as optional: TPM and CCA evidence has no CRL distribution
 * mrstack fetches, so verification does not require one, and appraisal then makes no hardware
 * claim.
 *
 * @module
 */
import { MrstackError } from '../../errors.js';
import type { ResultBuilder } from './evidence_result.js';
import type { ValidatedChain } from './x509/chain.js';
import {
  checkCrl,
  crlIssuerOf,
  isRevoked,
  parseCrl,
  type Crl,
  type CrlIssuer,
} from './x509/crl.js';

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/g;

/** The CRLs among collateral files (DER, or PEM `X509 CRL` blocks); other files are ignored. */
export function crlsOf(files: Iterable<Uint8Array> | undefined): Crl[] {
  const out: Crl[] = [];
  for (const f of files ?? []) {
    const text = Buffer.from(f.subarray(0, 64)).toString('latin1');
    const ders = text.includes('-----BEGIN')
      ? [...Buffer.from(f).toString('latin1').matchAll(PEM_CRL)].map(
          (m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')),
        )
      : f[0] === 0x30
        ? [f]
        : [];
    for (const der of ders) {
      try {
        out.push(parseCrl(der));
      } catch (e) {
        // a certificate or other collateral, not a CRL
        if (!(e instanceof MrstackError)) throw e;
      }
    }
  }
  return out;
}

/**
 * Records the `crl` check of `chain`'s leaf against the CRL its issuer signed, from `crls`.
 * @param what the leaf's role in messages (`the AK certificate`, `the CPAK certificate`)
 */
export function checkLeafRevocation(
  b: ResultBuilder,
  chain: ValidatedChain,
  crls: readonly Crl[],
  at: Date,
  what: string,
): void {
  const up = chain.path[1];
  const anchorCert = chain.anchor.certificate;
  const issuer: CrlIssuer =
    up !== undefined
      ? crlIssuerOf(up)
      : anchorCert !== undefined
        ? crlIssuerOf(anchorCert)
        : { subject: chain.anchor.subject, key: chain.anchor.key };
  const mine = crls.find(
    (c) => issuer.subjectDer !== undefined && Buffer.compare(c.issuerDer, issuer.subjectDer) === 0,
  );
  if (mine === undefined) {
    b.optional(
      'crl',
      `revocation of ${what} not checked: no CRL of "${issuer.subject}" given (--collateral)`,
    );
    return;
  }
  try {
    checkCrl(mine, issuer, at, `the CRL of "${issuer.subject}"`);
  } catch (e) {
    b.failWith('crl', e);
    return;
  }
  if (isRevoked(mine, chain.leaf)) {
    b.fail(
      'crl',
      'ERR_CERT_REVOKED',
      `${what} (serial ${chain.leaf.serial}) is revoked by "${issuer.subject}"`,
      { serial: chain.leaf.serial, subject: chain.leaf.subject },
    );
    return;
  }
  b.ok('crl');
}
