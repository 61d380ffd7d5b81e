// Turin (CPUID family 0x1A): REPORTED_TCB is read in the Turin layout (FMC byte first) and
// compared with the VCEK's fmcSPL/blSPL/teeSPL/snpSPL/ucodeSPL; the 8-byte hwID matches the
// first 8 bytes of CHIP_ID. Certificates are built here (the shared set has no Turin report).
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
    serial: 0,
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

const HWID = Uint8Array.of(0x1e, 0x55, 0x0a, 0x8e, 0xe5, 0xcf, 0x9f, 0x4d);
const ark = rsa();
const ask = rsa();
const vcek = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const amd = (s: string): string => `1.3.6.1.4.1.3704.1.${s}`;
const vcekDer = cert('SEV-Turin-Test', 'SEV-VCEK', vcek.publicKey, ask.privateKey, [
  { oid: amd('2'), value: ia5('Turin') },
  { oid: amd('3.9'), value: int(5) },
  { oid: amd('3.1'), value: int(3) },
  { oid: amd('3.2'), value: int(1) },
  { oid: amd('3.3'), value: int(8) },
  { oid: amd('3.8'), value: int(15) },
  { oid: amd('4'), value: HWID },
]);
const askDer = cert('ARK-Turin-Test', 'SEV-Turin-Test', ask.publicKey, ark.privateKey, [
  caExtension(),
]);
const arkDer = cert('ARK-Turin-Test', 'ARK-Turin-Test', ark.publicKey, ark.privateKey, [
  caExtension(),
]);

// Turin layout: byte0 fmc 5, byte1 bl 3, byte2 tee 1, byte3 snp 8, byte7 ucode 15.
const TURIN_TCB = 0x0f00000008010305n;

function report(tcb: bigint, chipId: Uint8Array): Uint8Array {
  const body = encodeSnpReportBody({
    version: 3,
    policy: 0x30000n,
    current_tcb: tcb,
    reported_tcb: tcb,
    report_data: new Uint8Array(64),
    measurement: new Uint8Array(48).fill(9),
    chip_id: chipId,
    cpuid: { family: 0x1a, model: 0x02, stepping: 0 },
  });
  const sig = sign('sha384', body, { key: vcek.privateKey, dsaEncoding: 'ieee-p1363' });
  return attachSnpSignature(body, sig.subarray(0, 48), sig.subarray(48));
}

const AT = new Date('2026-01-01T00:00:00Z');
const chip = new Uint8Array(64);
chip.set(HWID);

test('a Turin report: TCB in the Turin layout matches the VCEK SPLs; 8-byte hwID matches', () => {
  const r = verifySnpReport(report(TURIN_TCB, chip), {
    at: AT,
    certs: [vcekDer, askDer, arkDer],
    trustEmulated: true,
  });
  assert.deepEqual(r.errors, []);
  assert.equal(r.claims['product'], 'turin');
  assert.deepEqual(r.claims['reported_tcb'], {
    raw: '0x0f00000008010305',
    bootloader: 3,
    tee: 1,
    snp: 8,
    microcode: 15,
    fmc: 5,
  });
  assert.equal(r.checks['reported_tcb'], 'ok');
  assert.equal(r.checks['chip_id'], 'ok');
});

test('Turin: a different FMC SPL → ERR_TCB_MISMATCH naming fmc_spl; another chip → ERR_BINDING_MISMATCH', () => {
  const fmc6 = verifySnpReport(report(TURIN_TCB + 1n, chip), {
    at: AT,
    certs: [vcekDer, askDer, arkDer],
    trustEmulated: true,
  });
  assert.deepEqual([...new Set(fmc6.errors.map((e) => e.code))], ['ERR_TCB_MISMATCH']);
  assert.match(fmc6.errors[0]?.message ?? '', /fmc_spl certificate 5 report 6/);
  const other = Uint8Array.from(chip);
  other[7] = 0;
  const r = verifySnpReport(report(TURIN_TCB, other), {
    at: AT,
    certs: [vcekDer, askDer, arkDer],
    trustEmulated: true,
  });
  assert.deepEqual([...new Set(r.errors.map((e) => e.code))], ['ERR_BINDING_MISMATCH']);
});
