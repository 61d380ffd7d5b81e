// Offline `evidence verify --tenant-checkpoint` (docs/bundle.md "Trusted checkpoints"): a tenant
// bundle sent since a position (`evidence get --since 1 --tenant-since 6`) verifies with no
// relaxation when the caller gives the tenant checkpoint it trusts, as the verifier service does
// with the one it stored; without it nothing changes (`tenant_anchor` skipped,
// `missing-checkpoint`). A checkpoint the bundle does not start at, one of another vMR, bank or
// tenant, a forged start value and a record changed after the checkpoint each fail with their own
// code. Every expected value — the tenant's vMR at the checkpoint, the register just before
// CHECKPOINT 1, the vMR after the new records — is folded here with node:crypto
// (`X ← SHA-384(X ‖ SHA-384(line))` from zero, DESIGN §4), never taken from mrstack's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliError, runCli, runCliJson, verifyEvidenceJson } from '../../_support/cli.js';
import { cliAppend, startCliAgent } from '../../_support/agent_harness.js';
import { vmrFold as fold } from '../../_support/tenant_vmr.js';

interface BundleJson {
  binding: { nonce: string };
  physical_log: { lines: string[] };
  tenant_log: {
    vmr: string;
    since?: number;
    since_record?: number;
    since_value?: string;
    lines: string[];
  };
}

test(
  'evidence verify --tenant-checkpoint: a since-bundle verifies with no relaxation; wrong start, other position, vMR, bank or tenant, forged value, changed record: each its code',
  { timeout: 300_000 },
  async (t) => {
    const { dir, tvm, run, sock } = await startCliAgent(t, 'tcpoff', ['dave', 'erin']);
    const append = async (tenant: string, content: string): Promise<void> => {
      const r = await cliAppend(sock(tenant), {
        domain: 'example.com/app',
        operation: 'step',
        content,
      });
      assert.equal(r.code, 0, r.stderr);
    };
    const bundle = (f: string): BundleJson =>
      JSON.parse(readFileSync(join(dir, f), 'utf8')) as BundleJson;
    const get = async (out: string, extra: string[]): Promise<BundleJson> => {
      const g = await runCli([
        'evidence', 'get', '--socket', sock('dave'), '--nonce', '0a0b', '--out', join(dir, out),
        ...extra,
      ]); // prettier-ignore
      assert.equal(g.code, 0, g.stderr);
      return bundle(out);
    };
    const write = (name: string, v: unknown): string => {
      const f = join(dir, name);
      writeFileSync(f, typeof v === 'string' ? v : JSON.stringify(v));
      return f;
    };

    // SALT, TENANT and four events (records 3–6), CHECKPOINT 1, then three more (7–9)
    for (let i = 0; i < 4; i++) await append('dave', `step ${i}`);
    await append('erin', 'other');
    const cp = await runCliJson(['agent', 'checkpoint', '--run-dir', run, '--json']);
    assert.equal((cp.json as { checkpoint: number }).checkpoint, 1);
    for (let i = 0; i < 3; i++) await append('dave', `new ${i}`);
    const whole = await get('whole.json', []);
    assert.equal(whole.tenant_log.since, undefined);
    const first6 = whole.tenant_log.lines.slice(0, 6);
    assert.match(first6[1]!, /^TENANT dave dave /);
    const at6 = fold(first6);
    // the register just before CHECKPOINT 1: RTMR3 from reset over every record before it
    const pl = whole.physical_log.lines;
    const cpAt = pl.findIndex((l) => l.startsWith('CHECKPOINT 1 '));
    assert.ok(cpAt > 0);
    const physicalSpec = `1:sha384/${fold(pl.slice(0, cpAt)).toString('hex')}`;
    // dave's vMR at 6 records is a value the physical log committed to before CHECKPOINT 1
    assert.ok(pl.slice(0, cpAt).some((l) => l.includes(` dave=sha384/${at6.toString('hex')}`)));

    const since = await get('since.json', ['--since', '1', '--tenant-since', '6']);
    assert.deepEqual(since.tenant_log.lines, [
      'example.com/app step new 0',
      'example.com/app step new 1',
      'example.com/app step new 2',
    ]);
    const at9 = fold(since.tenant_log.lines, at6);
    assert.equal(at9.toString('hex'), fold(whole.tenant_log.lines).toString('hex'));
    const entry = {
      tenant: 'dave',
      vmr: 'dave',
      alg: 'sha384',
      line: 6,
      record: 6,
      value: at6.toString('hex'),
      seq: 1,
    };
    const verify = (file: string, tenantCheckpoint?: string) =>
      runCliJson([
        'evidence', 'verify', file, '--nonce', '0a0b', '--trust-emulated', '--tvm-state', tvm,
        '--trusted-checkpoint', physicalSpec,
        ...(tenantCheckpoint === undefined ? [] : ['--tenant-checkpoint', tenantCheckpoint]),
        '--json',
      ]) as Promise<{
        result: { code: number | null; stdout: string; stderr: string };
        json: {
          verified: boolean;
          relaxed: string[];
          checks: Record<string, string>;
          skipped: Record<string, string>;
          warnings: string[];
          errors: { code: string; message: string }[];
          claims: { layers: { vmr: Record<string, unknown> } };
        };
      }>; // prettier-ignore
    const sinceFile = join(dir, 'since.json');
    const codes = (r: Awaited<ReturnType<typeof verify>>): string[] =>
      r.json.errors.map((e) => e.code);

    // 1. unchanged without the option: the start the bundle asserts, not verified
    const none = await verify(sinceFile);
    assert.equal(none.result.code, 1, none.result.stdout);
    assert.equal(none.json.checks['tenant_anchor'], 'skipped');
    assert.equal(none.json.verified, false);

    // 2. the trusted checkpoint, as a file and inline: verified, nothing relaxed
    for (const arg of [write('cp.json', entry), JSON.stringify(entry)]) {
      const ok = await verify(sinceFile, arg);
      assert.equal(ok.result.code, 0, ok.result.stdout + ok.result.stderr);
      assert.equal(ok.json.verified, true);
      assert.deepEqual(ok.json.relaxed, []);
      assert.equal(ok.json.checks['tenant_anchor'], 'ok');
      assert.equal(ok.json.checks['physical_anchor'], 'ok');
      assert.equal(ok.json.claims.layers.vmr['start'], 'trusted-checkpoint');
      assert.equal(ok.json.claims.layers.vmr['value'], at9.toString('hex'));
    }
    // the verifier service's stored checkpoint value works for both options
    const stored = write(
      'stored.json',
      { seq: 1, values: { sha384: physicalSpec.slice('1:sha384/'.length) },
        tenants: { dave: { ...entry, tenant: undefined } } }, // prettier-ignore
    );
    const st = await runCliJson([
      'evidence', 'verify', sinceFile, '--nonce', '0a0b', '--trust-emulated', '--tvm-state', tvm,
      '--trusted-checkpoint', stored, '--tenant-checkpoint', stored, '--json',
    ]); // prettier-ignore
    assert.equal(st.result.code, 0, st.result.stdout);
    assert.equal((st.json as { verified: boolean }).verified, true);

    // 3. a checkpoint whose value is not where the bundle starts: discontinuous
    const wrong = fold(['example.com/app step forged'], at6).toString('hex');
    const w = await verify(sinceFile, JSON.stringify({ ...entry, value: wrong }));
    assert.equal(w.result.code, 1, w.result.stdout);
    assert.equal(w.json.verified, false);
    assert.deepEqual(codes(w), ['ERR_TENANT_DISCONTINUOUS']);
    // … and with the bundle's start forged to it: the fold does not reach the VMR values
    const forged = structuredClone(since);
    forged.tenant_log.since_value = wrong;
    const f = await verify(
      write('forged.json', forged),
      JSON.stringify({ ...entry, value: wrong }),
    );
    assert.equal(f.result.code, 1, f.result.stdout);
    assert.deepEqual(codes(f), ['ERR_TENANT_CONTINUATION_MISMATCH']);
    // a record after the checkpoint changed, with the right checkpoint
    const changed = structuredClone(since);
    changed.tenant_log.lines[1] = 'example.com/app step new 9';
    const c = await verify(write('changed.json', changed), JSON.stringify(entry));
    assert.equal(c.result.code, 1, c.result.stdout);
    assert.deepEqual(codes(c), ['ERR_TENANT_CONTINUATION_MISMATCH']);

    // 4. a bundle that does not continue from the checkpoint: sent since record 7
    await get('since7.json', ['--since', '1', '--tenant-since', '7']);
    const d = await verify(join(dir, 'since7.json'), JSON.stringify(entry));
    assert.equal(d.result.code, 1, d.result.stdout);
    assert.deepEqual(codes(d), ['ERR_TENANT_DISCONTINUOUS']);

    // 5. a checkpoint of another vMR, another bank, another tenant; none for this tenant
    for (const other of [
      { ...entry, vmr: 'erin' },
      { ...entry, alg: 'sha256', value: createHash('sha256').update('x').digest('hex') },
      { ...entry, tenant: 'erin' },
    ]) {
      const o = await verify(sinceFile, JSON.stringify(other));
      assert.equal(o.result.code, 1, JSON.stringify(other));
      assert.equal(o.json.verified, false);
      assert.deepEqual(codes(o), ['ERR_TENANT_DISCONTINUOUS'], JSON.stringify(other));
      assert.equal(o.json.checks['tenant_anchor'], 'skipped');
    }
    const erinOnly = await verify(
      sinceFile,
      JSON.stringify({ seq: 1, tenants: { erin: { ...entry, vmr: 'erin', tenant: undefined } } }),
    );
    assert.deepEqual(codes(erinOnly), ['ERR_TENANT_DISCONTINUOUS']);
    assert.match(erinOnly.json.errors[0]!.message, /no tenant checkpoint for dave/);

    // 6. a malformed checkpoint is bad input naming the member (exit 2)
    for (const [bad, field] of [
      [{ ...entry, tenant: undefined }, 'tenant-checkpoint.tenant'],
      [{ ...entry, value: 'abcd' }, 'tenant-checkpoint.value'],
      [{ ...entry, record: 1 }, 'tenant-checkpoint.record'],
      [{ ...entry, line: 5 }, 'tenant-checkpoint.line'],
      ['{not json', 'tenant-checkpoint.json'],
    ] as const) {
      const r = await verify(sinceFile, typeof bad === 'string' ? bad : JSON.stringify(bad));
      assert.equal(r.result.code, 2, r.result.stdout);
      const e = cliError(r.json);
      assert.equal(e.code, 'ERR_BAD_VALUE');
      assert.equal(e['field'], field);
    }

    // 7. a whole log needs none: still verified, a warning says the checkpoint was not used
    const wv = await verifyEvidenceJson(join(dir, 'whole.json'), {
      nonce: '0a0b',
      trustEmulated: true,
      tvmState: tvm,
    });
    assert.equal(wv.result.code, 0, wv.result.stdout);
    const wc = await runCliJson([
      'evidence', 'verify', join(dir, 'whole.json'), '--nonce', '0a0b', '--trust-emulated',
      '--tvm-state', tvm, '--tenant-checkpoint', JSON.stringify(entry), '--json',
    ]); // prettier-ignore
    assert.equal(wc.result.code, 0, wc.result.stdout);
    assert.ok(
      (wc.json as { warnings: string[] }).warnings.some((x) =>
        x.includes('needs no trusted tenant'),
      ),
    );
    // each checkpoint entry the whole log's result lists is a --tenant-checkpoint FILE: the one
    // at CHECKPOINT 1 (the first VMR record of dave's after it: record 7) continues the bundle
    // sent since record 7
    const listed = (
      wv.json.claims['layers'] as { vmr: { checkpoints: Record<string, unknown>[] } }
    ).vmr.checkpoints.find((x) => x['seq'] === 1);
    assert.ok(listed !== undefined);
    assert.deepEqual(
      { ...listed, value: undefined },
      { tenant: 'dave', vmr: 'dave', alg: 'sha384', line: 7, record: 7, seq: 1, value: undefined },
    );
    assert.equal(listed['value'], fold(whole.tenant_log.lines.slice(0, 7)).toString('hex'));
    const next = await verify(join(dir, 'since7.json'), write('listed.json', listed));
    assert.equal(next.result.code, 0, next.result.stdout);
    assert.equal(next.json.verified, true);
  },
);
