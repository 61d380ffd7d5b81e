// Turin (CPUID family 0x1A): REPORTED_TCB is read in the Turin layout (FMC byte first) and
// compared with the VCEK's fmcSPL/blSPL/teeSPL/snpSPL/ucodeSPL; the 8-byte hwID matches the
// first 8 bytes of CHIP_ID. Certificates are built here (the shared set has no Turin report).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ia5, int } from '../../../src/formats/x509/der_encode.js';
import { encodeSnpReportBody } from '../../../src/formats/snp/report_encode.js';
import { verifySnpReport } from '../../../src/verifier/verify/snp.js';
import { amdOid, amdTestChain, signSnpReport } from '../../_support/snp_pki.js';
import { RELAX_NONCE_CRL } from '../../_support/trust.js';

const HWID = Uint8Array.of(0x1e, 0x55, 0x0a, 0x8e, 0xe5, 0xcf, 0x9f, 0x4d);
const chain = amdTestChain({
  ark: { cn: 'ARK-Turin', serial: 0 },
  ask: { cn: 'SEV-Turin', serial: 0 },
  leaf: {
    cn: 'SEV-VCEK',
    serial: 0,
    extensions: [
      { oid: amdOid('2'), value: ia5('Turin') },
      { oid: amdOid('3.9'), value: int(5) },
      { oid: amdOid('3.1'), value: int(3) },
      { oid: amdOid('3.2'), value: int(1) },
      { oid: amdOid('3.3'), value: int(8) },
      { oid: amdOid('3.8'), value: int(15) },
      { oid: amdOid('4'), value: HWID },
    ],
  },
});

// Turin layout: byte0 fmc 5, byte1 bl 3, byte2 tee 1, byte3 snp 8, byte7 ucode 15.
const TURIN_TCB = 0x0f00000008010305n;

function report(tcb: bigint, chipId: Uint8Array): Uint8Array {
  const body = encodeSnpReportBody({
    version: 3,
    policy: 0x30000n,
    current_tcb: tcb,
    reported_tcb: tcb,
    report_data: new Uint8Array(64),
    measurement: new Uint8Array(48).fill(9),
    chip_id: chipId,
    cpuid: { family: 0x1a, model: 0x02, stepping: 0 },
  });
  return signSnpReport(body, chain.leaf.privateKey);
}

const AT = new Date('2026-01-01T00:00:00Z');
const chip = new Uint8Array(64);
chip.set(HWID);

test('a Turin report: TCB in the Turin layout matches the VCEK SPLs; 8-byte hwID matches', () => {
  const r = verifySnpReport(report(TURIN_TCB, chip), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    certs: chain.certs,
    emulatedAnchors: [chain.arkDer],
  });
  assert.deepEqual(r.errors, []);
  assert.equal(r.claims['product'], 'turin');
  assert.deepEqual(r.claims['reported_tcb'], {
    raw: '0x0f00000008010305',
    bootloader: 3,
    tee: 1,
    snp: 8,
    microcode: 15,
    fmc: 5,
  });
  assert.equal(r.checks['reported_tcb'], 'ok');
  assert.equal(r.checks['chip_id'], 'ok');
});

test('Turin: a different FMC SPL → ERR_TCB_MISMATCH naming fmc_spl; another chip → ERR_BINDING_MISMATCH', () => {
  const fmc6 = verifySnpReport(report(TURIN_TCB + 1n, chip), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    certs: chain.certs,
    emulatedAnchors: [chain.arkDer],
  });
  assert.deepEqual([...new Set(fmc6.errors.map((e) => e.code))], ['ERR_TCB_MISMATCH']);
  assert.match(fmc6.errors[0]?.message ?? '', /fmc_spl certificate 5 report 6/);
  const other = Uint8Array.from(chip);
  other[7] = 0;
  const r = verifySnpReport(report(TURIN_TCB, other), {
    policy: RELAX_NONCE_CRL,
    at: AT,
    certs: chain.certs,
    emulatedAnchors: [chain.arkDer],
  });
  assert.deepEqual([...new Set(r.errors.map((e) => e.code))], ['ERR_BINDING_MISMATCH']);
});
