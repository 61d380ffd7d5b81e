// The emulated PKIs issue collateral on demand for a verification time (DESIGN §6.1): TDX TCB
// info / QE identity / CRLs with the TVM's TCB status, the SNP ARK's CRL, a TPM AK certificate.
// Each goes through the verifier's full path (TCB status, CRLs), and its validity windows are
// read back independently with openssl.
import { emulatedRootsOf } from '../../_support/emulated_trust.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEmulatedTvm, readTvmConfig } from '../../../src/providers/emulated/tvm_state.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { emulatedCollateral } from '../../../src/providers/emulated/collateral.js';
import { verifyEvidence } from '../../../src/verifier/verify/evidence.js';
import { parseCertificates } from '../../../src/verifier/verify/x509/certificate.js';
import { validateChain, anchorFromCertificate } from '../../../src/verifier/verify/x509/chain.js';
import { TPM_AK_PROFILE } from '../../../src/verifier/verify/x509/profiles.js';
import { runTool } from '../../_support/peers.js';
import { cliError, evidenceVerifyArgs, runCli, runCliJson } from '../../_support/cli.js';
import type { Profile } from '../../../src/providers/provider.js';
import type { EmulatedTcbStatus } from '../../../src/providers/emulated/tvm_state.js';

const NONCE = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

async function tvm(
  profile: Profile,
  tcbStatus?: EmulatedTcbStatus,
): Promise<{
  dir: string;
  outblob: Uint8Array;
  auxblob: Uint8Array | undefined;
  parts?: Readonly<Record<string, Uint8Array>>;
}> {
  const dir = mkdtempSync(join(tmpdir(), `mrstack-coll-${profile}-`));
  await initEmulatedTvm({
    stateDir: dir,
    profile,
    ...(tcbStatus === undefined ? {} : { tcbStatus }),
  });
  const p = await openEmulatedProvider({ stateDir: dir });
  try {
    const r = await p.report({ reportData: NONCE });
    return {
      dir,
      outblob: r.outblob,
      auxblob: r.auxblob,
      ...(r.parts === undefined ? {} : { parts: r.parts }),
    };
  } finally {
    await p.close();
  }
}

for (const status of ['UpToDate', 'OutOfDate', 'Revoked'] as const) {
  test(`TDX: collateral issued for the verification time carries the TVM's status (${status})`, async (t) => {
    const e = await tvm('tdx', status);
    t.after(() => rmSync(e.dir, { recursive: true, force: true }));
    assert.equal(readTvmConfig(e.dir).tcbStatus, status);
    // A time far from the TVM's creation: the collateral is issued for it, so it is current.
    const at = new Date(Date.now() + 400 * 24 * 3600 * 1000);
    const c = emulatedCollateral(e.dir, { at });
    const r = await verifyEvidence(e.outblob, {
      at,
      nonce: NONCE,
      emulatedAnchors: emulatedRootsOf(e.dir),
      collateral: { files: c.files },
    });
    assert.equal(r.tcbStatus, status);
    for (const k of ['pck_crl', 'root_ca_crl', 'tcb_info', 'qe_identity', 'tcb'])
      assert.equal(r.checks[k], 'ok', `${k}: ${JSON.stringify(r.errors)}`);
    // Issued at `at`: TCB info for 30 days, CRLs for 7 (read back with openssl for the CRLs).
    const j = JSON.parse(Buffer.from(c.files.get('collateral.json')!).toString()) as Record<
      string,
      string
    >;
    const tcb = JSON.parse(j['tcb_info']!) as { nextUpdate: string };
    const days = (Date.parse(tcb.nextUpdate) - at.getTime()) / 86_400_000;
    assert.ok(days > 29.99 && days <= 30, String(days));
    const crlText = runTool(
      'openssl',
      ['crl', '-inform', 'DER', '-noout', '-nextupdate'],
      Buffer.from(j['pck_crl']!, 'hex'),
    ).toString();
    const next = Date.parse(crlText.replace('nextUpdate=', '').trim());
    assert.ok(Math.abs(next - (at.getTime() + 7 * 86_400_000)) < 2000, crlText);
    // A week and a day later the same collateral's CRLs are stale.
    const late = new Date(at.getTime() + 8 * 86_400_000);
    const stale = await verifyEvidence(e.outblob, {
      at: late,
      nonce: NONCE,
      emulatedAnchors: emulatedRootsOf(e.dir),
      collateral: { files: c.files },
    });
    assert.equal(stale.checks['pck_crl'], 'failed');
    assert.ok(stale.errors.some((x) => x.code === 'ERR_CERT_EXPIRED' && x['check'] === 'pck_crl'));
  });
}

test("TDX quotes: the collateral in a quote's parts is issued for the quote's second", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-coll-clock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await initEmulatedTvm({ stateDir: dir, profile: 'tdx' });
  let now = new Date('2027-03-01T10:00:00.100Z');
  const p = await openEmulatedProvider({ stateDir: dir, now: () => now });
  t.after(() => p.close());
  const issuedAt = async (): Promise<{ issue: string; bytes: Uint8Array }> => {
    const bytes = (await p.report({ reportData: NONCE })).parts!['collateral']!;
    const j = JSON.parse(Buffer.from(bytes).toString()) as Record<string, string>;
    const tcb = JSON.parse(j['tcb_info']!) as { issueDate: string };
    return { issue: tcb.issueDate, bytes };
  };
  const a = await issuedAt();
  // Issued an hour before the quote's time, to the second (makeEmulatedTdxCollateral).
  assert.equal(a.issue, '2027-03-01T09:00:00Z');
  now = new Date('2027-03-01T10:00:00.900Z'); // the same second: the same collateral
  const b = await issuedAt();
  assert.deepEqual(b.bytes, a.bytes);
  now = new Date('2027-03-01T11:30:01.000Z'); // later: issued for that time
  const c = await issuedAt();
  assert.equal(c.issue, '2027-03-01T10:30:01Z');
  assert.notDeepEqual(c.bytes, a.bytes);
});

test('SNP: the ARK CRL is issued for the time; Revoked lists the ASK', async (t) => {
  for (const status of ['UpToDate', 'Revoked'] as const) {
    const e = await tvm('snp', status);
    t.after(() => rmSync(e.dir, { recursive: true, force: true }));
    const at = new Date(Date.now() + 100 * 24 * 3600 * 1000);
    const c = emulatedCollateral(e.dir, { at });
    const crl = c.files.get('ark.crl')!;
    // openssl reads the CRL and its revoked list.
    const text = runTool('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], crl).toString();
    assert.equal(text.includes('Serial Number: 02'), status === 'Revoked', text);
    const r = await verifyEvidence(e.outblob, {
      at,
      nonce: NONCE,
      emulatedAnchors: emulatedRootsOf(e.dir),
      certs: c.certs,
      collateral: { files: c.files },
      ...(e.auxblob === undefined ? {} : { auxblob: e.auxblob }),
    });
    if (status === 'UpToDate') {
      assert.equal(r.checks['crl'], 'ok', JSON.stringify(r.errors));
      assert.equal(r.verified, true, JSON.stringify(r.errors));
    } else {
      assert.equal(r.checks['crl'], 'failed');
      assert.ok(r.errors.some((x) => x.code === 'ERR_CERT_REVOKED'));
    }
  }
});

test('TPM: the AK certificate chains to the emulated TPM CA under the AK profile; openssl agrees', async (t) => {
  const e = await tvm('tpm');
  t.after(() => rmSync(e.dir, { recursive: true, force: true }));
  const at = new Date();
  const c = emulatedCollateral(e.dir, { at });
  const [ak, ca] = parseCertificates(c.certs[0]!);
  const v = validateChain({
    leaf: ak!,
    profile: TPM_AK_PROFILE,
    anchors: [anchorFromCertificate(ca!)],
    at,
  });
  assert.equal(v.leaf.cn, 'mrstack Emulated TPM AK');
  assert.deepEqual(ak!.extendedKeyUsage, ['2.23.133.8.3']);
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-akcert-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const text = runTool('openssl', ['x509', '-noout', '-text'], Buffer.from(c.certs[0]!)).toString();
  assert.match(text, /X509v3 Extended Key Usage:\s*\n\s*2\.23\.133\.8\.3/);
  assert.match(text, /Digital Signature/);
});

for (const profile of ['tpm', 'cca'] as const)
  test(`${profile.toUpperCase()}: the CA's CRL is issued for the time; Revoked lists the ${profile === 'tpm' ? 'AK' : 'CPAK'} certificate (openssl verifies the CRL and names the serial)`, async (t) => {
    for (const status of ['UpToDate', 'Revoked'] as const) {
      const e = await tvm(profile, status);
      t.after(() => rmSync(e.dir, { recursive: true, force: true }));
      const at = new Date(Date.now() + 100 * 24 * 3600 * 1000);
      const c = emulatedCollateral(e.dir, { at });
      const crl = c.files.get(profile === 'tpm' ? 'tpm-ca.crl' : 'cca-root.crl');
      assert.ok(crl !== undefined, [...c.files.keys()].join());
      // the CA certificate (TPM: beside the AK certificate; CCA: the emulated root), and the
      // certificate a Revoked TVM's CRL must list (TPM: the AK certificate issued beside it;
      // CCA: the CPAK certificate of the token's x5chain, read by openssl below)
      const caPem =
        profile === 'tpm'
          ? Buffer.from(c.certs[0]!)
              .toString()
              .split(/(?=-----BEGIN)/)[1]!
          : readFileSync(join(e.dir, 'keys', 'cca', 'root.pem'), 'utf8');
      const leafPem =
        profile === 'tpm'
          ? Buffer.from(c.certs[0]!)
              .toString()
              .split(/(?=-----BEGIN)/)[0]!
          : readFileSync(join(e.dir, 'keys', 'cca', 'cpak.pem'), 'utf8');
      const dir = mkdtempSync(join(tmpdir(), 'mrstack-crl-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'ca.pem'), caPem);
      const out = runTool(
        'openssl',
        ['crl', '-inform', 'DER', '-CAfile', join(dir, 'ca.pem'), '-noout', '-text'],
        crl,
      ).toString();
      const serial = runTool('openssl', ['x509', '-noout', '-serial'], leafPem)
        .toString()
        .trim()
        .replace(/^serial=/, '');
      const listed = new RegExp(`Serial Number: 0*${serial.replace(/^0+/, '')}\\b`, 'i');
      assert.equal(listed.test(out), status === 'Revoked', `${serial}\n${out}`);
      const r = await verifyEvidence(e.outblob, {
        at,
        nonce: NONCE,
        emulatedAnchors: emulatedRootsOf(e.dir),
        certs: c.certs,
        collateral: { files: c.files },
        ...(e.parts === undefined ? {} : { parts: e.parts }),
      });
      if (status === 'UpToDate') {
        assert.equal(r.checks['crl'], 'ok', JSON.stringify(r.errors));
        assert.equal(r.verified, true, JSON.stringify(r.errors));
      } else {
        assert.equal(r.checks['crl'], 'failed');
        assert.ok(r.errors.some((x) => x.code === 'ERR_CERT_REVOKED'));
      }
      // without the CRL, revocation is not checked: optional, the evidence still verifies
      const bare = await verifyEvidence(e.outblob, {
        at,
        nonce: NONCE,
        emulatedAnchors: emulatedRootsOf(e.dir),
        certs: c.certs,
        ...(e.parts === undefined ? {} : { parts: e.parts }),
      });
      assert.equal(bare.checks['crl'], 'skipped');
      assert.equal(bare.verified, true, JSON.stringify(bare.errors));
    }
  });

test('CLI: evidence verify --trust-emulated --tvm-state runs the TCB path months later; the envelope alone has expired', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'mrstack-coll-cli-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  const tvmDir = join(d, 'tvm');
  const ev = join(d, 'ev.json');
  assert.equal(
    (
      await runCli([
        'emulate',
        'init',
        '--profile',
        'tdx',
        '--tcb-status',
        'OutOfDate',
        '--tvm-state',
        tvmDir,
      ])
    ).code,
    0,
  );
  assert.equal(
    (await runCli(['report', '--nonce', '0102', '--tvm-state', tvmDir, '--out', ev])).code,
    0,
  );
  const at = new Date(Date.now() + 100 * 86_400_000).toISOString();
  const flags = { trustEmulated: true, nonce: '0102', at };
  const { result, json } = await runCliJson([
    ...evidenceVerifyArgs(ev, flags),
    '--tvm-state',
    tvmDir,
    '--json',
  ]);
  assert.equal(result.code, 0, result.stdout);
  const r = json as { verified: boolean; tcbStatus: string; checks: Record<string, string> };
  assert.equal(r.verified, true);
  assert.equal(r.tcbStatus, 'OutOfDate');
  assert.equal(r.checks['tcb'], 'ok');
  // --trust-emulated with no TVM there trusts nothing: the missing TVM is named (exit 2).
  const none = await runCliJson([...evidenceVerifyArgs(ev, flags), '--json'], {
    env: { MRSTACK_TVM_STATE: join(d, 'none') },
  });
  assert.equal(none.result.code, 2, none.result.stdout);
  assert.equal(cliError(none.json).code, 'ERR_NOT_FOUND');
  // The root as --trust-anchor, without the TVM's PKI: the collateral the envelope carried
  // (issued at report time) is stale 100 days later.
  const old = await runCliJson([
    ...evidenceVerifyArgs(ev, {
      nonce: '0102',
      at,
      trustAnchor: join(tvmDir, 'keys', 'tdx', 'root.pem'),
    }),
    '--json',
  ]);
  assert.equal(old.result.code, 1, old.result.stdout);
  assert.equal((old.json as { verified: boolean }).verified, false);
});

test('CLI: an emulated TPM envelope verifies only under --trust-emulated with its own TVM (ak_trust: certificate); another TVM or no flag → ERR_UNTRUSTED_KEY, exit 1', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'mrstack-coll-tpm-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  const [mine, other] = [join(d, 'a'), join(d, 'b')];
  for (const s of [mine, other])
    assert.equal((await runCli(['emulate', 'init', '--profile', 'tpm', '--tvm-state', s])).code, 0);
  const ev = join(d, 'ev.json');
  assert.equal(
    (await runCli(['report', '--nonce', '0102', '--tvm-state', mine, '--out', ev])).code,
    0,
  );
  interface R {
    verified: boolean;
    checks: Record<string, string>;
    errors: { code: string; check?: string }[];
    claims: Record<string, unknown>;
    trust: { emulated: boolean; anchor?: { sha256: string } };
  }
  const run = async (flags: Parameters<typeof evidenceVerifyArgs>[1]) => {
    const { result, json } = await runCliJson([...evidenceVerifyArgs(ev, flags), '--json'], {
      env: { MRSTACK_TVM_STATE: join(d, 'none') },
    });
    return { code: result.code, r: json as R };
  };
  const ok = await run({ nonce: '0102', trustEmulated: true, tvmState: mine });
  assert.equal(ok.code, 0, JSON.stringify(ok.r.errors));
  assert.equal((ok.r.claims['ak_trust'] as { reason: string }).reason, 'certificate');
  assert.equal(ok.r.trust.emulated, true);
  // The anchor is the TVM's TPM CA, by the SHA-256 of its SPKI (openssl computes it here).
  const caPem = runTool(
    'openssl',
    ['x509', '-pubkey', '-noout'],
    Buffer.from(readFileSync(join(mine, 'keys', 'tpm-ca', 'ca.pem'))),
  );
  const spki = runTool('openssl', ['pkey', '-pubin', '-outform', 'DER'], caPem);
  assert.equal(ok.r.trust.anchor?.sha256, createHash('sha256').update(spki).digest('hex'));
  // The envelope carries the AK certificate; openssl verifies it against the TVM's CA with the
  // AK purpose, and that CA given as --trust-anchor (no --trust-emulated) makes the AK trusted.
  const env = JSON.parse(readFileSync(ev, 'utf8')) as { parts: Record<string, string> };
  const akPem = runTool(
    'openssl',
    ['x509', '-inform', 'DER'],
    Buffer.from(env.parts['ak_cert']!, 'hex'),
  );
  const akPemFile = join(d, 'ak.pem');
  writeFileSync(akPemFile, akPem);
  const caFile = join(mine, 'keys', 'tpm-ca', 'ca.pem');
  runTool('openssl', ['verify', '-CAfile', caFile, '-purpose', 'any', akPemFile]);
  assert.match(
    runTool('openssl', ['x509', '-noout', '-ext', 'extendedKeyUsage', '-in', akPemFile]).toString(),
    /2\.23\.133\.8\.3/,
  );
  const byAnchor = await run({ nonce: '0102', trustAnchor: caFile });
  assert.equal(byAnchor.code, 0, JSON.stringify(byAnchor.r.errors));
  assert.equal((byAnchor.r.claims['ak_trust'] as { reason: string }).reason, 'certificate');
  for (const flags of [
    { nonce: '0102', trustEmulated: true, tvmState: other },
    { nonce: '0102' },
  ]) {
    const bad = await run(flags);
    assert.equal(bad.code, 1, JSON.stringify(flags));
    assert.equal(bad.r.verified, false);
    assert.equal(bad.r.checks['quote_signature'], 'ok');
    assert.equal(bad.r.checks['ak_trust'], 'failed');
    assert.deepEqual(
      bad.r.errors.map((e) => [e.check, e.code]),
      [['ak_trust', 'ERR_UNTRUSTED_KEY']],
    );
  }
});
