// The emulated TVM's TDX quote round-trips through the real verifier: generate → verify passes
// with --trust-emulated (and says so), fails without it, and any flipped byte of the signed
// regions fails. Revocation through an emulated CRL, and concurrent first use of the key set.
import { emulatedRootsOf } from '../../_support/emulated_trust.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../_support/paths.js';
import { toHex } from '../../../src/bytes/hex.js';
import { initEmulatedTvm } from '../../../src/providers/emulated/tvm_state.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { verifyEvidence } from '../../../src/verifier/verify/evidence.js';
import type { VerifyEvidenceOptions } from '../../../src/verifier/verify/evidence_result.js';
import { TdxQuoteVerifier } from '../../../src/verifier/verify/tdx_verifier.js';
import { parseTdxCollateralFiles } from '../../../src/verifier/collateral/tdx_collateral.js';
import { parseTdxQuote } from '../../../src/formats/tdx/quote.js';
import { bits, int, seq, time } from '../../../src/formats/x509/der_encode.js';
import { name, sigAlgId } from '../../../src/formats/x509/certificate_encode.js';
import { RELAX_NONCE_CRL } from '../../_support/trust.js';

async function emulatedQuote(): Promise<{
  dir: string;
  quote: Uint8Array;
  collateral: Uint8Array;
  nonce: Uint8Array;
  rtmr2: Uint8Array;
  mrtd: Uint8Array;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-tdx-emu-'));
  await initEmulatedTvm({ stateDir: dir, profile: 'tdx' });
  const p = await openEmulatedProvider({ stateDir: dir });
  try {
    await p.extend({ name: 'rtmr2' }, { kind: 'digest', digest: new Uint8Array(48).fill(0x5a) });
    const rtmr2 = (await p.read({ name: 'rtmr2' }))[0]!.value;
    const mrtd = (await p.read({ name: 'mrtd' }))[0]!.value;
    const nonce = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
    const r = await p.report({ reportData: nonce });
    assert.equal(r.emulated, true);
    assert.equal(r.format, 'tdx-quote');
    return { dir, quote: r.outblob, collateral: r.parts!['collateral']!, nonce, rtmr2, mrtd };
  } finally {
    await p.close();
  }
}

test('emulated TDX quote: verifies with the TVM roots, says so, and carries the registers', async (t) => {
  const e = await emulatedQuote();
  t.after(() => rmSync(e.dir, { recursive: true, force: true }));
  const opts: VerifyEvidenceOptions = {
    collateral: { files: new Map([['c.json', e.collateral]]) },
    nonce: e.nonce,
  };
  const r = await verifyEvidence(e.quote, { ...opts, emulatedAnchors: emulatedRootsOf(e.dir) });
  assert.equal(r.verified, true, JSON.stringify(r.errors));
  assert.equal(r.tcbStatus, 'UpToDate');
  // trust.anchor: the root's SPKI SHA-256, computed here with node:crypto from the root file.
  const rootPem = readFileSync(join(e.dir, 'keys', 'tdx', 'root.pem'));
  const spki = new X509Certificate(rootPem).publicKey.export({ type: 'spki', format: 'der' });
  assert.deepEqual(r.trust, {
    root: 'mrstack Emulated SGX Root CA',
    emulated: true,
    anchor: {
      sha256: createHash('sha256').update(spki).digest('hex'),
      subject: new X509Certificate(rootPem).subject.split('\n').join(', '),
    },
  });
  assert.equal(toHex(r.claims['rtmr2'] as Uint8Array), toHex(e.rtmr2));
  assert.equal(toHex(r.claims['mrtd'] as Uint8Array), toHex(e.mrtd));
  assert.equal(r.checks['nonce'], 'ok');
  // Without trusting emulated roots: ERR_UNTRUSTED_ROOT.
  const no = await verifyEvidence(e.quote, opts);
  assert.equal(no.verified, false);
  assert.equal(no.errors[0]!.code, 'ERR_UNTRUSTED_ROOT');
  // The emulated root given as trust anchor is accepted, still marked emulated.
  const root = new Uint8Array(readFileSync(join(e.dir, 'keys', 'tdx', 'root.pem')));
  const anchored = await verifyEvidence(e.quote, { ...opts, trustAnchors: [root] });
  assert.equal(anchored.verified, true, JSON.stringify(anchored.errors));
  assert.equal(anchored.trust.emulated, true);
  // A wrong nonce.
  const wrong = await verifyEvidence(e.quote, {
    ...opts,
    emulatedAnchors: emulatedRootsOf(e.dir),
    nonce: new Uint8Array(64),
  });
  assert.deepEqual(
    wrong.errors.map((x) => x.code),
    ['ERR_NONCE_MISMATCH'],
  );
});

test('emulated TDX quote: flipping any byte of the signed regions fails verification', async (t) => {
  const e = await emulatedQuote();
  t.after(() => rmSync(e.dir, { recursive: true, force: true }));
  const v = new TdxQuoteVerifier({ emulatedAnchors: emulatedRootsOf(e.dir) });
  const collateral = parseTdxCollateralFiles(new Map([['c.json', e.collateral]]));
  const at = new Date();
  assert.equal(v.verify(e.quote, { at, collateral, policy: RELAX_NONCE_CRL }).verified, true);
  // Header + body [0, 632), quote signature, attestation key, QE report and its signature.
  const regions: [number, number][] = [
    [0, 632],
    [636, 636 + 128],
    [770, 770 + 384 + 64],
  ];
  let checked = 0;
  for (const [from, to] of regions) {
    for (let i = from; i < to; i++) {
      const c = e.quote.slice();
      c[i]! ^= 0x01;
      let verified: boolean;
      try {
        verified = v.verify(c, { at, collateral, policy: RELAX_NONCE_CRL }).verified;
      } catch {
        verified = false; // a structural field changed: a typed parse error is a failure too
      }
      assert.equal(verified, false, `byte ${i} flipped still verifies`);
      checked++;
    }
  }
  assert.equal(checked, 632 + 128 + 448);
});

test('emulated TDX: a PCK CRL listing the leaf → ERR_CERT_REVOKED', async (t) => {
  const e = await emulatedQuote();
  t.after(() => rmSync(e.dir, { recursive: true, force: true }));
  const keys = join(e.dir, 'keys', 'tdx');
  const caKey = createPrivateKey(readFileSync(join(keys, 'pck_ca.key.pem')));
  const ca = new X509Certificate(readFileSync(join(keys, 'pck_ca.pem')));
  const leafDer = parseTdxQuote(e.quote).certificationData.pckChain[0]!;
  const leaf = new X509Certificate(leafDer);
  const now = new Date();
  const issuer = name([
    ['CN', 'mrstack Emulated SGX PCK Platform CA'],
    ['O', 'mrstack emulated root - not hardware backed'],
    ['C', 'US'],
  ]);
  const tbs = seq(
    int(1),
    sigAlgId('ecdsa-sha256'),
    issuer,
    time(new Date(now.getTime() - 3600_000)),
    time(new Date(now.getTime() + 3600_000)),
    seq(seq(int(BigInt(`0x${leaf.serialNumber}`)), time(new Date(now.getTime() - 60_000)))),
  );
  const crl = seq(tbs, sigAlgId('ecdsa-sha256'), bits(sign('sha256', tbs, caKey)));
  assert.ok(ca.subject.includes('PCK Platform CA'));
  const j = JSON.parse(Buffer.from(e.collateral).toString('utf8')) as Record<string, string>;
  j['pck_crl'] = Buffer.from(crl).toString('hex');
  const r = await verifyEvidence(e.quote, {
    emulatedAnchors: emulatedRootsOf(e.dir),
    nonce: e.nonce,
    collateral: { files: new Map([['c.json', new Uint8Array(Buffer.from(JSON.stringify(j)))]]) },
  });
  assert.deepEqual(
    r.errors.map((x) => [x['check'], x.code]),
    [['pck_crl', 'ERR_CERT_REVOKED']],
  );
  // A CRL signed by another key fails its signature check instead.
  j['pck_crl'] = Buffer.from(
    seq(
      tbs,
      sigAlgId('ecdsa-sha256'),
      bits(sign('sha256', tbs, createPrivateKey(readFileSync(join(keys, 'root.key.pem'))))),
    ),
  ).toString('hex');
  const r2 = await verifyEvidence(e.quote, {
    emulatedAnchors: emulatedRootsOf(e.dir),
    nonce: e.nonce,
    collateral: { files: new Map([['c.json', new Uint8Array(Buffer.from(JSON.stringify(j)))]]) },
  });
  assert.deepEqual(
    r2.errors.map((x) => [x['check'], x.code]),
    [['pck_crl', 'ERR_SIGNATURE_INVALID']],
  );
});

test('concurrent first use of the emulated TDX key set agrees on one root', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-tdx-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mod = pathToFileURL(
    join(REPO_ROOT, 'dist', 'src', 'providers', 'emulated', 'tdx_pki.js'),
  ).href;
  const script = `const m = await import(${JSON.stringify(mod)}); const k = m.loadOrCreateTdxKeys(${JSON.stringify(join(dir, 'keys', 'tdx'))}, new Date()); process.stdout.write(Buffer.from(k.rootDer).toString('hex'));`;
  const run = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      c.stdout.on('data', (b: Buffer) => out.push(b));
      c.stderr.on('data', (b: Buffer) => err.push(b));
      c.on('error', reject);
      c.on('close', (code) =>
        code === 0
          ? resolve(Buffer.concat(out).toString())
          : reject(new Error(Buffer.concat(err).toString())),
      );
    });
  const roots = await Promise.all([run(), run(), run(), run()]);
  assert.equal(new Set(roots).size, 1);
  assert.ok(roots[0].length > 100);
});
