// Azure confidential VMs (issues 12 and 18): an HCL report holding a TDX TDREPORT is verified
// through the TD quote made from it, and a vTPM quote whose AK the HCL report publishes is
// trusted for that reason (`ak_trust.reason: cvm_report`) — from trustee's Azure vTPM evidence
// JSON (SNP and TDX, v0/v1/v2) and from separate files. Expected values are trustee's own test
// assertions and the offsets/hashes checked with Python and openssl (test/fixtures/evidence/
// azure/PROVENANCE.md): PCR0 per capture, nonce `challenge`, REPORTDATA = SHA-256(variable data).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliError, runCliJson, type EvidenceVerifyJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';
import { tempDir } from '../../_support/tmp.js';

const az = (name: string): string => fixture('evidence', 'azure', name);
const CHALLENGE = Buffer.from('challenge').toString('hex');
const PCR0 = {
  tdx: '782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273',
  snpV1: 'e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced',
  snpV2: '84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7',
};
const SNP_V2_NONCE =
  '982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef';
// Every verdict at one pinned time: the PCK leaf is valid 2023-09-13 to 2030-09-13, the VCEKs
// from 2025 (PROVENANCE), so the tests do not expire.
const AT = '2026-01-01T00:00:00Z';
const INTEL_ROOT = 'CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US';

async function verify(
  args: readonly string[],
): Promise<{ code: number | null; j: EvidenceVerifyJson }> {
  const { result, json } = await runCliJson(['evidence', 'verify', ...args, '--at', AT, '--json']);
  return { code: result.code, j: json as EvidenceVerifyJson };
}

function pcr0(j: EvidenceVerifyJson): unknown {
  return (j.claims['pcrs'] as Record<string, Record<string, unknown>> | undefined)?.['sha256']?.[
    'pcr0'
  ];
}

test('Azure TDX HCL report with its TD quote: verified through the quote, TDREPORT bound', async () => {
  const hcl = readFileSync(az('trustee-az-tdx.hcl-report.bin'));
  const varSize = hcl.readUInt32LE(0x4d0);
  const varHash = createHash('sha256')
    .update(hcl.subarray(0x4d4, 0x4d4 + varSize))
    .digest('hex');
  const { code, j } = await verify([
    az('trustee-az-tdx.hcl-report.bin'), '--td-quote', az('trustee-az-tdx.td-quote.bin'),
    '--relax', 'collateral,nonce',
  ]); // prettier-ignore
  assert.equal(code, 0, JSON.stringify(j.errors));
  assert.equal(j.kind, 'tdx');
  for (const c of ['quote_signature', 'pck_chain', 'hcl_report_data', 'hcl_td_report', 'hcl_ak'])
    assert.equal(j.checks[c], 'ok', c);
  assert.equal(j.claims['report_data'], varHash + '00'.repeat(32));
  assert.equal(
    j.claims['mrtd'],
    '024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b',
  );
  assert.deepEqual((j as unknown as { relaxed: string[] }).relaxed, ['collateral', 'nonce']);
  assert.equal((j.trust as { anchor?: { subject: string } }).anchor?.subject, INTEL_ROOT);
});

test('Azure TDX HCL report alone is exit 2 naming --td-quote; show decodes its TDREPORT', async () => {
  const r = await runCliJson(['evidence', 'verify', az('trustee-az-tdx.hcl-report.bin'), '--relax', 'collateral,nonce', '--json']); // prettier-ignore
  assert.equal(r.result.code, 2);
  const e = cliError(r.json);
  assert.equal(e.code, 'ERR_COLLATERAL_MISSING');
  assert.match(JSON.stringify(e), /--td-quote/);
  const s = await runCliJson(['evidence', 'show', az('trustee-az-tdx.hcl-report.bin'), '--json']);
  assert.equal(s.result.code, 0);
  const claims = (s.json as { kind: string; claims: Record<string, unknown> }).claims;
  assert.equal((s.json as { kind: string }).kind, 'tdx');
  assert.equal(claims['format'], 'azure-hcl-tdreport');
  assert.equal(claims['rtmr0'], '00'.repeat(48));
});

test('trustee az-tdx-vtpm evidence (v1 and v0): the vTPM AK is trusted through the verified TD quote', async () => {
  for (const f of [
    'trustee-az-tdx-vtpm.evidence-v1.json',
    'trustee-az-tdx-vtpm.evidence-v0.json',
  ]) {
    const { code, j } = await verify([az(f), '--nonce', CHALLENGE, '--relax', 'collateral']);
    assert.equal(code, 0, `${f}: ${JSON.stringify(j.errors)}`);
    assert.equal(j.kind, 'tpm');
    assert.equal(j.checks['quote_signature'], 'ok');
    assert.equal(j.checks['nonce'], 'ok');
    assert.equal(j.checks['pcr_digest'], 'ok');
    assert.equal(j.checks['ak_trust'], 'ok');
    assert.equal(j.checks['cvm.hcl_report_data'], 'ok');
    assert.equal(j.checks['cvm.hcl_td_report'], 'ok');
    assert.equal(j.checks['cvm.pck_chain'], 'ok');
    const trust = j.claims['ak_trust'] as { reason: string; cvm: { report: string } };
    assert.equal(trust.reason, 'cvm_report');
    assert.equal(trust.cvm.report, 'azure-hcl-tdx');
    assert.equal(pcr0(j), PCR0.tdx);
    assert.deepEqual((j as unknown as { relaxed: string[] }).relaxed, ['collateral']);
    assert.equal((j.trust as { anchor?: { subject: string } }).anchor?.subject, INTEL_ROOT);
  }
});

test('the same quote from separate files (--signature, --pcrs, --hcl-report, --td-quote)', async (t) => {
  const dir = tempDir(t, 'mrstack-az-');
  const q = JSON.parse(readFileSync(az('trustee-az-tdx.tpm-quote-v1.json'), 'utf8')) as {
    message: string;
    signature: string;
    pcrs: string[];
  };
  const attest = join(dir, 'quote.bin');
  const sig = join(dir, 'sig.bin');
  const pcrs = join(dir, 'pcrs.json');
  writeFileSync(attest, Buffer.from(q.message, 'hex'));
  writeFileSync(sig, Buffer.from(q.signature, 'hex'));
  writeFileSync(pcrs, JSON.stringify({ sha256: q.pcrs }));
  const base = [attest, '--signature', sig, '--pcrs', pcrs, '--relax', 'collateral'];
  const hclArgs = ['--hcl-report', az('trustee-az-tdx.hcl-report.bin'), '--td-quote', az('trustee-az-tdx.td-quote.bin')]; // prettier-ignore
  const ok = await verify([...base, ...hclArgs, '--nonce', CHALLENGE]);
  assert.equal(ok.code, 0, JSON.stringify(ok.j.errors));
  assert.equal((ok.j.claims['ak_trust'] as { reason: string }).reason, 'cvm_report');
  assert.equal(pcr0(ok.j), PCR0.tdx);
  // trustee's negatives: the reversed nonce, and PCR0 with its first bit flipped.
  const nonce = await verify([...base, ...hclArgs, '--nonce', Buffer.from('egnellahc').toString('hex')]); // prettier-ignore
  assert.equal(nonce.code, 1);
  assert.equal(nonce.j.checks['nonce'], 'failed');
  assert.ok(nonce.j.errors.some((e) => e.code === 'ERR_NONCE_MISMATCH'));
  const bad = [...q.pcrs];
  bad[0] = (parseInt(bad[0]!.slice(0, 2), 16) ^ 1).toString(16).padStart(2, '0') + bad[0]!.slice(2);
  writeFileSync(pcrs, JSON.stringify({ sha256: bad }));
  const p = await verify([...base, ...hclArgs, '--nonce', CHALLENGE]);
  assert.equal(p.code, 1);
  assert.equal(p.j.checks['pcr_digest'], 'failed');
  assert.ok(p.j.errors.some((e) => e.code === 'ERR_BINDING_MISMATCH' && e.check === 'pcr_digest'));
  // Without the HCL report nothing vouches for the quote: no AK at all (exit 1, typed).
  writeFileSync(pcrs, JSON.stringify({ sha256: q.pcrs }));
  const none = await verify([...base, '--nonce', CHALLENGE]);
  assert.equal(none.code, 1);
  assert.equal(none.j.verified, false);
});

test('trustee az-snp-vtpm evidence (v1, v2): the vTPM AK is trusted through the verified SNP report', async () => {
  const v1 = await verify([az('trustee-az-snp-vtpm.evidence-v1.json'), '--nonce', CHALLENGE, '--relax', 'crl']); // prettier-ignore
  assert.equal(v1.code, 0, JSON.stringify(v1.j.errors));
  assert.equal((v1.j.claims['ak_trust'] as { reason: string; cvm: { report: string } }).cvm.report, 'azure-hcl-snp'); // prettier-ignore
  assert.equal(v1.j.checks['cvm.report_signature'], 'ok');
  assert.equal(v1.j.checks['cvm.hcl_report_data'], 'ok');
  assert.equal(pcr0(v1.j), PCR0.snpV1);
  assert.deepEqual((v1.j as unknown as { relaxed: string[] }).relaxed, ['crl']);
  const v2 = await verify([az('trustee-az-snp-vtpm.evidence-v2.json'), '--nonce', SNP_V2_NONCE, '--relax', 'crl']); // prettier-ignore
  assert.equal(v2.code, 0, JSON.stringify(v2.j.errors));
  assert.equal(pcr0(v2.j), PCR0.snpV2);
  // trustee v2 also puts the nonce in the HCL user-data (its test_verify_user_data).
  const ud = (v2.j.claims['cvm'] as { hcl: { runtime_claims: Record<string, string> } }).hcl
    .runtime_claims['user-data'];
  assert.ok(ud?.toLowerCase().startsWith(SNP_V2_NONCE), ud);
  // No AMD CRL and no --relax crl: the CVM report is not fully verified, so neither is the AK.
  const strict = await verify([az('trustee-az-snp-vtpm.evidence-v1.json'), '--nonce', CHALLENGE]);
  assert.equal(strict.code, 1);
  assert.equal(strict.j.checks['cvm.crl'], 'skipped');
  assert.equal(strict.j.checks['ak_trust'], 'failed');
  assert.ok(strict.j.errors.some((e) => e.code === 'ERR_CHECK_SKIPPED' && e.check === 'cvm.crl'));
  assert.ok(strict.j.errors.some((e) => e.code === 'ERR_UNTRUSTED_KEY' && e.check === 'ak_trust'));
});

test('a malformed Azure vTPM container is exit 2 naming the member', async (t) => {
  const dir = tempDir(t, 'mrstack-az-');
  const doc = JSON.parse(readFileSync(az('trustee-az-tdx-vtpm.evidence-v1.json'), 'utf8')) as {
    tpm_quote: { message: string };
    version: number;
  };
  doc.tpm_quote.message = 'xyz';
  const f = join(dir, 'bad.json');
  writeFileSync(f, JSON.stringify(doc));
  const r = await runCliJson(['evidence', 'verify', f, '--json']);
  assert.equal(r.result.code, 2);
  const e = cliError(r.json);
  assert.equal(e.code, 'ERR_BAD_JSON');
  assert.match(JSON.stringify(e), /tpm_quote\.message/);
  doc.version = 7;
  writeFileSync(f, JSON.stringify(doc));
  const v = await runCliJson(['evidence', 'verify', f, '--json']);
  assert.equal(v.result.code, 2);
  assert.match(JSON.stringify(cliError(v.json)), /version/);
});

test('evidence show of an Azure vTPM container: the quote and, as claims.cvm, the HCL report', async () => {
  const tdxShow = await runCliJson(['evidence', 'show', az('trustee-az-tdx-vtpm.evidence-v1.json'), '--json']); // prettier-ignore
  assert.equal(tdxShow.result.code, 0, tdxShow.result.stderr);
  const t = tdxShow.json as { kind: string; claims: Record<string, unknown> };
  assert.equal(t.kind, 'tpm');
  assert.equal(t.claims['extra_data'], CHALLENGE);
  assert.equal(t.claims['container'], 'trustee-az-tdx-vtpm');
  const cvm = t.claims['cvm'] as Record<string, unknown>;
  assert.equal(cvm['format'], 'azure-hcl-tdreport');
  assert.equal(
    cvm['mrtd'],
    '024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b',
  );
  const snpShow = await runCliJson(['evidence', 'show', az('trustee-az-snp-vtpm.evidence-v1.json'), '--json']); // prettier-ignore
  assert.equal(snpShow.result.code, 0, snpShow.result.stderr);
  const s = (snpShow.json as { claims: Record<string, unknown> }).claims;
  assert.equal(s['container'], 'trustee-az-snp-vtpm');
  assert.equal((s['cvm'] as { hcl: { report_type: string } }).hcl.report_type, 'snp');
});
