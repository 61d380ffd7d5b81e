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

function rate(fn) {
  for (let i = 0; i < 200; i++) fn(); // warm up
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  let now = t0;
  while (now < end) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - t0) / 1e9);
}

const results = {};

// mrstack, cached verifier (a service): parse the quote and verify it, per call.
const collateral = parseTdxCollateralFiles(new Map([['c.json', new Uint8Array(collateralText)]]));
const v = new TdxQuoteVerifier();
const first = v.verify(quote, { at, collateral });
if (!first.verified || first.tcbStatus !== 'UpToDate')
  throw new Error(`bench quote does not verify: ${JSON.stringify(first.errors)}`);
results.mrstack_cached = rate(() => {
  const r = v.verify(quote, { at, collateral });
  if (!r.verified) throw new Error('verification failed');
});

// mrstack, cold: a new verifier and collateral parse per quote (no caching at all).
results.mrstack_cold = rate(() => {
  const c = parseTdxCollateralFiles(new Map([['c.json', new Uint8Array(collateralText)]]));
  const r = new TdxQuoteVerifier().verify(quote, { at, collateral: c });
  if (!r.verified) throw new Error('verification failed');
});

// Raw node:crypto P-256 verification of the quote signature (key object made once).
const q = parseTdxQuote(quote);
const spki = Buffer.concat([
  Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex'),
  q.attestationKey,
]);
const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
results.raw_p256_verify = rate(() => {
  if (!nodeVerify('sha256', q.signedBytes, { key, dsaEncoding: 'ieee-p1363' }, q.signature))
    throw new Error('raw');
});

// @phala/dcap-qvl-web, if installed: a wasm-bindgen "web" target initialised by hand.
try {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('@phala/dcap-qvl-web/package.json'));
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const mod = await import(join(pkgDir, pkg.module ?? pkg.main));
  const wasmFile = readFileSync(
    join(pkgDir, (pkg.files ?? []).find((f) => f.endsWith('.wasm')) ?? 'dcap-qvl-web_bg.wasm'),
  );
  await mod.default({ module_or_path: wasmFile });
  const coll = JSON.parse(collateralText.toString('utf8'));
  const nowSecs = BigInt(Math.floor(at.getTime() / 1000));
  const out = mod.js_verify(quote, coll, nowSecs);
  const status = out?.status ?? out?.get?.('status');
  if (status !== 'UpToDate') throw new Error(`dcap-qvl-web said ${JSON.stringify(out)}`);
  results.dcap_qvl_web = rate(() => mod.js_verify(quote, coll, nowSecs));
} catch (e) {
  results.dcap_qvl_web = null;
  results.dcap_qvl_web_note = `not measured: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
}

if (asJson) {
  process.stdout.write(
    `${JSON.stringify({ seconds, node: process.version, ...results }, null, 2)}\n`,
  );
} else {
  const fmt = (x) =>
    typeof x === 'number' ? `${Math.round(x).toLocaleString('en-US')}/s` : String(x);
  for (const [k, x] of Object.entries(results)) process.stdout.write(`${k.padEnd(22)} ${fmt(x)}\n`);
  process.stdout.write(`(one core, ${seconds}s per measurement, ${process.version})\n`);
}
