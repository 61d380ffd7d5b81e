// Tenant logs since a checkpoint, end to end through the built CLI (`mrstack verifier serve` on
// the embedded store, an agent on an emulated TDX, `mrstack agent attest --verifier`): the first
// attestation sends the tenant's whole log and the verifier stores the tenant's vMR value at the
// physical checkpoint; the next session names that position (`tenant_since`), the second bundle
// carries only the records appended since and is affirmed, folded from the stored value. A
// tampered record after the checkpoint, a log sent since another record and a forged start value
// each fail with their own code and finding, and move nothing. Offline, `evidence verify` of the
// since-bundle checks the records it got against the physical log but does not claim `verified`
// for the records it did not get. Expected vMR values are folded with node:crypto
// (`vMR ← SHA-384(vMR ‖ SHA-384(line))` from zero, DESIGN §4, in test/_support/tenant_vmr.ts),
// never taken from mrstack's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliJson, verifyEvidenceJson } from '../../_support/cli.js';
import { appendStep, cliAttest, startCliAgent } from '../../_support/agent_harness.js';
import { cliChallenge, serveEmulatedTvm, verifierEnv } from '../../_support/verifier_service.js';
import type { SessionJson } from '../../../src/verifier/service/client.js';
import { vmrFold } from '../../_support/tenant_vmr.js';

interface Finding {
  readonly id: string;
  readonly status: string;
}
interface Result {
  readonly status: string;
  readonly verified: boolean;
  readonly passed: boolean;
  readonly relaxed: readonly string[];
  readonly errors: readonly { code: string; message: string }[];
  readonly appraisal: { readonly findings: readonly Finding[] };
  readonly [k: string]: unknown;
}
interface TenantLogJson {
  vmr: string;
  alg: string;
  since?: number;
  since_record?: number;
  since_value?: string;
  before: number;
  after: number;
  lines: string[];
}
interface BundleJson {
  binding: { nonce: string };
  physical_log: { lines: string[] };
  tenant_log: TenantLogJson;
}

/** The values the physical log's VMR records give `vmr`, in order (hex). */
function vmrValues(physical: readonly string[], vmr: string): string[] {
  const re = new RegExp(`(?:^| )${vmr}=sha384/([0-9a-f]{96})`);
  return physical.flatMap((l) => {
    const m = l.startsWith('VMR ') ? re.exec(l) : null;
    return m === null ? [] : [m[1]!];
  });
}

const failing = (r: Result): string[] =>
  r.appraisal.findings.filter((f) => f.status !== 'affirming').map((f) => f.id);

test(
  'a long-lived tenant: the second attestation sends only its new records, folded from the stored vMR value; a tampered record, another start and a forged start value fail with their codes',
  { timeout: 600_000 },
  async (t) => {
    const { dir, tvm, run, sock } = await startCliAgent(t, 'vtinc', ['dave']);
    const svc = await serveEmulatedTvm(tvm, join(dir, 'store'), verifierEnv(), [
      '--session-ttl',
      '300',
    ]);
    t.after(() => svc.stop());
    const url = svc.url;
    const append = (content: string): Promise<void> => appendStep(sock('dave'), content);
    const bundle = (f: string): BundleJson =>
      JSON.parse(readFileSync(join(dir, f), 'utf8')) as BundleJson;
    const attest = async (out: string): Promise<Result> => {
      const a = await cliAttest(url, sock('dave'), 'dave-vm', join(dir, out));
      assert.ok(a.result.code === 0 || a.result.code === 1, a.result.stderr);
      return a.json as Result;
    };
    const challenge = (): Promise<SessionJson> => cliChallenge(url, 'dave-vm', 'dave');
    const submit = async (file: string, session: string): Promise<Result> => {
      const s = await runCliJson([
        'verifier',
        'submit',
        join(dir, file),
        '--verifier',
        url,
        '--session',
        session,
      ]);
      assert.ok(s.result.code === 0 || s.result.code === 1, s.result.stderr);
      return s.json as Result;
    };

    // SALT, TENANT, then four events (records 3–6), then CHECKPOINT 1 after their VMR records.
    for (let i = 0; i < 4; i++) await append(`step ${i}`);
    const cp = await runCliJson(['agent', 'checkpoint', '--run-dir', run, '--json']);
    assert.equal((cp.json as { checkpoint: number }).checkpoint, 1);

    // 1. The whole log; the verifier stores dave's state at CHECKPOINT 1: the last VMR record
    //    before it covers record 6 (nothing was appended after it).
    const first = await attest('first.json');
    assert.equal(first.passed, true, JSON.stringify(failing(first)));
    const b1 = bundle('first.json');
    assert.equal(b1.tenant_log.since, undefined);
    assert.equal(b1.tenant_log.lines.length, 6);
    const vmr = b1.tenant_log.vmr;
    assert.deepEqual(first['checkpoint'], {
      register: 'rtmr3',
      seq: 1,
      advanced: true,
      tenant: { name: 'dave', record: 6, line: 6 },
    });
    const at6 = vmrFold(b1.tenant_log.lines);
    // the value the physical log committed to for record 6 is that fold
    assert.ok(vmrValues(b1.physical_log.lines, vmr).includes(at6.toString('hex')));

    // 2. The next session names the position ...
    const ch = await challenge();
    assert.deepEqual(ch.since, { register: 'rtmr3', seq: 1 });
    assert.deepEqual(
      { ...ch.tenant_since, boot_id: undefined },
      { tenant: 'dave', vmr, record: 6, line: 6, boot_id: undefined },
    );
    assert.equal(typeof ch.tenant_since?.boot_id, 'string');
    // ... and after three more events the bundle carries exactly those three.
    for (let i = 0; i < 3; i++) await append(`new ${i}`);
    const second = await attest('second.json');
    const b2 = bundle('second.json');
    assert.equal(b2.tenant_log.lines.length, 3);
    assert.deepEqual(b2.tenant_log.lines, [
      'example.com/app step new 0',
      'example.com/app step new 1',
      'example.com/app step new 2',
    ]);
    assert.equal(b2.tenant_log.since, 6);
    assert.equal(b2.tenant_log.since_record, 6);
    assert.equal(b2.tenant_log.since_value, at6.toString('hex'));
    assert.match(b2.physical_log.lines[0]!, /^CHECKPOINT 1 /);
    assert.equal(second.passed, true, JSON.stringify([failing(second), second.errors]));
    assert.equal(second.status, 'affirming');
    assert.deepEqual(second.relaxed, []);
    assert.equal(second['replayed_tenant_since'], 6);
    // the physical log's VMR records after the checkpoint are the fold continued over the three
    const committed = vmrValues(b2.physical_log.lines, vmr);
    const at9 = vmrFold(b2.tenant_log.lines, at6);
    assert.equal(committed.at(-1), at9.toString('hex'));
    assert.equal(
      at9.toString('hex'),
      vmrFold([...b1.tenant_log.lines, ...b2.tenant_log.lines]).toString('hex'),
    );
    // no new physical checkpoint: dave's entry moves to the first VMR record after CHECKPOINT 1
    assert.deepEqual(second['checkpoint'], {
      register: 'rtmr3',
      seq: 1,
      advanced: false,
      tenant: { name: 'dave', record: 7, line: 7 },
    });

    // 3. A tampered record after the checkpoint.
    const getSince = async (nonce: string, record: string, out: string): Promise<BundleJson> => {
      const g = await runCli([
        'evidence',
        'get',
        '--socket',
        sock('dave'),
        '--nonce',
        nonce,
        '--since',
        '1',
        '--tenant-since',
        record,
        '--out',
        join(dir, out),
      ]);
      assert.equal(g.code, 0, g.stderr);
      return bundle(out);
    };
    const s3 = await challenge();
    assert.equal(s3.tenant_since?.record, 7);
    const b3 = await getSince(s3.nonce, '7', 'b3.json');
    assert.deepEqual(b3.tenant_log.lines, [
      'example.com/app step new 1',
      'example.com/app step new 2',
    ]);
    b3.tenant_log.lines[1] = 'example.com/app step new 9';
    writeFileSync(join(dir, 'b3t.json'), JSON.stringify(b3));
    const tampered = await submit('b3t.json', s3.id);
    assert.equal(tampered.passed, false);
    assert.equal(tampered.verified, false);
    assert.deepEqual(
      tampered.errors.map((e) => e.code),
      ['ERR_TENANT_CONTINUATION_MISMATCH'],
    );
    assert.ok(failing(tampered).includes('tenant.checkpoint.mismatch'), failing(tampered).join());

    // 4. A log sent since another record than the stored one.
    const s4 = await challenge();
    await getSince(s4.nonce, '8', 'b4.json');
    const other = await submit('b4.json', s4.id);
    assert.equal(other.passed, false);
    assert.deepEqual(
      other.errors.map((e) => e.code),
      ['ERR_TENANT_DISCONTINUOUS'],
    );
    assert.ok(failing(other).includes('tenant.checkpoint.discontinuous'), failing(other).join());

    // 5. The right position with another start value.
    const s5 = await challenge();
    const b5 = await getSince(s5.nonce, '7', 'b5.json');
    b5.tenant_log.since_value = vmrFold(['example.com/app step forged'], at6).toString('hex');
    writeFileSync(join(dir, 'b5f.json'), JSON.stringify(b5));
    const forged = await submit('b5f.json', s5.id);
    assert.equal(forged.passed, false);
    assert.deepEqual(
      forged.errors.map((e) => e.code),
      ['ERR_TENANT_DISCONTINUOUS'],
    );

    // None of them moved anything: the next session still names record 7, and passes.
    const again = await challenge();
    assert.equal(again.tenant_since?.record, 7);
    await append('new 3');
    const sixth = await attest('sixth.json');
    assert.equal(sixth.passed, true, JSON.stringify([failing(sixth), sixth.errors]));
    assert.equal(bundle('sixth.json').tenant_log.lines.length, 3);

    // Offline: the since-bundle with the physical checkpoint trusted but no tenant checkpoint.
    const v1 = await verifyEvidenceJson(join(dir, 'first.json'), {
      nonce: b1.binding.nonce,
      trustEmulated: true,
      tvmState: tvm,
    });
    assert.equal(v1.result.code, 0, v1.result.stdout);
    const layers1 = v1.json.claims['layers'] as {
      physical: { checkpoints: { seq: number; spec: string }[] };
    };
    const spec = layers1.physical.checkpoints.find((c) => c.seq === 1)!.spec;
    const off = await verifyEvidenceJson(join(dir, 'second.json'), {
      nonce: b2.binding.nonce,
      trustEmulated: true,
      tvmState: tvm,
      trustedCheckpoint: spec,
    });
    assert.equal(off.result.code, 1, off.result.stdout);
    assert.equal(off.json.verified, false);
    // what it checked: the physical log from the trusted checkpoint, and the three records
    // against its VMR records from the start value the bundle asserts; not that start itself
    assert.equal(off.json.checks['physical_anchor'], 'ok');
    assert.equal(off.json.checks['vmr'], 'ok');
    assert.equal(off.json.checks['tenant_anchor'], 'skipped');
    assert.match(off.json.skipped['tenant_anchor']!, /no trusted tenant checkpoint/);
    const vmrClaims = (off.json.claims['layers'] as { vmr: Record<string, unknown> }).vmr;
    assert.equal(vmrClaims['start'], 'asserted');
    assert.equal(vmrClaims['since'], 6);
    assert.equal(vmrClaims['value'], at9.toString('hex'));
    // named, the relaxation is listed and the result verified
    const relaxed = await verifyEvidenceJson(join(dir, 'second.json'), {
      nonce: b2.binding.nonce,
      trustEmulated: true,
      tvmState: tvm,
      trustedCheckpoint: spec,
      relax: ['missing-checkpoint'],
    });
    assert.equal(relaxed.result.code, 0, relaxed.result.stdout);
    assert.deepEqual(relaxed.json.relaxed, ['missing-checkpoint']);
  },
);
