// Forgery suite — roles and revocation on TDX (issue #12, DESIGN §6.1). A test PKI with Intel's
// names, extensions and algorithms (test/_support/forge_pki.ts) is trusted with a trust anchor;
// the emulated TVM's quote generator signs through it, so quote, QE report and collateral are
// real and only the rule under test is broken. Each attack asserts the check that fails and its
// code; the control with the same PKI verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEmulatedTvm } from '../../../../src/providers/emulated/tvm_state.js';
import { openEmulatedProvider } from '../../../../src/providers/emulated/emulated_provider.js';
import {
  loadOrCreateTdxKeys,
  makeEmulatedTdxCollateral,
} from '../../../../src/providers/emulated/tdx_pki.js';
import { toPem } from '../../../../src/formats/x509/pem_encode.js';
import { parseTdxQuote } from '../../../../src/formats/tdx/quote.js';
import { verifyEvidence } from '../../../../src/verifier/verify/evidence.js';
import type { EvidenceResult } from '../../../../src/verifier/verify/evidence_result.js';
import { MrstackError } from '../../../../src/errors.js';
import { reencodeTdxQuote } from '../../../_support/tdx_quote.js';
import { verifyEvidenceJson } from '../../../_support/cli.js';
import {
  caPathLen,
  installTdxKeySet,
  intelName,
  intelTestPki,
  issue,
  keyUsage,
  p256,
  testCrl,
  utcTimeText,
  type IntelTestPki,
} from '../../../_support/forge_pki.js';

const AT = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const NONCE = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Setup {
  readonly pki: IntelTestPki;
  readonly quote: Uint8Array;
  readonly collateral: Record<string, string>;
}

async function setup(pki: IntelTestPki): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-forge-tdx-'));
  dirs.push(dir);
  await initEmulatedTvm({ stateDir: dir, profile: 'tdx' });
  installTdxKeySet(dir, pki);
  const p = await openEmulatedProvider({ stateDir: dir });
  let quote: Uint8Array;
  try {
    quote = (await p.report({ reportData: NONCE })).outblob;
  } finally {
    await p.close();
  }
  const keys = loadOrCreateTdxKeys(join(dir, 'keys', 'tdx'), AT);
  const collateral = {
    ...makeEmulatedTdxCollateral(keys, AT),
    pck_crl: hex(pckCrl(pki)),
    root_ca_crl: hex(
      testCrl({
        issuer: intelName('Intel SGX Root CA'),
        key: pki.root.privateKey,
        alg: 'ecdsa-sha256',
        thisUpdate: new Date(AT.getTime() - DAY),
        nextUpdate: new Date(AT.getTime() + 7 * DAY),
      }),
    ),
  };
  return { pki, quote, collateral };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const pem = (...ders: Uint8Array[]): string => ders.map((d) => toPem(d)).join('');

function pckCrl(pki: IntelTestPki, over: Partial<Parameters<typeof testCrl>[0]> = {}): Uint8Array {
  return testCrl({
    issuer: intelName('Intel SGX PCK Platform CA'),
    key: pki.pckCa.privateKey,
    alg: 'ecdsa-sha256',
    thisUpdate: new Date(AT.getTime() - DAY),
    nextUpdate: new Date(AT.getTime() + 7 * DAY),
    ...over,
  });
}

function verify(
  s: Setup,
  over: { quote?: Uint8Array; collateral?: Record<string, string>; anchor?: Uint8Array } = {},
): Promise<EvidenceResult> {
  const c = over.collateral ?? s.collateral;
  return verifyEvidence(over.quote ?? s.quote, {
    at: AT,
    nonce: NONCE,
    trustAnchors: [new Uint8Array(Buffer.from(toPem(over.anchor ?? s.pki.rootDer)))],
    collateral: { files: new Map([['c.json', new Uint8Array(Buffer.from(JSON.stringify(c)))]]) },
  });
}

/** Exactly one failed check, with this code (and rule, when given). */
function refused(r: EvidenceResult, check: string, code: string, rule?: string): void {
  assert.equal(r.verified, false);
  const e = r.errors.find((x) => x['check'] === check);
  assert.ok(e !== undefined, `no error for ${check}: ${JSON.stringify(r.errors)}`);
  assert.equal(e.code, code, JSON.stringify(e));
  if (rule !== undefined) assert.equal(e['rule'], rule, JSON.stringify(e));
  assert.equal(r.checks[check], 'failed');
}

/** TCB info re-signed by `key` and served with `chain` as its issuer chain. */
function tcbInfoSignedBy(
  s: Setup,
  key: Parameters<typeof sign>[2],
  chain: string,
): Record<string, string> {
  const sig = sign('sha256', Buffer.from(s.collateral['tcb_info']!), {
    key: key as never,
    dsaEncoding: 'ieee-p1363',
  });
  return { ...s.collateral, tcb_info_signature: hex(sig), tcb_info_issuer_chain: chain };
}

const genuine = setup(intelTestPki());

test('control: the test PKI, trusted as an anchor, verifies with every check ok', async () => {
  const s = await genuine;
  const r = await verify(s);
  assert.equal(r.verified, true, JSON.stringify(r.errors));
  assert.equal(r.tcbStatus, 'UpToDate');
  for (const c of [
    'pck_chain',
    'pck_crl',
    'root_ca_crl',
    'tcb_info',
    'qe_identity',
    'tcb',
    'nonce',
  ])
    assert.equal(r.checks[c], 'ok', c);
});

test('TCB info signed by a non-TCB-Signing leaf (the PCK leaf) → tcb_info ERR_CERT_PROFILE role_name', async () => {
  const s = await genuine;
  const c = tcbInfoSignedBy(
    s,
    s.pki.pckLeaf.privateKey,
    pem(s.pki.pckLeafDer, s.pki.pckCaDer, s.pki.rootDer),
  );
  refused(await verify(s, { collateral: c }), 'tcb_info', 'ERR_CERT_PROFILE', 'role_name');
});

test('a leaf used as a CA (the PCK leaf issues a "TCB Signing" certificate) → basic_constraints', async () => {
  const s = await genuine;
  const fake = p256();
  const fakeDer = issue({
    subject: intelName('Intel SGX TCB Signing'),
    issuer: intelName('Intel SGX PCK Certificate'),
    subjectKey: fake.publicKey,
    issuerKey: s.pki.pckLeaf.privateKey,
    alg: 'ecdsa-sha256',
    extensions: [keyUsage(0, 1)],
  });
  const c = tcbInfoSignedBy(
    s,
    fake.privateKey,
    pem(fakeDer, s.pki.pckLeafDer, s.pki.pckCaDer, s.pki.rootDer),
  );
  const r = await verify(s, { collateral: c });
  refused(r, 'tcb_info', 'ERR_CERT_PROFILE', 'basic_constraints');
  assert.equal(r.errors.find((e) => e['check'] === 'tcb_info')!['position'], 1);
});

for (const [what, validity, code] of [
  [
    'expired',
    { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2026-01-01T00:00:00Z') },
    'ERR_CERT_EXPIRED',
  ],
  [
    'not-yet-valid',
    { notBefore: new Date('2027-01-01T00:00:00Z'), notAfter: new Date('2040-01-01T00:00:00Z') },
    'ERR_CERT_NOT_YET_VALID',
  ],
] as const) {
  test(`an ${what} intermediate (PCK CA) → pck_chain ${code}`, async () => {
    const s = await genuine;
    const ca = issue({
      subject: intelName('Intel SGX PCK Platform CA'),
      issuer: intelName('Intel SGX Root CA'),
      subjectKey: s.pki.pckCa.publicKey,
      issuerKey: s.pki.root.privateKey,
      alg: 'ecdsa-sha256',
      serial: 2,
      extensions: [caPathLen(0), keyUsage(5, 6)],
      ...validity,
    });
    const q = reencodeTdxQuote(parseTdxQuote(s.quote), pem(s.pki.pckLeafDer, ca, s.pki.rootDer));
    refused(await verify(s, { quote: q }), 'pck_chain', code);
  });
}

test('a CRL without nextUpdate → pck_crl ERR_CRL_INVALID crl_next_update', async () => {
  const s = await genuine;
  const c = { ...s.collateral, pck_crl: hex(pckCrl(s.pki, { nextUpdate: null })) };
  refused(await verify(s, { collateral: c }), 'pck_crl', 'ERR_CRL_INVALID', 'crl_next_update');
});

test('a PCK CRL from the wrong issuer (the root) → pck_crl ERR_CRL_INVALID crl_issuer', async () => {
  const s = await genuine;
  const c = {
    ...s.collateral,
    pck_crl: hex(
      pckCrl(s.pki, { issuer: intelName('Intel SGX Root CA'), key: s.pki.root.privateKey }),
    ),
  };
  refused(await verify(s, { collateral: c }), 'pck_crl', 'ERR_CRL_INVALID', 'crl_issuer');
});

test('a CRL with an unparsable date (30 February) is malformed input: ERR_BAD_ENCODING', async () => {
  const s = await genuine;
  const c = {
    ...s.collateral,
    pck_crl: hex(pckCrl(s.pki, { rawThisUpdate: utcTimeText('260230000000Z') })),
  };
  await assert.rejects(verify(s, { collateral: c }), (e: unknown) => {
    assert.ok(e instanceof MrstackError);
    assert.equal(e.code, 'ERR_BAD_ENCODING');
    assert.match(String(e.details['field']), /thisUpdate/);
    return true;
  });
});

test('a CRL listing the PCK leaf → pck_crl ERR_CERT_REVOKED', async () => {
  const s = await genuine;
  const c = { ...s.collateral, pck_crl: hex(pckCrl(s.pki, { revoked: [3] })) };
  refused(await verify(s, { collateral: c }), 'pck_crl', 'ERR_CERT_REVOKED');
});

test('a self-signed root that copies the trusted root name is not trusted → ERR_UNTRUSTED_ROOT', async () => {
  const s = await genuine;
  const forged = await setup(intelTestPki()); // same names, other keys
  refused(await verify(forged, { anchor: s.pki.rootDer }), 'pck_chain', 'ERR_UNTRUSTED_ROOT');
  // Control: trusted by its own anchor, the same forged PKI verifies.
  assert.equal((await verify(forged)).verified, true);
});

test('through the CLI: TCB info signed by the PCK leaf is refused with exit 1', async (t) => {
  const s = await genuine;
  const d = mkdtempSync(join(tmpdir(), 'mrstack-forge-cli-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  const c = tcbInfoSignedBy(
    s,
    s.pki.pckLeaf.privateKey,
    pem(s.pki.pckLeafDer, s.pki.pckCaDer, s.pki.rootDer),
  );
  writeFileSync(join(d, 'quote.bin'), s.quote);
  writeFileSync(join(d, 'root.pem'), toPem(s.pki.rootDer));
  writeFileSync(join(d, 'good.json'), JSON.stringify(s.collateral));
  writeFileSync(join(d, 'bad.json'), JSON.stringify(c));
  const flags = { trustAnchor: join(d, 'root.pem'), at: AT.toISOString(), nonce: hex(NONCE) };
  const good = await verifyEvidenceJson(join(d, 'quote.bin'), {
    ...flags,
    collateral: join(d, 'good.json'),
  });
  assert.equal(good.result.code, 0, good.result.stdout);
  assert.equal(good.json.verified, true);
  const bad = await verifyEvidenceJson(join(d, 'quote.bin'), {
    ...flags,
    collateral: join(d, 'bad.json'),
  });
  assert.equal(bad.result.code, 1, bad.result.stdout);
  assert.equal(bad.json.verified, false);
  assert.ok(bad.json.errors.some((e) => e.check === 'tcb_info' && e.code === 'ERR_CERT_PROFILE'));
});
