// eat_nonce is 8–64 bytes (EAT, RFC 9711 §4.1). In a JWT it is carried as base64url text, which
// for 8 bytes is 11 characters unpadded (12 padded) and for 64 bytes 86 (88 padded). An EAR
// mrstack writes with the shortest and the longest allowed nonce must read back; 7 and 65 bytes
// must be refused on both sides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { issueEar } from '../../../../src/verifier/result/ear_issue.js';
import { generateEarKey, loadSigningKey } from '../../../../src/verifier/result/ear_keys.js';
import { verifyEar } from '../../../../src/verifier/result/ear_token.js';
import { MrstackError } from '../../../../src/errors.js';

const AT = new Date('2026-12-01T00:00:00Z');
const appraisal = { findings: [], policyId: 'p@sha256:00', kind: 'tdx' } as const;

async function keys() {
  const priv = generateEarKey('ES256');
  const signing = await loadSigningKey(
    new TextEncoder().encode(priv.export({ format: 'pem', type: 'pkcs8' }).toString()),
  );
  return { signing, pub: signing.publicKey };
}

for (const n of [8, 32, 64]) {
  test(`an EAR with a ${n}-byte nonce reads back with exactly that nonce`, async () => {
    const { signing, pub } = await keys();
    const nonce = randomBytes(n);
    const { token, claims } = await issueEar([{ appraisal }], signing, { at: AT, nonce });
    assert.equal(claims['eat_nonce'], Buffer.from(nonce).toString('base64url'));
    const v = await verifyEar(token, { keys: [pub], at: AT });
    assert.deepEqual(v.claims['eat_nonce'], Buffer.from(nonce).toString('base64url'));
  });
}

for (const n of [7, 65]) {
  test(`a ${n}-byte nonce is refused when issuing (ERR_EAR_CLAIMS)`, async () => {
    const { signing } = await keys();
    await assert.rejects(
      issueEar([{ appraisal }], signing, { at: AT, nonce: randomBytes(n) }),
      (e: unknown) => e instanceof MrstackError && e.code === 'ERR_EAR_CLAIMS',
    );
  });
}
