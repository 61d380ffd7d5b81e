// Forgery suite — a vTPM AK trusted through a verified CVM report (issue #12, DESIGN §6.1:
// "a TPM AK is trusted … if it is bound to a verified CVM report (Azure HCL …)"). Each attack
// edits trustee's real Azure TDX capture (test/fixtures/evidence/azure) and runs `mrstack
// evidence verify` on it (the CLI path): the check that fails, its code, `ak_trust` refused
// with ERR_UNTRUSTED_KEY and exit 1. The control — the unedited capture — verifies, and each
// attack keeps every other check `ok` where it can, so the refusal is for the rule under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runCliJson, type EvidenceVerifyJson } from '../../../_support/cli.js';
import { fixture } from '../../../_support/paths.js';
import { fileWriter } from '../../../_support/tmp.js';

const az = (name: string): string => fixture('evidence', 'azure', name);
const AT = '2026-01-01T00:00:00Z';
const CHALLENGE = Buffer.from('challenge').toString('hex');

const file = fileWriter('mrstack-forge-cvm-');

interface AzTdxDoc {
  version: number;
  tpm_quote: { signature: string; message: string; pcrs: string[] };
  hcl_report: string;
  td_quote: string;
}
const original = (): AzTdxDoc =>
  JSON.parse(readFileSync(az('trustee-az-tdx-vtpm.evidence-v1.json'), 'utf8')) as AzTdxDoc;
const hclOf = (d: AzTdxDoc): Buffer => Buffer.from(d.hcl_report, 'base64url');

async function verify(
  doc: AzTdxDoc | string,
  extra: readonly string[] = [],
): Promise<{ code: number | null; j: EvidenceVerifyJson }> {
  const f = typeof doc === 'string' ? doc : file(JSON.stringify(doc));
  const args = ['evidence', 'verify', f, '--nonce', CHALLENGE, '--at', AT];
  const { result, json } = await runCliJson([...args, '--relax', 'collateral', ...extra, '--json']);
  return { code: result.code, j: json as EvidenceVerifyJson };
}

/** The refusal every attack must end in: ak_trust ERR_UNTRUSTED_KEY, not verified, exit 1. */
function assertUntrusted(
  r: { code: number | null; j: EvidenceVerifyJson },
  cause: string,
): Record<string, unknown> {
  assert.equal(r.code, 1, JSON.stringify(r.j.errors));
  assert.equal(r.j.verified, false);
  assert.equal(r.j.checks['ak_trust'], 'failed');
  const e: Record<string, unknown> = r.j.errors.find((x) => x.check === 'ak_trust') ?? {};
  assert.equal(e['code'], 'ERR_UNTRUSTED_KEY');
  assert.equal(e['cause_code'], cause);
  return e;
}

/** The HCL report with other variable data (sizes in both headers follow it). */
function withVariableData(hcl: Buffer, data: Buffer): Buffer {
  const out = Buffer.concat([hcl.subarray(0, 0x4d4), data]);
  out.writeUInt32LE(0x4d4 + data.length, 8); // header.report_size
  out.writeUInt32LE(data.length + 20, 0x4c0); // runtime.data_size
  out.writeUInt32LE(data.length, 0x4d0); // runtime.variable_data_size
  return out;
}

test('control: the unedited Azure TDX capture verifies, AK trusted by the CVM report', async () => {
  const r = await verify(az('trustee-az-tdx-vtpm.evidence-v1.json'));
  assert.equal(r.code, 0, JSON.stringify(r.j.errors));
  assert.equal((r.j.claims['ak_trust'] as { reason: string }).reason, 'cvm_report');
});

test('HCL variable data that does not match REPORTDATA (trustee: byte 0x880 + 1)', async () => {
  const d = original();
  const hcl = hclOf(d);
  hcl[0x880] = hcl[0x880]! + 1; // inside vm-configuration: HCLAkPub is unchanged
  d.hcl_report = hcl.toString('base64url');
  const r = await verify(d);
  assert.equal(r.j.checks['quote_signature'], 'ok'); // still signed by the published AK
  assert.equal(r.j.checks['cvm.hcl_report_data'], 'failed');
  assert.equal(r.j.checks['cvm.quote_signature'], 'ok');
  assert.ok(r.j.errors.some((e) => e.check === 'cvm.hcl_report_data' && e.code === 'ERR_BINDING_MISMATCH')); // prettier-ignore
  const e = assertUntrusted(r, 'ERR_BINDING_MISMATCH');
  assert.equal(e['cause_check'], 'hcl_report_data');
});

test('an attacker AK written into the HCL runtime claims, the quote re-signed with it', async () => {
  const d = original();
  const hcl = hclOf(d);
  const size = hcl.readUInt32LE(0x4d0);
  const claims = JSON.parse(hcl.subarray(0x4d4, 0x4d4 + size).toString('utf8')) as {
    keys: { kid: string; n: string; e: string }[];
  };
  const mine = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = mine.publicKey.export({ format: 'jwk' });
  const ak = claims.keys.find((k) => k.kid === 'HCLAkPub')!;
  ak.n = jwk.n!;
  ak.e = jwk.e!;
  d.hcl_report = withVariableData(hcl, Buffer.from(JSON.stringify(claims))).toString('base64url');
  const message = Buffer.from(d.tpm_quote.message, 'hex');
  d.tpm_quote.signature = sign('sha256', message, mine.privateKey).toString('hex');
  const r = await verify(d);
  assert.equal(r.j.checks['quote_signature'], 'ok'); // the attacker's key did sign it
  assert.equal(r.j.checks['cvm.hcl_report_data'], 'failed'); // but Intel's quote vouches for other data
  assertUntrusted(r, 'ERR_BINDING_MISMATCH');
});

test("TD body mismatch: the HCL report's TDREPORT is not the one the TD quote was made from", async () => {
  const d = original();
  const hcl = hclOf(d);
  // MRTD: TDINFO offset 16 = TDREPORT offset 528, HCL offset 0x20 + 528; quote body offset 136.
  hcl[0x20 + 528] = hcl[0x20 + 528]! ^ 0x01;
  d.hcl_report = hcl.toString('base64url');
  const r = await verify(d);
  assert.equal(r.j.checks['quote_signature'], 'ok');
  assert.equal(r.j.checks['cvm.hcl_report_data'], 'ok');
  assert.equal(r.j.checks['cvm.hcl_td_report'], 'failed');
  const m = r.j.errors.find((e) => e.check === 'cvm.hcl_td_report') as Record<string, unknown>;
  assert.equal(m['code'], 'ERR_BINDING_MISMATCH');
  assert.equal(m['field'], 'mrtd');
  assert.equal(m['tdreport_offset'], 528);
  assert.equal(m['body_offset'], 136);
  assertUntrusted(r, 'ERR_BINDING_MISMATCH');
});

test('the AK the quote is checked with is not the one in the HCL runtime claims', async () => {
  // An mrstack envelope that names its own ak_public beside the genuine HCL report and TD quote.
  const d = original();
  const mine = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const message = Buffer.from(d.tpm_quote.message, 'hex');
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const env = {
    format: 'mrstack-report-v1',
    kind: 'tpm',
    provider: 'tpm',
    emulated: false,
    nonce: CHALLENGE,
    report_data: CHALLENGE,
    outblob: hex(message),
    parts: {
      signature: hex(sign('sha256', message, mine.privateKey)),
      pcr_values: hex(Buffer.from(JSON.stringify({ sha256: d.tpm_quote.pcrs }))),
      ak_public: hex(Buffer.from(mine.publicKey.export({ format: 'pem', type: 'spki' }))),
      hcl_report: hex(hclOf(d)),
      td_quote: hex(Buffer.from(d.td_quote, 'base64url')),
    },
  };
  const r = await verify(file(JSON.stringify(env)));
  assert.equal(r.j.checks['quote_signature'], 'ok');
  assert.equal(r.j.checks['cvm.hcl_report_data'], 'ok'); // the CVM report itself is genuine
  assert.equal(r.j.checks['cvm.hcl_td_report'], 'ok');
  const e = assertUntrusted(r, 'ERR_BINDING_MISMATCH');
  assert.match(String(e['message']), /not the HCLAkPub/);
  // Without the envelope's ak_public the published AK is used, and the signature fails instead.
  const { ak_public: _drop, ...parts } = env.parts; // eslint-disable-line @typescript-eslint/no-unused-vars
  const r2 = await verify(file(JSON.stringify({ ...env, parts })));
  assert.equal(r2.code, 1);
  assert.equal(r2.j.checks['quote_signature'], 'failed');
  assert.ok(r2.j.errors.some((x) => x.code === 'ERR_SIGNATURE_INVALID'));
});

test('untrusted quote chain: the TD quote does not chain to the anchors the caller gave', async () => {
  // The caller trusts only AMD's Milan ARK: Intel's PCK chain ends nowhere trusted.
  const ark = fixture('evidence', 'snp', 'amd-milan.ask-ark.pem');
  const r = await verify(az('trustee-az-tdx-vtpm.evidence-v1.json'), ['--trust-anchor', ark]);
  assert.equal(r.j.checks['quote_signature'], 'ok');
  assert.equal(r.j.checks['cvm.pck_chain'], 'failed');
  assert.ok(r.j.errors.some((e) => e.check === 'cvm.pck_chain' && e.code === 'ERR_UNTRUSTED_ROOT'));
  assertUntrusted(r, 'ERR_UNTRUSTED_ROOT');
});

test('untrusted chain on SNP: the VCEK does not chain to the anchors the caller gave', async () => {
  const intel = fixture('evidence', 'tdx', 'intel-sgx-root-ca.pem');
  const f = az('trustee-az-snp-vtpm.evidence-v1.json');
  const ok = await verify(f, ['--relax', 'crl']);
  assert.equal(ok.code, 0, JSON.stringify(ok.j.errors));
  const r = await verify(f, ['--relax', 'crl', '--trust-anchor', intel]);
  assert.equal(r.j.checks['cvm.cert_chain'], 'failed');
  // No ASK above the VCEK under the caller's anchors: the chain's own code is the cause.
  const chain = r.j.errors.find((e) => e.check === 'cvm.cert_chain')!;
  assert.ok(['ERR_CHAIN_INVALID', 'ERR_UNTRUSTED_ROOT'].includes(chain.code), chain.code);
  assertUntrusted(r, chain.code);
});
