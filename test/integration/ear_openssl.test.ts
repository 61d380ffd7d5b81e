// EARs mrstack signs (issueEar: the path `mrstack appraise --ear-out` and the verifier service
// take) verify with openssl, an independent JWS checker: the signature is over the ASCII
// `header.payload`; ES256/ES384 signatures are raw r‖s (RFC 7518 §3.4), turned into DER here for
// openssl; PS256 is RSASSA-PSS with SHA-256 and a 32-byte salt (§3.5); EdDSA is Ed25519 (RFC 8037).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '../../src/verifier/appraise/finding.js';
import { issueEar } from '../../src/verifier/result/ear_issue.js';
import {
  generateEarKey,
  loadSigningKey,
  type EarSignAlg,
} from '../../src/verifier/result/ear_keys.js';
import { tempDir } from '../_support/tmp.js';

/** DER INTEGER of an unsigned big-endian value. */
function derInt(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.of(0), v]);
  return Buffer.concat([Buffer.of(0x02, v.length), v]);
}
/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } from raw r‖s. */
function rawToDer(sig: Buffer): Buffer {
  const n = sig.length / 2;
  const body = Buffer.concat([derInt(sig.subarray(0, n)), derInt(sig.subarray(n))]);
  return Buffer.concat([Buffer.of(0x30, body.length), body]);
}

function opensslVerify(dir: string, alg: EarSignAlg, token: string): { ok: boolean; out: string } {
  const [h, p, s] = token.split('.') as [string, string, string];
  const input = join(dir, 'signing-input');
  const sigFile = join(dir, 'sig');
  writeFileSync(input, `${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  writeFileSync(sigFile, alg === 'ES256' || alg === 'ES384' ? rawToDer(sig) : sig);
  const pub = join(dir, 'pub.pem');
  const args =
    alg === 'EdDSA'
      ? ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', input, '-sigfile', sigFile]
      : [
          'dgst',
          alg === 'ES384' ? '-sha384' : '-sha256',
          ...(alg === 'PS256'
            ? ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32']
            : []),
          '-verify',
          pub,
          '-signature',
          sigFile,
          input,
        ];
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

const findings: Finding[] = [
  { id: 'nonce.match', status: 'affirming', claim: 'report_data', where: { layer: 'report' } },
  {
    id: 'tdx.td.debug',
    status: 'contraindicated',
    claim: 'td_attributes.debug',
    where: { layer: 'report' },
  },
];

for (const alg of ['ES256', 'ES384', 'PS256', 'EdDSA'] as const) {
  test(`an ${alg} EAR mrstack signs verifies with openssl; a flipped byte does not`, async (t) => {
    const dir = tempDir(t, 'ear-openssl-');
    const priv = generateEarKey(alg);
    writeFileSync(
      join(dir, 'pub.pem'),
      createPublicKey(priv).export({ format: 'pem', type: 'spki' }),
    );
    const key = await loadSigningKey(
      new Uint8Array(Buffer.from(priv.export({ format: 'pem', type: 'pkcs8' }))),
    );
    assert.equal(key.alg, alg);
    const nonce = new Uint8Array(32).fill(7);
    const at = new Date('2026-06-01T12:00:00Z');
    const { token } = await issueEar(
      [
        {
          appraisal: { findings, policyId: 'p@sha256:00', kind: 'tdx' },
          proven: { signature: 'ok', nonce: 'ok', tcb: 'ok', relaxed: [], skipped: {} },
        },
      ],
      key,
      { at, lifetimeSeconds: 600, nonce },
    );
    const good = opensslVerify(dir, alg, token);
    assert.ok(good.ok, good.out);
    assert.match(good.out, /Verified OK|Signature Verified Successfully/);
    const [h, p, s] = token.split('.') as [string, string, string];
    const tampered = Buffer.from(p, 'base64url');
    tampered[tampered.length - 2]! ^= 1;
    assert.ok(!opensslVerify(dir, alg, `${h}.${tampered.toString('base64url')}.${s}`).ok);
    // The header and claims are the profile's (DESIGN §6.4), decoded here without mrstack.
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(header['alg'], alg);
    assert.equal(header['kid'], key.publicKey.thumbprint);
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(claims['eat_profile'], 'tag:github.com,2023:veraison/ear');
    assert.equal(claims['iat'], at.getTime() / 1000);
    assert.equal(claims['exp'], at.getTime() / 1000 + 600);
    assert.equal(claims['eat_nonce'], Buffer.from(nonce).toString('base64url'));
    assert.ok(typeof claims['ear.verifier-id'] === 'object');
    const tdx = (claims['submods'] as Record<string, Record<string, unknown>>)['tdx']!;
    assert.equal(tdx['ear.status'], 'contraindicated');
    assert.equal(tdx['ear.appraisal-policy-id'], 'p@sha256:00');
    const v = tdx['ear.trustworthiness-vector'] as Record<string, number>;
    assert.equal(Object.keys(v).length, 8);
    assert.equal(v['configuration'], 96);
    assert.equal(v['runtime-opaque'], 96);
    assert.equal(v['instance-identity'], 2);
  });
}
