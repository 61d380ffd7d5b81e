// SNP revocation: the ARK's CRL (RSA-PSS) is checked for its signature, its window at `at`, and
// the ASK's serial. CRLs are built here and cross-checked with `openssl crl`; the CRL parser is
// also run on a real (Intel) CRL against openssl's listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { bits, int, seq, time } from '../../../src/formats/x509/der_encode.js';
import { sigAlgId } from '../../../src/formats/x509/certificate_encode.js';
import { toPem } from '../../../src/formats/x509/pem_encode.js';
import { encodeSnpReportBody } from '../../../src/formats/snp/report_encode.js';
import { parseCrl } from '../../../src/verifier/verify/x509/crl.js';
import { verifySnpReport } from '../../../src/verifier/verify/snp.js';
import { fixture } from '../../_support/paths.js';
import { runTool } from '../../_support/peers.js';
import {
  amdOid,
  amdTestChain,
  emulatedName,
  pssSha384,
  rsaKeyPair,
  signSnpReport,
} from '../../_support/snp_pki.js';
import { RELAX_NONCE_CRL } from '../../_support/trust.js';

const arkName = emulatedName('ARK-Milan');

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
  return seq(tbs, sigAlgId('rsa-pss-sha384'), bits(pssSha384(key, tbs)));
}

// The CRL lists the ASK by its serial (5).
const chain = amdTestChain({
  ark: { cn: 'ARK-Milan', serial: 1 },
  ask: { cn: 'SEV-Milan', serial: 5 },
  // A VCEK always carries its TCB (SPL) extensions; these match REPORTED_TCB 0.
  leaf: {
    cn: 'SEV-VCEK',
    serial: 0,
    extensions: [
      { oid: amdOid('3.1'), value: int(0) },
      { oid: amdOid('3.2'), value: int(0) },
      { oid: amdOid('3.3'), value: int(0) },
      { oid: amdOid('3.8'), value: int(0) },
    ],
  },
});
const { ark, arkDer } = chain;

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
const report = signSnpReport(body, chain.leaf.privateKey);
const AT = new Date('2026-03-01T00:00:00Z');
const run = (crls: Uint8Array[]): ReturnType<typeof verifySnpReport> =>
  verifySnpReport(report, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    certs: chain.certs,
    emulatedAnchors: [chain.arkDer],
    crls,
  });
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

test('the ASK revoked → ERR_CERT_REVOKED; stale CRL → ERR_CERT_EXPIRED; foreign signer → ERR_SIGNATURE_INVALID', () => {
  assert.deepEqual(
    codes(run([crl(ark.privateKey, [5], '2026-02-01T00:00:00Z', '2026-04-01T00:00:00Z')])),
    ['ERR_CERT_REVOKED'],
  );
  assert.deepEqual(
    codes(run([crl(ark.privateKey, [], '2025-02-01T00:00:00Z', '2025-04-01T00:00:00Z')])),
    ['ERR_CERT_EXPIRED'],
  );
  assert.deepEqual(
    codes(run([crl(rsaKeyPair().privateKey, [], '2026-02-01T00:00:00Z', '2026-04-01T00:00:00Z')])),
    ['ERR_SIGNATURE_INVALID'],
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
  const c = parseCrl(new Uint8Array(der));
  const text = runTool('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], der).toString();
  const serials = [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) =>
    m[1]!.toLowerCase().replace(/^0+/, ''),
  );
  assert.equal(c.revoked.size, serials.length);
  for (const sn of serials) assert.ok(c.revoked.has(sn), sn);
  const next = /Next Update: (.+)/.exec(text)?.[1];
  assert.equal(c.nextUpdate?.getTime(), Date.parse(String(next)));
});
