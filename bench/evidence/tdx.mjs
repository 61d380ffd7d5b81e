#!/usr/bin/env node
// TDX quote verification rate per core, as a verifier service runs it: collateral parsed once,
// chains/CRLs/collateral signatures checked once and cached, then per quote the two P-256
// verifications (quote, QE report), the QE binding hash and the time-window checks.
// Beside it, in the same run: raw node:crypto P-256 verify, and @phala/dcap-qvl-web (Rust/WASM)
// on the same quote and collateral when it is installed.
//
// Usage: npx tsc -p tsconfig.json && node bench/evidence/tdx.mjs [--seconds N] [--json]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verify as nodeVerify, createPublicKey } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (p) => join(root, 'dist', 'src', p);
const { TdxQuoteVerifier } = await import(dist('verifier/verify/tdx_verifier.js'));
const { parseTdxCollateralFiles } = await import(dist('verifier/collateral/tdx_collateral.js'));
const { parseTdxQuote } = await import(dist('formats/tdx/quote.js'));

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1]) || 2;
const asJson = args.includes('--json');
const fx = (n) => join(root, 'test', 'fixtures', 'evidence', 'tdx', n);
const quote = new Uint8Array(readFileSync(fx('dcapqvl-v4-b0c06f.quote.bin')));
const collateralText = readFileSync(fx('dcapqvl-v4-b0c06f.collateral.json'));
const at = new Date('2025-07-19T10:00:34Z');

// The measurements run interleaved (short rounds of each in turn) so that a busy machine slows
// them alike; rates are per second of one core (Node runs them on one thread).
const fns = {};

// mrstack, cached verifier (a service): parse each quote and verify it. The PCK chain, CRL and
// collateral signatures are checked once; a repeated QE report signature is remembered too.
const collateral = parseTdxCollateralFiles(new Map([['c.json', new Uint8Array(collateralText)]]));
const v = new TdxQuoteVerifier();
const first = v.verify(quote, { at, collateral });
if (!first.verified || first.tcbStatus !== 'UpToDate') {
  throw new Error(`bench quote does not verify: ${JSON.stringify(first.errors)}`);
}
const expectVerified = (r) => {
  if (!r.verified) throw new Error('verification failed');
};
fns.mrstack_cached = () => expectVerified(v.verify(quote, { at, collateral }));

// The same without remembering QE report signatures: two P-256 verifications per quote (what
// quotes from many different platforms cost once their chains are cached).
const v2 = new TdxQuoteVerifier({ cacheQeReports: false });
fns.mrstack_cached_2verify = () => expectVerified(v2.verify(quote, { at, collateral }));

// mrstack, cold: a new verifier and a fresh collateral parse per quote (nothing cached).
fns.mrstack_cold = () => {
  const c = parseTdxCollateralFiles(new Map([['c.json', new Uint8Array(collateralText)]]));
  expectVerified(new TdxQuoteVerifier().verify(quote, { at, collateral: c }));
};

// Raw node:crypto P-256 verification of the quote signature (key object made once).
const q = parseTdxQuote(quote);
const spki = Buffer.concat([
  Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex'),
  q.attestationKey,
]);
const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
fns.raw_p256_verify = () => {
  if (!nodeVerify('sha256', q.signedBytes, { key, dsaEncoding: 'ieee-p1363' }, q.signature)) {
    throw new Error('raw');
  }
};

// @phala/dcap-qvl-web (Rust → WASM, wasm-bindgen "web" target) initialised by hand from the
// .wasm bytes, so it runs offline in Node. It verifies chain, CRLs and collateral on every call.
const notes = {};
try {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('@phala/dcap-qvl-web/package.json'));
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const mod = await import(join(pkgDir, pkg.module ?? pkg.main));
  const wasmName = (pkg.files ?? []).find((f) => f.endsWith('.wasm')) ?? 'dcap-qvl-web_bg.wasm';
  await mod.default({ module_or_path: readFileSync(join(pkgDir, wasmName)) });
  const coll = JSON.parse(collateralText.toString('utf8'));
  const nowSecs = BigInt(Math.floor(at.getTime() / 1000));
  const out = mod.js_verify(quote, coll, nowSecs);
  const status = out?.status ?? out?.get?.('status');
  if (status !== 'UpToDate') throw new Error(`dcap-qvl-web said ${JSON.stringify(out)}`);
  fns.dcap_qvl_web = () => mod.js_verify(quote, coll, nowSecs);
  notes.dcap_qvl_web = `@phala/dcap-qvl-web ${pkg.version}, status ${status}`;
} catch (e) {
  notes.dcap_qvl_web = `not measured: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
}

for (const f of Object.values(fns)) for (let i = 0; i < 20; i++) f(); // warm up
const spent = Object.fromEntries(Object.keys(fns).map((k) => [k, { ms: 0, n: 0 }]));
const deadline = performance.now() + seconds * 1000 * Object.keys(fns).length;
while (performance.now() < deadline) {
  for (const [k, f] of Object.entries(fns)) {
    const reps = k === 'dcap_qvl_web' || k === 'mrstack_cold' ? 2 : 40;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f();
    spent[k].ms += performance.now() - t0;
    spent[k].n += reps;
  }
}
const results = Object.fromEntries(
  Object.entries(spent).map(([k, { ms, n }]) => [k, Math.round((n / ms) * 1000)]),
);
results.per_quote_in_raw_verifies = Number(
  (results.raw_p256_verify / results.mrstack_cached).toFixed(2),
);
results.notes = notes;

if (asJson) {
  process.stdout.write(
    `${JSON.stringify({ seconds, node: process.version, ...results }, null, 2)}\n`,
  );
} else {
  for (const [k, x] of Object.entries(results)) {
    if (k === 'notes') continue;
    const text = k.startsWith('per_') ? String(x) : `${x.toLocaleString('en-US')}/s`;
    process.stdout.write(`${k.padEnd(28)} ${text}\n`);
  }
  for (const [k, x] of Object.entries(notes)) process.stdout.write(`note ${k}: ${x}\n`);
  process.stdout.write(`(one core, interleaved rounds, ~${seconds}s each, ${process.version})\n`);
}
