/**
 * AMD KDS CRLs (X.509 CertificateList, `/vcek/v1/<Product>/crl`): the update window, the revoked
 * serial numbers and the signed TBSCertList bytes, read by a minimal DER walk. AMD signs them
 * with the ARK (RSASSA-PSS, SHA-384); the CRL lists revoked ASKs/ASVKs.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { readTlv } from './vcek_extensions.js';

/** thisUpdate / nextUpdate of a CRL. */
export interface CrlWindow {
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
}

/** A parsed CRL. */
export interface KdsCrl extends CrlWindow {
  /** The signed TBSCertList, tag and length included. */
  readonly tbs: Uint8Array;
  /** The issuer Name, DER. */
  readonly issuer: Uint8Array;
  /** Revoked serial numbers as lowercase hex without leading zeros. */
  readonly revoked: ReadonlySet<string>;
  readonly signature: Uint8Array;
}

function time(tag: number, text: string): Date | undefined {
  const full = tag === 0x17 ? `${Number(text.slice(0, 2)) >= 50 ? '19' : '20'}${text}` : text;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(full);
  return m === null ? undefined : new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

/** A serial number (INTEGER body) as lowercase hex without leading zeros. */
export function serialHex(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex').replace(/^0+/, '');
  return h === '' ? '0' : h;
}

/**
 * Parses a DER CRL.
 * @throws ParseError (format `x509`) for malformed DER
 */
export function parseKdsCrl(der: Uint8Array): KdsCrl {
  const r = new ByteReader(der, { format: 'x509' });
  const list = readTlv(r, 'certificateList');
  const tbsStart = list.body.offset;
  const tbs = readTlv(list.body, 'tbsCertList');
  const tbsBytes = der.subarray(tbsStart, list.body.offset);
  let f = readTlv(tbs.body, 'tbsCertList.version');
  if (f.tag === 0x02) f = readTlv(tbs.body, 'tbsCertList.signature');
  const issuerStart = tbs.body.offset;
  readTlv(tbs.body, 'tbsCertList.issuer');
  const issuer = der.subarray(issuerStart, tbs.body.offset);
  const tu = readTlv(tbs.body, 'tbsCertList.thisUpdate');
  const thisUpdate = time(tu.tag, tu.body.utf8(tu.body.remaining, 'thisUpdate'));
  if (thisUpdate === undefined) {
    throw r.error('ERR_BAD_ENCODING', 'tbsCertList.thisUpdate', {
      expected: 'UTCTime or GeneralizedTime',
    });
  }
  let nextUpdate: Date | undefined;
  const revoked = new Set<string>();
  while (tbs.body.remaining > 0) {
    const t = readTlv(tbs.body, 'tbsCertList.field');
    if ((t.tag === 0x17 || t.tag === 0x18) && nextUpdate === undefined && revoked.size === 0) {
      nextUpdate = time(t.tag, t.body.utf8(t.body.remaining, 'nextUpdate'));
    } else if (t.tag === 0x30) {
      while (t.body.remaining > 0) {
        const entry = readTlv(t.body, 'revokedCertificates.entry');
        const serial = readTlv(entry.body, 'revokedCertificates.entry.serial');
        revoked.add(serialHex(serial.body.rest()));
      }
    }
  }
  readTlv(list.body, 'signatureAlgorithm');
  const sig = readTlv(list.body, 'signatureValue');
  const bits = sig.body.rest();
  return { thisUpdate, nextUpdate, tbs: tbsBytes, issuer, revoked, signature: bits.subarray(1) };
}

/**
 * Reads a DER CRL's update times.
 * @throws ParseError (format `x509`) for malformed DER
 */
export function parseCrlWindow(der: Uint8Array): CrlWindow {
  const c = parseKdsCrl(der);
  return { thisUpdate: c.thisUpdate, nextUpdate: c.nextUpdate };
}
