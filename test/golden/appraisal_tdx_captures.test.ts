// Every shared TDX capture (test/fixtures/evidence/tdx, shared evidence PROVENANCE TDX-1…TDX-9)
// appraised against a policy written from the values its PROVENANCE states, with the
// relaxations it needs and no other — and against the same policy with MRTD changed, which must
// be contraindicated pointing at `mrtd`. Each row says whether the capture can be affirming at
// all (docs/appraisal.md "Real TDX captures"): only TDX-4 ships complete collateral for a time
// inside its validity; the others need `--relax collateral`, which leaves the TCB status unproven
// (appraisal `none`, exit 1) and the EAR's hardware and configuration claims 0. A capture whose
// nonce is not published also needs `--relax nonce` (instance-identity 0). All values below are
// copied from the shared PROVENANCE (author-asserted or "computed here" there, with openssl and
// Python), never from mrstack's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appraiseCli, earKeyPair, findingIds, writePolicy } from '../_support/appraise.js';
import { runCliJson } from '../_support/cli.js';
import { fixture } from '../_support/paths.js';
import { tempDir } from '../_support/tmp.js';

const tdx = (f: string): string => fixture('evidence', 'tdx', f);
const Z48 = '00'.repeat(48);
const MRSEAM_TDX1 =
  '2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656';

interface Row {
  readonly name: string;
  readonly file: string;
  readonly at: string;
  readonly flags: readonly string[];
  readonly relax: readonly string[];
  /** The caller's nonce: the REPORTDATA (or its prefix) the PROVENANCE states. */
  readonly nonce?: string;
  /** Policy sections written from the PROVENANCE values. */
  readonly tdx: Readonly<Record<string, unknown>>;
  readonly registers?: Readonly<Record<string, readonly string[]>>;
  /** The best verdict with that policy, and its exit code. */
  readonly best: 'affirming' | 'none' | 'contraindicated';
  /** The EAR claims the relaxations (or the TCB) leave; checked in the signed EAR. */
  readonly vector: Readonly<Record<string, number>>;
}

const ROWS: readonly Row[] = [
  {
    name: 'TDX-1 go-tdx-guest v4 SPR (its 2023 collateral has no matching TCB level)',
    file: tdx('gotdx-v4-spr-e4.quote.bin'),
    at: '2023-07-01T01:00:00Z',
    flags: [],
    relax: ['collateral'],
    nonce:
      '6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113',
    tdx: {
      mrtd: [
        '6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb',
      ],
      mrseam: [MRSEAM_TDX1],
      mrconfigid: [Z48],
      mrowner: [Z48],
      mrownerconfig: [Z48],
      td_attributes: ['0000004000000000'],
      xfam: ['e71a060000000000'],
      debug: false,
    },
    registers: {
      rtmr0: [
        '2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823adf08f833c1e50b51779c6593f32a',
      ],
      rtmr1: [
        '2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b56d035c59107c6bc5800db2cacb61',
      ],
      rtmr2: [
        '8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2287fc7c3bf5c924eb4424e',
      ],
      rtmr3: [Z48],
    },
    best: 'none',
    vector: { 'instance-identity': 2, hardware: 0, configuration: 0, executables: 3 },
  },
  {
    name: 'TDX-2 go-tdx-guest v5 sample (no collateral, nonce not published)',
    file: tdx('gotdx-v5-sample.quote.bin'),
    at: '2026-02-03T01:00:00Z',
    flags: [],
    relax: ['collateral', 'nonce'],
    tdx: {
      mrtd: [
        '7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876',
      ],
    },
    registers: { rtmr3: [Z48] },
    best: 'none',
    vector: { 'instance-identity': 0, hardware: 0, configuration: 0, executables: 3 },
  },
  {
    name: 'TDX-3 GCE COS 113 (its all-zero nonce, no collateral)',
    file: tdx('gotdx-gce-cos113.quote-8000b.bin'),
    at: '2025-01-01T00:00:00Z',
    flags: [],
    relax: ['collateral'],
    nonce: '00'.repeat(64),
    tdx: {
      mrtd: [
        'dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f94a',
      ],
    },
    registers: {
      rtmr0: [
        '3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6',
      ],
      rtmr1: [
        'f62dbc072bd5d3f3438b7b35c39a727f5aea2ffc2473f43723953f530daf62504f0a7944aa62c41a86e8a878c2b122c1',
      ],
      rtmr2: [
        '4969684dc87381fc3b3134176c8d8806eaf0a901859f5f70cfae8d17714b46c10a8de219048c9fc09f11f381a6fbe7c1',
      ],
      rtmr3: [Z48],
    },
    best: 'none',
    vector: { 'instance-identity': 2, hardware: 0, configuration: 0, executables: 3 },
  },
  {
    name: 'TDX-4 dcap-qvl v4 with its complete collateral at its pinned time',
    file: tdx('dcapqvl-v4-b0c06f.quote.bin'),
    at: '2025-07-19T10:00:34Z',
    flags: ['--collateral', tdx('dcapqvl-v4-b0c06f.collateral.json')],
    relax: [],
    nonce:
      '9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20',
    tdx: {
      mrtd: [
        '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7',
      ],
      mrseam: [
        '5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1',
      ],
      td_attributes: ['0000001000000000'],
      xfam: ['e702060000000000'],
      debug: false,
    },
    registers: {
      rtmr0: [
        '44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0',
      ],
      rtmr1: [
        '0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378',
      ],
      rtmr2: [
        'd833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132',
      ],
      rtmr3: [Z48],
    },
    best: 'affirming',
    vector: { 'instance-identity': 2, hardware: 2, configuration: 2, executables: 3 },
  },
  {
    name: 'TDX-5 dcap-qvl v5 outdated (verified collateral, no TCB level matches)',
    file: tdx('dcapqvl-v5-90c06f-outdated.quote.bin'),
    at: '2026-03-20T10:41:14Z',
    flags: ['--collateral', tdx('dcapqvl-v5-90c06f-outdated.collateral.json')],
    relax: [],
    nonce: 'd2142b643598eb5fae2bc8529dd79a558b29f868ccbb6531cb28dab9dce47728',
    tdx: {
      mrtd: [
        '273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd',
      ],
    },
    registers: { rtmr0: [Z48], rtmr1: [Z48], rtmr2: [Z48], rtmr3: [Z48] },
    best: 'contraindicated',
    vector: { hardware: 96 },
  },
  {
    name: 'TDX-6 trustee v4 debug TD (a policy that accepts debug; no collateral)',
    file: tdx('trustee-v4-debug-td.quote.bin'),
    at: '2025-01-01T00:00:00Z',
    flags: [],
    relax: ['collateral'],
    nonce:
      '7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656aeb755da3d44d098c0c87382f3a5f85b45c8a28fee1d3bdb38342bf96671501429',
    tdx: {
      mrtd: [
        '705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031',
      ],
      mrseam: [MRSEAM_TDX1],
      td_attributes: ['0100001000000000'],
      xfam: ['e742060000000000'],
      debug: true,
    },
    registers: {
      rtmr0: [
        'e940da7c2712d2790e2961e00484f4fa8e6f9eed71361655ae22699476b14f9e63867eb41edd4b480fef0c59f496b288',
      ],
      rtmr1: [
        '559cfcf42716ed6c40a48a73d5acb7da255435012f0a9f00fbe8c1c57612ede486a5684c4c9ff3ddf52315fcdca3a596',
      ],
      rtmr2: [Z48],
      rtmr3: [Z48],
    },
    best: 'none',
    vector: { 'instance-identity': 2, hardware: 0, configuration: 0, executables: 3 },
  },
  {
    name: 'TDX-7 trustee v5 (no collateral)',
    file: tdx('trustee-v5.quote.bin'),
    at: '2025-09-01T00:00:00Z',
    flags: [],
    relax: ['collateral'],
    nonce:
      '6d6ab13b046cff606ac0074be13981b07b6325dba10b5facc96febf551c0c3be2b75f92fe1f88f4bb996969ad0174b4b7a70261b7b85c844f4b33a4674fd049f',
    tdx: {
      mrtd: [
        'dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7c9638bfcba422f3886400a',
      ],
      mrconfigid: [Z48],
      mrowner: [Z48],
      mrownerconfig: [Z48],
    },
    best: 'none',
    vector: { 'instance-identity': 2, hardware: 0, configuration: 0, executables: 3 },
  },
  {
    name: 'TDX-7 trustee v4 MRCONFIGID (no collateral, nonce not published)',
    file: tdx('trustee-v4-mrconfigid.quote.bin'),
    at: '2025-09-01T00:00:00Z',
    flags: [],
    relax: ['collateral', 'nonce'],
    tdx: {
      mrtd: [
        '21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46615ba6946adccac6becffbb1e88',
      ],
      mrconfigid: [
        '889abf4718f037e38d74464c11e7c91a6e9890b5546409e1e7df9de7a51ca93152bf847bd2440328e90adb18b150ed67',
      ],
    },
    registers: {
      rtmr2: [
        '193edd321148e81fd4d6ce00ac8331e737febdb428f18ae66f697c1d2a7f2cd97c535c8df9f045f62b16a41facad84a1',
      ],
    },
    best: 'none',
    vector: { 'instance-identity': 0, hardware: 0, configuration: 0, executables: 3 },
  },
  {
    name: 'TDX-8 teekit Azure (its published nonce, no collateral)',
    file: tdx('teekit-v4-azure.quote.b64'),
    at: '2025-09-01T00:00:00Z',
    flags: [],
    relax: ['collateral'],
    nonce: '675b293e4e395b2bfbfb27a1754f5ca1fdca87e1949b3bc4d8ca39a8be195afe',
    tdx: {
      mrtd: [
        'fe27b2aa3a05ec56864c308aff03dd13c189a6112d21e417ec1afe626a8cb9d91482d1379ec02fe6308972950a930d0a',
      ],
      mrconfigid: [Z48],
      mrowner: [Z48],
      mrownerconfig: [Z48],
      td_attributes: ['0000000000000000'],
    },
    registers: { rtmr0: [Z48], rtmr1: [Z48], rtmr2: [Z48], rtmr3: [Z48] },
    best: 'none',
    vector: { 'instance-identity': 2, hardware: 0, configuration: 0, executables: 3 },
  },
  {
    name: 'TDX-8 teekit Edgeless ("Hello from Edgeless Systems!", no collateral)',
    file: tdx('teekit-v4-edgeless.quote.bin'),
    at: '2025-09-01T00:00:00Z',
    flags: [],
    relax: ['collateral'],
    nonce: '48656c6c6f2066726f6d20456467656c6573732053797374656d7321',
    tdx: {
      mrtd: [
        'b65ea009e424e6f761fdd3d7c8962439453b37ecdf62da04f7bc5d327686bb8bafc8a5d24a9c31cee60e4aba87c2f71b',
      ],
    },
    best: 'none',
    vector: { 'instance-identity': 2, hardware: 0, configuration: 0, executables: 3 },
  },
];

const STATUS_CODE = { affirming: 0, none: 1, contraindicated: 1 } as const;

for (const row of ROWS) {
  test(`${row.name}: ${row.best} at best; MRTD changed → contraindicated at mrtd`, async (t) => {
    const dir = tempDir(t, 'mrstack-appraise-capture-');
    const keys = earKeyPair(dir);
    const policy = (mrtd: readonly unknown[]): string =>
      writePolicy(dir, {
        version: 1,
        name: 'from-provenance',
        tcb: { accept: ['UpToDate'] },
        tdx: { ...row.tdx, mrtd },
        ...(row.registers === undefined ? {} : { registers: row.registers }),
      });
    const args = [
      row.file,
      '--at',
      row.at,
      ...row.flags,
      ...(row.nonce === undefined ? [] : ['--nonce', row.nonce]),
      ...(row.relax.length === 0 ? [] : ['--relax', row.relax.join(',')]),
    ];
    const out = { dir, keys, kind: 'tdx', at: row.at };
    const best = await appraiseCli(
      [...args, '--policy', policy(row.tdx['mrtd'] as unknown[])],
      out,
    );
    const ctx = JSON.stringify(best.json.findings);
    assert.equal(best.json.status, row.best, ctx);
    assert.equal(best.code, STATUS_CODE[row.best], ctx);
    // every reference value the PROVENANCE gives matched: no mismatch of any kind
    assert.ok(!findingIds(best.json).some((id) => id.endsWith('.mismatch')), ctx);
    assert.ok(findingIds(best.json).includes('tdx.mrtd.match'), ctx);
    for (const [claim, value] of Object.entries(row.vector))
      assert.equal(best.ear!.vector[claim], value, `${claim} in ${JSON.stringify(best.ear)}`);
    if (row.relax.includes('collateral'))
      assert.ok(
        best.json.findings.some((f) => f.id === 'claim.unproven' && f.claim === 'tcb_status'),
        ctx,
      );

    const other = `ff${(row.tdx['mrtd'] as string[])[0]!.slice(2)}`;
    const bad = await appraiseCli([...args, '--policy', policy([other])], out);
    assert.equal(bad.code, 1);
    assert.equal(bad.json.status, 'contraindicated');
    assert.equal(bad.ear!.status, 'contraindicated');
    assert.equal(bad.ear!.vector['executables'], 96);
    const f = bad.json.findings.find((x) => x.id === 'tdx.mrtd.mismatch');
    assert.ok(f !== undefined, JSON.stringify(bad.json.findings));
    assert.deepEqual([f.claim, f.expected], ['mrtd', [other]]);
    assert.equal(f.actual, (row.tdx['mrtd'] as string[])[0]);
  });
}

test('TDX-9 the TDREPORT cannot be appraised anywhere but on its CPU: ERR_UNSUPPORTED, exit 2', async () => {
  const { result, json } = await runCliJson([
    'appraise',
    tdx('inteldcap-tdreport-sample.tdreport.bin'),
    '--relax',
    'collateral,nonce',
    '--json',
  ]);
  assert.equal(result.code, 2);
  assert.equal((json as { error: { code: string } }).error.code, 'ERR_UNSUPPORTED');
});

test("TDX-1 with its own 2023 collateral: the verified TCB info matches no level (go-tdx-guest: 'no matching TCB level found') → contraindicated", async () => {
  const { result, json } = await runCliJson([
    'appraise',
    tdx('gotdx-v4-spr-e4.quote.bin'),
    '--collateral',
    tdx('gotdx-2023-pcs'),
    '--at',
    '2023-07-01T01:00:00Z',
    '--nonce',
    ROWS[0]!.nonce!,
    '--json',
  ]);
  const j = json as { status: string; findings: { id: string; claim: string; status: string }[] };
  assert.equal(result.code, 1);
  assert.equal(j.status, 'contraindicated');
  assert.deepEqual(
    j.findings.filter((f) => f.status === 'contraindicated').map((f) => [f.id, f.claim]),
    [['tdx.tcb.status-not-allowed', 'tcb_status']],
  );
});
