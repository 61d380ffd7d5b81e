// Issue 13's Must show on the emulated profiles that run the agent (TDX, TPM, CCA): agent →
// evidence get → `policy generate --from-evidence` → `mrstack appraise` → an affirming EAR; then
// a static reference value changed (TDX MRTD, CCA RIM, TPM quoted PCR), the agent's register
// replaying to a value the policy does not expect, a tenant event outside the rules, a wrong
// nonce, a debug guest (`emulate init --debug`: TDX, CCA — a TPM has no debug attribute) and a
// revoked / out-of-date TCB (`emulate init --tcb-status`: TDX the TCB info status; TPM and CCA
// a revoked AK / CPAK certificate and an older signed firmware / RMM version). Each case asserts its finding id, the AR4SI claim value and tier in the
// signed EAR (verified with `ear verify --key`), the exit code, and that the HTML page names it.
//
// AR4SI values (draft-ietf-rats-ar4si §2.3, the tiers of §3: 2–31 affirming, 32–95 warning,
// 96–127 contraindicated): instance-identity 2 recognised, 99 cryptographic validation failed
// (a wrong nonce: veraison gives every claim 99); configuration 2 approved, 96 unsupportable;
// executables 2 approved at boot and run time, 96 contraindicated; hardware 2 genuine,
// 32 known vulnerabilities, 96 unsafe; runtime-opaque 96 (memory readable by the host).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  agentTvm,
  appraiseCli,
  earKeyPair,
  findingIds,
  generatePolicyCli,
  writePolicy,
  type Judged,
} from '../../_support/appraise.js';
import { tempDir } from '../../_support/tmp.js';

type Profile = 'tdx' | 'tpm' | 'cca';

/** The AR4SI tier of a claim value (§3's ranges, written here independently of src/). */
function tier(v: number): string {
  if (v >= -1 && v <= 1) return 'none';
  if (v >= 2 && v <= 31) return 'affirming';
  if (v >= 32 && v <= 95) return 'warning';
  return 'contraindicated';
}

/** Asserts one case: exit code, verdict, the finding and its claim, EAR claims, HTML page. */
function expectCase(
  j: Judged,
  want: {
    code: number;
    status: string;
    id: string;
    claim?: string;
    ar4si: Readonly<Record<string, number>>;
  },
): void {
  const ctx = JSON.stringify(j.json.findings);
  assert.equal(j.code, want.code, ctx);
  assert.equal(j.json.status, want.status, ctx);
  const f = j.json.findings.find((x) => x.id === want.id);
  assert.ok(f !== undefined, `${want.id} in ${ctx}`);
  if (want.claim !== undefined) assert.equal(f.claim, want.claim);
  assert.equal(j.ear!.status, want.status);
  for (const [claim, value] of Object.entries(want.ar4si)) {
    assert.equal(j.ear!.vector[claim], value, `${want.id}: ${claim} in ${JSON.stringify(j.ear)}`);
    assert.equal(tier(j.ear!.vector[claim]), tier(value));
  }
  // the page shows the verdict and the finding
  assert.ok(j.html!.includes(want.id), `HTML names ${want.id}`);
  assert.ok(j.html!.includes(want.status), `HTML shows ${want.status}`);
}

/** The register the agent owns by default on each profile, and its static reference value. */
const PROFILE = {
  tdx: { register: 'rtmr3', staticId: 'tdx.mrtd.mismatch', staticClaim: 'mrtd' },
  cca: { register: 'rem3', staticId: 'cca.rim.mismatch', staticClaim: 'rim' },
  tpm: { register: 'pcr14', staticId: 'tpm.pcr.mismatch', staticClaim: 'pcr14:sha256' },
} as const;

/** The generated policy with its static reference value replaced by another one. */
function changeStatic(profile: Profile, policy: Record<string, unknown>): unknown {
  const other = (n: number): string => randomBytes(n).toString('hex');
  if (profile === 'tdx') {
    const tdx = policy['tdx'] as Record<string, unknown>;
    return { ...policy, tdx: { ...tdx, mrtd: [other(48)] } };
  }
  if (profile === 'cca') {
    const cca = policy['cca'] as Record<string, unknown>;
    return { ...policy, cca: { ...cca, rim: [other(32)] } };
  }
  const tpm = policy['tpm'] as { pcrs: Record<string, Record<string, string[]>> };
  return {
    ...policy,
    tpm: { pcrs: { ...tpm.pcrs, sha256: { ...tpm.pcrs['sha256'], pcr14: [other(32)] } } },
  };
}

/** The generated policy expecting another value of the agent's register (every bank). */
function changeRegister(profile: Profile, policy: Record<string, unknown>): unknown {
  const regs = { ...(policy['registers'] as Record<string, string[]>) };
  const reg = PROFILE[profile].register;
  for (const k of Object.keys(regs))
    if (k === reg || k.startsWith(`${reg}:`))
      regs[k] = [randomBytes(regs[k]![0]!.length / 2).toString('hex')];
  return { ...policy, registers: regs };
}

async function agentFlow(t: TestContext, profile: Profile): Promise<void> {
  const dir = tempDir(t, `mrstack-appraise-${profile}-`);
  const keys = earKeyPair(dir);
  const out = { dir, keys, kind: profile };
  const a = await agentTvm(t, dir, 'tvm', profile, ['alice']);
  await a.append('alice', { domain: 'example.com/app', operation: 'start', content: 'alice v1.2' });
  const b1 = await a.bundle('alice', 'b1.json');
  const policy = await generatePolicyCli(b1.file, b1.nonce, a.tvm, `${dir}/policy.json`);
  const trust = ['--trust-emulated', '--tvm-state', a.tvm];
  const run = (file: string, pol: unknown, nonce: string): Promise<Judged> =>
    appraiseCli([file, '--policy', writePolicy(dir, pol), '--nonce', nonce, ...trust], out);

  // affirming: the generated policy accepts exactly this evidence
  const ok = await run(b1.file, policy, b1.nonce);
  assert.equal(ok.code, 0, JSON.stringify(ok.json.findings));
  assert.equal(ok.json.status, 'affirming');
  assert.equal(ok.ear!.status, 'affirming');
  assert.equal(ok.ear!.vector['instance-identity'], 2);
  assert.equal(ok.ear!.vector['executables'], 2);
  // hardware: TDX TCB info UpToDate; TPM / CCA the AK / CPAK certificate checked against its
  // CA's CRL. configuration: TDX attributes and MRs, CCA realm claims; a TPM quote carries no
  // configuration claim mrstack judges, so it stays 0 ("no claim", docs/ear.md).
  assert.equal(ok.ear!.vector['hardware'], 2, JSON.stringify(ok.ear));
  assert.equal(ok.ear!.vector['configuration'], profile === 'tpm' ? 0 : 2, JSON.stringify(ok.ear));
  for (const id of [
    'nonce.match',
    `replay.${PROFILE[profile].register}.match`,
    'tenant.event.allowed',
  ])
    assert.ok(findingIds(ok.json).includes(id), id);
  assert.ok(ok.html!.includes('affirming'));

  // a static reference value changed
  expectCase(await run(b1.file, changeStatic(profile, policy), b1.nonce), {
    code: 1,
    status: 'contraindicated',
    id: PROFILE[profile].staticId,
    claim: PROFILE[profile].staticClaim,
    ar4si: { executables: 96 },
  });

  // the agent's register replays consistently, to a value the policy does not expect
  const r = await run(b1.file, changeRegister(profile, policy), b1.nonce);
  const rid = `replay.${PROFILE[profile].register}.mismatch`;
  expectCase(r, { code: 1, status: 'contraindicated', id: rid, ar4si: { executables: 96 } });
  assert.equal(r.json.findings.find((f) => f.id === rid)!.where.layer, 'physical');

  // a tenant event outside the policy's rules
  await a.append('alice', { domain: 'example.com/app', operation: 'load', content: 'evil.so' });
  const b2 = await a.bundle('alice', 'b2.json');
  const rules = {
    version: 1,
    name: 'rules',
    tenant_events: { alice: [{ prefix: 'example.com/app start ' }] },
  };
  const na = await run(b2.file, rules, b2.nonce);
  expectCase(na, {
    code: 1,
    status: 'contraindicated',
    id: 'tenant.event.not-allowed',
    claim: 'example.com/app load evil.so',
    ar4si: { executables: 96 },
  });
  const bad = na.json.findings.filter((f) => f.id === 'tenant.event.not-allowed');
  assert.equal(bad.length, 1);
  assert.equal(bad[0]!.where.layer, 'tenant');
  // tenant log records (docs/bundle.md): SALT 1, TENANT 2, then the events: the second is 4
  assert.equal(bad[0]!.where.record, 4);

  // a wrong nonce: not fresh, nothing in it holds now
  expectCase(await run(b1.file, policy, randomBytes(32).toString('hex')), {
    code: 1,
    status: 'contraindicated',
    id: 'nonce.mismatch',
    ar4si: { 'instance-identity': 99, executables: 99 },
  });
}

test(
  'emulated TDX agent: affirming EAR; MRTD, RTMR3 replay, tenant event, nonce',
  { timeout: 600_000 },
  (t) => agentFlow(t, 'tdx'),
);

test(
  'emulated TPM agent (pcr14): affirming EAR; quoted PCR, PCR replay, tenant event, nonce',
  { timeout: 600_000 },
  (t) => agentFlow(t, 'tpm'),
);

test(
  'emulated CCA agent (rem3): affirming EAR; RIM, REM replay, tenant event, nonce',
  { timeout: 600_000 },
  (t) => agentFlow(t, 'cca'),
);

test(
  'debug guest (emulate init --debug) under the default policy: TDX tdx.td.debug, CCA cca.platform.debug; a TPM has none',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-appraise-debug-');
    const keys = earKeyPair(dir);
    const cases = [
      ['tdx', 'tdx.td.debug', 'td_attributes.debug', { configuration: 96, 'runtime-opaque': 96 }],
      ['cca', 'cca.platform.debug', 'platform.lifecycle', { hardware: 96, 'runtime-opaque': 96 }],
    ] as const;
    for (const [profile, id, claim, ar4si] of cases) {
      const a = await agentTvm(t, dir, `tvm-${profile}`, profile, ['alice'], ['--debug']);
      await a.append('alice', { domain: 'example.com/app', operation: 'start', content: 'v1' });
      const b = await a.bundle('alice', `${profile}-debug.json`);
      const j = await appraiseCli(
        [b.file, '--nonce', b.nonce, '--trust-emulated', '--tvm-state', a.tvm],
        { dir, keys, kind: profile },
      );
      expectCase(j, { code: 1, status: 'contraindicated', id, claim, ar4si });
      // a policy generated from the debug guest accepts it (it accepts exactly what it shows)
      const pol = await generatePolicyCli(
        b.file,
        b.nonce,
        a.tvm,
        `${dir}/${profile}-debug-policy.json`,
      );
      const g = await appraiseCli([
        b.file,
        '--policy',
        writePolicy(dir, pol),
        '--nonce',
        b.nonce,
        '--trust-emulated',
        '--tvm-state',
        a.tvm,
      ]);
      assert.equal(g.code, 0, JSON.stringify(g.json.findings));
    }
    const { runCliJson } = await import('../../_support/cli.js');
    const tpm = await runCliJson([
      'emulate',
      'init',
      '--profile',
      'tpm',
      '--tvm-state',
      `${dir}/tpm`,
      '--debug',
      '--json',
    ]);
    assert.equal(tpm.result.code, 2);
    assert.equal((tpm.json as { error: { code: string } }).error.code, 'ERR_USAGE');
  },
);

/**
 * The minimum signed versions of docs/emulated-tvm.md: an up-to-date emulated TPM reports
 * firmwareVersion 0x0001000200000000 (1.2), an out-of-date one 1.1; an up-to-date emulated CCA
 * platform's RMM component is 0.1.0, an out-of-date one 0.0.9.
 */
const MINIMUM_POLICY = {
  version: 1,
  name: 'minimum-versions',
  tcb: { accept: ['UpToDate'], warn: ['OutOfDate'] },
  tpm: { minimum_firmware: '0x0001000200000000' },
  cca: { platform: { minimum_versions: { MRSTACK_EMULATED_RMM: '0.1.0' } } },
};

/** The out-of-date finding's claim and signed value per profile (docs/emulated-tvm.md). */
const OUT_OF_DATE = {
  tdx: { claim: 'tcb_status', actual: 'OutOfDate' },
  tpm: { claim: 'firmware_version', actual: '0x0001000100000000' },
  cca: { claim: 'platform.sw_components.MRSTACK_EMULATED_RMM.version', actual: '0.0.9' },
} as const;

for (const profile of ['tdx', 'tpm', 'cca'] as const)
  test(
    `emulated ${profile.toUpperCase()} agent with a revoked / out-of-date TCB (emulate init --tcb-status): ${profile}.tcb.revoked, ${profile}.tcb.out-of-date`,
    { timeout: 600_000 },
    async (t) => {
      const dir = tempDir(t, `mrstack-appraise-tcb-${profile}-`);
      const keys = earKeyPair(dir);
      // TDX: the emulated TCB info's status, under the default policy. TPM / CCA: Revoked is the
      // AK / CPAK certificate in its CA's CRL (default policy); OutOfDate an older signed
      // firmware / RMM version, judged against a policy's minimum (the default pins none).
      for (const status of ['UpToDate', 'Revoked', 'OutOfDate'] as const) {
        const a = await agentTvm(
          t,
          dir,
          `tvm-${status}`,
          profile,
          ['alice'],
          ['--tcb-status', status],
        );
        await a.append('alice', { domain: 'example.com/app', operation: 'start', content: 'v1' });
        const b = await a.bundle('alice', `${status}.json`);
        const policy =
          profile !== 'tdx' && status !== 'Revoked'
            ? ['--policy', writePolicy(dir, MINIMUM_POLICY)]
            : [];
        const j = await appraiseCli(
          [b.file, ...policy, '--nonce', b.nonce, '--trust-emulated', '--tvm-state', a.tvm],
          { dir, keys, kind: profile },
        );
        const ctx = JSON.stringify(j.json.findings);
        if (status === 'UpToDate') {
          // genuine hardware: the key chains to the TVM's CA and its CRL does not list it
          assert.equal(j.code, 0, ctx);
          assert.equal(j.ear!.status, 'affirming');
          assert.equal(j.ear!.vector['hardware'], 2, ctx);
          assert.ok(findingIds(j.json).includes('tcb.up-to-date'), ctx);
        } else if (status === 'Revoked') {
          const id = `${profile}.tcb.revoked`;
          expectCase(j, {
            code: 1,
            status: 'contraindicated',
            id,
            claim: 'tcb_status',
            ar4si: { hardware: 96 },
          });
          assert.equal(j.json.findings.find((f) => f.id === id)!.actual, 'Revoked');
          if (profile !== 'tdx') {
            // a revoked platform key: nothing else it signed is judged, freshness included
            assert.deepEqual(findingIds(j.json), [id], ctx);
            assert.equal(j.ear!.vector['instance-identity'], 0);
            assert.equal(j.ear!.vector['executables'], 0);
          }
        } else {
          const id = `${profile}.tcb.out-of-date`;
          expectCase(j, {
            code: 1,
            status: 'warning',
            id,
            claim: OUT_OF_DATE[profile].claim,
            ar4si: { hardware: 32 },
          });
          assert.equal(
            j.json.findings.find((f) => f.id === id)!.actual,
            OUT_OF_DATE[profile].actual,
          );
        }
      }
    },
  );
