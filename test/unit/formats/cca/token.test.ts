import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Encoder } from 'cbor-x';
import { ParseError } from '../../../../src/errors.js';
import { withLimits } from '../../../../src/limits.js';
import { parseCcaToken, ccaTokenClaims, lifecycleName } from '../../../../src/formats/cca/token.js';
import { sigStructure } from '../../../../src/formats/cca/cose_sign1.js';
import { fixture } from '../../../_support/paths.js';

const cca = (f: string): Uint8Array => new Uint8Array(readFileSync(fixture('evidence', 'cca', f)));
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

test('CCA-1 TF-RMM legacy token: platform and realm claims', () => {
  const t = parseCcaToken(cca('tfrmm-legacy.cca-token.cbor'));
  assert.equal(t.tag, 399);
  const p = t.platformClaims;
  assert.equal(p.profile, 'http://arm.com/CCA-SSD/1.0.0');
  assert.equal(
    hex(p.challenge),
    'b5973cb68baa9fc55558786b7ec67f69e40df5ba5aa921cd0c27f40587a011ea',
  );
  assert.equal(
    hex(p.implementation_id),
    '7f454c4602010100000000000000000003003e00010000005058000000000000',
  );
  assert.equal(
    hex(p.instance_id),
    '0107060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918',
  );
  assert.equal(p.lifecycle, 12291);
  assert.equal(p.lifecycle_state, 'secured');
  assert.deepEqual(
    p.sw_components.map((c) => [c.measurement_type, c.version]),
    [
      ['BL', '3.4.2'],
      ['M1', '1.2'],
      ['M2', '1.2.3'],
      ['M3', '1'],
    ],
  );
  const r = t.realmClaims;
  assert.equal(hex(r.challenge), 'ab'.repeat(64));
  assert.equal(
    Buffer.from(r.personalization_value ?? []).toString('latin1'),
    'The quick brown fox jumps over 13 lazy dogs.The quick brown fox ',
  );
  assert.equal(hex(r.rim), '00'.repeat(32));
  assert.deepEqual(r.rem.map(hex), [
    '00'.repeat(32),
    '00'.repeat(32),
    '00'.repeat(32),
    '00'.repeat(32),
  ]);
  assert.equal(r.public_key_hash_algo_id, 'sha-256');
  assert.equal(r.public_key.length, 97);
  // Binding fact from PROVENANCE: SHA-256(RAK point) = platform challenge.
  assert.equal(createHash('sha256').update(r.public_key).digest('hex'), hex(p.challenge));
  const c = ccaTokenClaims(t);
  assert.equal(hex(c['rim'] as Uint8Array), '00'.repeat(32));
  assert.ok('rem3' in c && 'platform' in c && 'realm' in c);
});

test('CCA-2 token 02: SHA-512 binding, 0x43 RIM/REMs, instance id 01 + 32×02', () => {
  const t = parseCcaToken(cca('rustcca-token02.cca-token.cbor'));
  assert.equal(t.realmClaims.public_key_hash_algo_id, 'sha-512');
  assert.equal(hex(t.realmClaims.rim), '43'.repeat(64));
  assert.equal(hex(t.realmClaims.rem[3]), '43'.repeat(64));
  assert.equal(hex(t.platformClaims.instance_id), '01' + '02'.repeat(32));
  assert.equal(hex(t.platformClaims.implementation_id), '00'.repeat(32));
  assert.equal(Buffer.from(t.realmClaims.challenge).toString('latin1'), 'AB'.repeat(32));
  assert.equal(
    Buffer.from(t.realmClaims.personalization_value ?? []).toString('latin1'),
    'AD'.repeat(32),
  );
});

test('CCA-3 draft-ffm-00 token: profiles, COSE_Key RAK, RIM/REMs, 13 components', () => {
  const t = parseCcaToken(cca('rustcca-ffm00.cca-token.cbor'));
  assert.equal(t.platformClaims.profile, 'tag:arm.com,2023:cca_platform#1.0.0');
  assert.equal(t.realmClaims.profile, 'tag:arm.com,2023:realm#1.0.0');
  assert.equal(
    hex(t.platformClaims.challenge),
    '0d22e08a98469058486318283489bdb36f09dbefeb1864df433fa6e54ea2d711',
  );
  assert.equal(
    hex(t.realmClaims.rim),
    '311314ab73620350cf758834ae5c65d9e8c2dc7febe6e7d9654bbe864e300d49',
  );
  assert.deepEqual(t.realmClaims.rem.map(hex), [
    '24d5b0a296cc05cbd8068c5067c5bd473b770dda6ae082fe3ba30abe3f9a6ab1',
    '788fc090bfc6b8ed903152ba8414e73daf5b8c7bb1e79ad502ab0699b659ed16',
    'dac46a58415dc3a00d7a741852008e9cae64f52d03b9f76d76f4b3644fefc416',
    '32c6afc627e55585c03155359f331a0e225f6840db947dd96efab81be2671939',
  ]);
  assert.equal(t.platformClaims.sw_components.length, 13);
  assert.equal(t.platformClaims.sw_components[0]?.measurement_type, 'RSE_BL1_2');
  assert.equal(t.realmClaims.public_key[0], 0xa4, 'a COSE_Key map, not a raw point');
});

test('Sig_structure equals the RFC 9052 array encoded by an independent CBOR encoder', () => {
  const t = parseCcaToken(cca('tfrmm-legacy.cca-token.cbor'));
  const ref = new Encoder({ tagUint8Array: false }).encode([
    'Signature1',
    Buffer.from(t.platform.protectedBytes),
    Buffer.alloc(0),
    Buffer.from(t.platform.payload),
  ]);
  assert.deepEqual(
    Buffer.from(sigStructure(t.platform.protectedBytes, t.platform.payload)),
    Buffer.from(ref),
  );
});

test('lifecycle names follow the PSA security lifecycle ranges', () => {
  assert.equal(lifecycleName(0x3000), 'secured');
  assert.equal(lifecycleName(0x50ff), 'recoverable_cca_platform_debug');
  assert.equal(lifecycleName(0x6000), 'decommissioned');
});

test('truncated, wrongly tagged and malformed tokens are typed errors', () => {
  const b = cca('tfrmm-legacy.cca-token.cbor');
  assert.throws(
    () => parseCcaToken(b.subarray(0, 200)),
    (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.format, 'cca-token');
      assert.equal(e.code, 'ERR_BAD_ENCODING');
      return true;
    },
  );
  const tag = Uint8Array.from(b);
  tag[2] = 0x90; // tag 400
  assert.throws(() => parseCcaToken(tag), { code: 'ERR_BAD_MAGIC' });
  assert.throws(() => parseCcaToken(Uint8Array.of(0xd9, 0x01, 0x8f, 0xa0)), {
    code: 'ERR_BAD_VALUE',
  });
  assert.throws(() => parseCcaToken(b, withLimits({ maxEvidenceSize: 100 })), {
    code: 'ERR_LENGTH_LIMIT',
  });
});
