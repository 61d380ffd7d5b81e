// Emulated SNP reports round-trip: generate → verify passes (only when the emulated root is
// trusted); flipping any byte of the signed region fails. The emulated chain is also checked
// with openssl, an independent X.509 implementation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParseError } from '../../../src/errors.js';
import { makeEmulatedSnpReport } from '../../../src/providers/emulated/report_snp.js';
import type { EmulatedReportContext } from '../../../src/providers/emulated/report_context.js';
import { verifySnpReport } from '../../../src/verifier/verify/snp.js';
import { SnpChainCache } from '../../../src/verifier/verify/snp.js';
import { parseSnpReport, SNP_SIGNED_SIZE } from '../../../src/formats/snp/report.js';
import { parseSnpCertTable } from '../../../src/formats/snp/cert_table.js';
import { runTool } from '../../_support/peers.js';
import { RELAX_NONCE_CRL } from '../../_support/trust.js';

const dir = mkdtempSync(join(tmpdir(), 'mrstack-emu-snp-'));
const MEASUREMENT = new Uint8Array(48).fill(0x5a);
const HOST_DATA = new Uint8Array(32).fill(0x11);

function ctx(reportData: Uint8Array, privlevel?: number): EmulatedReportContext {
  return {
    stateDir: dir,
    keysDir: join(dir, 'keys', 'snp'),
    profile: 'snp',
    config: {
      profile: 'snp',
      created: new Date('2026-01-01T00:00:00Z'),
      staticValues: new Map([
        ['measurement', MEASUREMENT],
        ['host_data', HOST_DATA],
      ]),
    },
    registers: [],
    values: new Map(),
    request: { reportData, ...(privlevel === undefined ? {} : { privlevel }) },
    reportData,
    now: new Date('2026-02-01T00:00:00Z'),
  };
}

const AT = new Date('2026-06-01T00:00:00Z');
const NONCE = new Uint8Array(64).map((_, i) => i);
const raw = makeEmulatedSnpReport(ctx(NONCE));

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('the emulated report is a v3 report carrying the TVM values and the nonce', () => {
  const r = parseSnpReport(raw.outblob);
  assert.equal(raw.emulated, true);
  assert.equal(raw.provider, 'sev_guest');
  assert.equal(r.version, 3);
  assert.deepEqual(r.measurement, MEASUREMENT);
  assert.deepEqual(r.host_data, HOST_DATA);
  assert.deepEqual(r.report_data, NONCE);
  assert.equal(r.signing_key, 'vcek');
  assert.equal(r.product, 'milan');
  const names = parseSnpCertTable(raw.auxblob!).map((e) => e.name);
  assert.deepEqual(names, ['vcek', 'ask', 'ark']);
});

test('verifies with --trust-emulated (and says so); refused without it', () => {
  const ok = verifySnpReport(raw.outblob, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    auxblob: raw.auxblob!,
    emulatedAnchors: [readFileSync(join(dir, 'keys', 'snp', 'ark.pem'))],
    nonce: NONCE,
  });
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.verified, true);
  assert.equal(ok.trust.emulated, true);
  assert.ok(ok.warnings.some((w) => w.includes('EMULATED')));
  const refused = verifySnpReport(raw.outblob, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    auxblob: raw.auxblob!,
  });
  assert.equal(refused.verified, false);
  assert.ok(refused.errors.some((e) => e.code === 'ERR_UNTRUSTED_ROOT'));
});

test('the emulated ARK as --trust-anchor is accepted without --trust-emulated', () => {
  const ark = readFileSync(join(dir, 'keys', 'snp', 'ark.pem'));
  const r = verifySnpReport(raw.outblob, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    auxblob: raw.auxblob!,
    trustAnchors: [ark],
  });
  assert.equal(r.verified, true);
});

test('keys are made once: a second report reuses the same chip and chain', () => {
  const again = makeEmulatedSnpReport(ctx(new Uint8Array(64), 2));
  assert.deepEqual(again.auxblob, raw.auxblob);
  const r = parseSnpReport(again.outblob);
  assert.equal(r.vmpl, 2);
  assert.deepEqual(r.chip_id, parseSnpReport(raw.outblob).chip_id);
  assert.throws(() => makeEmulatedSnpReport(ctx(new Uint8Array(65))), { code: 'ERR_USAGE' });
});

test('flipping any bit of any byte of the signed region fails verification', () => {
  const cache = new SnpChainCache();
  for (let i = 0; i < SNP_SIGNED_SIZE; i++) {
    const b = Uint8Array.from(raw.outblob);
    b[i]! ^= 1 << (i % 8);
    try {
      const r = verifySnpReport(b, {
        policy: RELAX_NONCE_CRL,
        at: AT,
        auxblob: raw.auxblob!,
        emulatedAnchors: [readFileSync(join(dir, 'keys', 'snp', 'ark.pem'))],
        cache,
      });
      assert.equal(r.verified, false, `byte ${i}`);
      assert.equal(r.checks['report_signature'], 'failed', `byte ${i}`);
    } catch (e) {
      // Version, algorithm and must-be-zero bytes are rejected by the parser already.
      assert.ok(e instanceof ParseError, `byte ${i}: ${String(e)}`);
    }
  }
});

test('openssl verifies the emulated ARK → ASK → VCEK chain (RSA-PSS SHA-384)', () => {
  const k = join(dir, 'keys', 'snp');
  writeFileSync(
    join(dir, 'ca.pem'),
    Buffer.concat([readFileSync(join(k, 'ask.pem')), readFileSync(join(k, 'ark.pem'))]),
  );
  const out = runTool('openssl', [
    'verify',
    '-attime',
    String(AT.getTime() / 1000),
    '-CAfile',
    join(dir, 'ca.pem'),
    join(k, 'vcek.pem'),
  ]).toString();
  assert.match(out, /: OK/);
  const text = runTool('openssl', [
    'x509',
    '-in',
    join(k, 'vcek.pem'),
    '-noout',
    '-text',
  ]).toString();
  assert.match(text, /rsassaPss/);
  assert.match(text, /Salt Length: 0x30/);
  assert.match(text, /O = mrstack emulated root - not hardware backed/);
});
