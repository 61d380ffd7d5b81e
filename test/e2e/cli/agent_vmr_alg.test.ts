// The TPM agent's vMR chains use the register's strongest bank for new tenants (issue 18,
// "Format edges"): on the emulated TPM (banks sha1, sha256, sha384) a new tenant's vMR is
// SHA-384, computed here independently from the tenant log's lines with node:crypto
// (docs/mrlog.md: vMR starts at zero bytes of the hash's size, vMR ← H(vMR ‖ H(line)) for every
// non-comment line). `--vmr-alg` chooses another bank; a tenant log that exists keeps the bank it
// started with across a restart with another default, while a tenant added then gets the new
// one; a bank the register does not have is refused. Every bundle verifies end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../_support/cli.js';
import { cliAppend, cliEvidence, cliVerify, spawnAgent } from '../../_support/agent_harness.js';
import { tempDir } from '../../_support/tmp.js';

/** The vMR of a tenant log, replayed here: zeros, then H(vMR ‖ H(line)) per non-comment line. */
function vmrOf(file: string, alg: 'sha1' | 'sha384'): string {
  const size = alg === 'sha1' ? 20 : 48;
  let v = Buffer.alloc(size);
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const h = createHash(alg).update(line).digest();
    v = createHash(alg)
      .update(Buffer.concat([v, h]))
      .digest();
  }
  return v.toString('hex');
}

interface VmrLayer {
  readonly name: string;
  readonly alg: string;
  readonly value: string;
}

test('TPM agent: new tenants chain their vMR in the strongest bank (sha384); an existing log keeps sha1 across a restart; --vmr-alg sha512 is refused', async (t) => {
  const dir = tempDir(t, 'mrstack-vmr-alg-');
  const tvm = join(dir, 'tvm');
  const run = join(dir, 'run');
  const init = await runCli(['emulate', 'init', '--profile', 'tpm', '--tvm-state', tvm]);
  assert.equal(init.code, 0, init.stderr);
  const tenantsFile = join(dir, 'tenants.json');
  const declare = (names: string[]): void =>
    writeFileSync(
      tenantsFile,
      JSON.stringify({ tenants: names.map((n) => ({ name: n, vmr: n })) }),
    );
  const start = (extra: string[]): ReturnType<typeof spawnAgent> =>
    spawnAgent([
      '--tvm-state', tvm, '--run-dir', run, '--tenants', tenantsFile, '--log-level', 'warn',
      ...extra,
    ]); // prettier-ignore
  const sock = (n: string): string => join(run, 'tenants', `${n}.sock`);
  const log = (n: string): string => join(run, 'log', 'tenants', `${n}.mrlog`);
  /** Appends one event, takes a bundle, verifies it; returns its vMR layer. */
  const round = async (tenant: string, content: string): Promise<VmrLayer> => {
    const a = await cliAppend(sock(tenant), {
      domain: 'example.com/app',
      operation: 'start',
      content,
    });
    assert.equal(a.code, 0, a.stderr);
    const nonce = randomBytes(32).toString('hex');
    const file = join(dir, `${tenant}-${content}.json`);
    assert.equal(await cliEvidence(sock(tenant), nonce, file), 0);
    const v = await cliVerify(file, nonce, tvm);
    assert.equal(v.code, 0, JSON.stringify(v.json));
    const layers = (v.json as { claims: { layers: { vmr: VmrLayer } } }).claims.layers;
    return layers.vmr;
  };

  // 1. the old behaviour, chosen explicitly: alice's chain in the first bank
  declare(['alice']);
  let agent = await start(['--vmr-alg', 'sha1']);
  const a1 = await round('alice', 'v1');
  assert.equal(a1.alg, 'sha1');
  assert.equal(a1.value, vmrOf(log('alice'), 'sha1'));
  await agent.stop();

  // 2. restart with the default (strongest bank) and a new tenant: alice keeps sha1, bob is sha384
  declare(['alice', 'bob']);
  agent = await start([]);
  t.after(() => agent.stop());
  const a2 = await round('alice', 'v2');
  assert.equal(a2.alg, 'sha1');
  assert.equal(a2.value, vmrOf(log('alice'), 'sha1'));
  const b1 = await round('bob', 'v1');
  assert.equal(b1.alg, 'sha384');
  assert.equal(b1.value, vmrOf(log('bob'), 'sha384'));
  await agent.stop();

  // 3. a bank the register does not have
  const bad = await runCli([
    'agent', 'start', '--tvm-state', tvm, '--run-dir', join(dir, 'run2'), '--tenants',
    tenantsFile, '--vmr-alg', 'sha512', '--json',
  ]); // prettier-ignore
  assert.equal(bad.code, 2, bad.stdout + bad.stderr);
  assert.match(bad.stdout + bad.stderr, /ERR_USAGE/);
});
