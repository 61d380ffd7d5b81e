// SNP revocation: the ARK's CRL (RSA-PSS) is checked for its signature, its window at `at`, and
// the ASK's serial. CRLs are built here and cross-checked with `openssl crl`; the CRL parser is
// also run on a real (Intel) CRL against openssl's listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { bits, int, seq, time } from '../../../src/formats/x509/der_encode.js';
import {
  caExtension,
  encodeCertificate,
  encodeTbs,
  name,
  sigAlgId,
  type Extension,
} from '../../../src/formats/x509/certificate_encode.js';
import { toPem } from '../../../src/formats/x509/pem_encode.js';
import { attachSnpSignature, encodeSnpReportBody } from '../../../src/formats/snp/report_encode.js';
import { parseKdsCrl } from '../../../src/formats/snp/kds_crl.js';
import { verifySnpReport } from '../../../src/verifier/verify/snp.js';
import { fixture } from '../../_support/paths.js';
import { runTool } from '../../_support/peers.js';

const ORG = 'mrstack emulated root - not hardware backed';
const pss = (key: KeyObject, data: Uint8Array): Uint8Array =>
  sign('sha384', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
const rsa = (): { publicKey: KeyObject; privateKey: KeyObject } =>
  generateKeyPairSync('rsa', { modulusLength: 2048 });
const arkName = name([
  ['O', ORG],
  ['CN', 'ARK-CRL-Test'],
]);

function cert(
  issuer: Uint8Array,
  subject: Uint8Array,
  serial: number,
  pub: KeyObject,
  key: KeyObject,
  ext: Extension[],
): Uint8Array {
  const tbs = encodeTbs({
    serial,
    sigAlg: 'rsa-pss-sha384',
    issuer,
    subject,
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2030-01-01T00:00:00Z'),
    spki: new Uint8Array(pub.export({ format: 'der', type: 'spki' })),
    extensions: ext,
  });
  return encodeCertificate(tbs, 'rsa-pss-sha384', pss(key, tbs));
}

function crl(
  key: KeyObject,
  revoked: number[],
  thisUpdate: string,
  nextUpdate: string,
): Uint8Array {
  const tbs = seq(
    int(1),
    sigAlgId('rsa-pss-sha384'),
    arkName,
    time(new Date(thisUpdate)),
    time(new Date(nextUpdate)),
    ...(revoked.length === 0
      ? []
      : [seq(...revoked.map((s) => seq(int(s), time(new Date(thisUpdate)))))]),
  );
  return seq(tbs, sigAlgId('rsa-pss-sha384'), bits(pss(key, tbs)));
}

const ark = rsa();
const ask = rsa();
const vcek = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const askName = name([
  ['O', ORG],
  ['CN', 'SEV-CRL-Test'],
]);
const arkDer = cert(arkName, arkName, 1, ark.publicKey, ark.privateKey, [caExtension()]);
const askDer = cert(arkName, askName, 5, ask.publicKey, ark.privateKey, [caExtension()]);
const vcekDer = cert(
  askName,
  name([
    ['O', ORG],
    ['CN', 'SEV-VCEK'],
  ]),
  0,
  vcek.publicKey,
  ask.privateKey,
  [],
);

const body = encodeSnpReportBody({
  version: 3,
  policy: 0x30000n,
  current_tcb: 0n,
  reported_tcb: 0n,
  report_data: new Uint8Array(64),
  measurement: new Uint8Array(48),
  chip_id: new Uint8Array(64),
  mask_chip_key: true,
  cpuid: { family: 0x19, model: 1, stepping: 1 },
});
const s = sign('sha384', body, { key: vcek.privateKey, dsaEncoding: 'ieee-p1363' });
const report = attachSnpSignature(body, s.subarray(0, 48), s.subarray(48));
const AT = new Date('2026-03-01T00:00:00Z');
const run = (crls: Uint8Array[]): ReturnType<typeof verifySnpReport> =>
  verifySnpReport(report, { at: AT, certs: [vcekDer, askDer, arkDer], trustEmulated: true, crls });
const codes = (r: ReturnType<typeof verifySnpReport>): string[] => [
  ...new Set(r.errors.map((e) => e.code)),
];

test('no CRL: revocation is skipped with a warning; a good CRL → crl ok', () => {
  const none = run([]);
  assert.equal(none.checks['crl'], 'skipped');
  assert.ok(none.warnings.some((w) => w.includes('revocation not checked')));
  const good = run([crl(ark.privateKey, [7], '2026-02-01T00:00:00Z', '2026-04-01T00:00:00Z')]);
  assert.deepEqual(good.errors, []);
  assert.equal(good.checks['crl'], 'ok');
});

test('the ASK revoked → ERR_CERT_REVOKED; stale CRL → ERR_CERT_EXPIRED; foreign signer → ERR_CHAIN_INVALID', () => {
  assert.deepEqual(
    codes(run([crl(ark.privateKey, [5], '2026-02-01T00:00:00Z', '2026-04-01T00:00:00Z')])),
    ['ERR_CERT_REVOKED'],
  );
  assert.deepEqual(
    codes(run([crl(ark.privateKey, [], '2025-02-01T00:00:00Z', '2025-04-01T00:00:00Z')])),
    ['ERR_CERT_EXPIRED'],
  );
  assert.deepEqual(
    codes(run([crl(rsa().privateKey, [], '2026-02-01T00:00:00Z', '2026-04-01T00:00:00Z')])),
    ['ERR_CHAIN_INVALID'],
  );
});

test('openssl agrees: the built CRL verifies under the ARK and lists serial 05', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-crl-'));
  try {
    writeFileSync(
      join(dir, 'crl.der'),
      crl(ark.privateKey, [5], '2026-02-01T00:00:00Z', '2026-04-01T00:00:00Z'),
    );
    writeFileSync(join(dir, 'ark.pem'), toPem(arkDer));
    const out = runTool('openssl', [
      'crl',
      '-inform',
      'DER',
      '-in',
      join(dir, 'crl.der'),
      '-CAfile',
      join(dir, 'ark.pem'),
      '-noout',
      '-text',
    ]).toString();
    assert.match(out, /Serial Number: 05/);
    assert.match(out, /Next Update: Apr {2}1 00:00:00 2026 GMT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CRL parser on a real CRL (Intel PCK Platform CA) matches openssl', () => {
  const der = readFileSync(
    fixture('evidence', 'tdx', 'gotdx-2023-pcs', 'gotdx-2023.pck-crl-platform.der'),
  );
  const c = parseKdsCrl(new Uint8Array(der));
  const text = runTool('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], der).toString();
  const serials = [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) =>
    m[1]!.toLowerCase().replace(/^0+/, ''),
  );
  assert.equal(c.revoked.size, serials.length);
  for (const sn of serials) assert.ok(c.revoked.has(sn), sn);
  const next = /Next Update: (.+)/.exec(text)?.[1];
  assert.equal(c.nextUpdate?.getTime(), Date.parse(String(next)));
});
