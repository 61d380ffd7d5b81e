// VLEK-signed reports (KEY_INFO.SIGNING_KEY = 1): the chain VLEK → ASVK → ARK is built from the
// given certificates, the hwID check does not apply (VLEKs carry a CSP id instead), and a
// report naming the VLEK is not accepted with a VCEK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { ia5, int } from '../../../src/formats/x509/der_encode.js';
import {
  caExtension,
  encodeCertificate,
  encodeTbs,
  name,
  type Extension,
} from '../../../src/formats/x509/certificate_encode.js';
import { attachSnpSignature, encodeSnpReportBody } from '../../../src/formats/snp/report_encode.js';
import { verifySnpReport } from '../../../src/verifier/verify/snp.js';

const ORG = 'mrstack emulated root - not hardware backed';
const rsa = (): { publicKey: KeyObject; privateKey: KeyObject } =>
  generateKeyPairSync('rsa', { modulusLength: 2048 });

function cert(
  issuer: string,
  subject: string,
  pub: KeyObject,
  key: KeyObject,
  ext: Extension[],
): Uint8Array {
  const tbs = encodeTbs({
    serial: 1,
    sigAlg: 'rsa-pss-sha384',
    issuer: name([
      ['O', ORG],
      ['CN', issuer],
    ]),
    subject: name([
      ['O', ORG],
      ['CN', subject],
    ]),
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2030-01-01T00:00:00Z'),
    spki: new Uint8Array(pub.export({ format: 'der', type: 'spki' })),
    extensions: ext,
  });
  const sig = sign('sha384', tbs, {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 48,
  });
  return encodeCertificate(tbs, 'rsa-pss-sha384', sig);
}

const ark = rsa();
const asvk = rsa();
const vlek = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const amd = (s: string): string => `1.3.6.1.4.1.3704.1.${s}`;
const spl: Extension[] = [
  { oid: amd('2'), value: ia5('Milan') },
  { oid: amd('3.1'), value: int(3) },
  { oid: amd('3.2'), value: int(0) },
  { oid: amd('3.3'), value: int(8) },
  { oid: amd('3.8'), value: int(115) },
  { oid: amd('5'), value: ia5('example-csp') },
];
const arkDer = cert('ARK-Test', 'ARK-Test', ark.publicKey, ark.privateKey, [caExtension()]);
const asvkDer = cert('ARK-Test', 'SEV-VLEK-Test', asvk.publicKey, ark.privateKey, [caExtension()]);
const vlekDer = cert('SEV-VLEK-Test', 'SEV-VLEK', vlek.publicKey, asvk.privateKey, spl);
const vcekLike = cert('SEV-VLEK-Test', 'SEV-VCEK', vlek.publicKey, asvk.privateKey, spl);

function report(signingKey: number): Uint8Array {
  const body = encodeSnpReportBody({
    version: 3,
    policy: 0x30000n,
    current_tcb: 0x7308000000000003n,
    reported_tcb: 0x7308000000000003n,
    signing_key: signingKey,
    report_data: new Uint8Array(64).fill(1),
    measurement: new Uint8Array(48).fill(2),
    chip_id: new Uint8Array(64),
    mask_chip_key: true,
    cpuid: { family: 0x19, model: 0x01, stepping: 1 },
  });
  const sig = sign('sha384', body, { key: vlek.privateKey, dsaEncoding: 'ieee-p1363' });
  return attachSnpSignature(body, sig.subarray(0, 48), sig.subarray(48));
}

const AT = new Date('2026-01-01T00:00:00Z');

test('a VLEK-signed report verifies through the ASVK; the hwID check is skipped', () => {
  const r = verifySnpReport(report(1), {
    at: AT,
    certs: [vlekDer, asvkDer, arkDer],
    trustEmulated: true,
  });
  assert.deepEqual(r.errors, []);
  assert.equal(r.verified, true);
  assert.equal(r.claims['signing_key'], 'vlek');
  assert.equal(r.claims['signing_cert'], 'vlek');
  assert.equal(r.checks['chip_id'], 'skipped');
  assert.equal(r.checks['reported_tcb'], 'ok');
  assert.deepEqual(
    (r.claims['cert_chain'] as { subject: string }[]).map((l) => l.subject),
    ['SEV-VLEK', 'SEV-VLEK-Test', 'ARK-Test'],
  );
});

test('a report naming the VLEK is refused with a VCEK (ERR_SIGNATURE_INVALID)', () => {
  const r = verifySnpReport(report(1), {
    at: AT,
    certs: [vcekLike, asvkDer, arkDer],
    trustEmulated: true,
  });
  assert.equal(r.verified, false);
  assert.deepEqual([...new Set(r.errors.map((e) => e.code))], ['ERR_SIGNATURE_INVALID']);
});

test('the built-in roots do not trust this ARK: ERR_UNTRUSTED_ROOT without --trust-emulated', () => {
  const r = verifySnpReport(report(1), { at: AT, certs: [vlekDer, asvkDer, arkDer] });
  assert.ok(r.errors.some((e) => e.code === 'ERR_UNTRUSTED_ROOT'));
});
