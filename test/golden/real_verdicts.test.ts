// The verdict table (issue #12): every shared real capture that `mrstack evidence verify`
// accepts, run through the CLI with its pinned `--at` (a time inside every validity window its
// PROVENANCE.md states) and the relaxations it needs — and no other. Each row asserts the
// verdict and, where the provenance states one, the TCB status; every relaxation named must
// appear in `relaxed` (so each is really needed and really used), and the same run without the
// relaxations must refuse with ERR_CHECK_SKIPPED naming them (so none is decoration).
//
// Why the relaxations: several TDX captures come without collateral (`collateral`); no AMD KDS
// CRL is shipped (`crl`); most captures' nonces are not published (`nonce`).
//
// Rows not here: the GCE TPM quotes (verified through their AK certificate chain) are the TPM
// AK owner's, in test/golden/tpm_gce_ak_chain.test.ts; captures whose provenance asserts a
// refusal (TDX-1 with its 2023 PCS collateral, TDX-5: ERR_TCB_MISMATCH) are in
// test/golden/tdx_evidence.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCliJson, type EvidenceVerifyJson } from '../_support/cli.js';
import { fixture } from '../_support/paths.js';

interface Row {
  readonly name: string;
  readonly file: string;
  readonly at: string;
  /** Extra flags: --cert, --collateral, --trust-anchor, --nonce. */
  readonly flags: readonly string[];
  /** In the vocabulary's order (collateral, crl, nonce, unverified-anchor, missing-checkpoint). */
  readonly relax: readonly string[];
  readonly tcbStatus?: string;
}

const tdx = (f: string): string => fixture('evidence', 'tdx', f);
const snp = (f: string): string => fixture('evidence', 'snp', f);
const cca = (f: string): string => fixture('evidence', 'cca', f);

const ROWS: readonly Row[] = [
  // TDX (test/fixtures/evidence/tdx/PROVENANCE.md)
  {
    name: 'TDX-1 go-tdx-guest v4 SPR',
    file: tdx('gotdx-v4-spr-e4.quote.bin'),
    at: '2023-07-01T01:00:00Z',
    flags: [],
    relax: ['collateral', 'nonce'],
  },
  {
    name: 'TDX-2 go-tdx-guest v5 sample',
    file: tdx('gotdx-v5-sample.quote.bin'),
    at: '2026-02-03T01:00:00Z',
    flags: [],
    relax: ['collateral', 'nonce'],
  },
  {
    name: 'TDX-3 GCE COS 113',
    file: tdx('gotdx-gce-cos113.quote-8000b.bin'),
    at: '2025-01-01T00:00:00Z',
    flags: [],
    relax: ['collateral', 'nonce'],
  },
  {
    name: 'TDX-4 dcap-qvl v4 with its QuoteCollateralV3',
    file: tdx('dcapqvl-v4-b0c06f.quote.bin'),
    at: '2025-07-19T10:00:34Z',
    flags: ['--collateral', tdx('dcapqvl-v4-b0c06f.collateral.json')],
    relax: ['nonce'],
    tcbStatus: 'UpToDate',
  },
  {
    name: 'TDX-6 trustee v4 debug TD',
    file: tdx('trustee-v4-debug-td.quote.bin'),
    at: '2025-01-01T00:00:00Z',
    flags: [],
    relax: ['collateral', 'nonce'],
  },
  {
    name: 'TDX-7 trustee v5',
    file: tdx('trustee-v5.quote.bin'),
    at: '2025-09-01T00:00:00Z',
    flags: [],
    relax: ['collateral', 'nonce'],
  },
  {
    name: 'TDX-8 trustee v4 MRCONFIGID',
    file: tdx('trustee-v4-mrconfigid.quote.bin'),
    at: '2025-09-01T00:00:00Z',
    flags: [],
    relax: ['collateral', 'nonce'],
  },
  {
    name: 'teekit v4 Edgeless',
    file: tdx('teekit-v4-edgeless.quote.bin'),
    at: '2025-09-01T00:00:00Z',
    flags: [],
    relax: ['collateral', 'nonce'],
  },
  {
    name: 'teekit v4 Azure (base64, its published nonce)',
    file: tdx('teekit-v4-azure.quote.b64'),
    at: '2025-09-01T00:00:00Z',
    flags: ['--nonce', '675b293e4e395b2bfbfb27a1754f5ca1fdca87e1949b3bc4d8ca39a8be195afe'],
    relax: ['collateral'],
  },
  // SNP (test/fixtures/evidence/snp/PROVENANCE.md): built-in AMD roots, no KDS CRL shipped
  {
    name: 'SNP-1 go-sev-guest Milan v2 (its nonce)',
    file: snp('gosevguest-milan-v2.report.bin'),
    at: '2022-09-24T01:00:00Z',
    flags: ['--cert', snp('gosevguest-milan-v2.vcek.der'), '--nonce', '0102030405'],
    relax: ['crl'],
  },
  {
    name: 'SNP-2 virtee Milan v2 (hex)',
    file: snp('virtee-milan-v2.report.hex'),
    at: '2024-01-01T00:00:00Z',
    flags: ['--cert', snp('virtee-milan-v2.vcek.der')],
    relax: ['crl', 'nonce'],
  },
  {
    name: 'SNP-3 trustee Milan v2',
    file: snp('trustee-milan-v2.report.bin'),
    at: '2024-01-01T00:00:00Z',
    flags: ['--cert', snp('trustee-milan-v2.vcek.der')],
    relax: ['crl', 'nonce'],
  },
  {
    name: 'SNP-4 trustee Genoa v3',
    file: snp('trustee-e2e-genoa-v3.report.bin'),
    at: '2025-06-01T00:00:00Z',
    flags: ['--cert', snp('trustee-e2e-genoa-v3.vcek.der')],
    relax: ['crl', 'nonce'],
  },
  {
    name: 'SNP-5 teekit GCP v5 (report data)',
    file: snp('teekit-gcp-milan-v5-reportdata.report.bin'),
    at: '2026-01-01T00:00:00Z',
    flags: ['--cert', snp('teekit-gcp-milan-v5.vcek.pem')],
    relax: ['crl', 'nonce'],
  },
  {
    name: 'SNP-5 teekit GCP v5 (zero report data)',
    file: snp('teekit-gcp-milan-v5-zero.report.bin'),
    at: '2026-01-01T00:00:00Z',
    flags: ['--cert', snp('teekit-gcp-milan-v5.vcek.pem')],
    relax: ['crl', 'nonce'],
  },
  {
    name: 'SNP-6 Azure SNP report',
    file: snp('trustee-azure-milan-v2.report.bin'),
    at: '2024-01-01T00:00:00Z',
    flags: ['--cert', snp('trustee-azure-milan-v2.vcek-chain.pem')],
    relax: ['crl', 'nonce'],
  },
  // CCA (test/fixtures/evidence/cca/PROVENANCE.md): the platform key is the caller's anchor
  {
    name: 'CCA-1 TF-RMM legacy token, TF-M CPAK',
    file: cca('tfrmm-legacy.cca-token.cbor'),
    at: '2025-01-01T00:00:00Z',
    flags: ['--trust-anchor', cca('tfm-cpak.pub.pem')],
    relax: ['nonce'],
  },
  {
    name: 'CCA-2 rust-cca token 02',
    file: cca('rustcca-token02.cca-token.cbor'),
    at: '2025-01-01T00:00:00Z',
    flags: ['--trust-anchor', cca('rustcca-token02.ta-ok.json')],
    relax: ['nonce'],
  },
  {
    name: 'CCA-3 rust-cca FFM00 token',
    file: cca('rustcca-ffm00.cca-token.cbor'),
    at: '2025-01-01T00:00:00Z',
    flags: ['--trust-anchor', cca('rustcca-tfa.ta.json')],
    relax: ['nonce'],
  },
];

async function verify(
  row: Row,
  relax: readonly string[],
): Promise<{ code: number | null; json: EvidenceVerifyJson }> {
  const { result, json } = await runCliJson([
    'evidence',
    'verify',
    row.file,
    '--at',
    row.at,
    ...row.flags,
    ...(relax.length === 0 ? [] : ['--relax', relax.join(',')]),
    '--json',
  ]);
  return { code: result.code, json: json as EvidenceVerifyJson };
}

for (const row of ROWS) {
  test(`${row.name}: verified at ${row.at} with --relax ${row.relax.join(',') || '(none)'}`, async () => {
    const ok = await verify(row, row.relax);
    assert.equal(ok.code, 0, JSON.stringify(ok.json.errors));
    assert.equal(ok.json.verified, true);
    assert.equal(ok.json.trust.emulated, false);
    assert.ok(ok.json.trust.anchor?.sha256.match(/^[0-9a-f]{64}$/), 'trust.anchor is named');
    assert.deepEqual(ok.json.relaxed, [...row.relax]);
    if (row.tcbStatus !== undefined) assert.equal(ok.json.tcbStatus, row.tcbStatus);
    // Without the relaxations: refused, each skipped check naming the relaxation it needs.
    // (TDX without collateral and without `collateral` is bad input: ERR_COLLATERAL_MISSING.)
    const strict = await verify(row, []);
    if (row.relax.includes('collateral') && row.file.includes('/tdx/')) {
      assert.equal(strict.code, 2);
    } else {
      assert.equal(strict.code, 1, JSON.stringify(strict.json));
      const named = new Set(
        strict.json.errors
          .filter((e) => e.code === 'ERR_CHECK_SKIPPED')
          .map((e) => (e as unknown as { relax?: string }).relax),
      );
      assert.deepEqual([...named].sort(), [...row.relax].sort());
    }
  });
}
