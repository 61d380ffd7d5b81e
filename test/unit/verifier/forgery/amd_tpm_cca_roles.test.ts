// Forgery suite — roles on AMD, TPM AK and CCA chains (issue #12, DESIGN §6.1), under test PKIs
// with AMD's names and algorithms (RSASSA-PSS SHA-384 above a P-384 leaf), trusted by a trust
// anchor. SNP attacks run through verifySnpReport (the path `evidence verify` runs); the AK
// certificate profile and the CCA x5chain run through the chain core with the profiles the
// verifiers use. Each asserts the failing check or rule and its code; each has a control.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSnpReportBody } from '../../../../src/formats/snp/report_encode.js';
import { toPem } from '../../../../src/formats/x509/pem_encode.js';
import { verifySnpReport } from '../../../../src/verifier/verify/snp.js';
import type { EvidenceResult } from '../../../../src/verifier/verify/evidence_result.js';
import { parseCertificate } from '../../../../src/verifier/verify/x509/certificate.js';
import {
  anchorFromCertificate,
  validateChain,
  type ChainProfile,
} from '../../../../src/verifier/verify/x509/chain.js';
import {
  CCA_PLATFORM_PROFILE,
  TPM_AK_PROFILE,
} from '../../../../src/verifier/verify/x509/profiles.js';
import { MrstackError } from '../../../../src/errors.js';
import { amdOid, signSnpReport } from '../../../_support/snp_pki.js';
import { RELAX_NONCE_CRL } from '../../../_support/trust.js';
import { int } from '../../../../src/formats/x509/der_encode.js';
import { runTool } from '../../../_support/peers.js';
import {
  amdName,
  caExtension,
  caPathLen,
  eku,
  intelName,
  issue,
  keyUsage,
  p256,
  p384,
  rsa,
  type KeyPair,
} from '../../../_support/forge_pki.js';

const AT = new Date('2026-06-01T00:00:00Z');

// --- AMD --------------------------------------------------------------------------------------

interface AmdPki {
  readonly ark: KeyPair;
  readonly arkDer: Uint8Array;
  readonly askDer: Uint8Array;
  readonly asvkDer: Uint8Array;
  readonly ask: KeyPair;
  readonly asvk: KeyPair;
}

function amdPki(product: string): AmdPki {
  const ark = rsa();
  const ask = rsa();
  const asvk = rsa();
  const arkN = amdName(`ARK-${product}`);
  const ca = (subject: string, key: KeyPair, serial: number): Uint8Array =>
    issue({
      subject: amdName(subject),
      issuer: arkN,
      subjectKey: key.publicKey,
      issuerKey: ark.privateKey,
      alg: 'rsa-pss-sha384',
      serial,
      extensions: [caPathLen(0), keyUsage(5)],
    });
  return {
    ark,
    ask,
    asvk,
    arkDer: issue({
      subject: arkN,
      issuer: arkN,
      subjectKey: ark.publicKey,
      issuerKey: ark.privateKey,
      alg: 'rsa-pss-sha384',
      extensions: [caExtension(), keyUsage(5, 6)],
    }),
    askDer: ca(`SEV-${product}`, ask, 2),
    asvkDer: ca(`SEV-VLEK-${product}`, asvk, 3),
  };
}

/** A leaf ("SEV-VCEK" / "SEV-VLEK") under `issuerCn`, signed by `issuer`. */
function amdLeaf(cn: string, key: KeyPair, issuerCn: string, issuer: KeyPair): Uint8Array {
  return issue({
    subject: amdName(cn),
    issuer: amdName(issuerCn),
    subjectKey: key.publicKey,
    issuerKey: issuer.privateKey,
    alg: 'rsa-pss-sha384',
    // AMD's SPL extensions (blSPL, teeSPL, snpSPL, ucodeSPL), matching REPORTED_TCB 0.
    extensions: ['3.1', '3.2', '3.3', '3.8'].map((x) => ({ oid: amdOid(x), value: int(0) })),
  });
}

/** A v3 Milan report signed by `key`, naming the VCEK (0) or VLEK (1) as its signer. */
function report(key: KeyPair, signingKey: 0 | 1): Uint8Array {
  const body = encodeSnpReportBody({
    version: 3,
    policy: 0x30000n,
    current_tcb: 0n,
    reported_tcb: 0n,
    signing_key: signingKey,
    report_data: new Uint8Array(64),
    measurement: new Uint8Array(48),
    chip_id: new Uint8Array(64),
    mask_chip_key: true,
    cpuid: { family: 0x19, model: 0x01, stepping: 1 },
  });
  return signSnpReport(body, key.privateKey);
}

function snp(reportBytes: Uint8Array, certs: Uint8Array[], anchor: Uint8Array): EvidenceResult {
  return verifySnpReport(reportBytes, {
    at: AT,
    policy: RELAX_NONCE_CRL,
    certs,
    trustAnchors: [new Uint8Array(Buffer.from(toPem(anchor)))],
  });
}

function chainRefused(r: EvidenceResult, code: string, rule: string): void {
  assert.equal(r.verified, false);
  const e = r.errors.find((x) => x['check'] === 'cert_chain');
  assert.ok(e !== undefined, JSON.stringify(r.errors));
  assert.equal(e.code, code, JSON.stringify(e));
  assert.equal(e['rule'], rule, JSON.stringify(e));
}

const milan = amdPki('Milan');
const vcek = p384();
const vlek = p384();
const vcekDer = amdLeaf('SEV-VCEK', vcek, 'SEV-Milan', milan.ask);
const vlekDer = amdLeaf('SEV-VLEK', vlek, 'SEV-VLEK-Milan', milan.asvk);

test('AMD control: VCEK ← ASK ← ARK and VLEK ← ASVK ← ARK verify (openssl agrees on the chain)', (t) => {
  const a = snp(report(vcek, 0), [vcekDer, milan.askDer], milan.arkDer);
  assert.equal(a.verified, true, JSON.stringify(a.errors));
  const b = snp(report(vlek, 1), [vlekDer, milan.asvkDer], milan.arkDer);
  assert.equal(b.verified, true, JSON.stringify(b.errors));
  const d = mkdtempSync(join(tmpdir(), 'mrstack-amd-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  writeFileSync(join(d, 'ark.pem'), toPem(milan.arkDer));
  writeFileSync(join(d, 'ask.pem'), toPem(milan.askDer));
  writeFileSync(join(d, 'vcek.pem'), toPem(vcekDer));
  const out = runTool('openssl', [
    'verify',
    '-attime',
    String(AT.getTime() / 1000),
    '-CAfile',
    join(d, 'ark.pem'),
    '-untrusted',
    join(d, 'ask.pem'),
    join(d, 'vcek.pem'),
  ]).toString();
  assert.match(out, /OK/);
});

test('VCEK/VLEK swap: a report naming its VCEK with a VLEK certificate → cert_chain role_name', () => {
  // The VLEK key signed the report, so only the role rule can refuse it.
  chainRefused(
    snp(report(vlek, 0), [vlekDer, milan.asvkDer], milan.arkDer),
    'ERR_CERT_PROFILE',
    'role_name',
  );
});

test('ASK/ASVK swap: a VCEK issued by the ASVK → cert_chain role_name at position 1', () => {
  const vcekUnderAsvk = amdLeaf('SEV-VCEK', vcek, 'SEV-VLEK-Milan', milan.asvk);
  const r = snp(report(vcek, 0), [vcekUnderAsvk, milan.asvkDer], milan.arkDer);
  chainRefused(r, 'ERR_CERT_PROFILE', 'role_name');
  assert.equal(r.errors.find((x) => x['check'] === 'cert_chain')!['position'], 1);
});

test('an ARK of another product generation (ARK-Genoa over SEV-Milan) → cert_chain product', () => {
  const genoa = amdPki('Genoa');
  // SEV-Milan issued by the Genoa ARK: every signature holds, the generations differ.
  const ask = issue({
    subject: amdName('SEV-Milan'),
    issuer: amdName('ARK-Genoa'),
    subjectKey: milan.ask.publicKey,
    issuerKey: genoa.ark.privateKey,
    alg: 'rsa-pss-sha384',
    serial: 2,
    extensions: [caPathLen(0), keyUsage(5)],
  });
  chainRefused(snp(report(vcek, 0), [vcekDer, ask], genoa.arkDer), 'ERR_CERT_PROFILE', 'product');
});

// --- chain core: TPM AK certificates and CCA x5chains -------------------------------------------

function refusedBy(
  profile: ChainProfile,
  leaf: Uint8Array,
  intermediates: Uint8Array[],
  anchor: Uint8Array,
  code: string,
  rule?: string,
): void {
  assert.throws(
    () =>
      validateChain({
        leaf: parseCertificate(leaf),
        intermediates: intermediates.map((d) => parseCertificate(d)),
        profile,
        anchors: [anchorFromCertificate(parseCertificate(anchor))],
        at: AT,
        ordered: true,
      }),
    (e: unknown) => {
      assert.ok(e instanceof MrstackError, String(e));
      assert.equal(e.code, code, e.message);
      if (rule !== undefined) assert.equal(e.details['rule'], rule, e.message);
      return true;
    },
  );
}

const tpmCa = p256();
const tpmCaName = intelName('Test TPM CA');
const tpmCaDer = issue({
  subject: tpmCaName,
  issuer: tpmCaName,
  subjectKey: tpmCa.publicKey,
  issuerKey: tpmCa.privateKey,
  alg: 'ecdsa-sha256',
  extensions: [caExtension(), keyUsage(5, 6)],
});
const akKey = p256();
const akCert = (...extensions: Parameters<typeof issue>[0]['extensions'][]): Uint8Array =>
  issue({
    subject: intelName('Test AK'),
    issuer: tpmCaName,
    subjectKey: akKey.publicKey,
    issuerKey: tpmCa.privateKey,
    alg: 'ecdsa-sha256',
    extensions: extensions.flatMap((x) => x ?? []),
  });

test('AK control: digitalSignature + tcg-kp-AIKCertificate, or tcg-kp-EKCertificate as GCE issues', () => {
  for (const purpose of ['2.23.133.8.3', '2.23.133.8.1']) {
    const v = validateChain({
      leaf: parseCertificate(akCert([keyUsage(0), eku(purpose)])),
      profile: TPM_AK_PROFILE,
      anchors: [anchorFromCertificate(parseCertificate(tpmCaDer))],
      at: AT,
    });
    assert.equal(v.path.length, 1);
  }
});

test('an AK certificate without an AK purpose (serverAuth only, or no EKU) → extended_key_usage', () => {
  refusedBy(
    TPM_AK_PROFILE,
    akCert([keyUsage(0), eku('1.3.6.1.5.5.7.3.1')]),
    [],
    tpmCaDer,
    'ERR_CERT_PROFILE',
    'extended_key_usage',
  );
  refusedBy(
    TPM_AK_PROFILE,
    akCert([keyUsage(0)]),
    [],
    tpmCaDer,
    'ERR_CERT_PROFILE',
    'extended_key_usage',
  );
});

test('an AK certificate whose keyUsage lacks digitalSignature (keyEncipherment) → key_usage', () => {
  refusedBy(
    TPM_AK_PROFILE,
    akCert([keyUsage(2), eku('2.23.133.8.3')]),
    [],
    tpmCaDer,
    'ERR_CERT_PROFILE',
    'key_usage',
  );
});

// CCA: root → CA → CPAK certificate, as an x5chain (leaf first).
const ccaRoot = p384();
const ccaCa = p384();
const cpak = p384();
const rootN = intelName('Test CCA Root');
const caN = intelName('Test CCA Intermediate');
const ccaRootDer = issue({
  subject: rootN,
  issuer: rootN,
  subjectKey: ccaRoot.publicKey,
  issuerKey: ccaRoot.privateKey,
  alg: 'ecdsa-sha384',
  extensions: [caExtension()],
});
const ccaCaDer = issue({
  subject: caN,
  issuer: rootN,
  subjectKey: ccaCa.publicKey,
  issuerKey: ccaRoot.privateKey,
  alg: 'ecdsa-sha384',
  extensions: [caExtension()],
});
const cpakDer = (issuerName: Uint8Array): Uint8Array =>
  issue({
    subject: intelName('Test CPAK'),
    issuer: issuerName,
    subjectKey: cpak.publicKey,
    issuerKey: ccaCa.privateKey,
    alg: 'ecdsa-sha384',
  });

test('CCA control: CPAK ← CA ← root as an x5chain validates', () => {
  const v = validateChain({
    leaf: parseCertificate(cpakDer(caN)),
    intermediates: [parseCertificate(ccaCaDer), parseCertificate(ccaRootDer)],
    profile: CCA_PLATFORM_PROFILE,
    anchors: [anchorFromCertificate(parseCertificate(ccaRootDer))],
    at: AT,
    ordered: true,
  });
  assert.deepEqual(
    v.path.map((c) => c.cn),
    ['Test CPAK', 'Test CCA Intermediate'],
  );
});

test('CCA x5chain with broken name chaining (signed by the CA key, issuer named otherwise) → ERR_CHAIN_INVALID', () => {
  refusedBy(
    CCA_PLATFORM_PROFILE,
    cpakDer(intelName('Someone Else')),
    [ccaCaDer, ccaRootDer],
    ccaRootDer,
    'ERR_CHAIN_INVALID',
  );
});

test('a self-signed root with the emulated subject name is not the emulated anchor → ERR_UNTRUSTED_ROOT', () => {
  const emulatedRootName = intelName('mrstack Emulated SGX Root CA');
  const mk = (k: KeyPair): Uint8Array =>
    issue({
      subject: emulatedRootName,
      issuer: emulatedRootName,
      subjectKey: k.publicKey,
      issuerKey: k.privateKey,
      alg: 'ecdsa-sha384',
      extensions: [caExtension()],
    });
  const genuineRoot = mk(p384());
  const forgedKey = p384();
  const forgedRoot = mk(forgedKey);
  const leaf = issue({
    subject: intelName('Test CPAK'),
    issuer: emulatedRootName,
    subjectKey: cpak.publicKey,
    issuerKey: forgedKey.privateKey,
    alg: 'ecdsa-sha384',
  });
  refusedBy(CCA_PLATFORM_PROFILE, leaf, [forgedRoot], genuineRoot, 'ERR_UNTRUSTED_ROOT');
  // Control: with the forged root as the anchor the same chain validates.
  const v = validateChain({
    leaf: parseCertificate(leaf),
    intermediates: [parseCertificate(forgedRoot)],
    profile: CCA_PLATFORM_PROFILE,
    anchors: [anchorFromCertificate(parseCertificate(forgedRoot))],
    at: AT,
    ordered: true,
  });
  assert.equal(v.path.length, 1);
});
