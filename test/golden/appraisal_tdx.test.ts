// Real TDX captures appraised (issue 13, Must show). dcap-qvl's v4 quote with its complete
// collateral at the pinned time dcap-qvl's test uses (2025-07-19T10:00:34Z, UpToDate) and its
// REPORTDATA as the nonce is affirming under a policy written from the values its PROVENANCE
// lists (test/fixtures/evidence/tdx, shared evidence PROVENANCE "TDX-4"); one changed RTMR1 makes
// it contraindicated, pointing at rtmr1. Without collateral it cannot be affirming (the TCB
// rule is unproven: none). trustee's debug-TD quote is contraindicated under the default policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../_support/paths.js';
import { runCliJson } from '../_support/cli.js';
import { tempDir } from '../_support/tmp.js';

const F = join(REPO_ROOT, 'test', 'fixtures', 'evidence', 'tdx');
interface Out {
  status: string;
  findings: { id: string; status: string; claim: string; expected?: unknown; actual?: unknown }[];
}
const ap = async (args: string[]): Promise<{ code: number | null; json: Out }> => {
  const { result, json } = await runCliJson(['appraise', ...args, '--json']);
  return { code: result.code, json: json as Out };
};

const V4 = {
  mrtd: '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7',
  mrseam:
    '5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1',
  td_attributes: '0000001000000000',
  xfam: 'e702060000000000',
  rtmr0:
    '44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0',
  rtmr1:
    '0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378',
  rtmr2:
    'd833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132',
  reportData:
    '9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20',
};

test('dcap-qvl TDX v4 with full collateral at its pinned time: affirming; a changed RTMR1 contraindicated', async (t) => {
  const dir = tempDir(t, 'mrstack-appraise-real-');
  const policy = (rtmr1: string): string => {
    const f = join(dir, `p-${rtmr1.slice(0, 8)}.json`);
    writeFileSync(
      f,
      JSON.stringify({
        version: 1,
        name: 'dcapqvl-v4',
        tcb: { accept: ['UpToDate'] },
        tdx: {
          mrtd: [V4.mrtd],
          mrseam: [V4.mrseam],
          td_attributes: [V4.td_attributes],
          xfam: [V4.xfam],
          debug: false,
        },
        registers: {
          rtmr0: [V4.rtmr0],
          rtmr1: [rtmr1],
          rtmr2: [V4.rtmr2],
          rtmr3: ['00'.repeat(48)],
        },
      }),
    );
    return f;
  };
  const base = [
    join(F, 'dcapqvl-v4-b0c06f.quote.bin'),
    '--collateral',
    join(F, 'dcapqvl-v4-b0c06f.collateral.json'),
    '--at',
    '2025-07-19T10:00:34Z',
    '--nonce',
    V4.reportData,
  ];
  const ok = await ap([...base, '--policy', policy(V4.rtmr1)]);
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.equal(ok.json.status, 'affirming');
  for (const id of ['tcb.up-to-date', 'tdx.mrtd.match', 'replay.rtmr1.match', 'nonce.match'])
    assert.ok(
      ok.json.findings.some((f) => f.id === id),
      id,
    );

  const changed = `ff${V4.rtmr1.slice(2)}`;
  const bad = await ap([...base, '--policy', policy(changed)]);
  assert.equal(bad.code, 1);
  assert.equal(bad.json.status, 'contraindicated');
  const f = bad.json.findings[0]!;
  assert.deepEqual(
    [f.id, f.claim, f.actual, f.expected],
    ['replay.rtmr1.mismatch', 'rtmr1', V4.rtmr1, [changed]],
  );

  // no collateral: the TCB status is unproven, so the verdict is none, never affirming
  const nc = await ap([
    join(F, 'dcapqvl-v4-b0c06f.quote.bin'),
    '--no-collateral',
    '--at',
    '2025-07-19T10:00:34Z',
    '--nonce',
    V4.reportData,
    '--policy',
    policy(V4.rtmr1),
  ]);
  assert.equal(nc.code, 1);
  assert.equal(nc.json.status, 'none');
  assert.ok(nc.json.findings.some((x) => x.id === 'claim.unproven' && x.claim === 'tcb_status'));
});

test("trustee's debug-TD quote is contraindicated under the default policy", async () => {
  // trustee's expected claims for this quote: td_attributes.debug true
  // pinned: the quote's PCK certificate expires 2030-02-07 (time bomb under the real clock)
  const r = await ap([
    join(F, 'trustee-v4-debug-td.quote.bin'),
    '--no-collateral',
    '--at',
    '2025-01-01T00:00:00Z',
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.json.status, 'contraindicated');
  assert.deepEqual(
    r.json.findings.filter((f) => f.status === 'contraindicated').map((f) => [f.id, f.claim]),
    [['tdx.td.debug', 'td_attributes.debug']],
  );
});
