// VLEK-signed reports (KEY_INFO.SIGNING_KEY = 1): the chain VLEK → ASVK → ARK is built from the
// given certificates, the hwID check does not apply (VLEKs carry a CSP id instead), and a
// report naming the VLEK is not accepted with a VCEK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSnpReportBody } from '../../../src/formats/snp/report_encode.js';
import { verifySnpReport } from '../../../src/verifier/verify/snp.js';
import {
  MILAN_VLEK_EXTENSIONS,
  milanVlekTestChain,
  signSnpReport,
  snpTestCert,
} from '../../_support/snp_pki.js';
import { RELAX_NONCE_CRL } from '../../_support/trust.js';

const spl = MILAN_VLEK_EXTENSIONS;
const chain = milanVlekTestChain();
const { arkDer, askDer: asvkDer, leafDer: vlekDer } = chain;
// The same key and extensions under the VCEK's subject name.
const vcekLike = snpTestCert({
  issuer: 'SEV-VLEK-Milan',
  subject: 'SEV-VCEK',
  serial: 1,
  subjectKey: chain.leaf.publicKey,
  issuerKey: chain.ask.privateKey,
  extensions: [...spl],
});

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
  return signSnpReport(body, chain.leaf.privateKey);
}

const AT = new Date('2026-01-01T00:00:00Z');

test('a VLEK-signed report verifies through the ASVK; the hwID check is skipped', () => {
  const r = verifySnpReport(report(1), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    certs: [vlekDer, asvkDer, arkDer],
    emulatedAnchors: [arkDer],
  });
  assert.deepEqual(r.errors, []);
  assert.equal(r.verified, true);
  assert.equal(r.claims['signing_key'], 'vlek');
  assert.equal(r.claims['signing_cert'], 'vlek');
  assert.equal(r.checks['chip_id'], 'skipped');
  assert.equal(r.checks['reported_tcb'], 'ok');
  assert.deepEqual(
    (r.claims['cert_chain'] as { subject: string }[]).map((l) => l.subject),
    ['SEV-VLEK', 'SEV-VLEK-Milan', 'ARK-Milan'],
  );
});

test('a report naming the VLEK is refused with a VCEK: the leaf is not in the VLEK role', () => {
  const r = verifySnpReport(report(1), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    certs: [vcekLike, asvkDer, arkDer],
    emulatedAnchors: [arkDer],
  });
  assert.equal(r.verified, false);
  const chainErr = r.errors.find((e) => e['check'] === 'cert_chain');
  assert.ok(chainErr !== undefined);
  assert.equal(chainErr.code, 'ERR_CERT_PROFILE');
  assert.equal(chainErr['rule'], 'role_name');
  assert.equal(r.checks['report_signature'], 'failed');
});

test('the built-in roots do not trust this ARK: ERR_UNTRUSTED_ROOT without --trust-emulated', () => {
  const r = verifySnpReport(report(1), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    certs: [vlekDer, asvkDer, arkDer],
  });
  assert.ok(r.errors.some((e) => e.code === 'ERR_UNTRUSTED_ROOT'));
});
