// Forgery suite — a duplicate key in a signed COSE payload (issue #12, DESIGN §6.1: "signed
// data is parsed from exactly the bytes that were verified"). A CCA realm token, hand-built under
// the emulated CCA PKI and correctly signed by its RAK, whose claims map carries the challenge
// (key 10) twice: a decoder that keeps the last value would read the second challenge, so the
// token would answer any nonce its signer chose to append. It is refused as malformed CBOR
// (ERR_BAD_ENCODING naming realm.payload); the control — the same construction without the
// second copy, re-signed the same way — verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder, Tag } from 'cbor-x';
import {
  coseAlgInfo,
  cborEncoder,
  encodeCoseSign1,
  sigStructure,
} from '../../../../src/formats/cca/cose_sign1.js';
import { CCA_KEYS, parseCcaToken } from '../../../../src/formats/cca/token.js';
import { makeEmulatedCcaToken } from '../../../../src/providers/emulated/report_cca.js';
import type { EmulatedReportContext } from '../../../../src/providers/emulated/report_context.js';
import { verifyEvidence } from '../../../../src/verifier/verify/evidence.js';
import { RELAX_NONCE_CRL } from '../../../_support/trust.js';

const dir = mkdtempSync(join(tmpdir(), 'mrstack-cbor-dup-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const keysDir = join(dir, 'keys', 'cca');
const NONCE_A = new Uint8Array(64).fill(0xa1);
const NONCE_B = new Uint8Array(64).fill(0xb2);
const AT = new Date('2026-06-01T00:00:00Z');

const ctx: EmulatedReportContext = {
  stateDir: dir,
  keysDir,
  profile: 'cca',
  config: {
    profile: 'cca',
    created: new Date('2026-01-01T00:00:00Z'),
    hashAlg: 'sha256',
    staticValues: new Map(),
  },
  registers: [],
  values: new Map(),
  request: { reportData: NONCE_A },
  reportData: NONCE_A,
  now: new Date('2026-02-01T00:00:00Z'),
};
const genuine = parseCcaToken(makeEmulatedCcaToken(ctx).outblob);
const rak = createPrivateKey(readFileSync(join(keysDir, 'rak.key.pem')));
const root = readFileSync(join(keysDir, 'root.pem'));

/** The token with its realm payload replaced by `payload`, re-signed by the RAK. */
function withRealmPayload(payload: Uint8Array): Uint8Array {
  const r = genuine.realm;
  const sig = sign(coseAlgInfo(r.alg!)!.hash, sigStructure(r.protectedBytes, payload), {
    key: rak,
    dsaEncoding: 'ieee-p1363',
  });
  const realm = encodeCoseSign1(r.protectedBytes, r.unprotectedHeader, payload, sig);
  const p = genuine.platform;
  const platform = encodeCoseSign1(p.protectedBytes, p.unprotectedHeader, p.payload, p.signature);
  return new Uint8Array(
    cborEncoder().encode(
      new Tag(
        new Map<number, unknown>([
          [CCA_KEYS.platform, [263, Buffer.from(platform)]],
          [CCA_KEYS.realm, [263, Buffer.from(realm)]],
        ]),
        907,
      ),
    ),
  );
}

const verify = (token: Uint8Array, nonce: Uint8Array) =>
  verifyEvidence(token, {
    at: AT,
    nonce,
    policy: RELAX_NONCE_CRL,
    emulatedAnchors: [root],
  });

test('control: the realm payload re-signed as it was verifies with its own nonce', async () => {
  const r = await verify(withRealmPayload(genuine.realm.payload), NONCE_A);
  assert.deepEqual(r.errors, []);
  assert.equal(r.verified, true);
  assert.equal(r.checks['realm_signature'], 'ok');
});

test('a second challenge appended to the signed realm claims → ERR_BAD_ENCODING (realm.payload)', async () => {
  const orig = genuine.realm.payload;
  // RFC 8949 §3.1: major type 5 with the entry count in the low bits (fewer than 24 entries).
  assert.equal(orig[0]! >> 5, 5);
  const count = orig[0]! & 31;
  assert.ok(count < 23);
  const extra = cborEncoder().encode(new Map([[10, Buffer.from(NONCE_B)]]));
  const dup = new Uint8Array([0xa0 | (count + 1), ...orig.subarray(1), ...extra.subarray(1)]);
  // What the attack relies on: a last-value-wins decoder reads the appended challenge.
  const lenient = new Decoder({ mapsAsObjects: false, useRecords: false }).decode(dup) as Map<
    number,
    Uint8Array
  >;
  assert.deepEqual(new Uint8Array(lenient.get(10)!), NONCE_B);
  await assert.rejects(verify(withRealmPayload(dup), NONCE_B), (e: Record<string, unknown>) => {
    assert.equal(e['code'], 'ERR_BAD_ENCODING');
    assert.equal((e['details'] as Record<string, unknown>)['field'], 'realm.payload');
    assert.match(String(e['message']), /duplicate keys/);
    return true;
  });
});
