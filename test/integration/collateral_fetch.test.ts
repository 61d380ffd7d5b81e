// `mrstack collateral fetch` against a local mock of Intel PCS v4 and AMD KDS (127.0.0.1, port
// 0) serving the shared collateral captures: what lands in the cache is byte-identical to what
// was served, a second fetch before nextUpdate sends no request, a fetch after it refreshes,
// KDS 429 + Retry-After is honoured and requests are spaced, and `evidence verify` uses the
// cache entry.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../_support/paths.js';
import { cliError, runCliJson, verifyEvidenceJson } from '../_support/cli.js';
import { serveHttpForTest } from '../_support/http.js';
import { tempDir } from '../_support/tmp.js';
import { runTool } from '../_support/peers.js';

/** The earliest `Not After` of the certificates in a PEM bundle, as openssl prints them. */
function earliestNotAfter(pemFile: string): string {
  const p7 = runTool('openssl', ['crl2pkcs7', '-nocrl', '-certfile', pemFile]);
  const text = runTool('openssl', ['pkcs7', '-print_certs', '-noout', '-text'], p7).toString();
  const ends = [...text.matchAll(/Not After : (.+ GMT)/g)].map((m) => Date.parse(m[1]!));
  assert.equal(ends.length, 2, 'ASK and ARK');
  return new Date(Math.min(...ends)).toISOString();
}

const pcs = (f: string): Buffer => readFileSync(fixture('evidence', 'tdx', 'gotdx-2023-pcs', f));
const snp = (f: string): Buffer => readFileSync(fixture('evidence', 'snp', f));

const CHIP =
  '3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d';

interface Hit {
  readonly path: string;
  readonly t: number;
}

/** The PCS and KDS mock, served until test `t` ends; `hits` records every request. */
async function startMock(t: TestContext): Promise<{ base: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  let vcekCalls = 0;
  const tcbChain = encodeURIComponent(
    pcs('gotdx-2023.tcb-signing-issuer-chain.pem').toString('latin1'),
  );
  const crlChain = encodeURIComponent(
    pcs('gotdx-2023.pck-crl-issuer-chain.pem').toString('latin1'),
  );
  const base = await serveHttpForTest(t, (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.push({ path: `${url.pathname}${url.search}`, t: Date.now() });
    const send = (body: Buffer, headers: Record<string, string> = {}): void => {
      res.writeHead(200, headers);
      res.end(body);
    };
    const p = url.pathname;
    if (p === '/tdx/certification/v4/tcb' && url.searchParams.get('fmspc') === '50806f000000') {
      send(pcs('gotdx-v4-spr-e4.tcbinfo-50806f000000.json'), { 'TCB-Info-Issuer-Chain': tcbChain });
    } else if (p === '/tdx/certification/v4/qe/identity') {
      send(pcs('gotdx-2023.qe-identity.json'), { 'SGX-Enclave-Identity-Issuer-Chain': tcbChain });
    } else if (p === '/sgx/certification/v4/pckcrl' && url.searchParams.get('ca') === 'platform') {
      send(pcs('gotdx-2023.pck-crl-platform.der'), { 'SGX-PCK-CRL-Issuer-Chain': crlChain });
    } else if (p === '/sgx/certification/v4/rootcacrl') {
      // PCCS serves the root CA CRL as hex text.
      send(Buffer.from(pcs('gotdx-2023.root-ca-crl.der').toString('hex')));
    } else if (p === `/vcek/v1/Milan/${CHIP}`) {
      const q = url.searchParams;
      if (
        q.get('blSPL') !== '2' ||
        q.get('teeSPL') !== '0' ||
        q.get('snpSPL') !== '5' ||
        q.get('ucodeSPL') !== '68'
      ) {
        res.writeHead(400);
        res.end();
      } else if (vcekCalls++ === 0) {
        res.writeHead(429, { 'Retry-After': '1' });
        res.end();
      } else send(snp('gosevguest-milan-v2.vcek.der'));
    } else if (p === '/vcek/v1/Milan/cert_chain') {
      send(snp('amd-milan.ask-ark.pem'));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return { base, hits };
}

interface FetchJson {
  dir: string;
  fetched: string[];
  cached: string[];
  requests: number;
  warnings: string[];
  next_update?: string;
}

/**
 * `collateral fetch --kind <kind> <flags> --cache <cache> --json` with a fresh cache directory
 * that lives as long as test `t`.
 */
function fetchCommand(
  t: TestContext,
  kind: 'tdx' | 'snp',
  flags: readonly string[],
): { args: string[]; cache: string } {
  const cache = tempDir(t, 'mrstack-coll-');
  return {
    args: ['collateral', 'fetch', '--kind', kind, ...flags, '--cache', cache, '--json'],
    cache,
  };
}

test('TDX: PCS v4 responses land in the cache byte-exact; no request before nextUpdate', async (t) => {
  const mock = await startMock(t);
  const { args, cache } = fetchCommand(t, 'tdx', ['--fmspc', '50806F000000', '--pccs', mock.base]);
  const first = await runCliJson([...args, '--at', '2023-06-20T00:00:00Z']);
  assert.equal(first.result.code, 0, first.result.stderr);
  const j = first.json as FetchJson;
  assert.deepEqual(j.fetched, ['tcb_info', 'qe_identity', 'pck_crl_platform', 'root_ca_crl']);
  assert.ok(j.warnings.some((w) => w.includes('processor')));
  assert.equal(j.dir, join(cache, 'tdx', '50806f000000'));
  // Each cache file holds exactly the bytes the mock served.
  for (const [file, served] of [
    ['tcb_info.json', 'gotdx-v4-spr-e4.tcbinfo-50806f000000.json'],
    ['qe_identity.json', 'gotdx-2023.qe-identity.json'],
    ['pck_crl_platform.der', 'gotdx-2023.pck-crl-platform.der'],
    ['root_ca_crl.der', 'gotdx-2023.root-ca-crl.der'],
    ['tcb_signing_issuer_chain.pem', 'gotdx-2023.tcb-signing-issuer-chain.pem'],
    ['pck_crl_platform_issuer_chain.pem', 'gotdx-2023.pck-crl-issuer-chain.pem'],
  ] as const)
    assert.deepEqual(readFileSync(join(j.dir, file)), pcs(served), file);
  assert.ok(
    !existsSync(join(j.dir, 'qe_identity_issuer_chain.pem')),
    'the identical QE chain is stored once',
  );
  // The earliest nextUpdate is the QE identity's (2023-07-08T07:24:59Z).
  assert.equal(j.next_update, '2023-07-08T07:24:59.000Z');

  // `evidence verify` reads the entry as a directory of PCS responses: every collateral check
  // holds for the TDX-1 quote at the time go-tdx-guest pins.
  const v = await verifyEvidenceJson(fixture('evidence', 'tdx', 'gotdx-v4-spr-e4.quote.bin'), {
    collateral: j.dir,
    at: '2023-07-01T01:00:00Z',
  });
  const checks = v.json.checks;
  for (const c of ['tcb_info', 'qe_identity', 'pck_crl', 'root_ca_crl'])
    assert.equal(checks[c], 'ok', c);

  const hitsBefore = mock.hits.length;
  const second = await runCliJson([...args, '--at', '2023-07-01T00:00:00Z']);
  const j2 = second.json as FetchJson;
  assert.equal(j2.requests, 0);
  assert.equal(mock.hits.length, hitsBefore, 'no request at all (the 404 is remembered too)');
  assert.ok(j2.cached.includes('tcb_info') && j2.cached.includes('qe_identity'));

  const third = await runCliJson([...args, '--at', '2023-07-10T00:00:00Z']);
  const j3 = third.json as FetchJson;
  assert.ok(j3.fetched.includes('qe_identity'), 'stale after its nextUpdate');
  assert.ok(j3.cached.includes('tcb_info'), 'TCB info is fresh until 2023-07-18');
});

test('SNP: KDS VCEK and chain cached; 429 + Retry-After honoured; requests spaced; verify uses the cache', async (t) => {
  const mock = await startMock(t);
  const { args, cache } = fetchCommand(t, 'snp', [
    '--report',
    fixture('evidence', 'snp', 'gosevguest-milan-v2.report.bin'),
    '--product',
    'milan',
    '--kds-url',
    mock.base,
    '--min-interval',
    '200',
    '--at',
    '2022-10-01T00:00:00Z',
  ]);
  const first = await runCliJson(args);
  assert.equal(first.result.code, 0, first.result.stderr);
  const j = first.json as FetchJson;
  assert.deepEqual(j.fetched, ['vcek', 'cert_chain']);
  assert.equal(j.requests, 4, 'VCEK (429), VCEK, cert_chain, crl');
  const vcekHits = mock.hits.filter((h) => h.path.startsWith(`/vcek/v1/Milan/${CHIP}?`));
  assert.equal(vcekHits.length, 2);
  assert.ok(vcekHits[1]!.t - vcekHits[0]!.t >= 950, 'waited for Retry-After: 1');
  for (let i = 1; i < mock.hits.length; i++) {
    assert.ok(
      mock.hits[i]!.t - mock.hits[i - 1]!.t >= 190,
      'requests are spaced by --min-interval',
    );
  }
  assert.equal(j.dir, join(cache, 'snp', 'milan', `${CHIP}_bl02_tee00_snp05_ucode68`));
  assert.deepEqual(readFileSync(join(j.dir, 'vcek.der')), snp('gosevguest-milan-v2.vcek.der'));
  assert.deepEqual(readFileSync(join(j.dir, 'cert_chain.pem')), snp('amd-milan.ask-ark.pem'));
  // The chain is fresh until its first certificate expires: the earliest notAfter openssl reads.
  const meta = JSON.parse(readFileSync(`${j.dir}.meta.json`, 'utf8')) as {
    items: Record<string, { next_update?: string }>;
  };
  assert.equal(
    meta.items['cert_chain']?.next_update,
    earliestNotAfter(fixture('evidence', 'snp', 'amd-milan.ask-ark.pem')),
  );

  const n = mock.hits.length;
  const again = await runCliJson(args);
  const j2 = again.json as FetchJson;
  assert.deepEqual(j2.cached, ['vcek', 'cert_chain']);
  assert.equal(j2.requests, 0);
  assert.equal(mock.hits.length, n, 'no request at all');

  const v = await verifyEvidenceJson(fixture('evidence', 'snp', 'gosevguest-milan-v2.report.bin'), {
    collateral: j.dir,
    at: '2022-09-24T01:00:00Z',
    // The mock serves no CRL (404) and the capture's nonce is not known: both relaxed by name.
    relax: ['nonce', 'crl'],
  });
  assert.equal(v.result.code, 0, v.result.stdout);
  assert.equal(v.json.verified, true);
  assert.deepEqual(v.json.relaxed, ['crl', 'nonce']);
});

test('KDS rate limit that never lifts → ERR_RATE_LIMITED (exit 3)', async (t) => {
  const kds = await serveHttpForTest(t, (_req, res) => {
    res.writeHead(429, { 'Retry-After': '3600' });
    res.end();
  });
  const { args } = fetchCommand(t, 'snp', [
    '--chip-id',
    CHIP,
    '--reported-tcb',
    'bl=2,tee=0,snp=5,ucode=68',
    '--product',
    'milan',
    '--kds-url',
    kds,
    '--min-interval',
    '0',
  ]);
  const r = await runCliJson(args);
  assert.equal(r.result.code, 3);
  assert.equal(cliError(r.json).code, 'ERR_RATE_LIMITED');
});
