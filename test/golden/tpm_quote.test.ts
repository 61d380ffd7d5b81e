/**
 * Real TPM quotes against the values their provenance asserts (test/fixtures/evidence/tpm/
 * PROVENANCE.md): go-attestation's GCP Windows quote (RSASSA/SHA-1, empty nonce), go-tpm-tools'
 * GCE COS quotes of three banks (pcrDigest in SHA-256 for every bank), trustee's Azure vTPM
 * quote (bare RSA signature, AK as JWK, nonce "challenge") and trustee's generic evidence (AK as
 * DER SPKI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../_support/paths.js';
import {
  parsePcrValues,
  verifyTpmQuote,
  type PcrValues,
  type TpmQuoteClaims,
  type TpmQuoteResult,
} from '../../src/verifier/verify/tpm_quote.js';
import { parseAttest } from '../../src/formats/tpm2/marshal/attest.js';
import { parseSignature } from '../../src/formats/tpm2/marshal/signature.js';
import { verifyEvidence } from '../../src/verifier/verify/evidence.js';
import type { HashAlg } from '../../src/crypto/hash_alg.js';

const f = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(fixture('evidence', 'tpm', name)));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const EMPTY = new Uint8Array(0);

/** The claims of a result that must have them. */
function claimsOf(r: TpmQuoteResult): TpmQuoteClaims {
  assert.ok(r.claims !== undefined, 'claims');
  return r.claims;
}

function pcrsOf(file: string, attest: Uint8Array): PcrValues {
  const a = parseAttest(attest);
  assert.equal(a.attested.kind, 'quote');
  return parsePcrValues(f(file), a.attested.pcrSelect);
}

test('TPM-1 go-attestation GCP Windows: RSASSA/SHA-1 quote verifies with the empty nonce', () => {
  const attest = f('goatt-gcp-windows.quote.tpms_attest.bin');
  assert.equal(attest.length, 101);
  const pcrs = pcrsOf('goatt-gcp-windows.pcrs-sha1.json', attest);
  const r = verifyTpmQuote({
    attest,
    signature: f('goatt-gcp-windows.quote.tpmt_signature.bin'),
    ak: { tpmtPublic: f('goatt-gcp-windows.ak.tpmt_public.bin') },
    nonce: EMPTY,
    pcrs,
  });
  assert.deepEqual(r.errors, []);
  assert.equal(r.verified, true);
  assert.equal(claimsOf(r).signature_scheme, 'rsassa');
  assert.equal(claimsOf(r).signature_hash, 'sha1');
  assert.equal(hex(claimsOf(r).pcr_digest), 'a610f27bc687ce906243287d832706036e79f6e1');
  assert.deepEqual(claimsOf(r).pcr_select, { sha1: [...Array(24).keys()] });
  const bank = claimsOf(r).pcrs!['sha1']!;
  assert.equal(hex(bank['pcr0']!), '51c323de0c0c694f4601cdd02beb58ff13629f74');
  assert.equal(hex(bank['pcr7']!), '859a5877266b5c909613468091a73380a5386786');
  for (let p = 17; p <= 22; p++) assert.equal(hex(bank[`pcr${p}`]!), 'ff'.repeat(20));
});

test('TPM-1: a flipped signature bit, a wrong nonce and a changed PCR each fail with their code', () => {
  const attest = f('goatt-gcp-windows.quote.tpms_attest.bin');
  const sig = f('goatt-gcp-windows.quote.tpmt_signature.bin');
  const ak = { tpmtPublic: f('goatt-gcp-windows.ak.tpmt_public.bin') };
  const pcrs = pcrsOf('goatt-gcp-windows.pcrs-sha1.json', attest);
  const badSig = sig.slice();
  badSig[badSig.length - 1]! ^= 1;
  assert.deepEqual(
    verifyTpmQuote({ attest, signature: badSig, ak }).errors.map((e) => e.code),
    ['ERR_SIGNATURE_INVALID'],
  );
  assert.deepEqual(
    verifyTpmQuote({ attest, signature: sig, ak, nonce: Uint8Array.of(1) }).errors.map(
      (e) => e.code,
    ),
    ['ERR_NONCE_MISMATCH'],
  );
  const changed = new Map(pcrs) as Map<HashAlg, Map<number, Uint8Array>>;
  const bank = new Map(changed.get('sha1'));
  const v = bank.get(7)!.slice();
  v[0]! ^= 1;
  bank.set(7, v);
  changed.set('sha1', bank);
  assert.deepEqual(
    verifyTpmQuote({ attest, signature: sig, ak, pcrs: changed }).errors.map((e) => e.code),
    ['ERR_BINDING_MISMATCH'],
  );
  // The attested bytes are what is signed: one changed byte breaks the signature.
  const badAttest = attest.slice();
  badAttest[40]! ^= 1;
  assert.ok(
    verifyTpmQuote({ attest: badAttest, signature: sig, ak }).errors.some(
      (e) => e.code === 'ERR_SIGNATURE_INVALID',
    ),
  );
});

for (const bank of ['sha1', 'sha256', 'sha384'] as const) {
  test(`TPM-2 go-tpm-tools GCE COS 85 ${bank} quote: verifies, pcrDigest is SHA-256 of the ${bank} values`, () => {
    const attest = f(`gotpm-gce-cos85-no-nonce.quote-${bank}.tpms_attest.bin`);
    const r = verifyTpmQuote({
      attest,
      signature: f(`gotpm-gce-cos85-no-nonce.quote-${bank}.tpmt_signature.bin`),
      ak: { tpmtPublic: f('gotpm-gce-cos85-no-nonce.ak.tpmt_public.bin') },
      nonce: EMPTY,
      pcrs: pcrsOf(`gotpm-gce-cos85-no-nonce.pcrs-${bank}.json`, attest),
    });
    assert.deepEqual(r.errors, []);
    assert.equal(r.verified, true);
    assert.equal(claimsOf(r).signature_hash, 'sha256');
    assert.equal(claimsOf(r).pcr_digest.length, 32);
    assert.deepEqual(claimsOf(r).pcr_select, { [bank]: [...Array(24).keys()] });
  });
}

test('TPM-3 trustee Azure vTPM: bare RSA signature, AK as JWK, nonce "challenge"', () => {
  const j = JSON.parse(Buffer.from(f('trustee-azure-snp.tpm-quote.json')).toString()) as {
    signature: string;
    message: string;
    pcrs: string[];
  };
  const jwks = JSON.parse(
    Buffer.from(f('trustee-azure-snp.hcl-vardata-akpub.json')).toString(),
  ) as {
    keys: { kid: string }[];
  };
  const jwk = jwks.keys.find((k) => k.kid === 'HCLAkPub')!;
  const attest = new Uint8Array(Buffer.from(j.message, 'hex'));
  const signature = new Uint8Array(Buffer.from(j.signature, 'hex'));
  const nonce = new Uint8Array(Buffer.from('challenge'));
  const pcrs = new Map<HashAlg, Map<number, Uint8Array>>([
    ['sha256', new Map(j.pcrs.map((h, i) => [i, new Uint8Array(Buffer.from(h, 'hex'))]))],
  ]);
  const r = verifyTpmQuote({ attest, signature, ak: { jwk }, nonce, pcrs });
  assert.deepEqual(r.errors, []);
  assert.equal(hex(claimsOf(r).extra_data), '6368616c6c656e6765');
  assert.equal(
    hex(claimsOf(r).pcrs!['sha256']!['pcr0']!),
    'f3a7e99a5f819a034386bce753a48a73cfdaa0bea0ecfc124bedbf5a8c4799be',
  );
  // trustee's negative cases: signature[0] ^= 1, the reversed nonce, pcrs[0][0] ^= 1.
  const s2 = signature.slice();
  s2[0]! ^= 1;
  assert.equal(verifyTpmQuote({ attest, signature: s2, ak: { jwk } }).verified, false);
  const rev = nonce.slice().reverse();
  assert.deepEqual(
    verifyTpmQuote({ attest, signature, ak: { jwk }, nonce: rev }).errors.map((e) => e.code),
    ['ERR_NONCE_MISMATCH'],
  );
  const p0 = pcrs.get('sha256')!.get(0)!.slice();
  p0[0]! ^= 1;
  const pcrs2 = new Map<HashAlg, Map<number, Uint8Array>>([
    ['sha256', new Map(pcrs.get('sha256')).set(0, p0)],
  ]);
  assert.deepEqual(
    verifyTpmQuote({ attest, signature, ak: { jwk }, pcrs: pcrs2 }).errors.map((e) => e.code),
    ['ERR_BINDING_MISMATCH'],
  );
});

test('TPM-4 trustee generic evidence through the evidence front door (AK as DER SPKI)', async () => {
  const j = JSON.parse(Buffer.from(f('trustee-generic.tpm-evidence.json')).toString()) as {
    ak_public: string;
    tpm_quote: { message: string; signature: string; pcrs: string[] };
  };
  const attest = new Uint8Array(Buffer.from(j.tpm_quote.message, 'base64'));
  const signature = new Uint8Array(Buffer.from(j.tpm_quote.signature, 'base64'));
  assert.equal(parseSignature(signature).kind, 'rsa');
  const extra =
    'a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120' +
    '00'.repeat(16);
  const pcrsJson = new TextEncoder().encode(JSON.stringify({ sha256: j.tpm_quote.pcrs }));
  const r = await verifyEvidence(attest, {
    ak: new Uint8Array(Buffer.from(j.ak_public, 'base64')),
    signature,
    pcrs: pcrsJson,
    nonce: new Uint8Array(Buffer.from(extra, 'hex')),
    at: new Date('2025-01-01T00:00:00Z'),
  });
  assert.equal(r.kind, 'tpm');
  assert.deepEqual(r.errors, []);
  assert.equal(r.verified, true);
  const pcrs = (r.claims['pcrs'] as Record<string, Record<string, Uint8Array>>)['sha256']!;
  for (let p = 0; p <= 16; p++) assert.equal(hex(pcrs[`pcr${p}`]!), '00'.repeat(32));
  for (let p = 17; p <= 22; p++) assert.equal(hex(pcrs[`pcr${p}`]!), 'ff'.repeat(32));
  assert.equal(hex(pcrs['pcr23']!), '00'.repeat(32));
});

test('truncation sweep: every cut of a real TPMS_ATTEST and TPMT_SIGNATURE is ERR_TRUNCATED', () => {
  for (const [name, parse] of [
    ['gotpm-gce-cos85-no-nonce.quote-sha256.tpms_attest.bin', parseAttest],
    ['gotpm-gce-cos85-no-nonce.quote-sha256.tpmt_signature.bin', parseSignature],
  ] as const) {
    const b = f(name);
    for (let cut = 0; cut < b.length; cut++) {
      assert.throws(
        () => parse(b.subarray(0, cut)),
        { code: 'ERR_TRUNCATED' },
        `${name} cut at ${cut}`,
      );
    }
  }
});
