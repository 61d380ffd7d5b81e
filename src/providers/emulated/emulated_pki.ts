/**
 * What the emulated PKIs (TDX, SNP, CCA) share: issuing certificates with an issuer's key, and
 * reading back the PEM files a key set was written as (docs/emulated-pki.md).
 *
 * @module
 */
import { constants, sign, type KeyObject } from 'node:crypto';
import { bits, int, seq, time } from '../../formats/x509/der_encode.js';
import {
  encodeCertificate,
  encodeTbs,
  sigAlgId,
  type Extension,
  type SigAlg,
} from '../../formats/x509/certificate_encode.js';

/** A Julian year in milliseconds, for validity periods. */
const YEAR_MS = 365.25 * 24 * 3600 * 1000;

/**
 * The notBefore of a TVM's TDX, SNP and CCA key sets: a day before the TVM was created (a
 * verifier whose clock is a little behind still accepts its certificates). Every path that may
 * create a key set first (a report, collateral, exported roots) passes this one value, so the
 * key set is the same whichever of them runs first.
 */
export function keySetNotBefore(created: Date): Date {
  return new Date(created.getTime() - 24 * 3600 * 1000);
}

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

/**
 * Issues one certificate of an emulated PKI: `subjectKey`'s, signed by `issuerKey`, valid for
 * `years` from `notBefore`, with the PKI's serial when `serial` is not given.
 */
export type IssueCertificate = (
  issuerCn: string,
  subjectCn: string,
  subjectKey: KeyObject,
  issuerKey: KeyObject,
  notBefore: Date,
  years: number,
  extensions: readonly Extension[],
  serial?: number | bigint,
) => Uint8Array;

/**
 * The certificate issuer of one emulated PKI: its signature algorithm, how it spells a Name
 * from a common name, and (optionally) how it picks serials.
 */
export function certificateIssuer(
  sigAlg: SigAlg,
  nameOf: (cn: string) => Uint8Array,
  nextSerial: () => number | bigint = () => 1,
): IssueCertificate {
  return (issuerCn, subjectCn, subjectKey, issuerKey, notBefore, years, extensions, serial) => {
    const tbs = encodeTbs({
      serial: serial ?? nextSerial(),
      sigAlg,
      issuer: nameOf(issuerCn),
      subject: nameOf(subjectCn),
      notBefore,
      notAfter: new Date(notBefore.getTime() + years * YEAR_MS),
      spki: new Uint8Array(subjectKey.export({ format: 'der', type: 'spki' })),
      extensions,
    });
    return encodeCertificate(tbs, sigAlg, signTbs(tbs, sigAlg, issuerKey));
  };
}

/** The DER inside one PEM block written by a key set (our own files: no validation). */
export function pemToDer(text: string): Uint8Array {
  return new Uint8Array(
    Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'),
  );
}

/**
 * A v2 CRL (RFC 5280 §5.1) of an emulated CA, issued for the verification time `at`: thisUpdate
 * an hour before it, nextUpdate 7 days after it (DESIGN §6.1), listing `revoked` serials.
 */
export function issueCrl(
  sigAlg: SigAlg,
  issuerName: Uint8Array,
  issuerKey: KeyObject,
  at: Date,
  revoked: readonly (number | bigint)[] = [],
): Uint8Array {
  const secs = Math.floor(at.getTime() / 1000) * 1000;
  const thisUpdate = new Date(secs - 3600 * 1000);
  const nextUpdate = new Date(secs + 7 * 24 * 3600 * 1000);
  const tbs = seq(
    int(1),
    sigAlgId(sigAlg),
    issuerName,
    time(thisUpdate),
    time(nextUpdate),
    ...(revoked.length === 0 ? [] : [seq(...revoked.map((n) => seq(int(n), time(thisUpdate))))]),
  );
  return seq(tbs, sigAlgId(sigAlg), bits(signTbs(tbs, sigAlg, issuerKey)));
}
