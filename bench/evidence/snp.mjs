#!/usr/bin/env node
// SEV-SNP report verification rate per core, as a verifier service runs it: the VCEK → ASK →
// ARK chain verified once and cached (SnpChainCache), then per report: parse, one ECDSA P-384
// verify, TCB / hwID comparisons and the validity windows at `at`. Beside it, in the same run:
// the raw node:crypto P-384 verify of the same 672 bytes with a cached KeyObject (the ceiling),
// and an uncached verification (chain rebuilt every time).
//
// Peer: @tinfoilsh/verifier 1.1.0 (the only JS SNP verifier on npm found) can in principle
// verify with a supplied VCEK and no network (CertificateChain.fromReport(report, vcekDer) +
// verifyAttestation), but it builds in only the Genoa ARK/ASK and cannot be installed from this
// registry (its dependency @freedomofpress/tuf-browser@^0.1.11 is not published there), so no
// peer figure is measured here.
//
// Usage: npx tsc -p tsconfig.json && node bench/evidence/snp.mjs [--seconds N] [--json]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verify as nodeVerify, X509Certificate } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (p) => join(root, 'dist', 'src', p);
const { verifySnpReport } = await import(dist('verifier/verify/snp.js'));
const { SnpChainCache } = await import(dist('verifier/verify/snp.js'));
const { parseSnpReport } = await import(dist('formats/snp/report.js'));

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1]) || 2;
const asJson = args.includes('--json');
const fx = (n) =>
  new Uint8Array(readFileSync(join(root, 'test', 'fixtures', 'evidence', 'snp', n)));
const report = fx('trustee-e2e-genoa-v3.report.bin');
const vcek = fx('trustee-e2e-genoa-v3.vcek.der');
const at = new Date('2025-06-01T00:00:00Z');

function rate(fn, warm = 50) {
  for (let i = 0; i < warm; i++) fn();
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  let now = t0;
  while (now < end) {
    for (let i = 0; i < 10; i++) fn();
    n += 10;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - t0) / 1e9);
}

const cache = new SnpChainCache();
const first = verifySnpReport(report, { at, certs: [vcek], cache });
if (!first.verified)
  throw new Error(`bench report does not verify: ${JSON.stringify(first.errors)}`);

const results = {};
const key = new X509Certificate(Buffer.from(vcek)).publicKey;
const parsed = parseSnpReport(report);
const sig = Buffer.concat([parsed.signature_r, parsed.signature_s]);
const signed = report.subarray(0, 0x2a0);
// Interleave the two so machine noise hits both alike; report the median of 3 rounds.
const raw = [];
const cached = [];
for (let round = 0; round < 3; round++) {
  raw.push(rate(() => nodeVerify('sha384', signed, { key, dsaEncoding: 'ieee-p1363' }, sig)));
  cached.push(
    rate(() => {
      if (!verifySnpReport(report, { at, certs: [vcek], cache }).verified)
        throw new Error('failed');
    }),
  );
}
const med = (a) => [...a].sort((x, y) => x - y)[1];
results['raw P-384 crypto.verify (cached KeyObject)'] = med(raw);
results['mrstack verifySnpReport, chain cached'] = med(cached);
results['mrstack verifySnpReport, no cache (chain each time)'] = rate(
  () => verifySnpReport(report, { at, certs: [vcek] }),
  10,
);
// On a noisy machine the fairest comparison alternates the two, call by call.
let tRaw = 0;
let tOurs = 0;
const pairs = Math.max(200, Math.round(seconds * 150));
for (let i = 0; i < pairs; i++) {
  let t = process.hrtime.bigint();
  nodeVerify('sha384', signed, { key, dsaEncoding: 'ieee-p1363' }, sig);
  tRaw += Number(process.hrtime.bigint() - t);
  t = process.hrtime.bigint();
  verifySnpReport(report, { at, certs: [vcek], cache });
  tOurs += Number(process.hrtime.bigint() - t);
}
results['interleaved: raw P-384 verify'] = (pairs * 1e9) / tRaw;
results['interleaved: mrstack verifySnpReport, chain cached'] = (pairs * 1e9) / tOurs;
const ratio = tRaw / tOurs;

if (asJson) {
  console.log(
    JSON.stringify(
      {
        seconds,
        per_core_per_s: results,
        cached_vs_raw: ratio,
        peer: 'none installable (see header)',
      },
      null,
      2,
    ),
  );
} else {
  for (const [k, v] of Object.entries(results))
    console.log(`${k.padEnd(52)} ${v.toFixed(0).padStart(7)} /s`);
  console.log(
    `${'cached / raw (interleaved call by call)'.padEnd(52)} ${(ratio * 100).toFixed(1).padStart(6)} %  (goal >= 90 %)`,
  );
  console.log('peer @tinfoilsh/verifier: not installable here (missing dependency), see header');
}
