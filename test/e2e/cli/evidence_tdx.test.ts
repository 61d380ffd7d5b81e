// The built CLI: `evidence show|verify` on TDX captures (binary, base64, hex; collateral as a
// directory or one JSON) with the JSON contract and exit codes, and `report` on the emulated
// tdx profile feeding `evidence verify --trust-emulated`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { runTool } from '../../_support/peers.js';
import { fixture } from '../../_support/paths.js';
import { tempDir } from '../../_support/tmp.js';
import {
  cliError,
  evidenceVerifyArgs,
  runCli,
  runCliJson,
  verifyEvidenceJson,
} from '../../_support/cli.js';

const f = (...p: string[]): string => fixture('evidence', 'tdx', ...p);

test('evidence verify --json: TDX-4 with QuoteCollateralV3 → exit 0, UpToDate, §7 names', async () => {
  const { result, json: r } = await verifyEvidenceJson(f('dcapqvl-v4-b0c06f.quote.bin'), {
    collateral: f('dcapqvl-v4-b0c06f.collateral.json'),
    at: '2025-07-19T10:00:34Z',
    relax: ['nonce'],
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(r.relaxed, ['nonce']);
  assert.equal(r.verified, true);
  assert.equal(r.kind, 'tdx');
  assert.equal(r.tcbStatus, 'UpToDate');
  assert.deepEqual(r.advisories, []);
  assert.deepEqual(r.errors, []);
  assert.equal(
    r.claims['mrtd'],
    '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7',
  );
  assert.equal(r.claims['rtmr3'], '00'.repeat(48));
  assert.equal(r.claims['tee_tcb_svn'], '06010300000000000000000000000000');
  assert.equal(typeof r.claims['report_data'], 'string');
  assert.equal(r.trust.emulated, false);
});

test('evidence verify: TDX-1 with a PCS directory → exit 1 (no TCB level); expired → exit 1', async () => {
  const quote = f('gotdx-v4-spr-e4.quote.bin');
  const { result, json } = await verifyEvidenceJson(quote, {
    collateral: f('gotdx-2023-pcs'),
    at: '2023-07-01T01:00:00Z',
    relax: ['nonce'],
  });
  assert.equal(result.code, 1);
  assert.deepEqual(
    json.errors.map((e) => e.code),
    ['ERR_TCB_MISMATCH'],
  );
  const late = await verifyEvidenceJson(quote, {
    collateral: false,
    at: '2053-07-01T01:00:00Z',
    relax: ['nonce'],
  });
  assert.equal(late.result.code, 1);
  assert.deepEqual(
    late.json.errors.map((e) => e.code),
    ['ERR_CERT_EXPIRED'],
  );
});

test('evidence verify: base64 and hex text input, --nonce; missing collateral and bad input → exit 2', async (t) => {
  const tmp = tempDir(t, 'mrstack-tdx-cli-');
  const at = '2025-09-01T00:00:00Z';
  const b64 = await verifyEvidenceJson(f('teekit-v4-azure.quote.b64'), {
    collateral: false,
    at,
    nonce: '675b293e4e395b2bfbfb27a1754f5ca1fdca87e1949b3bc4d8ca39a8be195afe',
  });
  assert.equal(b64.result.code, 0, b64.result.stdout);
  const hexFile = join(tmp, 'quote.hex');
  writeFileSync(hexFile, readFileSync(f('teekit-v4-edgeless.quote.bin')).toString('hex'));
  const hex = await verifyEvidenceJson(hexFile, { collateral: false, at, nonce: '00' });
  assert.equal(hex.result.code, 1);
  assert.deepEqual(
    hex.json.errors.map((e) => e.code),
    ['ERR_NONCE_MISMATCH'],
  );
  const missing = await verifyEvidenceJson(f('teekit-v4-edgeless.quote.bin'));
  assert.equal(missing.result.code, 2);
  assert.equal(cliError(missing.json).code, 'ERR_COLLATERAL_MISSING');
  const trunc = join(tmp, 'trunc.bin');
  writeFileSync(trunc, readFileSync(f('teekit-v4-edgeless.quote.bin')).subarray(0, 700));
  const bad = await runCliJson(['evidence', 'show', trunc, '--json']);
  assert.equal(bad.result.code, 2);
  assert.equal(cliError(bad.json).code, 'ERR_TRUNCATED');
  const badAt = await runCli(['evidence', 'verify', trunc, '--at', 'yesterday']);
  assert.equal(badAt.code, 2, badAt.stderr);
});

test('evidence show decodes without verifying (v5, TDX 1.5 fields)', async () => {
  const { result, json } = await runCliJson([
    'evidence',
    'show',
    f('gotdx-v5-sample.quote.bin'),
    '--json',
  ]);
  assert.equal(result.code, 0);
  const r = json as { kind: string; claims: Record<string, unknown> };
  assert.equal(r.kind, 'tdx');
  assert.equal(r.claims['version'], 5);
  assert.equal(r.claims['tee_tcb_svn2'], '0d010400000000000000000000000000');
  assert.equal(r.claims['mrservicetd'], '00'.repeat(48));
  // The PCK certificate's platform identity (teekit asserts FMSPC and PCESVN for this quote).
  const t = await runCliJson(['evidence', 'show', f('trustee-v5.quote.bin'), '--json']);
  const pck = (t.json as { claims: { pck: Record<string, unknown> } }).claims.pck;
  assert.equal(pck['fmspc'], '90c06f000000');
  assert.equal(pck['pcesvn'], 13);
});

test('report on the emulated tdx profile → evidence verify --trust-emulated', async (t) => {
  const tmp = tempDir(t, 'mrstack-tdx-report-');
  const state = join(tmp, 'tvm');
  const init = await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', state]);
  assert.equal(init.code, 0, init.stderr);
  const out = join(tmp, 'evidence.json');
  const rep = await runCliJson([
    'report',
    '--nonce',
    'c0ffee',
    '--tvm-state',
    state,
    '--out',
    out,
    '--json',
  ]);
  assert.equal(rep.result.code, 0, rep.result.stderr);
  assert.equal((rep.json as { kind: string }).kind, 'tdx');
  const ok = await verifyEvidenceJson(out, {
    trustEmulated: true,
    tvmState: state,
    nonce: 'c0ffee',
  });
  const r = ok.json;
  assert.equal(ok.result.code, 0, ok.result.stdout);
  assert.equal(r.verified, true);
  assert.equal(r.tcbStatus, 'UpToDate');
  assert.equal(r.trust.root, 'mrstack Emulated SGX Root CA');
  assert.equal(r.trust.emulated, true);
  // trust.anchor is the TVM root's SPKI SHA-256, as openssl extracts the key.
  const rootPem = join(state, 'keys', 'tdx', 'root.pem');
  const pub = runTool('openssl', ['x509', '-in', rootPem, '-noout', '-pubkey']);
  const spki = runTool('openssl', ['pkey', '-pubin', '-outform', 'DER'], pub);
  assert.equal(r.trust.anchor?.sha256, createHash('sha256').update(spki).digest('hex'));
  const no = await verifyEvidenceJson(out);
  assert.equal(no.result.code, 1);
  assert.equal(no.json.errors[0]!.code, 'ERR_UNTRUSTED_ROOT');
  // With --user-data the report data is the SHA-512 binding; verify needs both.
  const out2 = join(tmp, 'evidence2.json');
  await runCli([
    'report',
    '--nonce',
    'c0ffee',
    '--user-data',
    'abcd',
    '--tvm-state',
    state,
    '--out',
    out2,
  ]);
  const both = await runCli(
    evidenceVerifyArgs(out2, {
      trustEmulated: true,
      tvmState: state,
      nonce: 'c0ffee',
      userData: 'abcd',
    }),
  );
  assert.equal(both.code, 0, both.stdout);
  const nonceOnly = await runCli(
    evidenceVerifyArgs(out2, { trustEmulated: true, tvmState: state, nonce: 'c0ffee' }),
  );
  assert.equal(nonceOnly.code, 1);
});
