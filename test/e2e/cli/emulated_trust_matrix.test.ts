// Issue #12, must-show 3, for every emulated profile through the CLI a user runs: evidence from
// `mrstack report` verifies with `--trust-emulated --tvm-state DIR` and its `--nonce` alone (no
// relaxation; TDX and SNP run their TCB path and are UpToDate), names as its anchor the root
// `emulate export-roots` prints for that TVM, and is refused (exit 1) with another TVM's state
// dir or without `--trust-emulated`, each refusal with its check and code (docs/trust.md): an
// untrusted root for the chains, an untrusted AK for the TPM; an SNP report checked with another
// TVM's VCEK (whose own chain is that TVM's) fails its signature. A TDX agent bundle without
// `--trust-emulated` has no collateral at all (a report envelope carries the collateral issued
// with it): ERR_COLLATERAL_MISSING, exit 2, as for any TDX quote without collateral, and with
// `--relax collateral` the untrusted root, exit 1. The same
// for the bundle an agent serves (what `evidence get` returns) on each profile with a register
// an agent can own (SNP has none).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from '../../../src/agent/agent.js';
import { bundleToJson } from '../../../src/formats/bundle/bundle.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { runCli, runCliJson, verifyEvidenceJson } from '../../_support/cli.js';
import { tempDir } from '../../_support/tmp.js';

const NONCE = '6d61747269782d6e6f6e6365';

type Refusal = readonly [check: string, code: string];

/**
 * Per profile: the TCB status verify reports, the register an agent can own, and the refusal
 * with another TVM's state dir and without --trust-emulated (`collateral`: exit 2 first).
 */
const PROFILES: readonly {
  profile: string;
  tcb?: string;
  register?: string;
  foreign: Refusal;
  none: Refusal | 'collateral';
  /** For the agent bundle, when it differs from the report's. */
  bundleNone?: 'collateral';
}[] = [
  {
    profile: 'tdx',
    tcb: 'UpToDate',
    register: 'rtmr3',
    foreign: ['pck_chain', 'ERR_UNTRUSTED_ROOT'],
    none: ['pck_chain', 'ERR_UNTRUSTED_ROOT'],
    bundleNone: 'collateral',
  },
  {
    profile: 'snp',
    foreign: ['report_signature', 'ERR_SIGNATURE_INVALID'],
    none: ['cert_chain', 'ERR_UNTRUSTED_ROOT'],
  },
  {
    profile: 'tpm',
    register: 'pcr14',
    foreign: ['ak_trust', 'ERR_UNTRUSTED_KEY'],
    none: ['ak_trust', 'ERR_UNTRUSTED_KEY'],
  },
  {
    profile: 'cca',
    register: 'rem3',
    foreign: ['platform_signature', 'ERR_UNTRUSTED_ROOT'],
    none: ['platform_signature', 'ERR_UNTRUSTED_ROOT'],
  },
];

type Verified = Awaited<ReturnType<typeof verifyEvidenceJson>>;

function refused(name: string, r: Verified, [check, code]: Refusal): void {
  assert.equal(r.result.code, 1, `${name}: ${r.result.stdout}`);
  assert.equal(r.json.verified, false, name);
  assert.ok(
    r.json.errors.some((e) => e.check === check && e.code === code),
    `${name}: ${JSON.stringify(r.json.errors)}`,
  );
}

/** The three verifications of one evidence file: own TVM, another TVM, no --trust-emulated. */
async function verifyThreeWays(
  ev: string,
  own: string,
  other: string,
  spec: { foreign: Refusal; none: Refusal | 'collateral' },
  prefix = '',
): Promise<Verified> {
  const ok = await verifyEvidenceJson(ev, { nonce: NONCE, trustEmulated: true, tvmState: own });
  assert.equal(ok.result.code, 0, ok.result.stdout);
  assert.equal(ok.json.verified, true);
  assert.deepEqual(ok.json.relaxed, []);
  assert.deepEqual(ok.json.errors, []);
  assert.equal(ok.json.checks['nonce'], 'ok');
  assert.equal(ok.json.trust.emulated, true);
  const at = (r: Refusal): Refusal => [`${prefix}${r[0]}`, r[1]];
  refused(
    'another TVM',
    await verifyEvidenceJson(ev, { nonce: NONCE, trustEmulated: true, tvmState: other }),
    at(spec.foreign),
  );
  if (spec.none === 'collateral') {
    const missing = await runCliJson(['evidence', 'verify', ev, '--nonce', NONCE, '--json']);
    assert.equal(missing.result.code, 2, missing.result.stdout);
    assert.equal(
      (missing.json as { error: { code: string } }).error.code,
      'ERR_COLLATERAL_MISSING',
    );
    refused(
      'no --trust-emulated, --relax collateral',
      await verifyEvidenceJson(ev, { nonce: NONCE, relax: ['collateral'] }),
      at(['pck_chain', 'ERR_UNTRUSTED_ROOT']),
    );
  } else
    refused('no --trust-emulated', await verifyEvidenceJson(ev, { nonce: NONCE }), at(spec.none));
  return ok;
}

for (const spec of PROFILES) {
  const { profile, tcb, register } = spec;
  test(`emulated ${profile}: verifies under its own TVM with --nonce alone; another TVM → ${spec.foreign.join(' ')}; no --trust-emulated → ${spec.none === 'collateral' ? 'ERR_COLLATERAL_MISSING' : spec.none.join(' ')}${register === undefined ? '' : '; and its agent bundle'}`, async (t) => {
    const own = tempDir(t, `mrstack-matrix-${profile}-a-`);
    const other = tempDir(t, `mrstack-matrix-${profile}-b-`);
    for (const d of [own, other]) {
      const r = await runCli(['emulate', 'init', '--profile', profile, '--tvm-state', d]);
      assert.equal(r.code, 0, r.stderr);
    }
    const ev = join(own, 'report.json');
    const made = await runCli(['report', '--tvm-state', own, '--nonce', NONCE, '--out', ev]);
    assert.equal(made.code, 0, made.stderr);
    const roots = await runCliJson(['emulate', 'export-roots', '--tvm-state', own, '--json']);
    assert.equal(roots.result.code, 0, roots.result.stderr);
    const fingerprints = (roots.json as { roots: { sha256: string }[] }).roots.map((r) => r.sha256);

    const ok = await verifyThreeWays(ev, own, other, spec);
    assert.equal(ok.json.kind, profile);
    assert.ok(
      ok.json.trust.anchor !== undefined && fingerprints.includes(ok.json.trust.anchor.sha256),
      `anchor ${JSON.stringify(ok.json.trust.anchor)} is one of ${fingerprints.join(', ')}`,
    );
    if (tcb !== undefined) assert.equal(ok.json.tcbStatus, tcb);
    // SNP's TCB path: the VCEK's TCB equals the report's, and AMD's (emulated) CRL was checked.
    if (profile === 'snp') {
      assert.equal(ok.json.checks['reported_tcb'], 'ok');
      assert.equal(ok.json.checks['crl'], 'ok');
    }

    if (register === undefined) return;
    // The agent's bundle for a tenant, on the same TVM.
    const agent = await Agent.open({
      provider: await openEmulatedProvider({ stateDir: own }),
      register,
      logDir: join(own, 'agent-log'),
      bootId: 'b',
      tenants: [{ name: 'alice', vmr: 'alice' }],
    });
    const bundleFile = join(own, 'bundle.json');
    try {
      await agent.append('alice', { domain: 'example.com/app', operation: 'start', content: 'v1' });
      const b = await agent.evidence('alice', Buffer.from(NONCE, 'hex'));
      writeFileSync(bundleFile, JSON.stringify(bundleToJson(b)));
    } finally {
      await agent.close();
    }
    const bundle = await verifyThreeWays(
      bundleFile,
      own,
      other,
      { foreign: spec.foreign, none: spec.bundleNone ?? spec.none },
      'report.',
    );
    assert.equal(bundle.json.kind, 'bundle');
    assert.equal(bundle.json.checks['report'], 'ok');
    assert.equal(bundle.json.checks['physical_anchor'], 'ok');
    if (tcb !== undefined) assert.equal(bundle.json.tcbStatus, tcb);
  });
}
