// Azure HCL binding: the SNP report vouches for the runtime claims (REPORT_DATA = SHA-256 of the
// variable data), which publish the vTPM AK; that AK verifies the vTPM quote of TPM-3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import { verifySnpReport } from '../../../src/verifier/verify/snp.js';
import { checkHclAkMatches, hclAkPublicKey } from '../../../src/verifier/verify/binding_hcl.js';
import { parseHclReport } from '../../../src/formats/azure/hcl_report.js';
import { fixture } from '../../_support/paths.js';
import { RELAX_NONCE_CRL } from '../../_support/trust.js';

const snp = (f: string): Uint8Array => new Uint8Array(readFileSync(fixture('evidence', 'snp', f)));
const AT = new Date('2024-01-01T00:00:00Z');
const hcl = (): Uint8Array => snp('trustee-azure-milan-v2.hcl-report.bin');
const chain = (): Uint8Array => snp('trustee-azure-milan-v2.vcek-chain.pem');

test('SNP-6: the HCL report verifies and binds its runtime data', () => {
  const r = verifySnpReport(hcl(), { policy: RELAX_NONCE_CRL, at: AT, certs: [chain()] });
  assert.deepEqual(r.errors, []);
  assert.equal(r.verified, true);
  assert.equal(r.checks['hcl_report_data'], 'ok');
  assert.equal(r.checks['hcl_ak'], 'ok');
  assert.equal(r.checks['report_signature'], 'ok');
  assert.equal(
    Buffer.from(r.claims['measurement'] as Uint8Array).toString('hex'),
    '9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf52cc317e7fe20308b459d5ef1a12e0c22944eb386d17c315',
  );
});

test('SNP-6 + TPM-3: the AK the SNP report vouches for verifies the vTPM quote (nonce "challenge")', () => {
  const h = parseHclReport(hcl());
  const ak = hclAkPublicKey(h);
  const q = JSON.parse(
    readFileSync(fixture('evidence', 'snp', 'trustee-azure-snp.tpm-quote.json'), 'utf8'),
  ) as {
    signature: string;
    message: string;
  };
  const msg = Buffer.from(q.message, 'hex');
  const sig = Buffer.from(q.signature, 'hex');
  assert.ok(cryptoVerify('sha256', msg, ak, sig), 'quote signature by HCLAkPub');
  // TPMS_ATTEST: magic, type, qualifiedSigner TPM2B, then extraData TPM2B = "challenge".
  const signerLen = msg.readUInt16BE(6);
  const extraLen = msg.readUInt16BE(8 + signerLen);
  assert.equal(
    msg.subarray(10 + signerLen, 10 + signerLen + extraLen).toString('latin1'),
    'challenge',
  );
  // test_verify_quote_signature_failure: signature[0] ^= 1 fails.
  sig[0]! ^= 1;
  assert.equal(cryptoVerify('sha256', msg, ak, sig), false);
  checkHclAkMatches(h, ak);
  const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
  assert.throws(() => checkHclAkMatches(h, other), { code: 'ERR_BINDING_MISMATCH' });
});

test('SNP-6: HCL byte 0x1A6 = 0 (REPORTED_TCB.snp) → the SNP checks fail', () => {
  const b = hcl();
  b[0x1a6] = 0;
  const r = verifySnpReport(b, { policy: RELAX_NONCE_CRL, at: AT, certs: [chain()] });
  assert.equal(r.verified, false);
  const codes = new Set(r.errors.map((e) => e.code));
  assert.ok(codes.has('ERR_TCB_MISMATCH'));
  assert.ok(codes.has('ERR_SIGNATURE_INVALID'));
  assert.equal(r.checks['hcl_report_data'], 'ok');
});

test('SNP-6: HCL byte 0x6E0 + 1 (variable data) → ERR_BINDING_MISMATCH, SNP report still valid', () => {
  const b = hcl();
  b[0x6e0] = (b[0x6e0]! + 1) & 0xff;
  const r = verifySnpReport(b, { policy: RELAX_NONCE_CRL, at: AT, certs: [chain()] });
  assert.equal(r.verified, false);
  assert.deepEqual([...new Set(r.errors.map((e) => e.code))], ['ERR_BINDING_MISMATCH']);
  assert.equal(r.checks['hcl_report_data'], 'failed');
  assert.equal(r.checks['report_signature'], 'ok');
});

test('SNP-6: HCL byte 0x540 = 0 → the AK cannot be read (ERR_BINDING_MISMATCH on hcl_ak)', () => {
  const b = hcl();
  b[0x540] = 0;
  const r = verifySnpReport(b, { policy: RELAX_NONCE_CRL, at: AT, certs: [chain()] });
  assert.equal(r.verified, false);
  assert.equal(r.checks['hcl_ak'], 'failed');
  assert.ok(r.errors.some((e) => e.code === 'ERR_BINDING_MISMATCH' && e['check'] === 'hcl_ak'));
});

test('SNP-6: a nonce is checked against the HCL user-data (all zero here)', () => {
  const zero = verifySnpReport(hcl(), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    certs: [chain()],
    nonce: new Uint8Array(8),
  });
  assert.equal(zero.checks['nonce'], 'ok');
  const other = verifySnpReport(hcl(), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    certs: [chain()],
    nonce: Uint8Array.of(1),
  });
  assert.deepEqual([...new Set(other.errors.map((e) => e.code))], ['ERR_NONCE_MISMATCH']);
});
