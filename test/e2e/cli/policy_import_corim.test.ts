// `mrstack policy import --from corim`: veraison/corim's test vectors (test/fixtures/appraisal/
// corim/PROVENANCE.md) give the values their authors assert — the CCA realm profile's RIM and
// REMs, the CCA platform profile's implementation id and software components, nothing guessed for
// a CoRIM without a profile or for the TDX SEAM profile — and a signed CoRIM is read only with
// its signer's key, refused when its signature is broken or its validity has ended. Then a
// COSE-signed CoRIM written here from draft-ietf-rats-corim's layout (unsigned-corim-map 501,
// CoMID 506, reference triple, measurement digests with sha-256 = 1) for an emulated CCA realm
// (RIM chosen at `emulate init`, REM1 extended by the test: SHA-256(zeros ‖ digest)) imports as
// a policy under which that realm's evidence is affirming, and another RIM contraindicates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Encoder, Tag } from 'cbor-x';
import { runCli, runCliJson } from '../../_support/cli.js';
import { appraiseCli, findingIds } from '../../_support/appraise.js';
import { fixture } from '../../_support/paths.js';
import { tempDir } from '../../_support/tmp.js';

const F = (name: string): string => fixture('appraisal', 'corim', name);

interface Imported {
  id: string;
  policy: {
    cca?: {
      rim?: string[];
      realm?: Record<string, string[]>;
      platform?: {
        implementation_id?: string[];
        sw_components?: { measurement: string; signer_id?: string; type?: string }[];
      };
    };
    registers?: Record<string, unknown[]>;
  };
  unmapped?: string[];
}

async function importCorim(
  file: string,
  ...extra: string[]
): Promise<{
  code: number | null;
  json: Imported & { error?: { code: string; message: string } };
}> {
  const { result, json } = await runCliJson([
    'policy',
    'import',
    '--from',
    'corim',
    file,
    ...extra,
    '--json',
  ]);
  return {
    code: result.code,
    json: json as Imported & { error?: { code: string; message: string } },
  };
}

test('veraison CoRIM vectors: CCA realm and platform values mapped, others reported unmapped', async () => {
  const realm = await importCorim(F('cca-realm-valid.cbor'));
  assert.equal(realm.code, 0);
  const rim = realm.json.policy.cca!.rim!;
  assert.equal(rim.length, 1);
  assert.ok(rim[0]!.startsWith('1d1150bb') && rim[0]!.endsWith('d0ff'), rim[0]);
  assert.deepEqual(Object.keys(realm.json.policy.registers!).sort(), [
    'rem0',
    'rem1',
    'rem2',
    'rem3',
  ]);
  assert.deepEqual(realm.json.policy.cca!.realm!['personalization_value'], [
    Buffer.from('The quick brown fox jumps over 13 lazy dogs.').toString('hex'),
  ]);
  assert.equal(realm.json.unmapped, undefined);

  const plat = await importCorim(F('cca-platform-valid.cbor'));
  assert.equal(plat.code, 0);
  const p = plat.json.policy.cca!.platform!;
  assert.deepEqual(p.implementation_id, [
    Buffer.from('acme-implementation-id-000000001').toString('hex'),
  ]);
  assert.deepEqual(
    p.sw_components!.map((c) => [
      c.type,
      c.measurement.slice(0, 8),
      c.measurement.slice(-4),
      c.signer_id!.slice(0, 8),
    ]),
    [
      ['RSE_BL1_2', '9a271cf2', 'b86a', '53787963'],
      ['RSE_BL2', '53c234e5', '3cc3', '53787963'],
    ],
  );
  assert.equal(plat.json.unmapped!.length, 1); // the attest-key triple

  const none = await importCorim(F('no-profile.cbor'));
  assert.equal(none.code, 0);
  assert.equal(none.json.policy.cca, undefined);
  assert.equal(none.json.unmapped!.length, 1);

  const seam = await importCorim(F('comid_seam_refval.cbor'));
  assert.equal(seam.code, 0);
  assert.equal(seam.json.policy.cca, undefined);
  assert.ok(
    seam.json.unmapped![0]!.startsWith('Intel Corporation/TDX SEAM/'),
    seam.json.unmapped![0],
  );
});

test('signed CoRIM: needs its key, honours its validity, a broken signature is refused', async (t) => {
  const signed = F('signed-good-corim.cbor');
  const key = F('corim-signer-ec-p256.jwk');
  const noKey = await importCorim(signed);
  assert.equal(noKey.code, 2);
  assert.equal(noKey.json.error!.code, 'ERR_POLICY_INVALID');
  // corim-meta validity ends 2025-12-31
  const expired = await importCorim(signed, '--key', key, '--at', '2026-01-01T00:00:00Z');
  assert.equal(expired.code, 2);
  assert.match(expired.json.error!.message, /expired at 2025-12-31/);
  const ok = await importCorim(signed, '--key', key, '--at', '2024-06-01T00:00:00Z');
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.deepEqual(
    ok.json.unmapped,
    Array(3).fill('ACME/RoadRunner/31fb5abf-023e-4992-aa4e-95f9c1503bfa/digests'),
  );
  const dir = tempDir(t, 'mrstack-corim-');
  const bad = Buffer.from(readFileSync(signed));
  bad[bad.length - 5]! ^= 1; // inside the signature
  const badFile = join(dir, 'bad.cbor');
  writeFileSync(badFile, bad);
  const refused = await importCorim(badFile, '--key', key, '--at', '2024-06-01T00:00:00Z');
  assert.equal(refused.code, 1);
  assert.equal(refused.json.error!.code, 'ERR_SIGNATURE_INVALID');
});

test(
  'a COSE-signed CoRIM for an emulated CCA realm: affirming; another RIM contraindicates',
  { timeout: 120_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-corim-cca-');
    const tvm = join(dir, 'tvm');
    const rim = randomBytes(32);
    assert.equal(
      (
        await runCli([
          'emulate',
          'init',
          '--profile',
          'cca',
          '--tvm-state',
          tvm,
          '--rim',
          rim.toString('hex'),
        ])
      ).code,
      0,
    );
    const d = randomBytes(32);
    assert.equal(
      (await runCli(['mr', 'extend', 'rem1', d.toString('hex'), '--tvm-state', tvm])).code,
      0,
    );
    const rem1 = createHash('sha256').update(Buffer.alloc(32)).update(d).digest();
    const nonce = randomBytes(32).toString('hex');
    const ev = join(dir, 'token.json');
    assert.equal(
      (await runCli(['report', '--nonce', nonce, '--tvm-state', tvm, '--out', ev])).code,
      0,
    );

    const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pub = join(dir, 'signer.pem');
    writeFileSync(pub, kp.publicKey.export({ format: 'pem', type: 'spki' }));
    const cbor = new Encoder({ useRecords: false, tagUint8Array: false });
    const signedCorim = (rimValue: Buffer): string => {
      const digest = (b: Buffer): unknown[] => [[1, b]]; // sha-256 (named-information id 1)
      const comid = new Map<number, unknown>([
        [1, new Map([[0, randomBytes(16)]])], // tag-identity
        [
          4,
          new Map([
            [
              0, // reference-triples
              [
                [
                  new Map([[0, new Map([[0, new Tag(rimValue, 560)]])]]), // class id = RIM
                  [
                    new Map<number, unknown>([
                      [0, 'cca.rim'],
                      [1, new Map([[2, digest(rimValue)]])],
                    ]),
                    new Map<number, unknown>([
                      [0, 'cca.rem1'],
                      [1, new Map([[2, digest(rem1)]])],
                    ]),
                  ],
                ],
              ],
            ],
          ]),
        ],
      ]);
      const corim = new Tag(
        new Map<number, unknown>([
          [0, 'emulated realm'],
          [1, [new Tag(cbor.encode(comid), 506)]],
          [3, new Tag('tag:arm.com,2025:cca_realm#1.0.0', 32)],
        ]),
        501,
      );
      const payload = cbor.encode(corim);
      const prot = cbor.encode(new Map([[1, -7]])); // alg ES256
      const toBeSigned = cbor.encode(['Signature1', prot, new Uint8Array(0), payload]);
      const sig = sign('sha256', toBeSigned, { key: kp.privateKey, dsaEncoding: 'ieee-p1363' });
      const file = join(dir, `corim-${randomBytes(4).toString('hex')}.cbor`);
      writeFileSync(file, cbor.encode(new Tag([prot, new Map(), payload, sig], 18)));
      return file;
    };
    const judge = async (rimValue: Buffer) => {
      const out = join(dir, `policy-${randomBytes(4).toString('hex')}.json`);
      const imp = await runCli([
        'policy',
        'import',
        '--from',
        'corim',
        signedCorim(rimValue),
        '--key',
        pub,
        '--out',
        out,
      ]);
      assert.equal(imp.code, 0, imp.stderr);
      return appraiseCli([
        ev,
        '--policy',
        out,
        '--nonce',
        nonce,
        '--trust-emulated',
        '--tvm-state',
        tvm,
      ]);
    };
    const ok = await judge(rim);
    assert.equal(ok.code, 0, JSON.stringify(ok.json.findings));
    assert.equal(ok.json.status, 'affirming');
    for (const id of ['cca.rim.match', 'replay.rem1.match'])
      assert.ok(findingIds(ok.json).includes(id), id);
    const bad = await judge(randomBytes(32));
    assert.equal(bad.code, 1);
    assert.deepEqual(findingIds(bad.json, 'contraindicated'), ['cca.rim.mismatch']);
  },
);
