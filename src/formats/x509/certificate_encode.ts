/**
 * A minimal X.509 v3 certificate encoder (RFC 5280 §4.1) for the emulated PKIs (TDX, SNP, CCA):
 * Names, the signature AlgorithmIdentifiers the emulated roots use (RSASSA-PSS/SHA-384 as AMD
 * signs, ECDSA with SHA-384 or SHA-256), extensions, and the TBSCertificate. Pure: the caller
 * signs the TBS bytes it gets back and hands the signature to {@link encodeCertificate}.
 *
 * | field (TBSCertificate) | encoding here |
 * |---|---|
 * | version | [0] EXPLICIT INTEGER 2 (v3) |
 * | serialNumber | INTEGER |
 * | signature | {@link sigAlgId} |
 * | issuer, subject | {@link name} |
 * | validity | UTCTime / GeneralizedTime by year (RFC 5280 §4.1.2.5) |
 * | subjectPublicKeyInfo | given as DER |
 * | extensions | [3] EXPLICIT, omitted when empty |
 *
 * @module
 */
import {
  bits,
  bool,
  ctx,
  int,
  nul,
  octets,
  oid,
  seq,
  set,
  time,
  utf8,
  type Der,
} from './der_encode.js';

/** Attribute OIDs for names. */
export const NAME_OIDS = {
  CN: '2.5.4.3',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
} as const;

/** A Name from ordered attributes (one attribute per RDN, UTF8String values). */
export function name(attrs: readonly (readonly [keyof typeof NAME_OIDS, string])[]): Der {
  return seq(...attrs.map(([k, v]) => set(seq(oid(NAME_OIDS[k]), utf8(v)))));
}

/** Signature algorithms the builder knows. */
export type SigAlg = 'rsa-pss-sha384' | 'ecdsa-sha384' | 'ecdsa-sha256';

/** The AlgorithmIdentifier of a signature algorithm. */
export function sigAlgId(alg: SigAlg): Der {
  switch (alg) {
    case 'rsa-pss-sha384': {
      // RFC 4055 RSASSA-PSS-params: SHA-384, MGF1 with SHA-384, salt 48 (as AMD's ARK/ASK).
      const sha384 = seq(oid('2.16.840.1.101.3.4.2.2'), nul());
      return seq(
        oid('1.2.840.113549.1.1.10'),
        seq(ctx(0, sha384), ctx(1, seq(oid('1.2.840.113549.1.1.8'), sha384)), ctx(2, int(48))),
      );
    }
    case 'ecdsa-sha384':
      return seq(oid('1.2.840.10045.4.3.3'));
    case 'ecdsa-sha256':
      return seq(oid('1.2.840.10045.4.3.2'));
  }
}

/** One extension. */
export interface Extension {
  readonly oid: string;
  readonly critical?: boolean;
  /** The extnValue contents (DER of the extension's value, or raw bytes for AMD's hwID). */
  readonly value: Uint8Array;
}

/** basicConstraints CA:TRUE (critical). */
export function caExtension(): Extension {
  return { oid: '2.5.29.19', critical: true, value: seq(bool(true)) };
}

/** What goes into a TBSCertificate. */
export interface TbsInput {
  readonly serial: number | bigint;
  readonly sigAlg: SigAlg;
  readonly issuer: Der;
  readonly subject: Der;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo DER (node: `key.export({format:'der', type:'spki'})`). */
  readonly spki: Uint8Array;
  readonly extensions?: readonly Extension[];
}

/** Encodes a TBSCertificate (X.509 v3). */
export function encodeTbs(t: TbsInput): Der {
  const exts = t.extensions ?? [];
  return seq(
    ctx(0, int(2)),
    int(t.serial),
    sigAlgId(t.sigAlg),
    t.issuer,
    seq(time(t.notBefore), time(t.notAfter)),
    t.subject,
    t.spki,
    ...(exts.length === 0
      ? []
      : [
          ctx(
            3,
            seq(
              ...exts.map((e) =>
                seq(oid(e.oid), ...(e.critical === true ? [bool(true)] : []), octets(e.value)),
              ),
            ),
          ),
        ]),
  );
}

/** A Certificate from its TBS bytes and the signature over them. */
export function encodeCertificate(tbs: Der, sigAlg: SigAlg, signature: Uint8Array): Der {
  return seq(tbs, sigAlgId(sigAlg), bits(signature));
}
