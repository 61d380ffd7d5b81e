/**
 * TPM quote verification pieces with inputs made by node:crypto / openssl (independent of the
 * code under test): RSASSA-PSS salt length recovery for several salt lengths, ECDSA quotes,
 * the restricted-signing check on the AK, and the PCR value file shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, createHash, generateKeyPairSync, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  akFromBytes,
  parsePcrValues,
  pssSaltLength,
  verifyTpmQuote,
} from '../../../src/verifier/verify/tpm_quote.js';
import { encodeAttest } from '../../../src/formats/tpm2/marshal/attest.js';
import { encodeSignature } from '../../../src/formats/tpm2/marshal/signature.js';
import { encodePublic } from '../../../src/formats/tpm2/marshal/public.js';
import { publicFromKeyObject } from '../../../src/formats/tpm2/public_key.js';
import { akTemplate } from '../../../src/formats/tpm2/templates.js';
import {
  TPM_ALG,
  TPM_GENERATED_VALUE,
  TPM_ST,
  TPMA_OBJECT,
} from '../../../src/formats/tpm2/constants.js';
import { checkAgentPcr } from '../../../src/providers/tpm/agent_pcrs.js';

const sel = [{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 7] }];
const pcr0 = new Uint8Array(32).fill(1);
const pcr7 = new Uint8Array(32).fill(7);
const digest = new Uint8Array(createHash('sha256').update(pcr0).update(pcr7).digest());
const attest = encodeAttest({
  magic: TPM_GENERATED_VALUE,
  type: TPM_ST.ATTEST_QUOTE,
  qualifiedSigner: new Uint8Array(34),
  extraData: Uint8Array.of(1, 2, 3),
  clockInfo: { clock: 1n, resetCount: 0, restartCount: 0, safe: true },
  firmwareVersion: 0n,
  attested: { kind: 'quote', pcrSelect: sel, pcrDigest: digest },
});
const pcrs = new Map([
  [
    'sha256' as const,
    new Map([
      [0, pcr0],
      [7, pcr7],
    ]),
  ],
]);
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

test('RSASSA-PSS: the salt length is recovered (0, 20, 32, max) and the quote verifies', () => {
  for (const saltLength of [0, 20, 32, 256 - 32 - 2]) {
    const raw = sign('sha256', attest, {
      key: rsa.privateKey,
      padding: C.RSA_PKCS1_PSS_PADDING,
      saltLength,
    });
    assert.equal(pssSaltLength(rsa.publicKey, raw, 'sha256'), saltLength);
    const signature = encodeSignature({
      kind: 'rsa',
      sigAlg: TPM_ALG.RSAPSS,
      hashAlg: TPM_ALG.SHA256,
      sig: raw,
    });
    const pub = {
      ...publicFromKeyObject(rsa.publicKey, akTemplate('rsa')),
      scheme: { scheme: TPM_ALG.RSAPSS, hashAlg: TPM_ALG.SHA256 },
    };
    const r = verifyTpmQuote({
      attest,
      signature,
      ak: { tpmtPublic: encodePublic(pub) },
      nonce: Uint8Array.of(1, 2, 3),
      pcrs,
    });
    assert.deepEqual(r.errors, []);
    assert.equal(r.claims?.pss_salt_length, saltLength);
  }
});

test('an ECDSA quote signed by openssl verifies with the AK given as PEM (with a warning about attributes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-tq-'));
  try {
    execFileSync('openssl', [
      'ecparam',
      '-name',
      'prime256v1',
      '-genkey',
      '-noout',
      '-out',
      join(dir, 'k.pem'),
    ]);
    execFileSync(
      'openssl',
      ['ec', '-in', join(dir, 'k.pem'), '-pubout', '-out', join(dir, 'p.pem')],
      { stdio: 'pipe' },
    );
    writeFileSync(join(dir, 'a.bin'), attest);
    const der = execFileSync('openssl', [
      'dgst',
      '-sha256',
      '-sign',
      join(dir, 'k.pem'),
      join(dir, 'a.bin'),
    ]);
    // DER ECDSA-Sig-Value → r, s.
    let i = 2;
    const rl = der[i + 1]!;
    const r = der.subarray(i + 2, i + 2 + rl);
    i = i + 2 + rl;
    const s = der.subarray(i + 2, i + 2 + der[i + 1]!);
    const signature = encodeSignature({
      kind: 'ecc',
      sigAlg: TPM_ALG.ECDSA,
      hashAlg: TPM_ALG.SHA256,
      r,
      s,
    });
    const ak = akFromBytes(new Uint8Array(Buffer.from(execFileSync('cat', [join(dir, 'p.pem')]))));
    const res = verifyTpmQuote({ attest, signature, ak, nonce: Uint8Array.of(1, 2, 3), pcrs });
    assert.deepEqual(res.errors, []);
    assert.ok(res.warnings.some((w) => w.includes('restricted')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an AK without restricted|sign, or with decrypt, is refused even when the signature is good', () => {
  const raw = sign('sha256', attest, { key: rsa.privateKey, padding: C.RSA_PKCS1_PADDING });
  const signature = encodeSignature({
    kind: 'rsa',
    sigAlg: TPM_ALG.RSASSA,
    hashAlg: TPM_ALG.SHA256,
    sig: raw,
  });
  const base = publicFromKeyObject(rsa.publicKey, akTemplate('rsa'));
  const ok = verifyTpmQuote({ attest, signature, ak: { tpmtPublic: encodePublic(base) } });
  assert.deepEqual(ok.errors, []);
  const unrestricted = {
    ...base,
    objectAttributes: base.objectAttributes & ~TPMA_OBJECT.restricted,
  };
  const bad = verifyTpmQuote({ attest, signature, ak: { tpmtPublic: encodePublic(unrestricted) } });
  assert.deepEqual(
    bad.errors.map((e) => e.code),
    ['ERR_AK_ATTRIBUTES'],
  );
  // TPM 2.0 Part 1 (attestation keys): a key that can also decrypt is not an AK either.
  const decrypting = { ...base, objectAttributes: base.objectAttributes | TPMA_OBJECT.decrypt };
  const bad2 = verifyTpmQuote({ attest, signature, ak: { tpmtPublic: encodePublic(decrypting) } });
  assert.deepEqual(
    bad2.errors.map((e) => e.code),
    ['ERR_AK_ATTRIBUTES'],
  );
  // A TPM2B_PUBLIC (size-prefixed, as tpm2-tools writes it) is read too.
  const tpmt = encodePublic(base);
  const b2 = new Uint8Array(tpmt.length + 2);
  b2.set([tpmt.length >> 8, tpmt.length & 0xff]);
  b2.set(tpmt, 2);
  assert.deepEqual(verifyTpmQuote({ attest, signature, ak: akFromBytes(b2) }).errors, []);
});

test('PCR value files: JSON by bank, {hash,pcrs}, one-bank arrays, binary values; bad shapes are typed', () => {
  const h0 = Buffer.from(pcr0).toString('hex');
  const h7 = Buffer.from(pcr7).toString('hex');
  const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
  for (const input of [
    enc({ sha256: { '0': h0, '7': h7 } }),
    enc({ hash: 'sha256', pcrs: { pcr0: h0, pcr7: h7 } }),
    enc({ '0': h0, '7': h7 }),
    new Uint8Array(Buffer.concat([pcr0, pcr7])),
  ]) {
    const m = parsePcrValues(input, sel);
    assert.deepEqual(m.get('sha256')?.get(0), pcr0);
    assert.deepEqual(m.get('sha256')?.get(7), pcr7);
  }
  // binary digests that happen to begin with '{' or '[' are still binary (a bundle's
  // pcr_values failed to verify about 1 run in 64 when they were read as JSON)
  for (const first of [0x7b, 0x5b]) {
    const a = Buffer.from(pcr0);
    a[0] = first;
    const m = parsePcrValues(new Uint8Array(Buffer.concat([a, pcr7])), sel);
    assert.deepEqual(m.get('sha256')?.get(0), new Uint8Array(a));
    assert.deepEqual(m.get('sha256')?.get(7), pcr7);
  }
  assert.throws(() => parsePcrValues(new Uint8Array(63), sel), { code: 'ERR_BAD_VALUE' });
  assert.throws(() => parsePcrValues(enc({ sha256: { x: 'zz' } }), sel), { code: 'ERR_BAD_JSON' });
  assert.throws(() => parsePcrValues(new TextEncoder().encode('{nope'), sel), {
    code: 'ERR_BAD_JSON',
  });
});

test('agent PCR rule: 16 and 23 refused unless allowed, 17-22 always, 0-15 fine', () => {
  assert.throws(() => checkAgentPcr(16), { code: 'ERR_USAGE', message: /reset from locality 0/ });
  assert.throws(() => checkAgentPcr(23), { code: 'ERR_USAGE' });
  checkAgentPcr(16, true);
  checkAgentPcr(23, true);
  assert.throws(() => checkAgentPcr(17, true), { code: 'ERR_USAGE', message: /DRTM/ });
  assert.throws(() => checkAgentPcr(24), { code: 'ERR_USAGE' });
  for (let p = 0; p <= 15; p++) checkAgentPcr(p);
});
