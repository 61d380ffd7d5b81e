// Forgery suite — TPM AK trust (issue #12, DESIGN §6.1: "an ak_public carried in the evidence
// alone is never enough"). A fresh key signs a well-formed TPMS_ATTEST; the report envelope
// carries that key. Each attack runs `mrstack evidence verify` (the CLI path) and asserts the
// check that fails, its code and exit 1, with the quote signature itself `ok` — so the refusal
// is for trust, not for a broken quote. Each has a control that verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, sign, type KeyObject } from 'node:crypto';
import {
  TPM_ALG,
  TPM_GENERATED_VALUE,
  TPM_ST,
  TPMA_OBJECT,
} from '../../../../src/formats/tpm2/constants.js';
import { encodeAttest } from '../../../../src/formats/tpm2/marshal/attest.js';
import { encodePublic } from '../../../../src/formats/tpm2/marshal/public.js';
import { encodeSignature } from '../../../../src/formats/tpm2/marshal/signature.js';
import { objectName, publicFromKeyObject } from '../../../../src/formats/tpm2/public_key.js';
import { akTemplate } from '../../../../src/formats/tpm2/templates.js';
import { toPem } from '../../../../src/formats/x509/pem_encode.js';
import { runCliJson, type EvidenceVerifyJson } from '../../../_support/cli.js';
import { fileWriter } from '../../../_support/tmp.js';
import {
  caExtension,
  eku,
  intelName,
  issue,
  keyUsage,
  p256,
  type KeyPair,
} from '../../../_support/forge_pki.js';

const NONCE = '5eed0123456789ab';
const AT = '2026-06-01T00:00:00Z';
const TCG_KP_AIK = '2.23.133.8.3';

const file = fileWriter('mrstack-forge-ak-');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const spkiSha256 = (k: KeyObject): string =>
  createHash('sha256')
    .update(k.export({ format: 'der', type: 'spki' }))
    .digest('hex');

/** A quote over one SHA-256 PCR, signed by `ak` (ECDSA P-256 / SHA-256), nonce in extraData. */
function quote(
  ak: KeyPair,
  attributes?: number,
): { attest: Uint8Array; sig: Uint8Array; pub: Uint8Array } {
  const tpl = akTemplate('ecc');
  const pubT = publicFromKeyObject(ak.publicKey, {
    ...tpl,
    objectAttributes: attributes ?? tpl.objectAttributes,
  });
  const pub = encodePublic(pubT);
  const attest = encodeAttest({
    magic: TPM_GENERATED_VALUE,
    type: TPM_ST.ATTEST_QUOTE,
    qualifiedSigner: objectName(pub),
    extraData: new Uint8Array(Buffer.from(NONCE, 'hex')),
    clockInfo: { clock: 1000n, resetCount: 0, restartCount: 0, safe: true },
    firmwareVersion: 0n,
    attested: {
      kind: 'quote',
      pcrSelect: [{ hashAlg: TPM_ALG.SHA256, pcrs: [7] }],
      pcrDigest: createHash('sha256').update(Buffer.alloc(32, 0x77)).digest(),
    },
  });
  const raw = sign('sha256', attest, { key: ak.privateKey, dsaEncoding: 'ieee-p1363' });
  const sig = encodeSignature({
    kind: 'ecc',
    sigAlg: TPM_ALG.ECDSA,
    hashAlg: TPM_ALG.SHA256,
    r: new Uint8Array(raw.subarray(0, 32)),
    s: new Uint8Array(raw.subarray(32)),
  });
  return { attest, sig, pub };
}

/** An mrstack-report-v1 envelope with the quote and its AK in `parts` (what an attester sends). */
function envelope(q: ReturnType<typeof quote>, extra: Record<string, Uint8Array> = {}): string {
  const parts: Record<string, string> = { signature: hex(q.sig), ak_public: hex(q.pub) };
  for (const [k, v] of Object.entries(extra)) parts[k] = hex(v);
  return file(
    JSON.stringify({
      format: 'mrstack-report-v1',
      kind: 'tpm',
      emulated: false,
      outblob: hex(q.attest),
      parts,
    }),
  );
}

async function verify(
  ev: string,
  ...flags: string[]
): Promise<{ code: number; r: EvidenceVerifyJson }> {
  const { result, json } = await runCliJson([
    'evidence',
    'verify',
    ev,
    '--nonce',
    NONCE,
    '--at',
    AT,
    ...flags,
    '--json',
  ]);
  return { code: result.code ?? -1, r: json as EvidenceVerifyJson };
}

/** Refused for trust alone: exit 1, `check` failed with `code`, the signature check ok. */
function refused(
  v: { code: number; r: EvidenceVerifyJson },
  check: string,
  code: string,
): Record<string, unknown> {
  assert.equal(v.code, 1, JSON.stringify(v.r));
  assert.equal(v.r.verified, false);
  assert.equal(v.r.checks[check], 'failed', JSON.stringify(v.r.checks));
  assert.equal(v.r.checks['quote_signature'], 'ok', JSON.stringify(v.r.errors));
  const e = v.r.errors.find((x) => x.check === check);
  assert.ok(e !== undefined, JSON.stringify(v.r.errors));
  assert.equal(e.code, code, e.message);
  return e;
}

// A test PKI: a CA the caller trusts, and a second one it does not.
const ca = p256();
const caName = intelName('Test TPM AK CA');
const caDer = issue({
  subject: caName,
  issuer: caName,
  subjectKey: ca.publicKey,
  issuerKey: ca.privateKey,
  alg: 'ecdsa-sha256',
  extensions: [caExtension(), keyUsage(5, 6)],
});
const rogue = p256();
const rogueName = intelName('Rogue TPM AK CA');
const rogueDer = issue({
  subject: rogueName,
  issuer: rogueName,
  subjectKey: rogue.publicKey,
  issuerKey: rogue.privateKey,
  alg: 'ecdsa-sha256',
  extensions: [caExtension(), keyUsage(5, 6)],
});
const anchor = file(toPem(caDer));

function akCert(
  key: KeyObject,
  opts: { by?: 'ca' | 'rogue'; purposes?: string[] | null } = {},
): Uint8Array {
  const byRogue = opts.by === 'rogue';
  const purposes = opts.purposes === undefined ? [TCG_KP_AIK] : opts.purposes;
  return issue({
    subject: intelName('Test AK'),
    issuer: byRogue ? rogueName : caName,
    subjectKey: key,
    issuerKey: byRogue ? rogue.privateKey : ca.privateKey,
    alg: 'ecdsa-sha256',
    extensions: [keyUsage(0), ...(purposes === null ? [] : [eku(...purposes)])],
  });
}

const ak = p256();
const q = quote(ak);

test('AK only in the envelope (ak_public) → ak_trust ERR_UNTRUSTED_KEY, exit 1; control: the same key pinned with --ak verifies', async () => {
  const ev = envelope(q);
  const v = await verify(ev);
  refused(v, 'ak_trust', 'ERR_UNTRUSTED_KEY');
  // The control: the caller pins that key (learned out of band) — the same bytes verify.
  const pinned = await verify(ev, '--ak', file(q.pub));
  assert.equal(pinned.code, 0, JSON.stringify(pinned.r.errors));
  assert.equal(pinned.r.verified, true);
  assert.equal(pinned.r.checks['ak_trust'], 'ok');
  assert.deepEqual(pinned.r.claims['ak_trust'], {
    reason: 'pinned',
    ak_spki_sha256: spkiSha256(ak.publicKey),
  });
  // Pinning another key: the quote no longer verifies (the pin is what the signature is checked with).
  const other = await verify(ev, '--ak', file(quote(p256()).pub));
  assert.equal(other.code, 1);
  assert.equal(other.r.checks['quote_signature'], 'failed');
});

test('control: an AK certificate for the quote key, chaining to --trust-anchor, verifies (ak_trust: certificate)', async () => {
  const ev = envelope(q, { ak_cert: akCert(ak.publicKey) });
  const v = await verify(ev, '--trust-anchor', anchor);
  assert.equal(v.code, 0, JSON.stringify(v.r.errors));
  assert.equal(v.r.verified, true);
  const t = v.r.claims['ak_trust'] as Record<string, unknown>;
  assert.equal(t['reason'], 'certificate');
  assert.equal(t['ak_spki_sha256'], spkiSha256(ak.publicKey));
  assert.equal(v.r.trust.anchor?.sha256, spkiSha256(ca.publicKey));
  // The same certificate given with --cert instead of in the envelope.
  const q2 = envelope(q);
  const viaCert = await verify(q2, '--cert', file(akCert(ak.publicKey)), '--trust-anchor', anchor);
  assert.equal(viaCert.code, 0, JSON.stringify(viaCert.r.errors));
  // And without a --trust-anchor the certificate chains nowhere (no issuer for it).
  const none = await verify(ev);
  const e = refused(none, 'ak_trust', 'ERR_UNTRUSTED_KEY');
  assert.equal(e['cause_code'], 'ERR_CHAIN_INVALID');
  // With the CA's own certificate beside it, but not as an anchor: an untrusted root.
  const withCa = await verify(ev, '--cert', file(toPem(caDer)));
  const e2 = refused(withCa, 'ak_trust', 'ERR_UNTRUSTED_KEY');
  assert.equal(e2['cause_code'], 'ERR_UNTRUSTED_ROOT');
});

test('AK certificate chaining to an untrusted root → ak_trust ERR_UNTRUSTED_KEY (cause ERR_UNTRUSTED_ROOT)', async () => {
  const ev = envelope(q, {
    ak_cert: new Uint8Array(
      Buffer.from(toPem(akCert(ak.publicKey, { by: 'rogue' })) + toPem(rogueDer)),
    ),
  });
  const e = refused(await verify(ev, '--trust-anchor', anchor), 'ak_trust', 'ERR_UNTRUSTED_KEY');
  assert.equal(e['cause_code'], 'ERR_UNTRUSTED_ROOT');
});

test('AK certificate for another key than the one that signed the quote → ak_trust ERR_UNTRUSTED_KEY', async () => {
  // A genuine certificate (trusted CA) for key B; the quote is signed by key A, carried as ak_public.
  const b = p256();
  const ev = envelope(q, { ak_cert: akCert(b.publicKey) });
  const e = refused(await verify(ev, '--trust-anchor', anchor), 'ak_trust', 'ERR_UNTRUSTED_KEY');
  assert.equal(e['ak_spki_sha256'], spkiSha256(ak.publicKey));
  assert.equal(e['cause_code'], undefined);
});

test('AK certificate without an AK purpose (no EKU; serverAuth only) → ak_trust ERR_UNTRUSTED_KEY (cause ERR_CERT_PROFILE extended_key_usage)', async () => {
  for (const purposes of [null, ['1.3.6.1.5.5.7.3.1']]) {
    const ev = envelope(q, { ak_cert: akCert(ak.publicKey, { purposes }) });
    const e = refused(await verify(ev, '--trust-anchor', anchor), 'ak_trust', 'ERR_UNTRUSTED_KEY');
    assert.equal(e['cause_code'], 'ERR_CERT_PROFILE');
    assert.equal(e['rule'], 'extended_key_usage');
  }
});

test('an AK whose TPMT_PUBLIC lacks restricted, or has decrypt, → ak_attributes ERR_AK_ATTRIBUTES even with a valid certificate', async () => {
  const base = akTemplate('ecc').objectAttributes;
  for (const attributes of [
    base & ~TPMA_OBJECT.restricted,
    base & ~TPMA_OBJECT.sign,
    base | TPMA_OBJECT.decrypt,
  ]) {
    const k = p256();
    const ev = envelope(quote(k, attributes), { ak_cert: akCert(k.publicKey) });
    const v = await verify(ev, '--trust-anchor', anchor);
    refused(v, 'ak_attributes', 'ERR_AK_ATTRIBUTES');
    // The certificate itself was fine: trust and attributes are separate checks.
    assert.equal(v.r.checks['ak_trust'], 'ok');
  }
});
