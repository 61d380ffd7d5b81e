// `mrstack collateral import DIR|FILE` (issue 18): TDX collateral fetched elsewhere goes into the
// cache as `collateral fetch` lays it out, and `evidence verify --collateral <entry>` then uses
// it in a process that has no network at all (`unshare -n`: only a loopback that is down).
// Expected verdicts are the captures' PROVENANCE (shared evidence TDX-4: dcap-qvl's v4 quote with
// its QuoteCollateralV3 is UpToDate at 2025-07-19T10:00:34Z; TDX-1: go-tdx-guest's quote with its
// 2023 PCS responses finds no matching TCB level); file digests are checked with sha256sum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_PATH, fixture } from '../_support/paths.js';
import { runCliJson } from '../_support/cli.js';
import { tempDir } from '../_support/tmp.js';

const tdx = (f: string): string => fixture('evidence', 'tdx', f);

/** `mrstack ARGS --json` in a new network namespace (no interface is up). */
function offline(args: readonly string[]): { code: number | null; json: Record<string, unknown> } {
  const r = spawnSync('unshare', ['-n', process.execPath, CLI_PATH, ...args, '--json'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, json: JSON.parse(r.stdout) as Record<string, unknown> };
}

test('collateral import: a QuoteCollateralV3 file and a directory of PCS responses become cache entries that evidence verify reads offline', async (t) => {
  const cache = tempDir(t, 'mrstack-coll-import-');
  // the sandbox really has no network: a name does not resolve there
  const probe = spawnSync('unshare', ['-n', process.execPath, '-e',
    "require('dns').lookup('api.trustedservices.intel.com', (e) => process.exit(e ? 7 : 0))"]); // prettier-ignore
  assert.equal(probe.status, 7);

  const v3 = await runCliJson([
    'collateral', 'import', tdx('dcapqvl-v4-b0c06f.collateral.json'), '--cache', cache,
    '--at', '2025-07-19T10:00:00Z', '--json',
  ]); // prettier-ignore
  assert.equal(v3.result.code, 0, v3.result.stderr);
  const r = v3.json as { key: string; dir: string; imported: string[]; warnings: string[] };
  assert.equal(r.key, 'b0c06f000000'); // FMSPC B0C06F000000 (PROVENANCE TDX-4)
  assert.equal(r.dir, join(cache, 'tdx', 'b0c06f000000'));
  assert.deepEqual(r.imported.sort(), [
    'pck_crl_platform', 'pck_crl_platform_issuer_chain', 'qe_identity', 'root_ca_crl',
    'tcb_info', 'tcb_info_issuer_chain',
  ]); // prettier-ignore
  assert.deepEqual(r.warnings, []); // every item is current at 10:00:00 (PCK CRL until 10:00:35)
  // the meta records each file's SHA-256 as sha256sum computes it
  const meta = JSON.parse(readFileSync(`${r.dir}.meta.json`, 'utf8')) as {
    items: Record<string, { file: string; sha256: string; url: string }>;
  };
  for (const it of Object.values(meta.items)) {
    const sum = execFileSync('sha256sum', [join(r.dir, it.file)], { encoding: 'utf8' });
    assert.equal(sum.split(' ')[0], it.sha256, it.file);
    assert.match(it.url, /^import:\/.*dcapqvl-v4-b0c06f\.collateral\.json$/);
  }
  const ok = offline([
    'evidence', 'verify', tdx('dcapqvl-v4-b0c06f.quote.bin'), '--collateral', r.dir,
    '--at', '2025-07-19T10:00:34Z', '--nonce',
    '9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20',
  ]); // prettier-ignore
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.equal(ok.json['verified'], true);
  assert.equal(ok.json['tcbStatus'], 'UpToDate');
  for (const c of ['tcb_info', 'qe_identity', 'pck_crl', 'root_ca_crl', 'tcb'])
    assert.equal((ok.json['checks'] as Record<string, string>)[c], 'ok', c);

  // a directory of PCS responses (go-tdx-guest's 2023 set): stale today, and it says so
  const dir = await runCliJson([
    'collateral', 'import', tdx('gotdx-2023-pcs'), '--cache', cache, '--json',
  ]); // prettier-ignore
  assert.equal(dir.result.code, 0, dir.result.stderr);
  const d = dir.json as { key: string; dir: string; warnings: string[] };
  assert.equal(d.key, '50806f000000'); // FMSPC 50806f000000 (PROVENANCE TDX-1)
  assert.ok(
    d.warnings.some((w) => w.startsWith('tcb_info is past its nextUpdate 2023-07-18T08:42:58')),
  );
  const tcb = offline([
    'evidence', 'verify', tdx('gotdx-v4-spr-e4.quote.bin'), '--collateral', d.dir,
    '--at', '2023-07-01T01:00:00Z', '--relax', 'nonce',
  ]); // prettier-ignore
  assert.equal(tcb.code, 1);
  const errors = tcb.json['errors'] as { code: string; check: string }[];
  assert.deepEqual(
    errors.filter((e) => e.code !== 'ERR_CHECK_SKIPPED').map((e) => [e.check, e.code]),
    [['tcb', 'ERR_TCB_MISMATCH']],
  );
});

test('collateral import refuses what is not TDX collateral (exit 2) and writes nothing', async (t) => {
  const cache = tempDir(t, 'mrstack-coll-import-bad-');
  const r = await runCliJson([
    'collateral', 'import', tdx('dcapqvl-v4-b0c06f.quote.bin'), '--cache', cache, '--json',
  ]); // prettier-ignore
  assert.equal(r.result.code, 2);
  assert.equal((r.json as { error: { code: string } }).error.code, 'ERR_BAD_JSON');
  assert.deepEqual(execFileSync('ls', ['-A', cache], { encoding: 'utf8' }), '');
});
