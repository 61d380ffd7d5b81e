// Forgery suite — emulated trust by fingerprint, never by name (issue #12, DESIGN §6.1).
//
// - A self-signed root that copies the emulated root's subject name with another key — here the
//   root of a second emulated TVM, whose PKI spells every name the same way — does not verify
//   the first TVM's trust: `--trust-emulated --tvm-state A` refuses B's quote (exit 1,
//   `pck_chain` ERR_UNTRUSTED_ROOT); control: `--tvm-state B` verifies it.
// - A CCA token whose x5chain does not chain by name (the CPAK certificate is signed by the
//   root's key but names another issuer) is refused at `platform_signature` with
//   ERR_CHAIN_INVALID; control: the same key set with the issuer named right verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, verifyEvidenceJson } from '../../../_support/cli.js';
import { runTool } from '../../../_support/peers.js';
import { tempDir } from '../../../_support/tmp.js';
import { RELAX_NONCE_CRL } from '../../../_support/trust.js';
import { caExtension, name } from '../../../../src/formats/x509/certificate_encode.js';
import { toPem } from '../../../../src/formats/x509/pem_encode.js';
import { certificateIssuer } from '../../../../src/providers/emulated/emulated_pki.js';
import { makeEmulatedCcaToken } from '../../../../src/providers/emulated/report_cca.js';
import type { EmulatedReportContext } from '../../../../src/providers/emulated/report_context.js';
import { verifyEvidence } from '../../../../src/verifier/verify/evidence.js';

const opensslField = (pem: string, flag: '-subject' | '-pubkey'): string =>
  runTool('openssl', ['x509', '-in', pem, '-noout', flag]).toString().trim();

test('a root with the emulated subject name and another key is not the TVM root → pck_chain ERR_UNTRUSTED_ROOT (exit 1)', async (t) => {
  const dir = tempDir(t, 'mrstack-forge-emu-');
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  for (const d of [a, b])
    assert.equal((await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', d])).code, 0);
  const nonce = 'a5'.repeat(32);
  const ev = join(dir, 'b.json');
  assert.equal((await runCli(['report', '--nonce', nonce, '--tvm-state', b, '--out', ev])).code, 0);
  // B's root copies A's subject name exactly, with another key (openssl reads both).
  const rootA = join(a, 'keys', 'tdx', 'root.pem');
  const rootB = join(b, 'keys', 'tdx', 'root.pem');
  assert.equal((await runCli(['emulate', 'export-roots', '--tvm-state', a])).code, 0);
  assert.equal(opensslField(rootA, '-subject'), opensslField(rootB, '-subject'));
  assert.match(opensslField(rootA, '-subject'), /O ?= ?mrstack emulated root/);
  assert.notEqual(opensslField(rootA, '-pubkey'), opensslField(rootB, '-pubkey'));

  const forged = await verifyEvidenceJson(ev, { nonce, trustEmulated: true, tvmState: a });
  assert.equal(forged.result.code, 1, forged.result.stdout);
  assert.equal(forged.json.verified, false);
  assert.deepEqual(
    forged.json.errors.map((e) => [e.check, e.code]),
    [['pck_chain', 'ERR_UNTRUSTED_ROOT']],
  );
  assert.equal(forged.json.trust.anchor, undefined);

  const control = await verifyEvidenceJson(ev, { nonce, trustEmulated: true, tvmState: b });
  assert.equal(control.result.code, 0, control.result.stdout);
  assert.equal(control.json.verified, true);
  assert.deepEqual(control.json.relaxed, []);
});

// --- CCA: a hand-built key set under a test PKI, the token made by the emulated token builder --

const ec = (): { publicKey: KeyObject; privateKey: KeyObject } =>
  generateKeyPairSync('ec', { namedCurve: 'P-384' });
const issue = certificateIssuer('ecdsa-sha384', (cn) =>
  name([
    ['O', 'mrstack test CCA PKI'],
    ['CN', cn],
  ]),
);
const NOT_BEFORE = new Date('2026-01-01T00:00:00Z');
const AT = new Date('2026-06-01T00:00:00Z');

/** Writes a CCA key set whose CPAK certificate names `cpakIssuer` as its issuer. */
function ccaKeySet(dir: string, cpakIssuer: string): { token: Uint8Array; root: Uint8Array } {
  const root = ec();
  const cpak = ec();
  const rak = ec();
  const rootDer = issue(
    'Test CCA Root',
    'Test CCA Root',
    root.publicKey,
    root.privateKey,
    NOT_BEFORE,
    5,
    [caExtension()],
    1,
  );
  // Signed by the root's key whatever issuer it names.
  const cpakDer = issue(
    cpakIssuer,
    'Test CPAK',
    cpak.publicKey,
    root.privateKey,
    NOT_BEFORE,
    5,
    [],
    2,
  );
  const keys = join(dir, 'keys', 'cca');
  mkdirSync(keys, { recursive: true });
  const pem = (k: KeyObject): string => k.export({ format: 'pem', type: 'pkcs8' }).toString();
  writeFileSync(join(keys, 'cpak.key.pem'), pem(cpak.privateKey));
  writeFileSync(join(keys, 'rak.key.pem'), pem(rak.privateKey));
  writeFileSync(join(keys, 'cpak.pem'), toPem(cpakDer));
  writeFileSync(join(keys, 'root.pem'), toPem(rootDer));
  const reportData = new Uint8Array(32).fill(7);
  const ctx: EmulatedReportContext = {
    stateDir: dir,
    keysDir: keys,
    profile: 'cca',
    config: {
      profile: 'cca',
      created: new Date(NOT_BEFORE.getTime() + 24 * 3600 * 1000),
      hashAlg: 'sha256',
      staticValues: new Map(),
    },
    registers: [],
    values: new Map(),
    request: { reportData },
    reportData,
    now: NOT_BEFORE,
  };
  return { token: makeEmulatedCcaToken(ctx).outblob, root: rootDer };
}

test('CCA x5chain with broken name chaining (CPAK signed by the root key, issuer named otherwise) → platform_signature ERR_CHAIN_INVALID', async (t) => {
  const good = ccaKeySet(tempDir(t, 'mrstack-forge-cca-ok-'), 'Test CCA Root');
  const control = await verifyEvidence(good.token, {
    at: AT,
    policy: RELAX_NONCE_CRL,
    trustAnchors: [good.root],
  });
  assert.deepEqual(control.errors, []);
  assert.equal(control.verified, true);
  assert.equal(control.checks['platform_signature'], 'ok');

  const broken = ccaKeySet(tempDir(t, 'mrstack-forge-cca-name-'), 'Another CCA Root');
  const r = await verifyEvidence(broken.token, {
    at: AT,
    policy: RELAX_NONCE_CRL,
    trustAnchors: [broken.root],
  });
  assert.equal(r.verified, false);
  assert.deepEqual(
    r.errors.map((e) => [e['check'], e.code]),
    [['platform_signature', 'ERR_CHAIN_INVALID']],
  );
  // The same token under --trust-emulated style roots (the emulated-anchor path) is refused too.
  const asEmulated = await verifyEvidence(broken.token, {
    at: AT,
    policy: RELAX_NONCE_CRL,
    emulatedAnchors: [broken.root],
  });
  assert.deepEqual(
    asEmulated.errors.map((e) => [e['check'], e.code]),
    [['platform_signature', 'ERR_CHAIN_INVALID']],
  );
});
