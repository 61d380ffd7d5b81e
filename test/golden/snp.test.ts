// Every SEV-SNP case of the shared PROVENANCE: verdicts at the asserted times and each negative
// case with its own error code; signatures and chains cross-checked with openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { verifySnpReport } from '../../src/verifier/verify/snp.js';
import { makeTrustPolicy } from '../../src/verifier/verify/trust_policy.js';
import { parseSnpReport, snpSignatureDer } from '../../src/formats/snp/report.js';
import type { EvidenceResult } from '../../src/verifier/verify/evidence_result.js';
import { fixture } from '../_support/paths.js';
import { runTool } from '../_support/peers.js';

const snp = (f: string): Uint8Array => new Uint8Array(readFileSync(fixture('evidence', 'snp', f)));
const virteeReport = (): Uint8Array =>
  new Uint8Array(
    Buffer.from(
      readFileSync(fixture('evidence', 'snp', 'virtee-milan-v2.report.hex'), 'utf8').trim(),
      'hex',
    ),
  );

function codes(r: EvidenceResult): string[] {
  return [...new Set(r.errors.map((e) => e.code))].sort();
}

function verify(
  report: Uint8Array,
  certs: Uint8Array[],
  at: string,
  extra: object = {},
): EvidenceResult {
  // These cases check signatures, chains and TCB: freshness and AMD's CRL (none shipped) are
  // relaxed by name; test/golden/real_verdicts.test.ts asserts the relaxations each needs.
  return verifySnpReport(report, {
    at: new Date(at),
    certs,
    policy: makeTrustPolicy({ relax: ['nonce', 'crl'] }),
    ...extra,
  });
}

const CASES: { name: string; report: () => Uint8Array; cert: string; at: string }[] = [
  {
    name: 'SNP-1 go-sev-guest Milan v2',
    report: () => snp('gosevguest-milan-v2.report.bin'),
    cert: 'gosevguest-milan-v2.vcek.der',
    at: '2022-09-24T01:00:00Z',
  },
  {
    name: 'SNP-2 virtee Milan v2',
    report: virteeReport,
    cert: 'virtee-milan-v2.vcek.der',
    at: '2024-01-01T00:00:00Z',
  },
  {
    name: 'SNP-3 trustee Milan v2',
    report: () => snp('trustee-milan-v2.report.bin'),
    cert: 'trustee-milan-v2.vcek.der',
    at: '2024-01-01T00:00:00Z',
  },
  {
    name: 'SNP-4 trustee Genoa v3',
    report: () => snp('trustee-e2e-genoa-v3.report.bin'),
    cert: 'trustee-e2e-genoa-v3.vcek.der',
    at: '2025-06-01T00:00:00Z',
  },
  {
    name: 'SNP-5 teekit GCP v5 (report data)',
    report: () => snp('teekit-gcp-milan-v5-reportdata.report.bin'),
    cert: 'teekit-gcp-milan-v5.vcek.pem',
    at: '2026-01-01T00:00:00Z',
  },
  {
    name: 'SNP-5 teekit GCP v5 (zero)',
    report: () => snp('teekit-gcp-milan-v5-zero.report.bin'),
    cert: 'teekit-gcp-milan-v5.vcek.pem',
    at: '2026-01-01T00:00:00Z',
  },
  {
    name: 'SNP-6 Azure SNP report',
    report: () => snp('trustee-azure-milan-v2.report.bin'),
    cert: 'trustee-azure-milan-v2.vcek-chain.pem',
    at: '2024-01-01T00:00:00Z',
  },
];

for (const c of CASES) {
  test(`${c.name}: verifies against the built-in AMD roots at ${c.at}`, () => {
    const r = verify(c.report(), [snp(c.cert)], c.at);
    assert.deepEqual(r.errors, []);
    assert.equal(r.verified, true);
    for (const k of [
      'report_signature',
      'cert_chain',
      'cert_validity',
      'reported_tcb',
      'chip_id',
    ]) {
      assert.equal(r.checks[k], 'ok', k);
    }
    assert.equal(r.trust.emulated, false);
    assert.match(String(r.trust.root), /^ARK-(Milan|Genoa)$/);
  });
}

test('SNP-1: the chain is VCEK → SEV-Milan → ARK-Milan (length 3)', () => {
  const r = verify(
    snp('gosevguest-milan-v2.report.bin'),
    [snp('gosevguest-milan-v2.vcek.der')],
    '2022-09-24T01:00:00Z',
  );
  const chain = r.claims['cert_chain'] as { subject: string }[];
  assert.deepEqual(
    chain.map((l) => l.subject),
    ['SEV-VCEK', 'SEV-Milan', 'ARK-Milan'],
  );
  assert.equal(r.claims['signing_cert'], 'vcek');
});

test('SNP-1: after the VCEK expired (2053) → ERR_CERT_EXPIRED; before it was issued → ERR_CERT_NOT_YET_VALID', () => {
  const rep = snp('gosevguest-milan-v2.report.bin');
  const vcek = snp('gosevguest-milan-v2.vcek.der');
  const late = verify(rep, [vcek], '2053-07-01T01:00:00Z');
  assert.equal(late.verified, false);
  assert.deepEqual(codes(late), ['ERR_CERT_EXPIRED']);
  const early = verify(rep, [vcek], '2022-09-24T00:55:27Z');
  assert.deepEqual(codes(early), ['ERR_CERT_NOT_YET_VALID']);
});

test('SNP-5: the VCEK is valid only from 2025-12-05T06:04:27Z', () => {
  const r = verify(
    snp('teekit-gcp-milan-v5-zero.report.bin'),
    [snp('teekit-gcp-milan-v5.vcek.pem')],
    '2025-12-05T06:04:26Z',
  );
  assert.equal(r.verified, false);
  assert.deepEqual(codes(r), ['ERR_CERT_NOT_YET_VALID']);
  assert.equal(r.checks['report_signature'], 'ok');
});

test('SNP-2 virtee: report[21] ^= 0x80 (FAMILY_ID) → ERR_SIGNATURE_INVALID', () => {
  const rep = virteeReport();
  rep[21]! ^= 0x80;
  const r = verify(rep, [snp('virtee-milan-v2.vcek.der')], '2024-01-01T00:00:00Z');
  assert.equal(r.verified, false);
  assert.deepEqual(codes(r), ['ERR_SIGNATURE_INVALID']);
});

test('SNP-2 virtee: vcek[40] ^= 0xff breaks the chain → ERR_CHAIN_INVALID', () => {
  const v = snp('virtee-milan-v2.vcek.der');
  v[40]! ^= 0xff;
  const r = verify(virteeReport(), [v], '2024-01-01T00:00:00Z');
  assert.equal(r.verified, false);
  assert.equal(r.checks['cert_chain'], 'failed');
  assert.ok(r.errors.some((e) => e.code === 'ERR_CHAIN_INVALID' && e['check'] === 'cert_chain'));
});

test('SNP-2 virtee: the Turin VCEK chains to the Turin ASK and ARK', () => {
  const vcek = new X509Certificate(snp('virtee-turin.vcek.der'));
  const [ask, ark] = (
    readFileSync(fixture('evidence', 'snp', 'amd-turin.ask-ark.pem'), 'utf8').match(
      /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g,
    ) ?? []
  ).map((p) => new X509Certificate(p));
  assert.ok(vcek.verify(ask!.publicKey));
  assert.ok(ask!.verify(ark!.publicKey));
});

test('SNP-3 trustee: report[42] += 1 → ERR_SIGNATURE_INVALID', () => {
  const rep = snp('trustee-milan-v2.report.bin');
  rep[42] = (rep[42]! + 1) & 0xff;
  const r = verify(rep, [snp('trustee-milan-v2.vcek.der')], '2024-01-01T00:00:00Z');
  assert.deepEqual(codes(r), ['ERR_SIGNATURE_INVALID']);
});

test('SNP-3 trustee: report[384] += 1 (REPORTED_TCB boot loader) → ERR_TCB_MISMATCH', () => {
  const rep = snp('trustee-milan-v2.report.bin');
  rep[384] = (rep[384]! + 1) & 0xff;
  const r = verify(rep, [snp('trustee-milan-v2.vcek.der')], '2024-01-01T00:00:00Z');
  assert.equal(r.checks['reported_tcb'], 'failed');
  assert.ok(codes(r).includes('ERR_TCB_MISMATCH'));
  assert.ok(r.errors.some((e) => e.code === 'ERR_TCB_MISMATCH' && e.message.includes('bl_spl')));
});

for (const bad of ['trustee-milan-badsig-legacy.vcek.der', 'trustee-milan-badsig-new.vcek.der']) {
  test(`SNP-3 trustee: ${bad} does not chain to SEV-Milan → ERR_CHAIN_INVALID`, () => {
    const r = verify(snp('trustee-milan-v2.report.bin'), [snp(bad)], '2024-01-01T00:00:00Z');
    assert.equal(r.verified, false);
    assert.equal(r.checks['cert_chain'], 'failed');
    assert.ok(codes(r).includes('ERR_CHAIN_INVALID'));
  });
}

test('SNP-3 trustee: the ASVK in place of the ASK (anchored at ARK-Milan) → ERR_CHAIN_INVALID', () => {
  const asvkArk = snp('amd-milan.asvk-ark.pem');
  const r = verify(
    snp('trustee-milan-v2.report.bin'),
    [snp('trustee-milan-v2.vcek.der')],
    '2024-01-01T00:00:00Z',
    {
      trustAnchors: [asvkArk],
    },
  );
  assert.equal(r.verified, false);
  assert.ok(codes(r).includes('ERR_CHAIN_INVALID'));
});

test('a VCEK of another chip → ERR_SIGNATURE_INVALID and CHIP_ID ≠ hwID → ERR_BINDING_MISMATCH', () => {
  const r = verify(
    snp('trustee-milan-v2.report.bin'),
    [snp('virtee-milan-v2.vcek.der')],
    '2024-01-01T00:00:00Z',
  );
  assert.deepEqual(codes(r), ['ERR_BINDING_MISMATCH', 'ERR_SIGNATURE_INVALID']);
});

test('nonce: the SNP-1 report data is bound to 0102030405; another nonce → ERR_NONCE_MISMATCH', () => {
  const rep = snp('gosevguest-milan-v2.report.bin');
  const vcek = snp('gosevguest-milan-v2.vcek.der');
  const ok = verify(rep, [vcek], '2022-09-24T01:00:00Z', { nonce: Uint8Array.of(1, 2, 3, 4, 5) });
  assert.equal(ok.checks['nonce'], 'ok');
  assert.equal(ok.verified, true);
  const bad = verify(rep, [vcek], '2022-09-24T01:00:00Z', { nonce: Uint8Array.of(1, 2, 3, 4, 6) });
  assert.deepEqual(codes(bad), ['ERR_NONCE_MISMATCH']);
});

test('without a VCEK, verification needs collateral (ERR_COLLATERAL_MISSING)', () => {
  assert.throws(() => verify(snp('trustee-milan-v2.report.bin'), [], '2024-01-01T00:00:00Z'), {
    code: 'ERR_COLLATERAL_MISSING',
  });
});

test('a root other than the built-in ARKs is refused: ARK-Genoa as the only anchor → not trusted', () => {
  const r = verify(
    snp('trustee-milan-v2.report.bin'),
    [snp('trustee-milan-v2.vcek.der')],
    '2024-01-01T00:00:00Z',
    {
      trustAnchors: [snp('amd-genoa.ask-ark.pem')],
    },
  );
  assert.equal(r.verified, false);
  assert.equal(r.checks['cert_chain'], 'failed');
});

test('openssl: ARK → ASK → VCEK verifies with RSA-PSS at the asserted time (SNP-1, SNP-4)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-snp-'));
  try {
    for (const [vcekFile, chain, at] of [
      ['gosevguest-milan-v2.vcek.der', 'amd-milan.ask-ark.pem', '2022-09-24T01:00:00Z'],
      ['trustee-e2e-genoa-v3.vcek.der', 'amd-genoa.ask-ark.pem', '2025-06-01T00:00:00Z'],
    ] as const) {
      const pem = join(dir, 'vcek.pem');
      writeFileSync(pem, new X509Certificate(snp(vcekFile)).toString());
      const out = runTool('openssl', [
        'verify',
        '-attime',
        String(Date.parse(at) / 1000),
        '-CAfile',
        fixture('evidence', 'snp', chain),
        pem,
      ]).toString();
      assert.match(out, /: OK/);
      // And our verifier agrees.
      const rep = vcekFile.startsWith('gosev')
        ? snp('gosevguest-milan-v2.report.bin')
        : snp('trustee-e2e-genoa-v3.report.bin');
      assert.equal(verify(rep, [snp(vcekFile)], at).checks['cert_chain'], 'ok');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('openssl: the report signature re-encoded as DER verifies with openssl dgst -sha384', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-snp-'));
  try {
    for (const [repFile, vcekFile] of [
      ['trustee-milan-v2.report.bin', 'trustee-milan-v2.vcek.der'],
      ['teekit-gcp-milan-v5-reportdata.report.bin', 'teekit-gcp-milan-v5.vcek.pem'],
    ] as const) {
      const rep = parseSnpReport(snp(repFile));
      const pub = join(dir, 'vcek.pub.pem');
      writeFileSync(
        pub,
        new X509Certificate(snp(vcekFile)).publicKey.export({ format: 'pem', type: 'spki' }),
      );
      writeFileSync(join(dir, 'sig.der'), snpSignatureDer(rep));
      writeFileSync(join(dir, 'signed.bin'), rep.signed);
      const out = runTool('openssl', [
        'dgst',
        '-sha384',
        '-verify',
        pub,
        '-signature',
        join(dir, 'sig.der'),
        join(dir, 'signed.bin'),
      ]).toString();
      assert.match(out, /Verified OK/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
