/**
 * A minimal DER encoder for the X.509 certificates of the emulated SNP (and CCA) PKI: enough to
 * build ARK → ASK → VCEK with RSASSA-PSS/SHA-384 (as AMD does) or ECDSA signatures, AMD's VCEK
 * extensions, and basic constraints. Pure: the caller signs the TBS bytes it gets back and
 * hands the signature to {@link encodeCertificate}.
 *
 * (General enough to move to a shared `formats/x509/` module when one exists.)
 *
 * @module
 */

/** A DER value (tag + length + body). */
export type Der = Uint8Array;

function lenBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | out.length, ...out];
}

/** A TLV with the given tag. */
export function tlv(tag: number, body: Uint8Array): Der {
  const l = lenBytes(body.length);
  const out = new Uint8Array(1 + l.length + body.length);
  out[0] = tag;
  out.set(l, 1);
  out.set(body, 1 + l.length);
  return out;
}

function cat(parts: readonly Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** SEQUENCE. */
export const seq = (...items: readonly Der[]): Der => tlv(0x30, cat(items));
/** SET. */
export const set = (...items: readonly Der[]): Der => tlv(0x31, cat(items));
/** Context-specific constructed [n] (EXPLICIT). */
export const ctx = (n: number, ...items: readonly Der[]): Der => tlv(0xa0 | n, cat(items));
/** NULL. */
export const nul = (): Der => Uint8Array.of(0x05, 0x00);
/** BOOLEAN. */
export const bool = (v: boolean): Der => Uint8Array.of(0x01, 0x01, v ? 0xff : 0x00);
/** OCTET STRING. */
export const octets = (b: Uint8Array): Der => tlv(0x04, b);
/** BIT STRING with no unused bits. */
export const bits = (b: Uint8Array): Der => tlv(0x03, cat([Uint8Array.of(0), b]));
/** UTF8String. */
export const utf8 = (s: string): Der => tlv(0x0c, new TextEncoder().encode(s));
/** IA5String. */
export const ia5 = (s: string): Der => tlv(0x16, new TextEncoder().encode(s));

/** INTEGER from a non-negative number or bigint. */
export function int(v: number | bigint): Der {
  let x = BigInt(v);
  const out: number[] = [];
  do {
    out.unshift(Number(x & 0xffn));
    x >>= 8n;
  } while (x > 0n);
  if ((out[0] ?? 0) & 0x80) out.unshift(0);
  return tlv(0x02, Uint8Array.from(out));
}

/** OBJECT IDENTIFIER from dotted text. */
export function oid(text: string): Der {
  const p = text.split('.').map(Number);
  const out: number[] = [40 * (p[0] ?? 0) + (p[1] ?? 0)];
  for (const n of p.slice(2)) {
    const b: number[] = [n & 0x7f];
    let v = Math.floor(n / 128);
    while (v > 0) {
      b.unshift(0x80 | (v & 0x7f));
      v = Math.floor(v / 128);
    }
    out.push(...b);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** UTCTime (years 1950–2049) or GeneralizedTime. */
export function time(d: Date): Der {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const y = d.getUTCFullYear();
  return y >= 1950 && y < 2050
    ? tlv(0x17, new TextEncoder().encode(`${iso.slice(2)}Z`))
    : tlv(0x18, new TextEncoder().encode(`${iso}Z`));
}

/** Attribute OIDs for names. */
export const NAME_OIDS = {
  CN: '2.5.4.3',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
} as const;

/** A Name from ordered attributes. */
export function name(attrs: readonly (readonly [keyof typeof NAME_OIDS, string])[]): Der {
  return seq(...attrs.map(([k, v]) => set(seq(oid(NAME_OIDS[k]), utf8(v)))));
}

/** Signature algorithms the builder knows. */
export type SigAlg = 'rsa-pss-sha384' | 'ecdsa-sha384' | 'ecdsa-sha256';

/** The AlgorithmIdentifier of a signature algorithm. */
export function sigAlgId(alg: SigAlg): Der {
  switch (alg) {
    case 'rsa-pss-sha384': {
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

/** DER → PEM text. */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
