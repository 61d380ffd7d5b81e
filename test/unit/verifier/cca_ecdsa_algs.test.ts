// CCA tokens signed by openssl with ES256, ES384 and ES512 (P-521) keys: the verifier accepts
// them and rejects a one-bit change of the realm payload and of each signature. Keys, digests
// and signatures come from openssl; the CBOR (claims, COSE_Sign1, Sig_structure) is written here
// with cbor-x directly, not with mrstack's encoder, and the DER signatures are converted to the
// raw r‖s COSE uses (RFC 9053 §2.1) by the code below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Encoder, Tag } from 'cbor-x';
import { verifyCcaToken } from '../../../src/verifier/verify/cca.js';
import { parseCcaToken } from '../../../src/formats/cca/token.js';
import type { EvidenceResult } from '../../../src/verifier/verify/evidence_result.js';
import { runTool } from '../../_support/peers.js';
import { RELAX_NONCE_CRL } from '../../_support/trust.js';

const dir = mkdtempSync(join(tmpdir(), 'mrstack-cca-algs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const cbor = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });
const AT = new Date('2026-01-01T00:00:00Z');
const CHALLENGE = Buffer.alloc(64, 0xc1);
const RIM = Buffer.alloc(48, 0x5a);

interface Alg {
  readonly name: 'ES256' | 'ES384' | 'ES512';
  /** COSE alg id (RFC 9053 table 1). */
  readonly id: number;
  readonly curve: string;
  readonly digest: string;
  /** Bytes of r (and of s) in the raw signature: the curve's order size. */
  readonly n: number;
}
const ALGS: readonly Alg[] = [
  { name: 'ES256', id: -7, curve: 'P-256', digest: 'sha256', n: 32 },
  { name: 'ES384', id: -35, curve: 'P-384', digest: 'sha384', n: 48 },
  { name: 'ES512', id: -36, curve: 'P-521', digest: 'sha512', n: 66 },
];

interface Key {
  readonly pem: string;
  readonly pubPem: string;
  /** Uncompressed point 04‖X‖Y: the tail of the SPKI DER's BIT STRING. */
  readonly point: Buffer;
}

function genKey(name: string, curve: string, n: number): Key {
  const pem = join(dir, `${name}.pem`);
  runTool('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    `ec_paramgen_curve:${curve}`,
    '-out',
    pem,
  ]);
  const der = runTool('openssl', ['pkey', '-in', pem, '-pubout', '-outform', 'DER']);
  const point = der.subarray(der.length - (1 + 2 * n));
  assert.equal(point[0], 0x04, `${name}: uncompressed point at the end of the SPKI`);
  const pubPem = runTool('openssl', ['pkey', '-in', pem, '-pubout']).toString();
  return { pem, pubPem, point: Buffer.from(point) };
}

/** DER Ecdsa-Sig-Value → raw r‖s, each left-padded to `n` bytes. */
function derToRaw(der: Buffer, n: number): Buffer {
  let i = 0;
  const len = (): number => {
    const first = der[i++]!;
    if (first < 0x80) return first;
    let v = 0;
    for (let k = 0; k < (first & 0x7f); k++) v = (v << 8) | der[i++]!;
    return v;
  };
  assert.equal(der[i++], 0x30);
  len();
  const int = (): Buffer => {
    assert.equal(der[i++], 0x02);
    const l = len();
    let v = der.subarray(i, i + l);
    i += l;
    while (v.length > n && v[0] === 0) v = v.subarray(1);
    assert.ok(v.length <= n);
    return Buffer.concat([Buffer.alloc(n - v.length), v]);
  };
  return Buffer.concat([int(), int()]);
}

/** A tagged COSE_Sign1 over `claims`, signed by openssl with `key`. */
function coseSign1(alg: Alg, key: Key, claims: Map<number, unknown>, tag: string): Buffer {
  const protectedBytes = cbor.encode(new Map([[1, alg.id]]));
  const payload = cbor.encode(claims);
  // RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad, payload].
  const tbs = cbor.encode(['Signature1', protectedBytes, Buffer.alloc(0), payload]);
  const tbsFile = join(dir, `${tag}.tbs`);
  writeFileSync(tbsFile, tbs);
  const der = runTool('openssl', ['dgst', `-${alg.digest}`, '-sign', key.pem, tbsFile]);
  const sig = derToRaw(der, alg.n);
  return cbor.encode(new Tag([protectedBytes, new Map(), payload, sig], 18));
}

interface Built {
  readonly token: Buffer;
  readonly cpakPem: string;
  readonly realmSig: Buffer;
  readonly platformSig: Buffer;
}

/** A tag-399 CCA token whose realm and platform tokens are both signed with `alg`. */
function buildToken(alg: Alg, rakForm: 'point' | 'cose_key'): Built {
  const rak = genKey(`rak-${alg.name}-${rakForm}`, alg.curve, alg.n);
  const cpak = genKey(`cpak-${alg.name}-${rakForm}`, alg.curve, alg.n);
  const half = alg.n;
  const rakBytes =
    rakForm === 'point'
      ? rak.point
      : cbor.encode(
          new Map<number, unknown>([
            [1, 2], // kty EC2
            [-1, { 'P-256': 1, 'P-384': 2, 'P-521': 3 }[alg.curve]],
            [-2, rak.point.subarray(1, 1 + half)],
            [-3, rak.point.subarray(1 + half)],
          ]),
        );
  const realm = new Map<number, unknown>([
    [265, 'tag:arm.com,2023:realm#1.0.0'],
    [10, CHALLENGE],
    [44235, Buffer.alloc(64)],
    [44236, 'sha-384'],
    [44237, rakBytes],
    [44238, RIM],
    [44239, [0, 1, 2, 3].map((k) => Buffer.alloc(48, 0x10 + k))],
    [44240, 'sha-512'],
  ]);
  // Platform challenge = SHA-512 of the RAK bytes as carried (claim 44240), from openssl.
  const rakHash = runTool('openssl', ['dgst', '-sha512', '-binary'], rakBytes);
  const platform = new Map<number, unknown>([
    [265, 'tag:arm.com,2023:cca_platform#1.0.0'],
    [10, rakHash],
    [2396, Buffer.alloc(32, 0xa0)],
    [256, Buffer.concat([Buffer.of(1), Buffer.alloc(32, 0xb0)])],
    [2401, Buffer.alloc(4)],
    [2395, 0x3000],
    [2402, 'sha-256'],
    [
      2399,
      [
        new Map<number, unknown>([
          [1, 'BL'],
          [2, Buffer.alloc(32, 0xcc)],
        ]),
      ],
    ],
  ]);
  const realmCose = coseSign1(alg, rak, realm, `realm-${alg.name}-${rakForm}`);
  const platformCose = coseSign1(alg, cpak, platform, `platform-${alg.name}-${rakForm}`);
  const token = cbor.encode(
    new Tag(
      new Map<number, unknown>([
        [44234, platformCose],
        [44241, realmCose],
      ]),
      399,
    ),
  );
  return {
    token,
    cpakPem: cpak.pubPem,
    realmSig: realmCose.subarray(realmCose.length - 2 * half),
    platformSig: platformCose.subarray(platformCose.length - 2 * half),
  };
}

const verify = (token: Uint8Array, cpakPem: string): EvidenceResult =>
  verifyCcaToken(token, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    trustAnchors: [new TextEncoder().encode(cpakPem)],
    nonce: CHALLENGE,
  });

function flipBit(token: Buffer, at: number, mask = 0x01): Buffer {
  const b = Buffer.from(token);
  b[at]! ^= mask;
  return b;
}

const codes = (r: EvidenceResult): string[] => [...new Set(r.errors.map((e) => e.code))].sort();

for (const alg of ALGS) {
  for (const rakForm of alg.name === 'ES512'
    ? (['point', 'cose_key'] as const)
    : (['point'] as const)) {
    test(`${alg.name} (${alg.curve}, RAK as ${rakForm}): openssl-signed token verifies; one-bit changes fail`, () => {
      const built = buildToken(alg, rakForm);
      const t = parseCcaToken(built.token);
      assert.equal(t.realm.alg, alg.id);
      assert.equal(t.realm.signature.length, 2 * alg.n);
      assert.deepEqual(Buffer.from(t.realm.signature), built.realmSig);

      const ok = verify(built.token, built.cpakPem);
      assert.deepEqual(ok.errors, []);
      assert.equal(ok.verified, true);
      for (const k of ['realm_signature', 'realm_binding', 'platform_signature', 'nonce'])
        assert.equal(ok.checks[k], 'ok', k);

      // One bit of the realm payload (the RIM claim's first byte): the realm signature breaks,
      // nothing else does.
      const rimAt = built.token.indexOf(RIM);
      assert.ok(rimAt > 0 && built.token.indexOf(RIM, rimAt + 1) < 0);
      const payloadFlip = verify(flipBit(built.token, rimAt), built.cpakPem);
      assert.equal(payloadFlip.verified, false);
      assert.equal(payloadFlip.checks['realm_signature'], 'failed');
      assert.equal(payloadFlip.checks['platform_signature'], 'ok');
      assert.deepEqual(codes(payloadFlip), ['ERR_SIGNATURE_INVALID']);

      // One bit of the realm signature, in r (its last byte) and in s (its last byte).
      const sigAt = built.token.indexOf(built.realmSig);
      for (const at of [sigAt + alg.n - 1, sigAt + 2 * alg.n - 1]) {
        const r = verify(flipBit(built.token, at), built.cpakPem);
        assert.equal(r.verified, false, `realm signature byte ${at - sigAt}`);
        assert.equal(r.checks['realm_signature'], 'failed');
        assert.deepEqual(codes(r), ['ERR_SIGNATURE_INVALID']);
      }

      // One bit of the platform signature.
      const pAt = built.token.indexOf(built.platformSig);
      const p = verify(flipBit(built.token, pAt + alg.n - 1), built.cpakPem);
      assert.equal(p.checks['platform_signature'], 'failed');
      assert.equal(p.checks['realm_signature'], 'ok');
      assert.deepEqual(codes(p), ['ERR_SIGNATURE_INVALID']);
    });
  }
}

test('ES512: a signature of the wrong size for the alg (ES384-sized) is refused', () => {
  const built = buildToken(ALGS[2]!, 'point');
  const t = parseCcaToken(built.token);
  // Re-encode the realm COSE_Sign1 with the signature cut to 96 bytes.
  const realm = cbor.encode(
    new Tag(
      [t.realm.protectedBytes, new Map(), t.realm.payload, built.realmSig.subarray(0, 96)],
      18,
    ),
  );
  const platform = cbor.encode(
    new Tag([t.platform.protectedBytes, new Map(), t.platform.payload, built.platformSig], 18),
  );
  const token = cbor.encode(
    new Tag(
      new Map<number, unknown>([
        [44234, platform],
        [44241, realm],
      ]),
      399,
    ),
  );
  const r = verify(token, built.cpakPem);
  assert.equal(r.checks['realm_signature'], 'failed');
  assert.equal(r.checks['platform_signature'], 'ok');
});
