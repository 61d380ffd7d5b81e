// Forgery suite — attacks that keep Intel's signatures intact (issue #12): Intel's signed TCB info
// and QE identity (go-tdx-guest's 2023 PCS responses for the TDX-1 quote, see
// test/fixtures/evidence/tdx/PROVENANCE.md) with a second `tcbInfo` / `enclaveIdentity` member,
// placed after the signed one and before it. The signature still covers the genuine member;
// a parser that keeps the other copy would evaluate a forged TCB. Each attack runs through the
// CLI and must be refused (exit 2, ERR_BAD_JSON naming the duplicate's JSON path, never
// `verified: true`); the control — the genuine files — gets past the signature checks to the TCB
// evaluation and fails there as go-tdx-guest says it does (ERR_TCB_MISMATCH, exit 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../../../_support/paths.js';
import {
  cliError,
  verifyEvidenceJson,
  runCliJson,
  evidenceVerifyArgs,
} from '../../../_support/cli.js';

const PCS = fixture('evidence', 'tdx', 'gotdx-2023-pcs');
const QUOTE = fixture('evidence', 'tdx', 'gotdx-v4-spr-e4.quote.bin');
const TCB_FILE = 'gotdx-v4-spr-e4.tcbinfo-50806f000000.json';
const QE_FILE = 'gotdx-2023.qe-identity.json';
const AT = '2023-07-01T01:00:00Z';

/** A copy of the PCS directory with one file replaced. */
function pcsWith(file: string, text: string): string {
  const d = mkdtempSync(join(tmpdir(), 'mrstack-forgery-'));
  cpSync(PCS, d, { recursive: true });
  writeFileSync(join(d, file), text);
  return d;
}

/** The genuine member as an object, with every TCB level replaced by one all-zero UpToDate level. */
function forgedTcbInfo(genuine: string): string {
  const t = (JSON.parse(genuine) as { tcbInfo: Record<string, unknown> }).tcbInfo;
  const zero = Array.from({ length: 16 }, () => ({ svn: 0 }));
  return JSON.stringify({
    ...t,
    tcbLevels: [
      {
        tcb: { sgxtcbcomponents: zero, pcesvn: 0, tdxtcbcomponents: zero },
        tcbDate: '2023-02-15T00:00:00Z',
        tcbStatus: 'UpToDate',
      },
    ],
  });
}

function forgedQeIdentity(genuine: string): string {
  const q = (JSON.parse(genuine) as { enclaveIdentity: Record<string, unknown> }).enclaveIdentity;
  return JSON.stringify({
    ...q,
    tcbLevels: [{ tcb: { isvsvn: 0 }, tcbDate: '2023-02-15T00:00:00Z', tcbStatus: 'UpToDate' }],
  });
}

/** `{"<key>":signed,"signature":…}` with the forged member appended after, or put before. */
function withDuplicate(
  genuine: string,
  key: string,
  forged: string,
  where: 'after' | 'before',
): string {
  const body = genuine.trim();
  return where === 'after'
    ? `${body.slice(0, -1)},"${key}":${forged}}`
    : `{"${key}":${forged},${body.slice(1)}`;
}

test('control: the genuine PCS files pass every signature and fail the TCB check (exit 1)', async () => {
  const { result, json } = await verifyEvidenceJson(QUOTE, {
    collateral: PCS,
    at: AT,
    relax: ['nonce'],
  });
  assert.equal(result.code, 1, result.stderr);
  assert.equal(json.verified, false);
  for (const c of ['pck_chain', 'pck_crl', 'root_ca_crl', 'tcb_info', 'qe_identity'])
    assert.equal(json.checks[c], 'ok', c);
  assert.deepEqual(
    json.errors.map((e) => [e.check, e.code]),
    [['tcb', 'ERR_TCB_MISMATCH']],
  );
});

for (const [file, key, forge] of [
  [TCB_FILE, 'tcbInfo', forgedTcbInfo],
  [QE_FILE, 'enclaveIdentity', forgedQeIdentity],
] as const) {
  for (const where of ['after', 'before'] as const) {
    test(`a second "${key}" member ${where} Intel's signed one is refused (ERR_BAD_JSON, exit 2)`, async (t) => {
      const genuine = readFileSync(join(PCS, file), 'utf8');
      const doctored = withDuplicate(genuine, key, forge(genuine), where);
      // The doctored text is JSON that JSON.parse accepts, keeping the last copy.
      const last = (JSON.parse(doctored) as Record<string, unknown>)[key];
      assert.equal(JSON.stringify(last) === forge(genuine), where === 'after');
      const dir = pcsWith(file, doctored);
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const { result, json } = await runCliJson([
        ...evidenceVerifyArgs(QUOTE, { collateral: dir, at: AT, relax: ['nonce'] }),
        '--json',
      ]);
      assert.equal(result.code, 2, result.stdout);
      assert.notEqual((json as { verified?: unknown }).verified, true);
      const err = cliError(json);
      assert.equal(err.code, 'ERR_BAD_JSON');
      assert.match(String(err['field']), new RegExp(`\\$\\.${key}\\b`));
    });
  }
}
