// decideAkTrust's `registered` reason: only a key the caller passes (the verifier service's
// registered AK) is trusted for it; the flag alone trusts nothing. SPKI digests come from
// node:crypto's own DER export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { decideAkTrust } from '../../../src/verifier/verify/tpm_ak_trust.js';
import { resolveTrustPolicy } from '../../../src/verifier/verify/trust_policy.js';
import { isMrstackError } from '../../../src/errors.js';

const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = createHash('sha256')
  .update(publicKey.export({ format: 'der', type: 'spki' }))
  .digest('hex');
const base = {
  key: publicKey,
  policy: resolveTrustPolicy({}),
  certificates: [],
  at: new Date('2026-12-07T00:00:00Z'),
};

test('a registered AK the caller passes is trusted as registered, a pinned one as pinned', () => {
  assert.deepEqual(decideAkTrust({ ...base, callerPinned: true, registered: true }).trust, {
    reason: 'registered',
    ak_spki_sha256: spki,
  });
  assert.deepEqual(decideAkTrust({ ...base, callerPinned: true }).trust, {
    reason: 'pinned',
    ak_spki_sha256: spki,
  });
});

test('`registered` without the caller passing the key trusts nothing: ERR_UNTRUSTED_KEY', () => {
  assert.throws(
    () => decideAkTrust({ ...base, callerPinned: false, registered: true }),
    (e: unknown) => isMrstackError(e) && e.code === 'ERR_UNTRUSTED_KEY',
  );
});
