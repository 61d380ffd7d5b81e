// What collateral failures tell people (issue 18): a fetch that cannot reach its server says why
// (refused; TLS with a certificate openssl made that nobody trusts) and the offline route; the
// --collateral help names what SNP takes, and an SNP directory of certificates is taken; an
// expired-collateral result ends with a hint naming --at and collateral fetch. Expected: the
// go-tdx-guest 2023 PCS responses expired in 2023-2024 (their nextUpdate), so at 2025-01-01 the
// four collateral checks fail as expired.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runCli, runCliJson, type EvidenceVerifyJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';
import { tempDir } from '../../_support/tmp.js';

// The captures' certificates expire (VCEKs and PCK certificates 2030-2032): every verification
// here runs at a pinned time inside all their validity periods, never the real clock.
const AT = ['--at', '2026-01-01T00:00:00Z'] as const;

/** A TCP port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('collateral fetch without a server: the cause (refused, TLS) and the offline route', async (t) => {
  const dir = tempDir(t, 'mrstack-coll-');
  const port = await closedPort();
  const refused = await runCli([
    'collateral', 'fetch', '--kind', 'tdx', '--fmspc', '00806f050000',
    '--pcs-url', `http://127.0.0.1:${port}`, '--cache', join(dir, 'cache'),
  ]); // prettier-ignore
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /ERR_IO: .*the connection was refused \(ECONNREFUSED\)/);
  assert.match(refused.stderr, /--collateral DIR/);
  assert.match(refused.stderr, /mrstack collateral import DIR\|FILE/);

  // An HTTPS server whose certificate (self-signed, by openssl) the fetcher does not trust.
  const key = join(dir, 'k.pem');
  const cert = join(dir, 'c.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-days', '2',
  ], { stdio: 'ignore' }); // prettier-ignore
  const https = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_q, s) =>
    s.end('{}'),
  );
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  t.after(() => https.close());
  const tls = await runCliJson([
    'collateral', 'fetch', '--kind', 'tdx', '--fmspc', '00806f050000',
    '--pcs-url', `https://127.0.0.1:${(https.address() as AddressInfo).port}`,
    '--cache', join(dir, 'cache'), '--json',
  ]); // prettier-ignore
  assert.equal(tls.result.code, 3);
  const e = (tls.json as { error: { code: string; message: string; network: string } }).error;
  assert.equal(e.code, 'ERR_IO');
  assert.match(e.network, /^TLS: .*SELF_SIGNED/);
  assert.match(e.message, /collateral fetch on a machine that has one/);
});

test('--collateral help names what SNP takes; an SNP directory of certificates is taken', async (t) => {
  const help = await runCli(['evidence', 'verify', '--help']);
  assert.match(help.stdout.replace(/\s+/g, ' '), /SNP: a directory or file of certificates/);
  const dir = tempDir(t, 'mrstack-coll-');
  copyFileSync(fixture('evidence', 'snp', 'trustee-milan-v2.vcek.der'), join(dir, 'vcek.der'));
  const { result, json } = await runCliJson([
    'evidence', 'verify', ...AT, fixture('evidence', 'snp', 'trustee-milan-v2.report.bin'),
    '--collateral', dir, '--relax', 'crl,nonce', '--json',
  ]); // prettier-ignore
  assert.equal(result.code, 0, result.stdout);
  assert.equal((json as EvidenceVerifyJson).checks['report_signature'], 'ok');
});

test('expired collateral: the result ends with a hint naming --at and collateral fetch', async () => {
  const tdx = (n: string): string => fixture('evidence', 'tdx', n);
  const args = [
    'evidence', 'verify', tdx('gotdx-v4-spr-e4.quote.bin'), '--collateral', tdx('gotdx-2023-pcs'),
    '--at', '2025-01-01T00:00:00Z', '--relax', 'nonce',
  ]; // prettier-ignore
  const j = await runCliJson([...args, '--json']);
  const expired = (j.json as EvidenceVerifyJson).errors
    .filter((e) => e.code === 'ERR_CERT_EXPIRED')
    .map((e) => e.check)
    .sort();
  assert.deepEqual(expired, ['pck_crl', 'qe_identity', 'root_ca_crl', 'tcb_info']);
  const r = await runCli([...args, '--wide']);
  assert.equal(r.code, 1);
  const hint = r.stdout.split('\n').filter((l) => l.startsWith('hint'));
  assert.equal(hint.length, 1, r.stdout);
  assert.match(hint[0]!, /collateral is not current at 2025-01-01T00:00:00\.000Z/);
  assert.match(hint[0]!, /mrstack collateral fetch --kind tdx/);
  assert.match(hint[0]!, /--at ISO-TIME/);
});
