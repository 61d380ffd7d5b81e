// `mrstack collateral import DIR|FILE` (issue 18): TDX collateral fetched elsewhere goes into the
// cache as `collateral fetch` lays it out, and `evidence verify --collateral <entry>` then uses
// it in a process that has no network at all (`unshare -n`: only a loopback that is down).
// SNP: AMD KDS files (a VCEK, the cert_chain, a CRL) are verified on import and stored as `collateral
// fetch --kind snp` would; the key comes from the VCEK's extensions, checked against the capture's
// PROVENANCE; CRLs are checked against the emulated AMD-style PKI (no AMD CRL is shipped).
// Expected verdicts are the captures' PROVENANCE (shared evidence TDX-4: dcap-qvl's v4 quote with
// its QuoteCollateralV3 is UpToDate at 2025-07-19T10:00:34Z; TDX-1: go-tdx-guest's quote with its
// 2023 PCS responses finds no matching TCB level); file digests are checked with sha256sum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_PATH, fixture } from '../_support/paths.js';
import { runCli, runCliJson } from '../_support/cli.js';
import { emulatedCollateral } from '../../src/providers/emulated/collateral.js';
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

const snp = (f: string): string => fixture('evidence', 'snp', f);

test('collateral import of AMD KDS files (SNP): the VCEK and cert_chain go into the entry collateral fetch writes; evidence verify reads it offline', async (t) => {
  const cache = tempDir(t, 'mrstack-coll-snp-');
  const kds = tempDir(t, 'mrstack-kds-');
  // The files as KDS serves them: /vcek/v1/Milan/<hwid>?… (DER) and /vcek/v1/Milan/cert_chain
  // (ASK then ARK, PEM).
  copyFileSync(snp('gosevguest-milan-v2.vcek.der'), join(kds, 'vcek.der'));
  copyFileSync(snp('amd-milan.ask-ark.pem'), join(kds, 'cert_chain.pem'));
  const imp = await runCliJson(['collateral', 'import', kds, '--cache', cache, '--at', '2022-09-24T01:00:00Z', '--json']); // prettier-ignore
  assert.equal(imp.result.code, 0, imp.result.stderr + imp.result.stdout);
  const r = imp.json as { kind: string; key: string; dir: string; imported: string[] };
  assert.equal(r.kind, 'snp');
  // The key from the VCEK's own extensions: CHIP_ID 3ac3fe21…6b5d and TCB bl 2 tee 0 snp 5
  // ucode 68 (PROVENANCE: the report this VCEK signed).
  assert.match(r.key, /^milan\/3ac3fe21[0-9a-f]{116}6b5d_bl02_tee00_snp05_ucode68$/);
  assert.equal(r.dir, join(cache, 'snp', ...r.key.split('/')));
  assert.deepEqual(r.imported, ['vcek', 'cert_chain']);
  const meta = JSON.parse(readFileSync(`${r.dir}.meta.json`, 'utf8')) as {
    items: Record<string, { file: string; sha256: string }>;
  };
  for (const it of Object.values(meta.items)) {
    const sum = execFileSync('sha256sum', [join(r.dir, it.file)], { encoding: 'utf8' });
    assert.equal(sum.split(' ')[0], it.sha256, it.file);
  }
  // The VCEK is stored byte for byte.
  assert.deepEqual(
    readFileSync(join(r.dir, 'vcek.der')),
    readFileSync(snp('gosevguest-milan-v2.vcek.der')),
  );
  // No AMD CRL is shipped (PROVENANCE): revocation is relaxed by name.
  const ok = offline([
    'evidence', 'verify', snp('gosevguest-milan-v2.report.bin'), '--collateral', r.dir,
    '--at', '2022-09-24T01:00:00Z', '--relax', 'crl', '--nonce', '0102030405',
  ]); // prettier-ignore
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.equal(ok.json['verified'], true);
  for (const c of ['cert_chain', 'report_signature', 'reported_tcb', 'chip_id', 'nonce'])
    assert.equal((ok.json['checks'] as Record<string, string>)[c], 'ok', c);

  // Refused, with nothing written: another product than --product; a Milan VCEK with Genoa's
  // chain; a VCEK that does not chain to SEV-Milan (trustee's "badsig" VCEK).
  const empty = tempDir(t, 'mrstack-coll-snp-bad-');
  const genoa = await runCliJson(['collateral', 'import', kds, '--product', 'genoa', '--cache', empty, '--at', '2022-09-24T01:00:00Z', '--json']); // prettier-ignore
  assert.equal(genoa.result.code, 1, genoa.result.stdout);
  assert.equal((genoa.json as { error: { code: string } }).error.code, 'ERR_CERT_PROFILE');
  const mixed = tempDir(t, 'mrstack-kds-mixed-');
  copyFileSync(snp('gosevguest-milan-v2.vcek.der'), join(mixed, 'vcek.der'));
  copyFileSync(snp('amd-genoa.ask-ark.pem'), join(mixed, 'cert_chain.pem'));
  const mix = await runCliJson(['collateral', 'import', mixed, '--cache', empty, '--at', '2022-09-24T01:00:00Z', '--json']); // prettier-ignore
  assert.equal(mix.result.code, 1, mix.result.stdout);
  assert.equal((mix.json as { error: { code: string } }).error.code, 'ERR_CERT_PROFILE');
  const badsig = await runCliJson(['collateral', 'import', snp('trustee-milan-badsig-new.vcek.der'), '--cache', empty, '--json']); // prettier-ignore
  assert.equal(badsig.result.code, 1, badsig.result.stdout);
  assert.equal((badsig.json as { error: { code: string } }).error.code, 'ERR_CHAIN_INVALID');
  assert.deepEqual(execFileSync('ls', ['-A', empty], { encoding: 'utf8' }), '');
});

test('SNP collateral import with a KDS-style CRL (emulated AMD PKI, trusted with --trust-anchor): the CRL is checked on import and by verify', async (t) => {
  const dir = tempDir(t, 'mrstack-coll-snp-crl-');
  const tvm = join(dir, 'tvm');
  const other = join(dir, 'other');
  for (const s of [tvm, other])
    assert.equal((await runCli(['emulate', 'init', '--profile', 'snp', '--tvm-state', s])).code, 0);
  const rep = await runCli(['report', '--provider', 'emulated', '--tvm-state', tvm, '--nonce', '00112233', '--out', join(dir, 'r.json')]); // prettier-ignore
  assert.equal(rep.code, 0, rep.stderr);
  await runCli(['report', '--provider', 'emulated', '--tvm-state', other, '--nonce', '00', '--out', join(dir, 'o.json')]); // prettier-ignore
  const at = new Date();
  const kds = join(dir, 'kds');
  mkdirSync(kds);
  const keys = join(tvm, 'keys', 'snp');
  copyFileSync(join(keys, 'vcek.pem'), join(kds, 'vcek.pem'));
  writeFileSync(join(kds, 'cert_chain.pem'), readFileSync(join(keys, 'ask.pem')).toString() + readFileSync(join(keys, 'ark.pem')).toString()); // prettier-ignore
  // The ARK's CRL as the emulated PKI issues it for KDS (`emulatedCollateral`).
  writeFileSync(join(kds, 'crl.der'), emulatedCollateral(tvm, { at }).files.get('ark.crl')!);
  const ark = join(keys, 'ark.pem');
  const cache = join(dir, 'cache');
  const imp = await runCliJson(['collateral', 'import', kds, '--cache', cache, '--trust-anchor', ark, '--json']); // prettier-ignore
  assert.equal(imp.result.code, 0, imp.result.stdout);
  const r = imp.json as { key: string; dir: string; imported: string[] };
  assert.deepEqual(r.imported, ['vcek', 'cert_chain', 'crl']);
  // The product's CRL entry, as collateral fetch keeps it.
  const crlMeta = JSON.parse(
    readFileSync(join(cache, 'snp', 'milan', 'crl.meta.json'), 'utf8'),
  ) as {
    items: Record<string, { file: string }>;
  };
  assert.equal(crlMeta.items['crl']?.file, 'crl.der');
  const ok = offline([
    'evidence', 'verify', join(dir, 'r.json'), '--collateral', r.dir, '--trust-anchor', ark,
    '--nonce', '00112233',
  ]); // prettier-ignore
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.equal((ok.json['checks'] as Record<string, string>)['crl'], 'ok');

  // Without the anchor the chain ends in an untrusted root; another TVM's CRL (same issuer name,
  // another key) fails its signature; nothing is written for either.
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const untrusted = await runCliJson(['collateral', 'import', kds, '--cache', empty, '--json']);
  assert.equal(untrusted.result.code, 1);
  assert.equal((untrusted.json as { error: { code: string } }).error.code, 'ERR_UNTRUSTED_ROOT');
  writeFileSync(join(kds, 'crl.der'), emulatedCollateral(other, { at }).files.get('ark.crl')!);
  const foreign = await runCliJson(['collateral', 'import', kds, '--cache', empty, '--trust-anchor', ark, '--json']); // prettier-ignore
  assert.equal(foreign.result.code, 1, foreign.result.stdout);
  assert.equal((foreign.json as { error: { code: string } }).error.code, 'ERR_SIGNATURE_INVALID');
  assert.deepEqual(execFileSync('ls', ['-A', empty], { encoding: 'utf8' }), '');

  // A CRL refresh: the cert_chain and a CRL, no VCEK → only the product's CRL entry. Its ARK must
  // be pinned (here: the anchor), else ERR_UNTRUSTED_ROOT and nothing written.
  const refresh = join(dir, 'refresh');
  mkdirSync(refresh);
  copyFileSync(join(kds, 'cert_chain.pem'), join(refresh, 'cert_chain.pem'));
  writeFileSync(join(refresh, 'crl.der'), emulatedCollateral(tvm, { at }).files.get('ark.crl')!);
  const noAnchor = await runCliJson(['collateral', 'import', refresh, '--cache', empty, '--json']); // prettier-ignore
  assert.equal(noAnchor.result.code, 1, noAnchor.result.stdout);
  assert.equal((noAnchor.json as { error: { code: string } }).error.code, 'ERR_UNTRUSTED_ROOT');
  assert.deepEqual(execFileSync('ls', ['-A', empty], { encoding: 'utf8' }), '');
  const crlOnly = await runCliJson(['collateral', 'import', refresh, '--cache', empty, '--trust-anchor', ark, '--json']); // prettier-ignore
  assert.equal(crlOnly.result.code, 0, crlOnly.result.stdout);
  const c = crlOnly.json as { key: string; imported: string[] };
  assert.equal(c.key, 'milan/crl');
  assert.deepEqual(c.imported, ['crl']);
  assert.deepEqual(
    readFileSync(join(empty, 'snp', 'milan', 'crl', 'crl.der')),
    readFileSync(join(refresh, 'crl.der')),
  );
});

test('SNP collateral import of bad bytes (a truncated VCEK, a PEM block that is no certificate) is a typed error, exit 2, nothing written', async (t) => {
  const empty = tempDir(t, 'mrstack-coll-snp-bytes-');
  const kds = tempDir(t, 'mrstack-kds-bytes-');
  const vcek = readFileSync(snp('gosevguest-milan-v2.vcek.der'));
  writeFileSync(join(kds, 'vcek.der'), vcek.subarray(0, vcek.length - 40));
  const cut = await runCliJson(['collateral', 'import', join(kds, 'vcek.der'), '--cache', empty, '--json']); // prettier-ignore
  assert.equal(cut.result.code, 2, cut.result.stdout + cut.result.stderr);
  // The DER reader names the format, the file and where the element ran out.
  const cutErr = (cut.json as { error: { code: string; format: string; offset: number } }).error;
  assert.equal(cutErr.code, 'ERR_TRUNCATED');
  assert.equal(cutErr.format, 'x509');
  assert.equal(cutErr.offset, vcek.length - 40);
  writeFileSync(
    join(kds, 'cert_chain.pem'),
    '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
  );
  const pem = await runCliJson(['collateral', 'import', join(kds, 'cert_chain.pem'), '--cache', empty, '--json']); // prettier-ignore
  assert.equal(pem.result.code, 2, pem.result.stdout + pem.result.stderr);
  // Nothing in it reads as an AMD certificate or CRL, so it is tried as TDX collateral and
  // refused as such: the message names the TCB info it lacks, why it was read as TDX, and the
  // flag that reads it as SNP.
  const pemErr = (pem.json as { error: { code: string; message: string } }).error;
  assert.equal(pemErr.code, 'ERR_BAD_JSON');
  assert.match(pemErr.message, /TCB info/);
  assert.match(pemErr.message, /no file holds a certificate or CRL with an AMD KDS name/);
  assert.match(pemErr.message, /--kind snp/);
  // Told it is SNP, the same file is refused as a certificate that does not parse.
  const told = await runCliJson(['collateral', 'import', join(kds, 'cert_chain.pem'), '--kind', 'snp', '--cache', empty, '--json']); // prettier-ignore
  assert.equal(told.result.code, 2, told.result.stdout + told.result.stderr);
  const toldErr = (told.json as { error: { code: string; message: string } }).error;
  assert.equal(toldErr.code, 'ERR_UNKNOWN_FORMAT', toldErr.message);
  assert.match(toldErr.message, /expected an AMD KDS certificate/);
  assert.deepEqual(execFileSync('ls', ['-A', empty], { encoding: 'utf8' }), '');
  assert.deepEqual(execFileSync('ls', ['-A', empty], { encoding: 'utf8' }), '');
});
