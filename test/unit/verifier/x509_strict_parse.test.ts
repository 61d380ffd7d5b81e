// The X.509 core reads certificates and CRLs with pkijs, and reads strictly again what pkijs
// reads leniently (docs/trust.md, "Why pkijs, and what is still ours"). Each test here breaks one
// of those places and asserts the typed error; the controls are real certificates whose parsed
// fields are compared with node's X509Certificate (OpenSSL), an independent parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ParseError } from '../../../src/errors.js';
import {
  parseCertificate,
  parseCertificates,
  type Certificate,
} from '../../../src/verifier/verify/x509/certificate.js';
import { parseCrl } from '../../../src/verifier/verify/x509/crl.js';
import { verifySignature } from '../../../src/verifier/verify/x509/algorithms.js';
import { encodeCertificate, sigAlgId } from '../../../src/formats/x509/certificate_encode.js';
import {
  bits,
  bool,
  ctx,
  int,
  nul,
  octets,
  oid,
  seq,
  time,
  type Der,
} from '../../../src/formats/x509/der_encode.js';
import { fixture } from '../../_support/paths.js';
import { amdName, issue, p256, utcTimeText, type KeyPair } from '../../_support/forge_pki.js';

const key: KeyPair = p256();
const NAME = amdName('strict-parse test');
const SPKI = new Uint8Array(key.publicKey.export({ format: 'der', type: 'spki' }));

/** A v3 TBSCertificate with the validity and extensions given raw. */
function tbs(opts: { validity?: Der; algId?: Der; extensions?: Der[] }): Der {
  return seq(
    ctx(0, int(2)),
    int(7),
    opts.algId ?? sigAlgId('ecdsa-sha256'),
    NAME,
    opts.validity ??
      seq(time(new Date('2020-01-01T00:00:00Z')), time(new Date('2040-01-01T00:00:00Z'))),
    NAME,
    SPKI,
    ...(opts.extensions === undefined ? [] : [ctx(3, seq(...opts.extensions))]),
  );
}

function cert(t: Der): Uint8Array {
  return encodeCertificate(t, 'ecdsa-sha256', sign('sha256', t, key.privateKey));
}

function ext(id: string, value: Der, critical = true): Der {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

function parseFails(bytes: Uint8Array, code: string, field: RegExp): void {
  assert.throws(
    () => parseCertificate(bytes),
    (e: unknown) => {
      assert.ok(e instanceof ParseError, String(e));
      assert.equal(e.code, code);
      assert.match(e.field, field);
      return true;
    },
  );
}

test('control: real AMD and Google certificates parse to what OpenSSL (node X509Certificate) reads', () => {
  const files = [
    fixture('evidence', 'snp', 'amd-milan.ask-ark.pem'),
    fixture('evidence', 'snp', 'amd-genoa.asvk-ark.pem'),
    fixture('evidence', 'tpm', 'gce-tpm-ek-intermediate-2.crt'),
    fixture('evidence', 'tpm', 'gce-tpm-ek-root-1.cer'),
  ];
  let n = 0;
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(f));
    for (const c of parseCertificates(bytes)) {
      const x = new X509Certificate(c.der);
      assert.equal(c.serial, x.serialNumber.toLowerCase().replace(/^0+/, ''));
      assert.equal(c.notBefore.getTime(), Date.parse(x.validFrom));
      assert.equal(c.notAfter.getTime(), Date.parse(x.validTo));
      assert.equal(
        c.spkiSha256,
        createHash('sha256')
          .update(x.publicKey.export({ format: 'der', type: 'spki' }))
          .digest('hex'),
      );
      // OpenSSL escapes "," in its name text.
      const cnOf = (t: string): string =>
        (/CN=([^\n]*)/.exec(t)?.[1] ?? '').replace(/\\(.)/g, '$1');
      assert.equal(c.cn, cnOf(x.subject));
      assert.equal(c.basicConstraints?.ca ?? false, x.ca);
      assert.equal(c.issuerCn, cnOf(x.issuer));
      n++;
    }
    // The TBS and signature read through pkijs verify where OpenSSL says the issuer signed.
    const cs = parseCertificates(bytes);
    if (cs.length === 2) {
      const [leaf, ca] = cs as [Certificate, Certificate];
      assert.equal(
        new X509Certificate(leaf.der).verify(new X509Certificate(ca.der).publicKey),
        true,
      );
      assert.equal(
        verifySignature(leaf.signatureAlgorithm, leaf.tbs, leaf.signature, ca.publicKey),
        true,
      );
    }
  }
  assert.equal(n, 6);
});

test('control: the test certificate parses, a CA with pathLen 0', () => {
  const c = parseCertificate(
    cert(tbs({ extensions: [ext('2.5.29.19', seq(bool(true), int(0)))] })),
  );
  assert.deepEqual(c.basicConstraints, { ca: true, pathLen: 0 });
  assert.equal(c.signatureAlgorithm.name, 'ecdsa-sha256');
  assert.equal(c.algorithmsAgree, true);
});

test('a basicConstraints that does not decode is malformed input, never "not a CA" (pkijs parsedValue would default it)', () => {
  parseFails(
    cert(tbs({ extensions: [ext('2.5.29.19', int(1))] })),
    'ERR_BAD_ENCODING',
    /basicConstraints/,
  );
});

test('a negative pathLenConstraint is refused', () => {
  parseFails(
    // INTEGER -1 (int() encodes only non-negative values).
    cert(tbs({ extensions: [ext('2.5.29.19', seq(bool(true), Uint8Array.of(2, 1, 0xff)))] })),
    'ERR_BAD_ENCODING',
    /basicConstraints\.pathLenConstraint/,
  );
});

test('an extendedKeyUsage that does not decode is malformed input', () => {
  parseFails(
    cert(tbs({ extensions: [ext('2.5.29.37', octets(Uint8Array.of(1, 2)), false)] })),
    'ERR_BAD_ENCODING',
    /extendedKeyUsage/,
  );
});

test('a certificate followed by a byte is refused (pkijs alone ignores trailing bytes)', () => {
  const good = cert(tbs({}));
  parseFails(Uint8Array.of(...good, 0), 'ERR_TRAILING_BYTES', /^certificate$/);
});

test('notAfter on 30 February is malformed, not 2 March', () => {
  const validity = seq(time(new Date('2020-01-01T00:00:00Z')), utcTimeText('300230000000Z'));
  parseFails(cert(tbs({ validity })), 'ERR_BAD_ENCODING', /validity\.notAfter/);
});

test('notBefore without "Z" is malformed', () => {
  const validity = seq(utcTimeText('200101000000'), time(new Date('2040-01-01T00:00:00Z')));
  parseFails(cert(tbs({ validity })), 'ERR_BAD_ENCODING', /validity\.notBefore/);
});

const SHA384 = '2.16.840.1.101.3.4.2.2';
const MGF1 = '1.2.840.113549.1.1.8';
const PSS = '1.2.840.113549.1.1.10';

function pssAlg(params: Der | undefined): Der {
  return params === undefined ? seq(oid(PSS)) : seq(oid(PSS), params);
}

function pssParams(salt: number, mgfHash = SHA384): Der {
  return seq(
    ctx(0, seq(oid(SHA384), nul())),
    ctx(1, seq(oid(MGF1), seq(oid(mgfHash), nul()))),
    ctx(2, int(salt)),
  );
}

/** A certificate whose two AlgorithmIdentifiers are `alg` (the signature bytes do not matter). */
function withAlg(alg: Der): Uint8Array {
  return seq(tbs({ algId: alg }), alg, bits(new Uint8Array(64)));
}

test('RSASSA-PSS parameters: SHA-384 with salt 48 is allowed; salt 20, an MGF1 hash mismatch or no parameters (SHA-1) are not', () => {
  assert.equal(
    parseCertificate(withAlg(pssAlg(pssParams(48)))).signatureAlgorithm.name,
    'rsa-pss-sha384',
  );
  for (const bad of [
    pssAlg(pssParams(20)),
    pssAlg(pssParams(48, '2.16.840.1.101.3.4.2.1')),
    pssAlg(undefined),
    pssAlg(seq(ctx(0, seq(oid('1.3.14.3.2.26'))))),
  ]) {
    parseFails(withAlg(bad), 'ERR_UNKNOWN_ALGORITHM', /signatureAlgorithm/);
  }
});

test('ECDSA with parameters and an unknown algorithm are refused', () => {
  parseFails(
    withAlg(seq(oid('1.2.840.10045.4.3.2'), nul())),
    'ERR_UNKNOWN_ALGORITHM',
    /signatureAlgorithm/,
  );
  parseFails(withAlg(seq(oid('1.2.840.10045.4.1'))), 'ERR_UNKNOWN_ALGORITHM', /signatureAlgorithm/);
});

test('outer and TBS signature algorithms that differ are flagged (the chain refuses such a certificate)', () => {
  const t = tbs({ algId: sigAlgId('ecdsa-sha384') });
  const c = parseCertificate(
    encodeCertificate(t, 'ecdsa-sha256', sign('sha256', t, key.privateKey)),
  );
  assert.equal(c.algorithmsAgree, false);
});

test('a CRL entry with a revocationDate on 31 April is malformed; the same CRL with a real date parses', () => {
  const crl = (revocationDate: Der): Uint8Array => {
    const t = seq(
      int(1),
      sigAlgId('ecdsa-sha256'),
      NAME,
      time(new Date('2026-01-01T00:00:00Z')),
      time(new Date('2026-02-01T00:00:00Z')),
      seq(seq(int(0x1234), revocationDate)),
    );
    return seq(t, sigAlgId('ecdsa-sha256'), bits(sign('sha256', t, key.privateKey)));
  };
  const ok = parseCrl(crl(time(new Date('2025-12-01T00:00:00Z'))));
  assert.deepEqual([...ok.revoked], ['1234']);
  assert.equal(ok.nextUpdate?.toISOString(), '2026-02-01T00:00:00.000Z');
  assert.throws(
    () => parseCrl(crl(utcTimeText('250431000000Z'))),
    (e: unknown) =>
      e instanceof ParseError &&
      e.code === 'ERR_BAD_ENCODING' &&
      e.field.includes('revokedCertificates[0].revocationDate'),
  );
});

test("a CRL that is not a CertificateList is malformed input naming pkijs's schema", () => {
  assert.throws(
    () => parseCrl(seq(int(1), int(2), int(3))),
    (e: unknown) => e instanceof ParseError && e.code === 'ERR_BAD_ENCODING' && e.field === 'crl',
  );
});

test('issue() certificates from the forgery PKI still round-trip (serial, names)', () => {
  const c = parseCertificate(
    issue({
      subject: NAME,
      issuer: NAME,
      subjectKey: key.publicKey,
      issuerKey: key.privateKey,
      alg: 'ecdsa-sha256',
      serial: 0x00ff01n,
    }),
  );
  assert.equal(c.serial, 'ff01');
  assert.equal(c.subject, c.issuer);
});
