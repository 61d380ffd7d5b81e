// SVSM binding: REPORT_DATA = SHA-512(nonce ‖ services manifest) (computed here with openssl),
// the manifest decoded with the vTPM EK public area, a changed manifest or nonce rejected with
// ERR_BINDING_MISMATCH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEmulatedSnpReport } from '../../../src/providers/emulated/report_snp.js';
import type { EmulatedReportContext } from '../../../src/providers/emulated/report_context.js';
import { verifySnpReport } from '../../../src/verifier/verify/snp.js';
import { svsmVtpmEkPublic } from '../../../src/verifier/verify/binding_svsm.js';
import {
  encodeSvsmManifest,
  parseSvsmManifest,
  SVSM_GUIDS,
} from '../../../src/formats/svsm/services_manifest.js';
import { opensslDigest } from '../../_support/peers.js';
import { RELAX_NONCE_CRL } from '../../_support/trust.js';

const dir = mkdtempSync(join(tmpdir(), 'mrstack-svsm-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function report(
  reportData: Uint8Array,
  privlevel?: number,
): { outblob: Uint8Array; auxblob: Uint8Array } {
  const ctx: EmulatedReportContext = {
    stateDir: dir,
    keysDir: join(dir, 'keys', 'snp'),
    profile: 'snp',
    config: { profile: 'snp', created: new Date('2026-01-01T00:00:00Z'), staticValues: new Map() },
    registers: [],
    values: new Map(),
    // The SVSM's report, its REPORT_DATA precomputed here (report_svsm.ts makes its own).
    request: { reportData, ...(privlevel === undefined ? {} : { privlevel }) },
    reportData,
    now: new Date('2026-02-01T00:00:00Z'),
  };
  const r = makeEmulatedSnpReport(ctx);
  return { outblob: r.outblob, auxblob: r.auxblob! };
}

const EK = Uint8Array.from({ length: 90 }, (_, i) => (i * 7) & 0xff); // stands for a TPMT_PUBLIC
const NONCE = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
const manifest = encodeSvsmManifest([{ guid: SVSM_GUIDS.vtpm, data: EK }]);
const AT = new Date('2026-06-01T00:00:00Z');

test('manifest layout: GUID, total size, count, entry {GUID, offset, size}, data', () => {
  assert.equal(manifest.length, 24 + 24 + EK.length);
  // GUID bytes in EFI order, then size and count little-endian.
  assert.equal(
    Buffer.from(manifest.subarray(0, 16)).toString('hex'),
    'bb9e8463923d7046a1ff58f9c94b87bb',
  );
  assert.equal(Buffer.from(manifest).readUInt32LE(16), manifest.length);
  assert.equal(Buffer.from(manifest).readUInt32LE(20), 1);
  assert.equal(Buffer.from(manifest).readUInt32LE(40), 48);
  const m = parseSvsmManifest(manifest);
  assert.equal(m.services[0]?.name, 'vtpm');
  assert.deepEqual(svsmVtpmEkPublic(manifest), EK);
  assert.throws(() => parseSvsmManifest(manifest.subarray(0, 60)), {
    code: 'ERR_TRUNCATED',
    format: 'svsm-manifest',
  });
});

test('report data = SHA-512(nonce ‖ manifest) binds the manifest and its vTPM EK', () => {
  // The SVSM hashes the 64-byte inblob: the 32-byte nonce zero-padded (kernel: inblob is 64).
  const rd = opensslDigest('sha512', Buffer.concat([NONCE, Buffer.alloc(32), manifest]));
  const r = report(rd);
  const ok = verifySnpReport(r.outblob, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    auxblob: r.auxblob,
    emulatedAnchors: [readFileSync(join(dir, 'keys', 'snp', 'ark.pem'))],
    nonce: NONCE,
    manifest,
  });
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.checks['svsm_manifest'], 'ok');
  assert.deepEqual(ok.claims['vtpm_ek_public'], EK);
  const other = Uint8Array.from(manifest);
  other[other.length - 1]! ^= 1;
  const bad = verifySnpReport(r.outblob, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    auxblob: r.auxblob,
    emulatedAnchors: [readFileSync(join(dir, 'keys', 'snp', 'ark.pem'))],
    nonce: NONCE,
    manifest: other,
  });
  // The report data binds nonce and manifest together: another manifest leaves the nonce unproven.
  assert.deepEqual(
    [...new Set(bad.errors.map((e) => e.code))],
    ['ERR_BINDING_MISMATCH', 'ERR_NONCE_MISMATCH'],
  );
  const wrongNonce = verifySnpReport(r.outblob, {
    policy: RELAX_NONCE_CRL,
    at: AT,
    auxblob: r.auxblob,
    emulatedAnchors: [readFileSync(join(dir, 'keys', 'snp', 'ark.pem'))],
    nonce: NONCE.subarray(1),
    manifest,
  });
  assert.equal(wrongNonce.checks['svsm_manifest'], 'failed');
});

test('a manifest bound by a report not made at VMPL 0 is refused: ERR_VMPL_MISMATCH (svsm_vmpl)', () => {
  // A guest at VMPL 2 computes SHA-512(nonce ‖ manifest) itself and asks for a report over it:
  // the binding holds, but the report is not the SVSM's (AMD 58019: the SVSM runs at VMPL 0).
  const rd = opensslDigest('sha512', Buffer.concat([NONCE, Buffer.alloc(32), manifest]));
  const opts = {
    policy: RELAX_NONCE_CRL,
    at: AT,
    emulatedAnchors: [readFileSync(join(dir, 'keys', 'snp', 'ark.pem'))],
    nonce: NONCE,
    manifest,
  };
  const low = report(rd, 2);
  // ATTESTATION_REPORT.VMPL at 0x30 (SNP ABI).
  assert.equal(Buffer.from(low.outblob).readUInt32LE(0x30), 2);
  const bad = verifySnpReport(low.outblob, { ...opts, auxblob: low.auxblob });
  assert.equal(bad.verified, false);
  assert.equal(bad.checks['svsm_manifest'], 'ok');
  assert.equal(bad.checks['svsm_vmpl'], 'failed');
  const e = bad.errors.find((x) => x['check'] === 'svsm_vmpl');
  assert.ok(e !== undefined);
  assert.equal(e.code, 'ERR_VMPL_MISMATCH');
  assert.equal(e['actual'], 2);
  // Control: the same report data at VMPL 0 verifies.
  const good = report(rd, 0);
  const ok = verifySnpReport(good.outblob, { ...opts, auxblob: good.auxblob });
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.checks['svsm_vmpl'], 'ok');
});
