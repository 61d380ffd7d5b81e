/**
 * The validity window of an AMD KDS CRL (X.509 CertificateList: thisUpdate and nextUpdate of
 * the TBSCertList), read by a minimal DER walk. AMD signs these CRLs with RSASSA-PSS.
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

function time(tag: number, text: string): Date | undefined {
  const full = tag === 0x17 ? `${Number(text.slice(0, 2)) >= 50 ? '19' : '20'}${text}` : text;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(full);
  return m === null ? undefined : new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

/**
 * Reads a DER CRL's update times.
 * @throws ParseError (format `x509`) for malformed DER
 */
export function parseCrlWindow(der: Uint8Array): CrlWindow {
  const r = new ByteReader(der, { format: 'x509' });
  const list = readTlv(r, 'certificateList');
  const tbs = readTlv(list.body, 'tbsCertList');
  let f = readTlv(tbs.body, 'tbsCertList.version');
  if (f.tag === 0x02) f = readTlv(tbs.body, 'tbsCertList.signature');
  readTlv(tbs.body, 'tbsCertList.issuer');
  const tu = readTlv(tbs.body, 'tbsCertList.thisUpdate');
  const thisUpdate = time(tu.tag, tu.body.utf8(tu.body.remaining, 'thisUpdate'));
  if (thisUpdate === undefined) {
    throw r.error('ERR_BAD_ENCODING', 'tbsCertList.thisUpdate', {
      expected: 'UTCTime or GeneralizedTime',
    });
  }
  let nextUpdate: Date | undefined;
  if (tbs.body.remaining > 0) {
    const nu = readTlv(tbs.body, 'tbsCertList.nextUpdate');
    if (nu.tag === 0x17 || nu.tag === 0x18)
      nextUpdate = time(nu.tag, nu.body.utf8(nu.body.remaining, 'nextUpdate'));
  }
  return { thisUpdate, nextUpdate };
}
