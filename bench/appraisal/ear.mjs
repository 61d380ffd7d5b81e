#!/usr/bin/env node
// EAR sign+verify per second on one core, as `mrstack appraise --ear-out` and `mrstack ear
// verify` (and the verifier service) run them: issueEar (claims from findings → jose CompactSign
// ES256) then verifyEar (strict split, alg and key trust, jose compactVerify, strict claims
// parse, times). Beside it, in the same run and interleaved: jose alone (CompactSign +
// compactVerify of the same claims, no mrstack checks) and the floor, raw node:crypto ES256
// (sign + verify with ieee-p1363 signatures over the same header.payload bytes).
//
// Goal (issue #13): >= 1,500 EAR sign+verify per second per core through jose.
//
// Usage: npx tsc -p tsconfig.json && node bench/appraisal/ear.mjs [--seconds N] [--json]
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompactSign, compactVerify } from 'jose';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (p) => join(root, 'dist', 'src', p);
const { issueEar } = await import(dist('verifier/result/ear_issue.js'));
const { verifyEar } = await import(dist('verifier/result/ear_token.js'));
const { loadSigningKey } = await import(dist('verifier/result/ear_keys.js'));

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1]) || 2;
const asJson = args.includes('--json');

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const key = await loadSigningKey(
  new Uint8Array(Buffer.from(privateKey.export({ format: 'pem', type: 'pkcs8' }))),
);
const publicKey = createPublicKey(privateKey);
const at = new Date('2026-06-01T12:00:00Z');
const nonce = new Uint8Array(32).fill(7);
// A typical TDX appraisal: ten findings, one failure.
const findings = [
  ['nonce.match', 'affirming', 'report_data'],
  ['tcb.up-to-date', 'affirming', 'tcb_status'],
  ['tdx.td.not-debug', 'affirming', 'td_attributes.debug'],
  ['tdx.mrtd.match', 'affirming', 'mrtd'],
  ['tdx.mrconfigid.match', 'affirming', 'mrconfigid'],
  ['replay.rtmr0.match', 'affirming', 'rtmr0'],
  ['replay.rtmr1.match', 'affirming', 'rtmr1'],
  ['replay.rtmr2.mismatch', 'contraindicated', 'rtmr2'],
  ['tenant.event.allowed', 'affirming', 'acme'],
  ['ima.log.allowed', 'affirming', 'ima'],
].map(([id, status, claim]) => ({ id, status, claim, where: { layer: 'report' } }));
const input = [
  {
    appraisal: { findings, policyId: 'bench@sha256:' + '0'.repeat(64), kind: 'tdx' },
    proven: { signature: 'ok', nonce: 'ok', tcb: 'ok', relaxed: [], skipped: {} },
  },
];
const first = await issueEar(input, key, { at, nonce });
await verifyEar(first.token, { keys: [key.publicKey], at });
const payload = new TextEncoder().encode(JSON.stringify(first.claims));
const signingInput = Buffer.from(first.token.split('.').slice(0, 2).join('.'));

async function mrstackPath() {
  const { token } = await issueEar(input, key, { at, nonce });
  await verifyEar(token, { keys: [key.publicKey], at });
}
async function joseOnly() {
  const t = await new CompactSign(payload)
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .sign(key.privateKey);
  await compactVerify(t, publicKey, { algorithms: ['ES256'] });
}
function raw() {
  const s = sign('sha256', signingInput, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  if (!verify('sha256', signingInput, { key: publicKey, dsaEncoding: 'ieee-p1363' }, s))
    throw new Error('raw verify');
}

async function rate(fn, secs) {
  for (let i = 0; i < 50; i++) await fn();
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(secs * 1e9));
  let now = t0;
  while (now < end) {
    for (let i = 0; i < 10; i++) await fn();
    n += 10;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - t0) / 1e9);
}

const rounds = { mrstack: [], jose: [], raw: [] };
// Interleave so machine noise hits all three alike; report the median of 3 rounds.
for (let r = 0; r < 3; r++) {
  rounds.mrstack.push(await rate(mrstackPath, seconds / 3));
  rounds.jose.push(await rate(joseOnly, seconds / 3));
  rounds.raw.push(await rate(raw, seconds / 3));
}
const med = (a) => [...a].sort((x, y) => x - y)[1];
const result = {
  load_1min: loadavg()[0],
  cpus_seen: (await import('node:os')).cpus().length,
  token_bytes: first.token.length,
  per_second: {
    mrstack_issueEar_verifyEar: Math.round(med(rounds.mrstack)),
    jose_sign_verify: Math.round(med(rounds.jose)),
    node_crypto_es256_floor: Math.round(med(rounds.raw)),
  },
};
result.ratio_mrstack_to_raw = +(
  result.per_second.mrstack_issueEar_verifyEar / result.per_second.node_crypto_es256_floor
).toFixed(2);
result.goal_1500_met = result.per_second.mrstack_issueEar_verifyEar >= 1500;
if (asJson) console.log(JSON.stringify(result, null, 2));
else {
  console.log(
    `EAR ES256 sign+verify per second, one core (load ${result.load_1min.toFixed(2)} on ${result.cpus_seen} CPUs; token ${result.token_bytes} B):`,
  );
  console.log(
    `  mrstack issueEar + verifyEar (jose): ${result.per_second.mrstack_issueEar_verifyEar}`,
  );
  console.log(`  jose CompactSign + compactVerify:    ${result.per_second.jose_sign_verify}`);
  console.log(
    `  node:crypto ES256 (floor):            ${result.per_second.node_crypto_es256_floor}`,
  );
  console.log(
    `  mrstack / floor: ${result.ratio_mrstack_to_raw}; goal >= 1,500/s: ${result.goal_1500_met ? 'met' : 'NOT met'}`,
  );
}
