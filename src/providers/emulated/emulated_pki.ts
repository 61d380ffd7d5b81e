/**
 * What the emulated PKIs (TDX, SNP, CCA) share: issuing a certificate with an issuer's key, and
 * reading back the PEM files a key set was written as (docs/emulated-pki.md).
 *
 * @module
 */
import { constants, sign, type KeyObject } from 'node:crypto';
import {
  encodeCertificate,
  encodeTbs,
  type SigAlg,
  type TbsInput,
} from '../../formats/x509/certificate_encode.js';

/** A Julian year in milliseconds, for validity periods. */
const YEAR_MS = 365.25 * 24 * 3600 * 1000;

/** The signature over `tbs` by `key` in `alg` (PSS salt 48, as AMD signs). */
function signTbs(tbs: Uint8Array, alg: SigAlg, key: KeyObject): Uint8Array {
  if (alg === 'rsa-pss-sha384') {
    return sign('sha384', tbs, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 48,
    });
  }
  return sign(alg === 'ecdsa-sha384' ? 'sha384' : 'sha256', tbs, key);
}

/** What {@link issueCertificate} needs: the TBS fields with the subject's public key. */
export interface IssueInput extends Omit<TbsInput, 'spki' | 'notAfter'> {
  readonly subjectKey: KeyObject;
  /** Validity in years from `notBefore`. */
  readonly years: number;
}

/** A DER certificate for `subjectKey`, signed by `issuerKey`. */
export function issueCertificate(t: IssueInput, issuerKey: KeyObject): Uint8Array {
  const { subjectKey, years, ...rest } = t;
  const tbs = encodeTbs({
    ...rest,
    notAfter: new Date(t.notBefore.getTime() + years * YEAR_MS),
    spki: new Uint8Array(subjectKey.export({ format: 'der', type: 'spki' })),
  });
  return encodeCertificate(tbs, t.sigAlg, signTbs(tbs, t.sigAlg, issuerKey));
}

/** The DER inside one PEM block written by a key set (our own files: no validation). */
export function pemToDer(text: string): Uint8Array {
  return new Uint8Array(
    Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'),
  );
}
