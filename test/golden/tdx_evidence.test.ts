// Every TDX case of the shared evidence set (test/fixtures/evidence/tdx/PROVENANCE.md): the verdict
// the upstream tests assert, at the time they pin, and each negative recipe rejected with its own
// error code. Signatures and the PCK chain are cross-checked with openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, X509Certificate } from 'node:crypto';
import { fixture } from '../_support/paths.js';
import { runTool } from '../_support/peers.js';
import { reencodeTdxQuote } from '../_support/tdx_quote.js';
import { concatBytes, toHex } from '../../src/bytes/hex.js';
import { verifyEvidence } from '../../src/verifier/verify/evidence.js';
import { renderResultHtml } from '../../src/verifier/result/result_html.js';
import type {
  EvidenceResult,
  VerifyEvidenceOptions,
} from '../../src/verifier/verify/evidence_result.js';
import { parseTdxQuote } from '../../src/formats/tdx/quote.js';
import { ParseError } from '../../src/errors.js';

const dir = (...p: string[]): string => fixture('evidence', 'tdx', ...p);
const load = (name: string): Uint8Array => new Uint8Array(readFileSync(dir(name)));

function pcs2023(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const n of readdirSync(dir('gotdx-2023-pcs'))) files.set(n, load(join('gotdx-2023-pcs', n)));
  return files;
}
const single = (name: string): Map<string, Uint8Array> => new Map([[name, load(name)]]);

async function verify(
  data: Uint8Array,
  at: string,
  opts: Omit<VerifyEvidenceOptions, 'at'> = {},
): Promise<EvidenceResult> {
  return verifyEvidence(data, {
    at: new Date(at),
    ...(opts.collateral === undefined ? { allowMissingCollateral: true } : {}),
    // Freshness is relaxed by name here (the captures' nonces are tested where known).
    relax: ['nonce'],
    ...opts,
  });
}

function codesByCheck(r: EvidenceResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of r.errors) out[String(e['check'])] = e.code;
  return out;
}

function onlyError(r: EvidenceResult, check: string, code: string): void {
  assert.equal(r.verified, false);
  assert.deepEqual(
    r.errors.map((e) => [e['check'], e.code]),
    [[check, code]],
    JSON.stringify(r.errors),
  );
}

const T1 = '2023-07-01T01:00:00Z';

test('TDX-1: quote, QE report and PCK chain verify without collateral at 2023-07-01', async () => {
  const r = await verify(load('gotdx-v4-spr-e4.quote.bin'), T1);
  assert.equal(r.verified, true, JSON.stringify(r.errors));
  assert.equal(r.kind, 'tdx');
  // trust.anchor: the Intel SGX Root CA that ends the quote's own PEM chain, its SPKI SHA-256
  // as openssl extracts the key.
  const quoteText = Buffer.from(load('gotdx-v4-spr-e4.quote.bin')).toString('latin1');
  const pems = quoteText.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!;
  const rootPem = pems[pems.length - 1]!;
  // The PCK leaf's issuer, as openssl reads it, is the intermediate the result page shows.
  const issuerCn = /CN\s*=\s*([^,\n]+)/
    .exec(runTool('openssl', ['x509', '-noout', '-issuer'], pems[0]).toString())![1]!
    .trim();
  assert.equal((r.claims['pck'] as { issuer: string }).issuer, issuerCn);
  const page = renderResultHtml({
    appraisal: { status: 'affirming', findings: [], policyId: 'p', kind: 'tdx', at: T1 },
    verify: r,
  });
  const roles = [...page.matchAll(/data-role="(\w+)"><b>\w+<\/b><br>([^<]*)/g)].map((m) => [
    m[1],
    m[2],
  ]);
  assert.match(roles[0]![1]!, /^CN=Intel SGX Root CA, O=Intel Corporation/);
  assert.deepEqual(roles, [
    ['anchor', roles[0]![1]],
    ['intermediate', issuerCn],
    ['leaf', 'PCK certificate'],
  ]);
  const pub = runTool('openssl', ['x509', '-noout', '-pubkey'], rootPem);
  const spki = runTool('openssl', ['pkey', '-pubin', '-outform', 'DER'], pub);
  assert.deepEqual(r.trust, {
    root: 'Intel SGX Root CA',
    emulated: false,
    anchor: {
      sha256: createHash('sha256').update(spki).digest('hex'),
      subject: 'CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
    },
  });
  for (const c of ['quote_signature', 'qe_report_binding', 'pck_chain', 'qe_report_signature']) {
    assert.equal(r.checks[c], 'ok', c);
  }
  assert.equal(r.checks['pck_crl'], 'skipped');
  const pck = r.claims['pck'] as Record<string, unknown>;
  assert.equal(pck['ca'], 'platform');
  assert.equal(toHex(pck['fmspc'] as Uint8Array), '50806f000000');
});

test('TDX-1: at 2053-07-01 the PCK certificate has expired (2029-09-20T13:20:31Z)', async () => {
  const r = await verify(load('gotdx-v4-spr-e4.quote.bin'), '2053-07-01T01:00:00Z');
  onlyError(r, 'pck_chain', 'ERR_CERT_EXPIRED');
  assert.match(r.errors[0]!.message, /2029-09-20T13:20:31/);
});

test('TDX-1 with its 2023 PCS collateral: collateral and CRLs hold, no TCB level matches', async () => {
  const r = await verify(load('gotdx-v4-spr-e4.quote.bin'), T1, {
    collateral: { files: pcs2023() },
  });
  for (const c of ['root_ca_crl', 'pck_crl', 'tcb_info', 'qe_identity'])
    assert.equal(r.checks[c], 'ok', c);
  onlyError(r, 'tcb', 'ERR_TCB_MISMATCH');
  assert.equal(r.tcbStatus, undefined);
});

test('TDX-1 collateral outside its windows: expired and not-yet-valid', async () => {
  const quote = load('gotdx-v4-spr-e4.quote.bin');
  // After the PCK CRL's nextUpdate (2023-07-08) and the TCB info's (2023-07-18).
  const late = await verify(quote, '2023-07-20T00:00:00Z', { collateral: { files: pcs2023() } });
  assert.equal(late.verified, false);
  const codes = codesByCheck(late);
  assert.equal(codes['pck_crl'], 'ERR_CERT_EXPIRED');
  assert.equal(codes['tcb_info'], 'ERR_CERT_EXPIRED');
  assert.equal(codes['qe_identity'], 'ERR_CERT_EXPIRED');
  // Before the TCB info's issueDate (2023-06-18) and the PCK CRL's thisUpdate (2023-06-08).
  const early = await verify(quote, '2023-06-01T00:00:00Z', { collateral: { files: pcs2023() } });
  const e2 = codesByCheck(early);
  assert.equal(e2['pck_crl'], 'ERR_CERT_NOT_YET_VALID');
  assert.equal(e2['tcb_info'], 'ERR_CERT_NOT_YET_VALID');
  // At 2053 the PCK chain itself has expired; the collateral is then not looked at.
  const far = await verify(quote, '2053-07-01T01:00:00Z', { collateral: { files: pcs2023() } });
  onlyError(far, 'pck_chain', 'ERR_CERT_EXPIRED');
  assert.equal(far.checks['tcb_info'], 'skipped');
});

test('TDX-1 tamper recipes: each byte rejected with its own code', async () => {
  const raw = load('gotdx-v4-spr-e4.quote.bin');
  const at = (off: number): Uint8Array => {
    const c = raw.slice();
    c[off] = 0x32;
    return c;
  };
  // Header user data (signed by the attestation key).
  onlyError(await verify(at(0x01e), T1), 'quote_signature', 'ERR_SIGNATURE_INVALID');
  onlyError(await verify(at(0x03c), T1), 'quote_signature', 'ERR_SIGNATURE_INVALID');
  // Leaf, intermediate and root certificates inside the PEM chain.
  for (const off of [0xb77, 0xf5f, 0x1329]) {
    const r = await verify(at(off), T1);
    assert.equal(r.verified, false, `0x${off.toString(16)}`);
    assert.equal(r.checks['pck_chain'], 'failed', `0x${off.toString(16)}`);
    assert.equal(r.errors[0]!.code, 'ERR_CHAIN_INVALID', `0x${off.toString(16)}`);
  }
  // Structure: version, signature-data length, the PEM end line.
  for (const [off, code] of [
    [0x000, 'ERR_UNSUPPORTED_VERSION'],
    [0x278, 'ERR_TRUNCATED'],
    [0x1343, 'ERR_BAD_ENCODING'],
  ] as const) {
    const c = raw.slice();
    c[off] = off === 0 ? 0x03 : off === 0x278 ? 0x10 : 0x32;
    await assert.rejects(verify(c, T1), (e: unknown) => e instanceof ParseError && e.code === code);
  }
});

test('teekit recipes on TDX-4: flipped signatures, key and chain edits', async () => {
  const raw = load('dcapqvl-v4-b0c06f.quote.bin');
  const q = parseTdxQuote(raw);
  const at = '2025-07-19T10:00:34Z';
  const flip = (off: number): Uint8Array => {
    const c = raw.slice();
    c[off]! ^= 1;
    return c;
  };
  // Quote signature @636, attestation key @700, QE report signature @770+384.
  onlyError(await verify(flip(636), at), 'quote_signature', 'ERR_SIGNATURE_INVALID');
  const ak = await verify(flip(700), at);
  assert.deepEqual(ak.errors.map((e) => e.code).sort(), [
    'ERR_BINDING_MISMATCH',
    'ERR_SIGNATURE_INVALID',
  ]);
  onlyError(await verify(flip(770 + 384), at), 'qe_report_signature', 'ERR_SIGNATURE_INVALID');
  // QE report body byte (signed by the PCK key, and its report data binds the AK).
  onlyError(await verify(flip(770 + 100), at), 'qe_report_signature', 'ERR_SIGNATURE_INVALID');

  const pems = q.certificationData.pckChainPem.match(
    /-----BEGIN[\s\S]+?-----END CERTIFICATE-----\n?/g,
  )!;
  assert.equal(pems.length, 3);
  const withChain = (chain: string[]): Uint8Array => reencodeTdxQuote(q, chain.join(''));
  // Re-encoded unchanged: still verifies.
  assert.equal((await verify(withChain(pems), at)).verified, true);
  // Without the root the chain still ends at the built-in Intel root.
  assert.equal((await verify(withChain(pems.slice(0, 2)), at)).verified, true);
  // Without the intermediate the leaf is not signed by the root.
  const noCa = await verify(withChain([pems[0], pems.at(2)!]), at);
  assert.equal(noCa.errors[0]!.code, 'ERR_CHAIN_INVALID');
  // Without the leaf the PCK CA stands where the PCK leaf must be: a CA in a leaf's place.
  const noLeaf = await verify(withChain(pems.slice(1)), at);
  assert.equal(noLeaf.verified, false);
  assert.equal(noLeaf.checks['pck_chain'], 'failed');
  assert.equal(noLeaf.errors[0]!.code, 'ERR_CERT_PROFILE');
  assert.equal(noLeaf.errors[0]!['rule'], 'basic_constraints');
});

test('TDX-2 v5 verifies at 2026-02-03; before its PCK notBefore (2026-01-27) it is not yet valid', async () => {
  const quote = load('gotdx-v5-sample.quote.bin');
  const ok = await verify(quote, '2026-02-03T01:00:00Z');
  assert.equal(ok.verified, true, JSON.stringify(ok.errors));
  const early = await verify(quote, '2026-01-20T00:00:00Z');
  onlyError(early, 'pck_chain', 'ERR_CERT_NOT_YET_VALID');
});

test('TDX-3, TDX-6, TDX-7, TDX-8: signatures and chains verify', async () => {
  for (const [name, at] of [
    ['gotdx-gce-cos113.quote-8000b.bin', '2025-01-01T00:00:00Z'],
    ['trustee-v4-debug-td.quote.bin', '2025-01-01T00:00:00Z'],
    ['trustee-v5.quote.bin', '2025-09-01T00:00:00Z'],
    ['trustee-v4-mrconfigid.quote.bin', '2025-09-01T00:00:00Z'],
    ['teekit-v4-edgeless.quote.bin', '2025-09-01T00:00:00Z'],
  ] as const) {
    const r = await verify(load(name), at);
    assert.equal(r.verified, true, `${name}: ${JSON.stringify(r.errors)}`);
  }
  const b64 = readFileSync(dir('teekit-v4-azure.quote.b64'), 'utf8').trim();
  const azure = await verify(new Uint8Array(Buffer.from(b64, 'base64')), '2025-09-01T00:00:00Z', {
    nonce: new Uint8Array(
      Buffer.from('675b293e4e395b2bfbfb27a1754f5ca1fdca87e1949b3bc4d8ca39a8be195afe', 'hex'),
    ),
  });
  assert.equal(azure.verified, true, JSON.stringify(azure.errors));
  assert.equal(azure.checks['nonce'], 'ok');
  const pck = azure.claims['pck'] as Record<string, unknown>;
  assert.equal(toHex(pck['fmspc'] as Uint8Array), '00806f050000');
  assert.equal(pck['pcesvn'], 11);
});

test('TDX-4 with its QuoteCollateralV3: UpToDate, no advisories, at 2025-07-19T10:00:34Z', async () => {
  const quote = load('dcapqvl-v4-b0c06f.quote.bin');
  const collateral = { files: single('dcapqvl-v4-b0c06f.collateral.json') };
  const r = await verify(quote, '2025-07-19T10:00:34Z', { collateral });
  assert.equal(r.verified, true, JSON.stringify(r.errors));
  assert.equal(r.tcbStatus, 'UpToDate');
  assert.deepEqual(r.advisories, []);
  const tcb = r.claims['tcb'] as Record<string, unknown>;
  assert.equal(tcb['tcb_date'], '2024-03-13T00:00:00Z');
  assert.equal(tcb['tdx_module_id'], 'TDX_01');
  assert.equal(tcb['tdx_module_status'], 'UpToDate');
  const pck = r.claims['pck'] as Record<string, unknown>;
  assert.equal(toHex(pck['fmspc'] as Uint8Array), 'b0c06f000000');
  assert.equal(pck['pcesvn'], 11);
  assert.equal(pck['serial'], '3c16ed54eacbb4ced072be72630c85788cf46e36');
  // Two seconds later the TCB info, QE identity and CRLs have passed their nextUpdate.
  const late = await verify(quote, '2025-07-19T10:00:36Z', { collateral });
  assert.ok(late.errors.length > 0 && late.errors.every((e) => e.code === 'ERR_CERT_EXPIRED'));
  // Nonce: the whole 64-byte report data binds; its first half alone does not (the rest is not zero).
  const rd = parseTdxQuote(quote).body.reportData;
  assert.equal(
    (await verify(quote, '2025-07-19T10:00:34Z', { collateral, nonce: rd })).verified,
    true,
  );
  onlyError(
    await verify(quote, '2025-07-19T10:00:34Z', { collateral, nonce: rd.subarray(0, 32) }),
    'nonce',
    'ERR_NONCE_MISMATCH',
  );
});

test('TDX-4: a TCB info edited after signing fails its signature check', async () => {
  const j = JSON.parse(readFileSync(dir('dcapqvl-v4-b0c06f.collateral.json'), 'utf8')) as Record<
    string,
    string
  >;
  j['tcb_info'] = j['tcb_info']!.replace(
    '"tcbEvaluationDataNumber":17',
    '"tcbEvaluationDataNumber":18',
  );
  const r = await verify(load('dcapqvl-v4-b0c06f.quote.bin'), '2025-07-19T10:00:34Z', {
    collateral: { files: new Map([['c.json', new Uint8Array(Buffer.from(JSON.stringify(j)))]]) },
  });
  onlyError(r, 'tcb_info', 'ERR_SIGNATURE_INVALID');
  assert.equal(r.checks['tcb'], 'skipped');
});

test('TDX-5: platform TCB below every level → TCB level not supported (ERR_TCB_MISMATCH)', async () => {
  const r = await verify(load('dcapqvl-v5-90c06f-outdated.quote.bin'), '2026-03-20T10:41:14Z', {
    collateral: { files: single('dcapqvl-v5-90c06f-outdated.collateral.json') },
  });
  for (const c of [
    'quote_signature',
    'pck_chain',
    'root_ca_crl',
    'pck_crl',
    'tcb_info',
    'qe_identity',
  ]) {
    assert.equal(r.checks[c], 'ok', c);
  }
  onlyError(r, 'tcb', 'ERR_TCB_MISMATCH');
  assert.deepEqual(
    r.errors[0]!['sgx_tcb_components'],
    [3, 3, 2, 2, 4, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0],
  );
  assert.equal(r.errors[0]!['pcesvn'], 13);
});

test('wrong trust anchor: a root other than the chain root → ERR_UNTRUSTED_ROOT', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'mrstack-tdx-anchor-'));
  try {
    runTool('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(tmp, 'k.pem'),
      '-out',
      join(tmp, 'c.pem'),
      '-subj',
      '/CN=Other Root',
      '-days',
      '3650',
    ]);
    const r = await verify(load('dcapqvl-v4-b0c06f.quote.bin'), '2025-07-19T10:00:34Z', {
      trustAnchors: [new Uint8Array(readFileSync(join(tmp, 'c.pem')))],
    });
    onlyError(r, 'pck_chain', 'ERR_UNTRUSTED_ROOT');
    // The Intel root given explicitly as the anchor works like the built-in one.
    const ok = await verify(load('dcapqvl-v4-b0c06f.quote.bin'), '2025-07-19T10:00:34Z', {
      trustAnchors: [load('intel-sgx-root-ca.pem')],
    });
    assert.equal(ok.verified, true);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

/** DER ECDSA-Sig-Value of a raw r‖s signature, for openssl. */
function derSig(rs: Uint8Array): Uint8Array {
  const int = (b: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    const body = v[0]! & 0x80 ? concatBytes(Uint8Array.of(0), v) : v;
    return concatBytes(Uint8Array.of(0x02, body.length), body);
  };
  const body = concatBytes(int(rs.subarray(0, 32)), int(rs.subarray(32)));
  return concatBytes(Uint8Array.of(0x30, body.length), body);
}

test('openssl agrees: PCK chain, QE report signature, quote signature and TCB info signature', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'mrstack-tdx-openssl-'));
  try {
    const q = parseTdxQuote(load('gotdx-v4-spr-e4.quote.bin'));
    const [leaf, ca, root] = q.certificationData.pckChain.map((d) => new X509Certificate(d));
    writeFileSync(join(tmp, 'leaf.pem'), leaf!.toString());
    writeFileSync(join(tmp, 'ca.pem'), ca!.toString());
    writeFileSync(join(tmp, 'root.pem'), readFileSync(dir('intel-sgx-root-ca.pem')));
    assert.equal(
      root!.fingerprint256,
      new X509Certificate(readFileSync(dir('intel-sgx-root-ca.pem'))).fingerprint256,
    );
    const epoch = String(Date.parse(T1) / 1000);
    const out = runTool('openssl', [
      'verify',
      '-attime',
      epoch,
      '-CAfile',
      join(tmp, 'root.pem'),
      '-untrusted',
      join(tmp, 'ca.pem'),
      join(tmp, 'leaf.pem'),
    ]).toString();
    assert.match(out, /leaf\.pem: OK/);
    // QE report signature by the PCK leaf key.
    writeFileSync(join(tmp, 'leaf.pub'), leaf!.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(tmp, 'qe.bin'), q.certificationData.qeReportBytes);
    writeFileSync(join(tmp, 'qe.sig'), derSig(q.certificationData.qeReportSignature));
    const v1 = runTool('openssl', [
      'dgst',
      '-sha256',
      '-verify',
      join(tmp, 'leaf.pub'),
      '-signature',
      join(tmp, 'qe.sig'),
      join(tmp, 'qe.bin'),
    ]).toString();
    assert.match(v1, /Verified OK/);
    // Quote signature by the attestation key (raw X‖Y → SPKI).
    const spki = concatBytes(
      new Uint8Array(Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex')),
      q.attestationKey,
    );
    writeFileSync(join(tmp, 'ak.der'), spki);
    runTool('openssl', [
      'pkey',
      '-pubin',
      '-inform',
      'DER',
      '-in',
      join(tmp, 'ak.der'),
      '-out',
      join(tmp, 'ak.pem'),
    ]);
    writeFileSync(join(tmp, 'body.bin'), q.signedBytes);
    writeFileSync(join(tmp, 'quote.sig'), derSig(q.signature));
    const v2 = runTool('openssl', [
      'dgst',
      '-sha256',
      '-verify',
      join(tmp, 'ak.pem'),
      '-signature',
      join(tmp, 'quote.sig'),
      join(tmp, 'body.bin'),
    ]).toString();
    assert.match(v2, /Verified OK/);
    // TCB info (TDX-4) by the TCB signing certificate of its issuer chain, over the raw member text.
    const j = JSON.parse(readFileSync(dir('dcapqvl-v4-b0c06f.collateral.json'), 'utf8')) as Record<
      string,
      string
    >;
    const signer = new X509Certificate(j['tcb_info_issuer_chain']!);
    writeFileSync(join(tmp, 'tcb.pub'), signer.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(tmp, 'tcb.json'), j['tcb_info']!);
    writeFileSync(
      join(tmp, 'tcb.sig'),
      derSig(new Uint8Array(Buffer.from(j['tcb_info_signature']!, 'hex'))),
    );
    const v3 = runTool('openssl', [
      'dgst',
      '-sha256',
      '-verify',
      join(tmp, 'tcb.pub'),
      '-signature',
      join(tmp, 'tcb.sig'),
      join(tmp, 'tcb.json'),
    ]).toString();
    assert.match(v3, /Verified OK/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
