// The finding → AR4SI claim table (docs/ear.md) and the relaxation rules, checked against the
// AR4SI codes (draft-ietf-rats-ar4si, shared appraisal PROVENANCE §2) and DESIGN §6.4:
// relaxed or skipped checks give 0 for the claims they support; a submodule's status is the
// worst tier of its claims.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FINDING_IDS,
  findingIdInfo,
  type Finding,
  type FindingId,
  type FindingStatus,
} from '../../../../src/verifier/appraise/finding.js';
import { statusFromVector, tierOf } from '../../../../src/verifier/result/ar4si.js';
import { claimMappingOf, trustVectorOf } from '../../../../src/verifier/result/claim_mapping.js';
import { REPO_ROOT } from '../../../_support/paths.js';

const f = (id: string, status?: FindingStatus, claim = 'x'): Finding =>
  ({
    id,
    status: status ?? findingIdInfo(id as FindingId).status,
    claim,
    where: { layer: 'report' },
  }) as Finding;

/** A fully affirmed TDX appraisal: fresh, TCB up to date, not debug, MRTD and RTMRs known, IMA allowed. */
const GOOD: Finding[] = [
  f('nonce.match'),
  f('tcb.up-to-date'),
  f('tdx.td.not-debug'),
  f('tdx.mrtd.match'),
  f('tdx.mrconfigid.match'),
  f('replay.rtmr1.match'),
  f('ima.log.allowed'),
];
const FULL = { signature: 'ok', nonce: 'ok', tcb: 'ok' } as const;

test('fully affirmed TDX: instance-identity, configuration, hardware, runtime-opaque 2; executables 2 (boot and run time)', () => {
  const v = trustVectorOf(GOOD, FULL);
  assert.deepEqual(v, {
    'instance-identity': 2,
    configuration: 2,
    executables: 2,
    'file-system': 0,
    hardware: 2,
    'runtime-opaque': 2,
    'storage-opaque': 0,
    'sourced-data': 0,
  });
  assert.equal(statusFromVector(v), 'affirming');
});

test('boot-time approval alone is executables 3; run-time approval alone says nothing (0)', () => {
  const boot = GOOD.filter((x) => x.id !== 'ima.log.allowed');
  assert.equal(trustVectorOf(boot, FULL).executables, 3);
  assert.equal(trustVectorOf([f('ima.log.allowed')], FULL).executables, 0);
});

test('no collateral: hardware and configuration 0 (skipped or relaxed), the rest stays', () => {
  for (const support of [
    { ...FULL, tcb: 'skipped' as const },
    { ...FULL, tcb: 'relaxed' as const, relaxed: ['collateral'] },
    {
      signature: 'ok' as const,
      nonce: 'ok' as const,
      skipped: { collateral: 'no collateral given' },
    },
  ]) {
    const v = trustVectorOf(GOOD, support);
    assert.equal(v.hardware, 0);
    assert.equal(v.configuration, 0);
    assert.equal(v['instance-identity'], 2);
    assert.equal(v.executables, 2);
  }
});

// TPM and CCA (docs/ear.md "TPM and CCA"): their only collateral is the CRL of the AK / CPAK
// certificate's CA, which vouches for the hardware (AR4SI hardware 2 "genuine") and says nothing
// about configuration; without it, hardware is 0 and configuration keeps what the realm claims
// (CCA) affirmed. A TPM has no configuration finding: configuration stays 0 ("no claim").
const CCA_GOOD: Finding[] = [
  f('nonce.match'),
  f('tcb.up-to-date'),
  f('cca.rim.match'),
  f('cca.realm.claim.match'),
  f('replay.rem3.match'),
  f('tenant.event.allowed'),
];
const TPM_GOOD: Finding[] = [
  f('nonce.match'),
  f('tcb.up-to-date'),
  f('tpm.pcr.match'),
  f('replay.pcr14.match'),
  f('tenant.event.allowed'),
];

test('TPM / CCA: the CRL checked gives hardware 2; without it hardware 0 and configuration is kept', () => {
  const cca = trustVectorOf(CCA_GOOD, { ...FULL, kind: 'cca' });
  assert.deepEqual([cca.hardware, cca.configuration, cca.executables], [2, 2, 2]);
  const tpm = trustVectorOf(TPM_GOOD, { ...FULL, kind: 'tpm' });
  assert.deepEqual([tpm.hardware, tpm.configuration, tpm.executables], [2, 0, 2]);
  for (const support of [
    { ...FULL, kind: 'cca', tcb: 'skipped' as const, skipped: { crl: 'no CRL given' } },
    { ...FULL, kind: 'cca', tcb: 'relaxed' as const, relaxed: ['crl'] },
  ]) {
    const noCrl = CCA_GOOD.filter((x) => x.id !== 'tcb.up-to-date');
    const unproven = [...noCrl, f('claim.unproven', 'none', 'revocation')];
    for (const fs of [noCrl, unproven]) {
      const v = trustVectorOf(fs, support);
      assert.equal(v.hardware, 0);
      assert.equal(v.configuration, 2);
      assert.equal(v.executables, 2);
      assert.equal(v['instance-identity'], 2);
    }
  }
  // the TDX rule is unchanged: missing collateral takes configuration too
  assert.equal(trustVectorOf(GOOD, { ...FULL, kind: 'tdx', tcb: 'skipped' }).configuration, 0);
});

test('TPM / CCA: a revoked platform key is hardware 96 and nothing else; out of date is hardware 32', () => {
  for (const kind of ['tpm', 'cca'] as const) {
    const v = trustVectorOf([f(`${kind}.tcb.revoked`)], { ...FULL, kind });
    assert.equal(v.hardware, 96);
    assert.equal(tierOf(v.hardware), 'contraindicated');
    assert.ok(
      Object.entries(v).every(([c, x]) => c === 'hardware' || x === 0),
      JSON.stringify(v),
    );
    const good = kind === 'tpm' ? TPM_GOOD : CCA_GOOD;
    const o = trustVectorOf(
      [...good.filter((x) => x.id !== 'tcb.up-to-date'), f(`${kind}.tcb.out-of-date`)],
      { ...FULL, kind },
    );
    assert.equal(o.hardware, 32);
    assert.equal(statusFromVector(o), 'warning');
  }
});

test('no nonce: no affirming instance-identity', () => {
  const noNonce = GOOD.filter((x) => x.id !== 'nonce.match');
  assert.equal(trustVectorOf(noNonce, { ...FULL, nonce: 'skipped' })['instance-identity'], 0);
  assert.equal(trustVectorOf(GOOD, { ...FULL, relaxed: ['nonce'] })['instance-identity'], 0);
});

test('an unverified anchor (relaxed) takes every claim to 0: status none', () => {
  const v = trustVectorOf(GOOD, { ...FULL, relaxed: ['unverified-anchor'] });
  assert.ok(Object.values(v).every((x) => x === 0));
  assert.equal(statusFromVector(v), 'none');
});

test('claim.unproven blocks the claim it names', () => {
  const v = trustVectorOf([...GOOD, f('claim.unproven', 'none', 'mrtd')], FULL);
  assert.equal(v.executables, 0);
  assert.equal(v.hardware, 2);
  const all = trustVectorOf([...GOOD, f('claim.unproven', 'none', 'something-else')], FULL);
  assert.ok(Object.values(all).every((x) => x === 0));
});

// Each failure of issue #13's "must show" list: its claim and tier.
const cases: [string, string, Record<string, number>, string][] = [
  [
    'tdx.td.debug',
    'contraindicated',
    { configuration: 96, 'runtime-opaque': 96 },
    'contraindicated',
  ],
  ['tdx.mrtd.mismatch', 'contraindicated', { executables: 96 }, 'contraindicated'],
  ['tdx.tcb.out-of-date', 'warning', { hardware: 32 }, 'warning'],
  ['tdx.tcb.revoked', 'contraindicated', { hardware: 96 }, 'contraindicated'],
  ['replay.rtmr1.mismatch', 'contraindicated', { executables: 96 }, 'contraindicated'],
  ['replay.pcr7.inconsistent', 'contraindicated', { executables: 96 }, 'contraindicated'],
  ['tenant.event.not-allowed', 'contraindicated', { executables: 96 }, 'contraindicated'],
  ['ima.file.unknown', 'contraindicated', { executables: 96 }, 'contraindicated'],
  ['ima.file.unknown', 'warning', { executables: 33 }, 'warning'],
  ['snp.tcb.below-minimum', 'contraindicated', { hardware: 96 }, 'contraindicated'],
  ['snp.host-data.mismatch', 'contraindicated', { configuration: 96 }, 'contraindicated'],
];
for (const [id, status, want, tier] of cases) {
  test(`${id} (${status}) → ${JSON.stringify(want)}, ${tier}`, () => {
    const v = trustVectorOf([...GOOD, f(id, status as FindingStatus)], FULL);
    for (const [c, x] of Object.entries(want)) assert.equal(v[c as keyof typeof v], x, c);
    assert.equal(statusFromVector(v), tier);
  });
}

test('a wrong nonce or failed evidence signature: every claim 99 (cryptographic validation failed)', () => {
  const wrong = trustVectorOf(
    [...GOOD.filter((x) => x.id !== 'nonce.match'), f('nonce.mismatch')],
    FULL,
  );
  assert.ok(Object.values(wrong).every((x) => x === 99));
  const bad = trustVectorOf([f('evidence.unverified')], { signature: 'failed' });
  assert.ok(Object.values(bad).every((x) => x === 99));
  assert.equal(tierOf(99), 'contraindicated');
});

test('a contraindication survives a relaxation of the same claim', () => {
  const v = trustVectorOf([...GOOD, f('tdx.td.debug')], { ...FULL, tcb: 'skipped' });
  assert.equal(v.configuration, 96);
  assert.equal(v.hardware, 0);
});

test('every finding id maps to claims, and docs/ear.md lists each with its claims', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'ear.md'), 'utf8');
  for (const id of Object.keys(FINDING_IDS)) {
    const m = claimMappingOf(id.replace('<register>', 'rtmr1'));
    if (id !== 'tenant.event.pending') assert.ok(m.claims.length > 0, id);
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${id}\` |`));
    assert.ok(row, `docs/ear.md has no row for ${id}`);
    for (const c of m.claims.length === 8 ? ['all eight'] : m.claims)
      assert.ok(row.includes(c), `${id}: ${c}`);
  }
});
