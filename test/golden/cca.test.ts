// Every Arm CCA case of the shared PROVENANCE: verdicts with the asserted trust anchors, each
// negative case with its own error code, and the platform signature cross-checked with openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyCcaToken } from '../../src/verifier/verify/cca.js';
import { parseCcaToken } from '../../src/formats/cca/token.js';
import { sigStructure } from '../../src/formats/cca/cose_sign1.js';
import type { EvidenceResult } from '../../src/verifier/verify/evidence_result.js';
import { fixture } from '../_support/paths.js';
import { runTool } from '../_support/peers.js';
import { RELAX_NONCE_CRL } from '../_support/trust.js';

const cca = (f: string): Uint8Array => new Uint8Array(readFileSync(fixture('evidence', 'cca', f)));
const AT = new Date('2025-01-01T00:00:00Z');
const codes = (r: EvidenceResult): string[] => [...new Set(r.errors.map((e) => e.code))].sort();

for (const [token, ta] of [
  ['tfrmm-legacy.cca-token.cbor', 'tfm-cpak.pub.pem'],
  ['tfrmm-legacy.cca-token.cbor', 'rustcca-tfa.ta.json'],
  ['rustcca-token02.cca-token.cbor', 'rustcca-token02.ta-ok.json'],
  ['rustcca-ffm00.cca-token.cbor', 'rustcca-tfa.ta.json'],
] as const) {
  test(`${token} verifies with ${ta}`, () => {
    const r = verifyCcaToken(cca(token), {
      policy: RELAX_NONCE_CRL,
      at: AT,
      trustAnchors: [cca(ta)],
    });
    assert.deepEqual(r.errors, []);
    assert.equal(r.verified, true);
    for (const k of ['realm_signature', 'realm_binding', 'platform_signature'])
      assert.equal(r.checks[k], 'ok', k);
    assert.equal(r.trust.emulated, false);
  });
}

test('CCA-1 as JWK: the CPAK of ccatoken testRMMCPAK (x/y) verifies the legacy token', () => {
  const jwk = {
    kty: 'EC',
    crv: 'P-384',
    x: 'IShnxS4rlQiwpCCpBWDzlNLfqiG911FP8akBr-fh94uxHU5m-Kijivp2r2oxxN6M',
    y: 'hM4tr8mWQli1P61xh3T0ViDREbF26DGOEYfbAjWjGNN7pZf-6A4OTHYqEryz6m7U',
  };
  const r = verifyCcaToken(cca('tfrmm-legacy.cca-token.cbor'), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    trustAnchors: [new TextEncoder().encode(JSON.stringify(jwk))],
  });
  assert.equal(r.verified, true);
});

test('CCA-2 ta-bad: the anchor key is not on P-256 → ERR_UNTRUSTED_ROOT; realm still verifies', () => {
  const r = verifyCcaToken(cca('rustcca-token02.cca-token.cbor'), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    trustAnchors: [cca('rustcca-token02.ta-bad.json')],
  });
  assert.equal(r.verified, false);
  assert.deepEqual(codes(r), ['ERR_UNTRUSTED_ROOT']);
  assert.equal(r.checks['platform_signature'], 'failed');
  assert.equal(r.checks['realm_signature'], 'ok');
  assert.equal(r.checks['realm_binding'], 'ok');
});

test('wrong key: token 02 with the TF-M CPAK → ERR_SIGNATURE_INVALID', () => {
  const r = verifyCcaToken(cca('rustcca-token02.cca-token.cbor'), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    trustAnchors: [cca('tfm-cpak.pub.pem')],
  });
  assert.deepEqual(codes(r), ['ERR_SIGNATURE_INVALID']);
});

test('an anchor naming another platform (instance id) does not apply → ERR_UNTRUSTED_ROOT', () => {
  const r = verifyCcaToken(cca('rustcca-token02.cca-token.cbor'), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    trustAnchors: [cca('rustcca-tfa.ta.json')],
  });
  assert.deepEqual(codes(r), ['ERR_UNTRUSTED_ROOT']);
});

test('bad realm binding: a token whose realm key is another one → ERR_BINDING_MISMATCH (+ realm signature)', () => {
  // Swap the realm token of CCA-1 for that of CCA-3: its RAK hash is not CCA-1's platform challenge.
  const b = cca('rustcca-ffm00.cca-token.cbor');
  const legacy = cca('tfrmm-legacy.cca-token.cbor');
  // Build a 399 collection {44234: platform of CCA-1, 44241: realm of CCA-3} by hand.
  const pl = extractEntry(legacy, 44234);
  const rl = extractEntry(b, 44241);
  const mixed = Buffer.concat([
    Buffer.from([0xd9, 0x01, 0x8f, 0xa2]),
    cborUint(44234),
    cborBytesHead(pl.length),
    pl,
    cborUint(44241),
    cborBytesHead(rl.length),
    rl,
  ]);
  const r = verifyCcaToken(new Uint8Array(mixed), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    trustAnchors: [cca('tfm-cpak.pub.pem')],
  });
  assert.equal(r.verified, false);
  assert.deepEqual(codes(r), ['ERR_BINDING_MISMATCH']);
  assert.equal(r.checks['realm_binding'], 'failed');
  assert.equal(r.checks['realm_signature'], 'ok');
  assert.equal(r.checks['platform_signature'], 'ok');
});

test('tampered realm claims → realm ERR_SIGNATURE_INVALID; nonce checks the realm challenge', () => {
  const t = cca('tfrmm-legacy.cca-token.cbor');
  const i = Buffer.from(t).indexOf(Buffer.from('The quick brown fox'));
  t[i] = 0x74;
  const r = verifyCcaToken(t, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    trustAnchors: [cca('tfm-cpak.pub.pem')],
  });
  assert.deepEqual(codes(r), ['ERR_SIGNATURE_INVALID']);
  assert.equal(r.checks['realm_signature'], 'failed');
  const good = cca('tfrmm-legacy.cca-token.cbor');
  const ok = verifyCcaToken(good, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    trustAnchors: [cca('tfm-cpak.pub.pem')],
    nonce: new Uint8Array(64).fill(0xab),
  });
  assert.equal(ok.checks['nonce'], 'ok');
  const bad = verifyCcaToken(good, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    trustAnchors: [cca('tfm-cpak.pub.pem')],
    nonce: new Uint8Array(64).fill(0xac),
  });
  assert.deepEqual(codes(bad), ['ERR_NONCE_MISMATCH']);
});

test('without a trust anchor the platform key is missing (ERR_COLLATERAL_MISSING)', () => {
  assert.throws(
    () => verifyCcaToken(cca('tfrmm-legacy.cca-token.cbor'), { policy: RELAX_NONCE_CRL, at: AT }),
    {
      code: 'ERR_COLLATERAL_MISSING',
    },
  );
});

test('openssl: the platform COSE signature (ES384) over the Sig_structure verifies with the CPAK', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-cca-'));
  try {
    const t = parseCcaToken(cca('tfrmm-legacy.cca-token.cbor'));
    writeFileSync(
      join(dir, 'tbs.bin'),
      sigStructure(t.platform.protectedBytes, t.platform.payload),
    );
    writeFileSync(join(dir, 'sig.der'), rawToDer(t.platform.signature));
    const out = runTool('openssl', [
      'dgst',
      '-sha384',
      '-verify',
      fixture('evidence', 'cca', 'tfm-cpak.pub.pem'),
      '-signature',
      join(dir, 'sig.der'),
      join(dir, 'tbs.bin'),
    ]).toString();
    assert.match(out, /Verified OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function rawToDer(sig: Uint8Array): Uint8Array {
  const n = sig.length / 2;
  const int = (b: Uint8Array): number[] => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = [...b.subarray(i)];
    if ((v[0] ?? 0) & 0x80) v.unshift(0);
    return [0x02, v.length, ...v];
  };
  const body = [...int(sig.subarray(0, n)), ...int(sig.subarray(n))];
  return Uint8Array.from([0x30, body.length, ...body]);
}

function cborUint(v: number): Buffer {
  return v < 0x10000
    ? Buffer.from([0x19, v >> 8, v & 0xff])
    : Buffer.from([0x1a, v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
}
function cborBytesHead(n: number): Buffer {
  return n < 24
    ? Buffer.from([0x40 | n])
    : n < 256
      ? Buffer.from([0x58, n])
      : Buffer.from([0x59, n >> 8, n & 0xff]);
}
/** The byte string stored under `key` in a tag-399 collection (both entries are bstr there). */
function extractEntry(token: Uint8Array, key: number): Buffer {
  const b = Buffer.from(token);
  const at = b.indexOf(cborUint(key));
  const h = b[at + 3]!;
  if (h === 0x59) {
    const len = b.readUInt16BE(at + 4);
    return b.subarray(at + 6, at + 6 + len);
  }
  const len = b[at + 4]!;
  return b.subarray(at + 5, at + 5 + len);
}
