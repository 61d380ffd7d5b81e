// Interop: every EAR token of the shared set gives the outcome its upstream tests assert
// (test/fixtures/appraisal/ear/expected.json, PROVENANCE.md): the good ones verify with their
// key and decode to the asserted claims; the others are refused with their reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeEarClaims } from '../../src/verifier/result/ear_claims.js';
import {
  jwksOf,
  loadSigningKey,
  loadVerificationKeys,
  type EarPublicKey,
} from '../../src/verifier/result/ear_keys.js';
import {
  decodeEarToken,
  keyFromX5c,
  signEar,
  splitCompactJws,
  verifyEar,
} from '../../src/verifier/result/ear_token.js';
import { fixture } from '../_support/paths.js';

const dir = (...p: string[]): string => fixture('appraisal', 'ear', ...p);
const read = (...p: string[]): string => readFileSync(dir(...p), 'utf8');

interface TokenEntry {
  readonly file: string;
  readonly header?: Record<string, unknown>;
  readonly claims?: Record<string, unknown>;
  readonly verify_with?: string;
  readonly decision: string;
}
const expected = JSON.parse(read('expected.json')) as {
  ear_tokens: TokenEntry[];
  jwk_x5c_endorsement: { jwk?: string; trust?: string; expected: string }[];
};
const entry = (file: string): TokenEntry => {
  const e = expected.ear_tokens.find((t) => t.file === file);
  assert.ok(e, `expected.json has ${file}`);
  return e;
};
const NOW = new Date('2026-12-01T00:00:00Z');
let veraisonKey: EarPublicKey[] | undefined;
const veraison = async (): Promise<EarPublicKey[]> =>
  (veraisonKey ??= await loadVerificationKeys(readFileSync(dir('keys', 'veraison-es256.pub.jwk'))));

/** Each claim expected.json lists is in the verified payload with that exact value. */
function assertClaims(
  actual: Readonly<Record<string, unknown>>,
  want: Record<string, unknown>,
): void {
  for (const [k, v] of Object.entries(want)) {
    if (k === 'submods') {
      for (const [name, sub] of Object.entries(v as Record<string, Record<string, unknown>>)) {
        const got = (actual['submods'] as Record<string, Record<string, unknown>>)[name]!;
        for (const [sk, sv] of Object.entries(sub)) assert.deepEqual(got[sk], sv, `${name}.${sk}`);
      }
    } else assert.deepEqual(actual[k], v, k);
  }
}

for (const file of [
  'veraison-arc-es256.jwt',
  'veraison-ear-extensions.jwt',
  'rust-ear-parsec-tpm.jwt',
]) {
  test(`${file} verifies with the Veraison key and decodes to the asserted claims`, async () => {
    const e = entry(file);
    assert.equal(e.verify_with, 'keys/veraison-es256.pub.jwk');
    const r = await verifyEar(read(file), { keys: await veraison(), at: NOW });
    assert.equal(r.keySource, 'given');
    assert.equal(r.header.alg, e.header!['alg']);
    assertClaims(r.claims, e.claims!);
    // The normalised model says the same.
    for (const [name, sub] of Object.entries(
      e.claims!['submods'] as Record<string, Record<string, unknown>>,
    )) {
      const a = r.ear.submods[name]!;
      assert.equal(a.status, sub['ear.status']);
      assert.deepEqual(a.trustVector, sub['ear.trustworthiness-vector']);
      assert.deepEqual(a.policyIds, [sub['ear.appraisal-policy-id']]);
    }
  });
}

test('veraison-ear-extensions.jwt keeps its extensions (TestVerify_pass)', async () => {
  const r = await verifyEar(read('veraison-ear-extensions.jwt'), {
    keys: await veraison(),
    at: NOW,
  });
  const ext = r.ear.submods['test']!.extensions;
  assert.deepEqual(ext['ear.veraison.annotated-evidence'], { k1: 'v1', k2: 'v2' });
  assert.deepEqual(ext['ear.veraison.policy-claims'], { foo: 'bar', bar: 'baz' });
  assert.deepEqual(ext['ear.veraison.key-attestation'], { akpub: 'YWtwdWIK' });
  assert.equal(r.ear.submods['test']!.trustVector, undefined);
});

test('rust-ear token: eat_nonce as written', async () => {
  const r = await verifyEar(read('rust-ear-parsec-tpm.jwt'), { keys: await veraison(), at: NOW });
  assert.equal(r.ear.nonce, entry('rust-ear-parsec-tpm.jwt').claims!['eat_nonce']);
});

test('a token with no key given is refused, whatever it carries (Test_VerifyCmd_missing_header_key)', async () => {
  await assert.rejects(verifyEar(read('veraison-arc-es256.jwt'), { at: NOW }), {
    code: 'ERR_UNTRUSTED_KEY',
  });
  // arc trusts the header jwk by itself; mrstack never does.
  await assert.rejects(verifyEar(read('veraison-arc-es256-header-jwk.jwt'), { at: NOW }), {
    code: 'ERR_UNTRUSTED_KEY',
  });
});

test('veraison-arc-es256-header-jwk.jwt verifies when its header key is the given key', async () => {
  const e = entry('veraison-arc-es256-header-jwk.jwt');
  const r = await verifyEar(read(e.file), { keys: await veraison(), at: NOW });
  assert.equal(r.keySource, 'given');
  assertClaims(r.claims, e.claims!);
  // A different given key does not make the carried one trusted.
  const other = await loadVerificationKeys(
    readFileSync(dir('keys', 'trustee-as-fixture.cert-chain.pem')),
  );
  await assert.rejects(verifyEar(read(e.file), { keys: other, at: NOW }), {
    code: 'ERR_UNTRUSTED_KEY',
  });
});

test('trustee-cca-realm-expired.jwt: signature good under its header key, refused as expired', async () => {
  const e = entry('trustee-cca-realm-expired.jwt');
  assert.match(e.decision, /expired/);
  const token = read(e.file);
  const headerKey = await loadVerificationKeys(Buffer.from(JSON.stringify(e.header!['jwk'])));
  await assert.rejects(verifyEar(token, { keys: headerKey, at: NOW }), {
    code: 'ERR_TOKEN_EXPIRED',
  });
  // The Veraison key is not its key (computed in the shared PROVENANCE).
  await assert.rejects(verifyEar(token, { keys: await veraison(), at: NOW }), {
    code: 'ERR_UNTRUSTED_KEY',
  });
  // One second before exp (iat + 300 s) it verifies, in the Trustee alias of the 2023 profile.
  const r = await verifyEar(token, { keys: headerKey, at: new Date(1752059438_000) });
  assertClaims(r.claims, e.claims!);
  assert.equal(r.ear.family, 'veraison-2023');
  assert.equal(r.ear.exp, 1752059439);
});

test('veraison-ear-2022-flat-legacy.jwt: valid signature, retired profile refused', async () => {
  await assert.rejects(
    verifyEar(read('veraison-ear-2022-flat-legacy.jwt'), { keys: await veraison(), at: NOW }),
    (err: { code: string; details: Record<string, unknown> }) =>
      err.code === 'ERR_EAR_PROFILE' && err.details['retired'] === true,
  );
});

test('trustee-legacy-simple-token-rs384.jwt is not an EAR even under its own (payload) key', async () => {
  const e = entry('trustee-legacy-simple-token-rs384.jwt');
  assert.match(e.decision, /not an EAR/);
  const token = read(e.file);
  const jwk = (
    JSON.parse(Buffer.from(splitCompactJws(token).payload).toString()) as { jwk: unknown }
  ).jwk;
  const self = await loadVerificationKeys(Buffer.from(JSON.stringify(jwk)));
  await assert.rejects(verifyEar(token, { keys: self, at: new Date(1701672700_000) }), {
    code: 'ERR_EAR_PROFILE',
  });
  // …and without that key it is not trusted at all.
  await assert.rejects(verifyEar(token, { keys: await veraison(), at: NOW }), {
    code: 'ERR_SIGNATURE_INVALID',
  });
});

const refusals: [string, string, string?][] = [
  ['negative/veraison-ear-hs256-alg-mismatch.jwt', 'ERR_JWS_ALG_REFUSED'],
  ['negative/veraison-ear-alg-none.jwt', 'ERR_JWS_ALG_REFUSED'],
  ['negative/veraison-ear-empty-claims.jwt', 'ERR_EAR_PROFILE'],
  ['negative/veraison-ear-trailing-fourth-segment.jwt', 'ERR_BAD_ENCODING', 'token'],
  ['negative/veraison-ear-leading-dot.jwt', 'ERR_BAD_ENCODING', 'header'],
];
for (const [file, code, field] of refusals) {
  test(`${file} is refused (${code})`, async () => {
    assert.equal(entry(file).decision, 'reject');
    await assert.rejects(
      verifyEar(read(file), { keys: await veraison(), at: NOW }),
      (err: { code: string; details: Record<string, unknown> }) =>
        err.code === code && (field === undefined || err.details['field'] === field),
    );
  });
}

test('the trailing-segment token: its first three segments verify, then its float iat is refused', async () => {
  const three = read('negative/veraison-ear-trailing-fourth-segment.jwt')
    .split('.')
    .slice(0, 3)
    .join('.');
  await assert.rejects(
    verifyEar(three, { keys: await veraison(), at: NOW }),
    (err: { code: string; details: Record<string, unknown> }) =>
      err.code === 'ERR_EAR_CLAIMS' && err.details['claim'] === 'iat',
  );
});

test('a flipped signature byte fails (TestRoundTrip_tampering)', async () => {
  const t = read('veraison-arc-es256.jwt');
  const [h, p, s] = t.split('.') as [string, string, string];
  const sig = Buffer.from(s, 'base64url');
  sig[sig.length - 1]! ^= 1;
  await assert.rejects(
    verifyEar(`${h}.${p}.${sig.toString('base64url')}`, { keys: await veraison(), at: NOW }),
    {
      code: 'ERR_SIGNATURE_INVALID',
    },
  );
});

test("the Veraison private key signs arc's tv-ok claims; the public key verifies them (TestRoundTrip_pass)", async () => {
  const claims = JSON.parse(read('claims', 'veraison-arc-claims-tv-ok.json')) as Record<
    string,
    unknown
  >;
  const key = await loadSigningKey(readFileSync(dir('keys', 'veraison-es256.priv.jwk')));
  assert.equal(key.alg, 'ES256');
  const token = await signEar(claims, key);
  const r = await verifyEar(token, { keys: await veraison(), at: NOW });
  assert.deepEqual(r.claims, claims);
  // The payload of veraison-arc-es256.jwt is exactly these claims (shared PROVENANCE §4.3).
  assert.deepEqual(decodeEarToken(read('veraison-arc-es256.jwt')).claims, claims);
});

test('the unsigned claim-sets decode with the statuses their sources state', () => {
  const d = (f: string): ReturnType<typeof decodeEarClaims> =>
    decodeEarClaims(JSON.parse(read('claims', f)) as unknown);
  assert.equal(
    d('veraison-arc-claims-key-attestation-ok.json').submods['PARSEC_TPM']!.status,
    'affirming',
  );
  const ko = d('veraison-arc-claims-key-attestation-ko.json').submods['PARSEC_TPM']!;
  assert.equal(ko.status, 'contraindicated');
  assert.equal(ko.trustVector!.executables, 96);
  const trustee = d('trustee-example.token.json');
  assert.equal(trustee.profile, 'tag:github.com,2024:confidential-containers/Trustee');
  assert.equal(trustee.submods['cpu0']!.status, 'contraindicated');
  assert.deepEqual(trustee.submods['cpu0']!.trustVector, {
    'instance-identity': 0,
    configuration: 36,
    executables: 33,
    'file-system': 0,
    hardware: 97,
    'runtime-opaque': 0,
    'storage-opaque': 0,
    'sourced-data': 0,
  });
});

test('draft -03 examples decode: underscored names, policy ids an array; draft -02 is not read', () => {
  const j1 = decodeEarClaims(
    JSON.parse(read('draft-ietf-rats-ear-03', 'ear-json-1.diag')) as unknown,
  );
  assert.equal(j1.family, 'draft-03');
  assert.deepEqual(j1.verifierId, {
    developer: 'https://veraison-project.org',
    build: 'vts 0.0.1',
  });
  const psa = j1.submods['PSA']!;
  assert.equal(psa.status, 'contraindicated');
  assert.deepEqual(psa.trustVector, { 'instance-identity': 2, executables: 96, hardware: 2 });
  assert.deepEqual(psa.policyIds, ['https://veraison.example/policy/1/60a0068d']);
  const j2 = decodeEarClaims(
    JSON.parse(read('draft-ietf-rats-ear-03', 'ear-json-2.diag')) as unknown,
  );
  assert.deepEqual(Object.keys(j2.submods), ['CCA Platform', 'CCA Realm']);
  assert.equal(j2.submods['CCA Realm']!.status, 'affirming');
  assert.throws(
    () =>
      decodeEarClaims(
        JSON.parse(read('draft-ietf-rats-ear-03', 'ear-json-1.draft-02.diag')) as unknown,
      ),
    { code: 'ERR_EAR_PROFILE' },
  );
  // A -03 policy id must be an array.
  const bad = JSON.parse(read('draft-ietf-rats-ear-03', 'ear-json-1.diag')) as {
    submods: { PSA: Record<string, unknown> };
  };
  bad.submods.PSA['ear_appraisal_policy_ids'] = 'https://veraison.example/policy/1/60a0068d';
  assert.throws(() => decodeEarClaims(bad), { code: 'ERR_EAR_CLAIMS' });
});

for (const s of expected.jwk_x5c_endorsement) {
  if (s.jwk === undefined || s.trust === undefined) continue; // the JWKS entry: tested below
  const jwkFile = s.jwk;
  const trustFile = s.trust;
  test(`trustee x5c endorsement ${jwkFile.split('/').pop()!}: ${s.expected}`, async () => {
    const jwk = JSON.parse(read(...jwkFile.split('/'))) as Record<string, unknown>;
    const anchors = [readFileSync(dir(...trustFile.split('/')))];
    // The trust files may hold several PEM certificates: split them for the anchor list.
    const pems = Buffer.concat(anchors)
      .toString()
      .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
    const at = new Date('2027-01-01T00:00:00Z');
    const run = keyFromX5c(
      { alg: 'RS256', jwk },
      pems.map((p) => Buffer.from(p)),
      at,
    );
    if (s.expected.startsWith('accept')) {
      const key = await run;
      // The endorsed key is the JWK's own key.
      assert.equal(key.jwk.n, jwk['n']);
    } else {
      await assert.rejects(run, { code: 'ERR_UNTRUSTED_KEY' });
    }
  });
}

test("JWKS export of trustee's AS fixture key equals the JWKS trustee asserts (zero-led x, y)", async () => {
  const key = await loadSigningKey(readFileSync(dir('keys', 'trustee-as-fixture.signing-key.pem')));
  const chainPem = read('keys', 'trustee-as-fixture.cert-chain.pem');
  const der = Buffer.from(chainPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const jwks = jwksOf([{ publicKey: key.publicKey, alg: key.alg, chain: [der] }]);
  const want = (
    JSON.parse(read('keys', 'trustee-as-fixture.expected-jwks.json')) as {
      keys: Record<string, unknown>[];
    }
  ).keys[0]!;
  const got = jwks.keys[0]! as unknown as Record<string, unknown>;
  for (const k of ['kty', 'crv', 'alg', 'x', 'y', 'x5c']) assert.deepEqual(got[k], want[k], k);
  assert.equal(Buffer.from(got['x'] as string, 'base64url').length, 32);
  // kid = RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order, computed
  // here by hand (RFC 7638 §3.2), not through jose.
  const canonical = `{"crv":"P-256","kty":"EC","x":"${String(want['x'])}","y":"${String(want['y'])}"}`;
  assert.equal(got['kid'], createHash('sha256').update(canonical).digest('base64url'));
});
