/**
 * The one CRL parser (RFC 5280 §5.1) and the one CRL check of the X.509 core: a CRL counts only
 * when its issuer name is the expected issuer's subject, its signature verifies with that
 * issuer's key (an allowed algorithm), and it carries both thisUpdate and nextUpdate with `at`
 * between them. A CRL without nextUpdate would never go stale, so it is refused rather than
 * trusted forever.
 *
 * The structure is read by pkijs (`CertificateRevocationList`); the times are read again strictly
 * from the same DER tree (formats/x509/der_decode.ts), because pkijs turns a date that names no
 * instant into a neighbouring one (docs/trust.md, "Why pkijs, and what is still ours").
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { VerifyError } from '../../../errors.js';
import {
  childrenOf,
  contentsOf,
  derError,
  hasTag,
  parseDer,
  rawOf,
  serialHexOf,
  strictTime,
} from '../../../formats/x509/der_decode.js';
import { signatureAlgorithmOf, verifySignature, type SignatureAlgorithm } from './algorithms.js';
import { nameText, pkiDecode, type Certificate } from './certificate.js';

/** A parsed CRL. */
export interface Crl {
  readonly der: Uint8Array;
  /** TBSCertList exactly as signed. */
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly signature: Uint8Array;
  readonly issuerDer: Uint8Array;
  /** The issuer's common name (for messages and for telling CRLs apart). */
  readonly issuerCn: string;
  readonly thisUpdate: Date;
  /** Absent in the encoding → the check refuses the CRL. */
  readonly nextUpdate: Date | undefined;
  /** Revoked serial numbers, lowercase hex without leading zeros. */
  readonly revoked: ReadonlySet<string>;
}

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/;

/**
 * Parses a CRL from DER or PEM (`X509 CRL`).
 * @throws ParseError (`x509`) `ERR_BAD_ENCODING` (times included), `ERR_UNKNOWN_ALGORITHM`
 */
export function parseCrl(bytes: Uint8Array, field = 'crl'): Crl {
  let der = bytes;
  const pem = PEM_CRL.exec(Buffer.from(bytes.subarray(0, 1 << 22)).toString('latin1'));
  if (pem !== null) der = new Uint8Array(Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64'));
  const node = parseDer(der, field);
  const pc = pkiDecode(
    field,
    'CertificateList (RFC 5280 §5.1)',
    () => new pkijs.CertificateRevocationList({ schema: node }),
  );
  const signatureAlgorithm = signatureAlgorithmOf(
    pc.signatureAlgorithm,
    `${field}.signatureAlgorithm`,
  );
  // The raw TBS fields pkijs does not keep: the inner AlgorithmIdentifier and the times.
  const [tbsN, algN] = childrenOf(node, field);
  const t = childrenOf(tbsN!, `${field}.tbsCertList`);
  let i = t[0] !== undefined && hasTag(t[0], 2) ? 1 : 0; // version
  const innerAlg = t[i];
  if (innerAlg === undefined || Buffer.compare(rawOf(innerAlg), rawOf(algN!)) !== 0)
    throw derError('x509', `${field}.tbsCertList.signature`, 'the outer signatureAlgorithm');
  i += 2; // signature, issuer
  const thisUpdate = strictTime(t[i++], `${field}.tbsCertList.thisUpdate`);
  let nextUpdate: Date | undefined;
  if (pc.nextUpdate !== undefined)
    nextUpdate = strictTime(t[i++], `${field}.tbsCertList.nextUpdate`);
  const revoked = new Set<string>();
  const entries = pc.revokedCertificates ?? [];
  const entryNodes = entries.length === 0 ? [] : childrenOf(t[i]!, `${field}.revokedCertificates`);
  entries.forEach((e, k) => {
    const date = childrenOf(entryNodes[k]!, `${field}.revokedCertificates[${k}]`)[1];
    strictTime(date, `${field}.revokedCertificates[${k}].revocationDate`);
    revoked.add(serialHexOf(contentsOf(e.userCertificate)));
  });
  if (pc.signatureValue.valueBlock.unusedBits !== 0)
    throw derError('x509', `${field}.signature`, 'BIT STRING without unused bits');
  return {
    der,
    tbs: new Uint8Array(pc.tbsView),
    signatureAlgorithm,
    signature: new Uint8Array(pc.signatureValue.valueBlock.valueHexView),
    issuerDer: new Uint8Array(pc.issuer.valueBeforeDecode),
    issuerCn: nameText(pc.issuer).cn,
    thisUpdate,
    nextUpdate,
    revoked,
  };
}

/** Who must have issued a CRL: a certificate, or a trust anchor's key and name. */
export interface CrlIssuer {
  readonly subject: string;
  readonly subjectDer?: Uint8Array;
  readonly key: KeyObject;
}

/** The CRL issuer of a certificate. */
export function crlIssuerOf(c: Certificate): CrlIssuer {
  return { subject: c.subject, subjectDer: c.subjectDer, key: c.publicKey };
}

/**
 * Checks a CRL: issued (name and signature) by `issuer`, nextUpdate present, current at `at`.
 * @throws VerifyError `ERR_CRL_INVALID` (issuer name, no nextUpdate), `ERR_SIGNATURE_INVALID`,
 *   `ERR_CERT_NOT_YET_VALID`, `ERR_CERT_EXPIRED`
 */
export function checkCrl(crl: Crl, issuer: CrlIssuer, at: Date, what: string): void {
  if (issuer.subjectDer !== undefined && Buffer.compare(crl.issuerDer, issuer.subjectDer) !== 0) {
    throw new VerifyError(
      'ERR_CRL_INVALID',
      `${what} is issued by "${crl.issuerCn}", not by "${issuer.subject}"`,
      { details: { rule: 'crl_issuer', crl_issuer: crl.issuerCn, expected: issuer.subject } },
    );
  }
  if (!verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, issuer.key)) {
    throw new VerifyError('ERR_SIGNATURE_INVALID', `${what} is not signed by "${issuer.subject}"`, {
      details: { rule: 'crl_signature' },
    });
  }
  if (crl.nextUpdate === undefined) {
    throw new VerifyError(
      'ERR_CRL_INVALID',
      `${what} has no nextUpdate: a CRL that never goes stale is not accepted`,
      { details: { rule: 'crl_next_update' } },
    );
  }
  checkTimeWindow(what, crl.thisUpdate, crl.nextUpdate, at);
}

/** True when the CRL lists the certificate's serial. */
export function isRevoked(crl: Crl, c: Certificate): boolean {
  return crl.revoked.has(c.serial);
}

/**
 * Checks `notBefore ≤ at ≤ notAfter`.
 * @throws VerifyError `ERR_CERT_NOT_YET_VALID` / `ERR_CERT_EXPIRED`
 */
export function checkTimeWindow(what: string, notBefore: Date, notAfter: Date, at: Date): void {
  const t = at.getTime();
  // Written so that a NaN anywhere fails (every comparison with NaN is false).
  if (!(t >= notBefore.getTime())) {
    throw new VerifyError(
      'ERR_CERT_NOT_YET_VALID',
      `${what} is not valid before ${iso(notBefore)} (time ${iso(at)})`,
      { details: { subject: what, not_before: iso(notBefore), at: iso(at) } },
    );
  }
  if (!(t <= notAfter.getTime())) {
    throw new VerifyError(
      'ERR_CERT_EXPIRED',
      `${what} expired at ${iso(notAfter)} (time ${iso(at)})`,
      {
        details: { subject: what, not_after: iso(notAfter), at: iso(at) },
      },
    );
  }
}

function iso(d: Date): string {
  return Number.isNaN(d.getTime()) ? 'an invalid time' : d.toISOString();
}
