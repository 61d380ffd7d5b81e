/**
 * The GCE COS 85 quotes verified the way go-tpm-tools verifies them (test/fixtures/evidence/tpm/
 * PROVENANCE.md, TPM-2): through the AK certificate chain AK → intermediate-2 → root-1, with
 * Google's root given as the caller's `--trust-anchor` — never through the AK alone. Run as
 * `mrstack evidence verify` (the CLI path). The captures carry no caller nonce, so the table
 * below names the relaxation each needs and the tests assert it is listed in `relaxed`. The same
 * capture as go-tpm-tools writes it (`attestation.pb`) is verified the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../_support/paths.js';
import { runCliJson, type EvidenceVerifyJson } from '../_support/cli.js';
import { runTool } from '../_support/peers.js';
import { decodeGoTpmAttestation } from '../../src/formats/tpm2/gotpm_attestation.js';
import { parseAttest } from '../../src/formats/tpm2/marshal/attest.js';
import {
  hierarchyQualifiedName,
  objectName,
  qualifiedName,
} from '../../src/formats/tpm2/public_key.js';

const F = (name: string): string => fixture('evidence', 'tpm', name);
const AK_CERT = F('gotpm-gce-cos85.ak-cert.der');
const INTERMEDIATE = F('gce-tpm-ek-intermediate-2.crt');
const ROOT = F('gce-tpm-ek-root-1.cer');

/** Each capture, the time it is verified at (none is pinned upstream) and its relaxations. */
const CAPTURES = [
  { bank: 'sha1', at: '2024-06-01T00:00:00Z', relax: ['nonce'] },
  { bank: 'sha256', at: '2024-06-01T00:00:00Z', relax: ['nonce'] },
  { bank: 'sha384', at: '2024-06-01T00:00:00Z', relax: ['nonce'] },
] as const;

const quoteArgs = (bank: string): string[] => [
  F(`gotpm-gce-cos85-no-nonce.quote-${bank}.tpms_attest.bin`),
  '--signature',
  F(`gotpm-gce-cos85-no-nonce.quote-${bank}.tpmt_signature.bin`),
  '--pcrs',
  F(`gotpm-gce-cos85-no-nonce.pcrs-${bank}.json`),
];

async function verify(args: string[]): Promise<{ code: number; r: EvidenceVerifyJson }> {
  const { result, json } = await runCliJson(['evidence', 'verify', ...args, '--json']);
  return { code: result.code ?? -1, r: json as EvidenceVerifyJson };
}

/** SHA-256 of a certificate's SubjectPublicKeyInfo, computed by openssl. */
function spkiSha256(derCert: string): string {
  const pub = runTool('openssl', ['x509', '-inform', 'DER', '-pubkey', '-noout', '-in', derCert]);
  return createHash('sha256')
    .update(runTool('openssl', ['pkey', '-pubin', '-outform', 'DER'], pub))
    .digest('hex');
}

test('openssl agrees: the AK certificate chains to root-1 through intermediate-2, not through intermediate-3', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-gce-'));
  try {
    const pem = (f: string): string =>
      runTool('openssl', ['x509', '-inform', 'DER', '-in', f]).toString();
    writeFileSync(join(dir, 'root.pem'), pem(ROOT));
    writeFileSync(join(dir, 'int2.pem'), pem(INTERMEDIATE));
    writeFileSync(join(dir, 'int3.pem'), pem(F('gce-tpm-ek-intermediate-3.crt')));
    writeFileSync(join(dir, 'ak.pem'), pem(AK_CERT));
    const args = ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted'];
    runTool('openssl', [...args, join(dir, 'int2.pem'), join(dir, 'ak.pem')]);
    assert.throws(() => runTool('openssl', [...args, join(dir, 'int3.pem'), join(dir, 'ak.pem')]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const c of CAPTURES) {
  test(`GCE COS 85 ${c.bank} quote: verifies through its AK certificate chain to Google's root (--trust-anchor), relaxed ${c.relax.join(',')}`, async () => {
    const v = await verify([
      ...quoteArgs(c.bank),
      '--cert',
      AK_CERT,
      '--cert',
      INTERMEDIATE,
      '--trust-anchor',
      ROOT,
      '--relax',
      c.relax.join(','),
      '--at',
      c.at,
    ]);
    assert.equal(v.code, 0, JSON.stringify(v.r.errors));
    assert.equal(v.r.verified, true);
    assert.deepEqual(v.r.relaxed, [...c.relax]);
    assert.equal(v.r.checks['quote_signature'], 'ok');
    assert.equal(v.r.checks['pcr_digest'], 'ok');
    assert.equal(v.r.checks['ak_trust'], 'ok');
    const trust = v.r.claims['ak_trust'] as Record<string, unknown>;
    assert.equal(trust['reason'], 'certificate');
    // The AK's key is the certificate's (PROVENANCE: its public key equals the AK TPMT_PUBLIC).
    assert.equal(trust['ak_spki_sha256'], spkiSha256(AK_CERT));
    assert.equal(v.r.trust.anchor?.sha256, spkiSha256(ROOT));
    assert.equal(v.r.trust.emulated, false);
  });
}

test('GCE quote without a trust anchor: ak_trust ERR_UNTRUSTED_KEY, exit 1 (the signature alone still verifies)', async () => {
  for (const extra of [
    ['--cert', AK_CERT, '--cert', INTERMEDIATE],
    ['--cert', AK_CERT, '--cert', INTERMEDIATE, '--cert', ROOT], // the root as a mere --cert
  ]) {
    const v = await verify([
      ...quoteArgs('sha256'),
      ...extra,
      '--relax',
      'nonce',
      '--at',
      '2024-06-01T00:00:00Z',
    ]);
    assert.equal(v.code, 1);
    assert.equal(v.r.verified, false);
    assert.equal(v.r.checks['quote_signature'], 'ok');
    assert.equal(v.r.checks['ak_trust'], 'failed');
    assert.deepEqual(
      v.r.errors.map((e) => [e.check, e.code]),
      [['ak_trust', 'ERR_UNTRUSTED_KEY']],
    );
  }
});

test('GCE quote with the wrong intermediate (intermediate-3) → ak_trust ERR_UNTRUSTED_KEY; without --relax nonce → ERR_CHECK_SKIPPED', async () => {
  const wrong = await verify([
    ...quoteArgs('sha256'),
    '--cert',
    AK_CERT,
    '--cert',
    F('gce-tpm-ek-intermediate-3.crt'),
    '--trust-anchor',
    ROOT,
    '--relax',
    'nonce',
    '--at',
    '2024-06-01T00:00:00Z',
  ]);
  assert.equal(wrong.code, 1);
  assert.deepEqual(
    wrong.r.errors.map((e) => [e.check, e.code]),
    [['ak_trust', 'ERR_UNTRUSTED_KEY']],
  );
  const strict = await verify([
    ...quoteArgs('sha256'),
    '--cert',
    AK_CERT,
    '--cert',
    INTERMEDIATE,
    '--trust-anchor',
    ROOT,
    '--at',
    '2024-06-01T00:00:00Z',
  ]);
  assert.equal(strict.code, 1);
  assert.equal(strict.r.checks['ak_trust'], 'ok');
  assert.deepEqual(
    strict.r.errors.map((e) => [e.check, e.code]),
    [['nonce', 'ERR_CHECK_SKIPPED']],
  );
});

test('GCE quote in a report envelope with its AK TPMT_PUBLIC and AK certificate: the attributes are checked too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-gce-env-'));
  try {
    const hex = (f: string): string => readFileSync(f).toString('hex');
    const env = join(dir, 'env.json');
    writeFileSync(
      env,
      JSON.stringify({
        format: 'mrstack-report-v1',
        kind: 'tpm',
        emulated: false,
        outblob: hex(F('gotpm-gce-cos85-no-nonce.quote-sha256.tpms_attest.bin')),
        parts: {
          signature: hex(F('gotpm-gce-cos85-no-nonce.quote-sha256.tpmt_signature.bin')),
          ak_public: hex(F('gotpm-gce-cos85-no-nonce.ak.tpmt_public.bin')),
          ak_cert: hex(AK_CERT),
          ak_cert_chain: hex(INTERMEDIATE),
        },
      }),
    );
    const v = await verify([
      env,
      '--trust-anchor',
      ROOT,
      '--relax',
      'nonce',
      '--at',
      '2024-06-01T00:00:00Z',
    ]);
    assert.equal(v.code, 0, JSON.stringify(v.r.errors));
    assert.equal(v.r.checks['ak_attributes'], 'ok');
    assert.equal((v.r.claims['ak_trust'] as { reason: string }).reason, 'certificate');
    const alone = await verify([env, '--relax', 'nonce', '--at', '2024-06-01T00:00:00Z']);
    assert.equal(alone.code, 1);
    assert.equal(alone.r.checks['ak_trust'], 'failed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// --- the same capture as go-tpm-tools writes it: attestation.pb ---------------------------------

const PB = F('gotpm-gce-cos85-no-nonce.attestation.pb');

test('attestation.pb decodes to the files the shared set derived from it (ak_pub, quotes, signatures, ak_cert, event log)', () => {
  const a = decodeGoTpmAttestation(new Uint8Array(readFileSync(PB)));
  const same = (got: Uint8Array | undefined, file: string): void =>
    assert.ok(got !== undefined && Buffer.from(got).equals(readFileSync(file)), file);
  same(a.akPublic, F('gotpm-gce-cos85-no-nonce.ak.tpmt_public.bin'));
  same(a.akCert, AK_CERT);
  assert.deepEqual(
    a.quotes.map((q) => q.bank),
    ['sha1', 'sha256', 'sha384'],
  );
  for (const q of a.quotes) {
    same(q.attest, F(`gotpm-gce-cos85-no-nonce.quote-${q.bank}.tpms_attest.bin`));
    same(q.signature, F(`gotpm-gce-cos85-no-nonce.quote-${q.bank}.tpmt_signature.bin`));
    assert.equal(q.pcrs.size, 24);
  }
  assert.equal(a.eventLog?.length, 23970);
  assert.deepEqual(a.intermediates, []);
});

test('attestation.pb: evidence verify detects it and verifies every bank through the AK certificate chain; without an anchor ERR_UNTRUSTED_KEY; pinned AK verifies', async () => {
  const at = ['--relax', 'nonce', '--at', '2024-06-01T00:00:00Z'];
  const v = await verify([PB, '--cert', INTERMEDIATE, '--trust-anchor', ROOT, ...at]);
  assert.equal(v.code, 0, JSON.stringify(v.r.errors));
  assert.equal(v.r.kind, 'tpm');
  assert.deepEqual(v.r.relaxed, ['nonce']);
  for (const bank of ['sha1', 'sha256', 'sha384']) {
    assert.equal(v.r.checks[`${bank}.quote_signature`], 'ok');
    assert.equal(v.r.checks[`${bank}.pcr_digest`], 'ok');
  }
  assert.equal(v.r.checks['ak_attributes'], 'ok');
  assert.equal((v.r.claims['ak_trust'] as { reason: string }).reason, 'certificate');
  assert.equal(v.r.trust.anchor?.sha256, spkiSha256(ROOT));
  // PCR values as the shared set's JSON lists them (derived from the same capture).
  const pcr0 = (
    JSON.parse(readFileSync(F('gotpm-gce-cos85-no-nonce.pcrs-sha256.json'), 'utf8')) as {
      pcrs: Record<string, string>;
    }
  ).pcrs['0'];
  const quotes = v.r.claims['quotes'] as Record<
    string,
    { pcrs: Record<string, Record<string, string>> }
  >;
  assert.equal(quotes['sha256']!.pcrs['sha256']!['pcr0'], pcr0);

  const none = await verify([PB, ...at]);
  assert.equal(none.code, 1);
  assert.deepEqual(
    none.r.errors.map((e) => [e.check, e.code]),
    [['ak_trust', 'ERR_UNTRUSTED_KEY']],
  );
  const pinned = await verify([
    PB,
    '--ak',
    F('gotpm-gce-cos85-no-nonce.ak.tpmt_public.bin'),
    ...at,
  ]);
  assert.equal(pinned.code, 0, JSON.stringify(pinned.r.errors));
  assert.equal((pinned.r.claims['ak_trust'] as { reason: string }).reason, 'pinned');
});

const PB_ARGS = [
  '--cert',
  INTERMEDIATE,
  '--trust-anchor',
  ROOT,
  '--relax',
  'nonce',
  '--at',
  '2024-06-01T00:00:00Z',
];
const PCRS_0_TO_9 = Array.from({ length: 10 }, (_, i) => `pcr${i}`);

test("attestation.pb: its event log replays to every PCR it extends (0-9) in each bank's Google-signed quote", async () => {
  const v = await verify([PB, ...PB_ARGS]);
  assert.equal(v.code, 0, JSON.stringify(v.r.errors));
  const log = v.r.claims['event_log'] as { bytes: number; compared: Record<string, string[]> };
  assert.equal(log.bytes, 23970);
  for (const bank of ['sha1', 'sha256', 'sha384']) {
    assert.equal(v.r.checks[`${bank}.event_log`], 'ok', bank);
    assert.deepEqual(log.compared[bank], PCRS_0_TO_9, bank);
  }
});

test('attestation.pb with one event digest changed: sha1.event_log ERR_REPLAY_MISMATCH naming pcr4 and its last record, exit 1; the other banks still replay', async () => {
  const pb = new Uint8Array(readFileSync(PB));
  const att = decodeGoTpmAttestation(pb);
  const logBytes = att.eventLog!;
  const logAt = Buffer.from(pb).indexOf(Buffer.from(logBytes));
  assert.ok(logAt > 0);
  // The first PCR 4 record and the last one, found by walking the crypto-agile records here
  // (TCG PC Client PFP §10.2.2): the Spec ID header is a TCG_PCR_EVENT (32-byte body header);
  // then pcrIndex u32, eventType u32, count u32, per digest algId u16 + digest, size u32, data.
  const sizes: Record<number, number> = { 0x0004: 20, 0x000b: 32, 0x000c: 48 };
  const u32 = (o: number): number => Buffer.from(logBytes).readUInt32LE(o);
  let off = 32 + u32(28);
  const pcr4: { off: number; index: number }[] = [];
  for (let index = 1; off < logBytes.length; index++) {
    const pcr = u32(off);
    let p = off + 12;
    const first = p;
    for (let n = u32(off + 8); n > 0; n--) p += 2 + sizes[Buffer.from(logBytes).readUInt16LE(p)]!;
    if (pcr === 4) pcr4.push({ off: first, index });
    off = p + 4 + u32(p);
  }
  assert.ok(pcr4.length > 0);
  // The first digest of the record is its SHA-1 (the header lists sha1 first).
  assert.equal(Buffer.from(logBytes).readUInt16LE(pcr4[0]!.off), 0x0004);
  const bad = Uint8Array.from(pb);
  bad[logAt + pcr4[0]!.off + 2]! ^= 0xff;
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-gce-pb-'));
  try {
    const f = join(dir, 'bad.pb');
    writeFileSync(f, bad);
    const v = await verify([f, ...PB_ARGS]);
    assert.equal(v.code, 1);
    assert.equal(v.r.verified, false);
    assert.deepEqual(
      v.r.errors.map((e) => {
        const d = e as Record<string, unknown>;
        return [e.check, e.code, d['register'], d['alg'], d['record']];
      }),
      [['sha1.event_log', 'ERR_REPLAY_MISMATCH', 'pcr4', 'sha1', pcr4.at(-1)!.index]],
    );
    assert.equal(v.r.checks['sha1.quote_signature'], 'ok');
    assert.equal(v.r.checks['sha256.event_log'], 'ok');
    assert.equal(v.r.checks['sha384.event_log'], 'ok');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attestation.pb: a cut copy is malformed input (exit 2), never a verdict', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-gce-pb-'));
  try {
    const cut = join(dir, 'cut.pb');
    writeFileSync(cut, readFileSync(PB).subarray(0, 5000));
    for (const kind of [[], ['--kind', 'tpm']]) {
      const { result } = await runCliJson(['evidence', 'verify', cut, ...kind, '--json']);
      assert.equal(result.code, 2, result.stdout);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the GCE AK is a primary in the endorsement hierarchy: each quote's qualifiedSigner is SHA-256(TPM_RH_ENDORSEMENT ‖ AK Name) (TPM 2.0 Part 1 §16), which qualifiedName computes", () => {
  const akPublic = new Uint8Array(readFileSync(F('gotpm-gce-cos85-no-nonce.ak.tpmt_public.bin')));
  // Name = nameAlg (SHA-256, 0x000b) ‖ SHA-256(TPMT_PUBLIC); computed here from the spec alone.
  const name = Buffer.concat([
    Buffer.from('000b', 'hex'),
    createHash('sha256').update(akPublic).digest(),
  ]);
  const expected = Buffer.concat([
    Buffer.from('000b', 'hex'),
    createHash('sha256').update(Buffer.from('4000000b', 'hex')).update(name).digest(),
  ]).toString('hex');
  assert.equal(
    Buffer.from(qualifiedName(hierarchyQualifiedName(0x4000000b), objectName(akPublic))).toString(
      'hex',
    ),
    expected,
  );
  for (const { bank } of CAPTURES) {
    const attest = parseAttest(
      new Uint8Array(readFileSync(F(`gotpm-gce-cos85-no-nonce.quote-${bank}.tpms_attest.bin`))),
    );
    assert.equal(Buffer.from(attest.qualifiedSigner).toString('hex'), expected, bank);
    assert.notEqual(expected, name.toString('hex'));
  }
});
