// Incremental IMA verification end to end through the built CLI (issue #14 item 3, for `mr_ima`):
// `mrstack verifier serve` (embedded store, a policy allowing the measured files), an agent on
// an emulated TDX mirroring the TVM's IMA list into mr_ima, `mrstack agent attest` as the `ima`
// tenant. The first attestation sends and appraises the whole list; the second sends only the
// entries after the stored IMA checkpoint (the session names it) and is appraised from it. A
// whole list with an entry below the checkpoint changed or removed fails with
// ERR_IMA_CHECKPOINT_MISMATCH / `ima.checkpoint.mismatch`; a list sent from an entry that is
// not the checkpoint with ERR_IMA_DISCONTINUOUS / `ima.checkpoint.discontinuous`. What the
// entries are is read here from the list's byte layout (the kernel's binary format), not by
// mrstack; the changed entry's template hash is recomputed with node:crypto, so only the
// checkpoint can tell. The agent's ima_boot fallback: asked for the list from the checkpoint of
// another boot than its own, it sends the whole list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliJson } from '../../_support/cli.js';
import { cliAttest, spawnAgent } from '../../_support/agent_harness.js';
import { writePolicy } from '../../_support/appraise.js';
import { tempDir } from '../../_support/tmp.js';
import { TenantClient } from '../../../src/agent/client.js';
import { cliChallenge, serveEmulatedTvm, verifierEnv } from '../../_support/verifier_service.js';
import type { SessionJson } from '../../../src/verifier/service/client.js';

/** Binary IMA records (little endian, SHA-1 column), walked from their layout. */
interface Rec {
  readonly start: number;
  readonly end: number;
  readonly path: string;
}
function walk(list: Buffer): Rec[] {
  const out: Rec[] = [];
  let p = 0;
  while (p < list.length) {
    const nl = list.readUInt32LE(p + 24);
    const tdl = list.readUInt32LE(p + 28 + nl);
    const td = list.subarray(p + 32 + nl, p + 32 + nl + tdl);
    const dl = td.readUInt32LE(0); // d-ng, then n-ng
    const n = td.subarray(8 + dl, 8 + dl + td.readUInt32LE(4 + dl) - 1).toString('latin1');
    out.push({ start: p, end: p + 32 + nl + tdl, path: n });
    p += 32 + nl + tdl;
  }
  return out;
}

interface BundleJson {
  physical_log: { lines: string[] };
  ima_log: { count: number; since?: number; data: string };
}
interface ResultJson {
  readonly passed: boolean;
  readonly status: string;
  readonly errors: readonly { code: string }[];
  readonly ima_checkpoint?: unknown;
  readonly appraisal: { findings: { id: string; status: string; actual?: unknown }[] };
}

test(
  'mr_ima: the second attestation sends only the entries after the stored IMA checkpoint; a changed or removed entry below it, or a list not continuing from it, fails with its own code',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-vima-');
    const tvm = join(dir, 'tvm');
    const run = join(dir, 'run');
    assert.equal(
      (await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm])).code,
      0,
    );
    const digests: Record<string, string[]> = { boot_aggregate: ['00'.repeat(32)] };
    const files = Array.from({ length: 25 }, (_, i) => {
      const p = join(dir, `tool-${String(i).padStart(2, '0')}`);
      const content = `#!/bin/sh\necho ${i} ${randomBytes(4).toString('hex')}\n`;
      writeFileSync(p, content);
      const real = realpathSync(p);
      digests[real] = [createHash('sha256').update(content).digest('hex')];
      return real;
    });
    const measure = async (paths: string[]): Promise<void> => {
      const r = await runCli(['emulate', 'ima', 'measure', '--tvm-state', tvm, ...paths]);
      assert.equal(r.code, 0, r.stderr);
    };
    await measure(files.slice(0, 20)); // entries 1..20 after boot_aggregate
    const tenantsFile = join(dir, 'tenants.json');
    writeFileSync(tenantsFile, JSON.stringify({ tenants: [] }));
    const agent = await spawnAgent([
      '--tvm-state', tvm, '--run-dir', run, '--tenants', tenantsFile, '--ima',
      '--ima-log', join(tvm, 'ima', 'binary_runtime_measurements'), '--log-level', 'warn',
    ]); // prettier-ignore
    t.after(() => agent.stop());
    const policy = writePolicy(dir, { version: 1, name: 'hosts', ima: { digests } });
    const svc = await serveEmulatedTvm(tvm, join(dir, 'store'), verifierEnv(), [
      '--policy',
      policy,
    ]);
    t.after(() => svc.stop());
    const url = svc.url;
    const sock = join(run, 'tenants', 'ima.sock');
    const bundleOf = (f: string): BundleJson =>
      JSON.parse(readFileSync(join(dir, f), 'utf8')) as BundleJson;
    const listOf = (b: BundleJson): Buffer => Buffer.from(b.ima_log.data, 'base64');
    const attest = async (out: string): Promise<ResultJson> => {
      const a = await cliAttest(url, sock, 'host-1', join(dir, out));
      assert.equal(a.result.code, 0, a.result.stdout + a.result.stderr);
      return a.json as ResultJson;
    };
    const challenge = (): Promise<SessionJson> => cliChallenge(url, 'host-1');

    // 1. no IMA checkpoint yet: the whole list (boot_aggregate and 20 files) is appraised
    const first = await attest('first.json');
    assert.equal(first.status, 'affirming', JSON.stringify(first.appraisal.findings));
    const b1 = bundleOf('first.json');
    assert.equal(b1.ima_log.since, undefined);
    const l1 = walk(listOf(b1));
    assert.equal(l1.length, 21);
    assert.deepEqual(first.ima_checkpoint, {
      register: 'mr_ima',
      since: 0,
      offset: 21,
      advanced: true,
    });
    const allowed1 = first.appraisal.findings.find((f) => f.id === 'ima.log.allowed');
    assert.equal(allowed1?.actual, 21);
    // the checkpoint's boot: the agent's, as the BOOT record of its physical log names it
    const boot = /^BOOT (\S+) /.exec(b1.physical_log.lines[0]!)![1]!;
    assert.deepEqual((await challenge()).ima_since, {
      register: 'mr_ima',
      offset: 21,
      boot_id: boot,
    });

    // 2. five files more: only they travel, and only they are appraised
    await measure(files.slice(20));
    const second = await attest('second.json');
    assert.equal(second.status, 'affirming', JSON.stringify(second.appraisal.findings));
    assert.equal(second.passed, true);
    const b2 = bundleOf('second.json');
    assert.equal(b2.ima_log.since, 21);
    assert.equal(b2.ima_log.count, 26);
    assert.deepEqual(
      walk(listOf(b2)).map((r) => r.path),
      files.slice(20),
    );
    assert.deepEqual(second.ima_checkpoint, {
      register: 'mr_ima',
      since: 21,
      offset: 26,
      advanced: true,
    });
    const allowed2 = second.appraisal.findings.find((f) => f.id === 'ima.log.allowed');
    assert.equal(allowed2?.actual, 5);

    // 2b. a physical checkpoint after the last mr_ima token, vouched for by a passed result;
    //     then, nothing new measured, the window from it holds no token: the list sent from the
    //     IMA checkpoint is empty and still affirmed (not the whole list again)
    const cp = await runCliJson(['agent', 'checkpoint', '--run-dir', run, '--json']);
    assert.equal(cp.result.code, 0, cp.result.stderr);
    const third = await attest('third.json');
    assert.equal(third.status, 'affirming', JSON.stringify(third.appraisal.findings));
    const fourth = await attest('fourth.json');
    assert.equal(fourth.status, 'affirming', JSON.stringify(fourth.appraisal.findings));
    const b4 = bundleOf('fourth.json');
    assert.match(b4.physical_log.lines[0]!, /^CHECKPOINT /);
    assert.ok(!b4.physical_log.lines.some((l) => l.includes(' mr_ima=')), 'no token in the window');
    assert.equal(b4.ima_log.since, 26);
    assert.equal(b4.ima_log.count, 26);
    assert.equal(listOf(b4).length, 0);
    assert.deepEqual(fourth.ima_checkpoint, {
      register: 'mr_ima',
      since: 26,
      offset: 26,
      advanced: false,
    });

    /** The agent's bundle for a session (the whole list, or from `imaSince`), edited, submitted. */
    const submitEdited = async (
      tag: string,
      edit: (list: Buffer) => Buffer,
      imaSince?: number,
    ): Promise<{ code: number | null; r: ResultJson }> => {
      const s = await challenge();
      const f = join(dir, `${tag}.json`);
      const g = await runCli([
        'evidence', 'get', '--socket', sock, '--nonce', s.nonce, '--out', f,
        ...(imaSince === undefined ? [] : ['--ima-since', String(imaSince)]),
      ]); // prettier-ignore
      assert.equal(g.code, 0, g.stderr);
      const b = JSON.parse(readFileSync(f, 'utf8')) as BundleJson;
      b.ima_log.data = edit(listOf(b)).toString('base64');
      writeFileSync(f, JSON.stringify(b));
      const r = await runCliJson(['verifier', 'submit', f, '--verifier', url, '--session', s.id]);
      return { code: r.result.code, r: r.json as ResultJson };
    };
    const codes = (r: ResultJson): string[] => r.errors.map((e) => e.code);
    const ids = (r: ResultJson): string[] => r.appraisal.findings.map((f) => f.id);

    // 3. the whole list again with entry 3 changed (its path renamed in place, the template
    //    hash recomputed): below the checkpoint
    const changed = await submitEdited('changed', (list) => {
      const out = Buffer.from(list);
      const r = walk(out)[3]!;
      const at = out.indexOf(Buffer.from(r.path, 'latin1'), r.start);
      out[at + r.path.length - 1]! ^= 0x01; // the last character of the name
      const nl = out.readUInt32LE(r.start + 24);
      const td = out.subarray(r.start + 32 + nl, r.end);
      createHash('sha1')
        .update(td)
        .digest()
        .copy(out, r.start + 4);
      return out;
    });
    assert.equal(changed.code, 1);
    assert.equal(changed.r.passed, false);
    assert.ok(codes(changed.r).includes('ERR_IMA_CHECKPOINT_MISMATCH'), codes(changed.r).join());
    assert.ok(ids(changed.r).includes('ima.checkpoint.mismatch'), ids(changed.r).join());

    // 4. the whole list with entry 2 removed
    const removed = await submitEdited('removed', (list) => {
      const r = walk(list)[2]!;
      return Buffer.concat([list.subarray(0, r.start), list.subarray(r.end)]);
    });
    assert.equal(removed.code, 1);
    assert.ok(codes(removed.r).includes('ERR_IMA_CHECKPOINT_MISMATCH'), codes(removed.r).join());
    assert.ok(ids(removed.r).includes('ima.checkpoint.mismatch'));

    // 5. a list sent from entry 20, where the verifier trusts no running value (its checkpoint
    //    is at 26): it does not continue from it
    const gap = await submitEdited('gap', (list) => list, 20);
    assert.equal(gap.code, 1);
    assert.deepEqual(
      codes(gap.r).filter((c) => c.startsWith('ERR_IMA')),
      ['ERR_IMA_DISCONTINUOUS'],
    );
    assert.ok(ids(gap.r).includes('ima.checkpoint.discontinuous'));

    // none of these moved the checkpoint
    const s6 = await challenge();
    assert.deepEqual(s6.ima_since, {
      register: 'mr_ima',
      offset: 26,
      boot_id: boot,
    });

    // 6. the ima_boot fallback, over the tenant socket as agent attest asks: a checkpoint of
    //    another boot than the agent's (the BOOT record's id above) gets the whole list; the
    //    agent's own boot gets the list from the entry named
    const client = new TenantClient(sock);
    t.after(() => client.close());
    const nonce6 = new Uint8Array(Buffer.from(s6.nonce, 'hex'));
    const otherBoot = `${boot}-before`;
    const whole = (await client.evidence(
      nonce6,
      undefined,
      undefined,
      21,
      otherBoot,
    )) as unknown as BundleJson;
    assert.equal(whole.ima_log.since, undefined);
    assert.equal(whole.ima_log.count, 26);
    assert.equal(walk(listOf(whole)).length, 26);
    const own = (await client.evidence(
      nonce6,
      undefined,
      undefined,
      21,
      boot,
    )) as unknown as BundleJson;
    assert.equal(own.ima_log.since, 21);
    assert.deepEqual(
      walk(listOf(own)).map((r) => r.path),
      files.slice(20),
    );
    // the whole list, submitted: compared with the checkpoint at 26, nothing to move
    const f6 = join(dir, 'whole.json');
    writeFileSync(f6, JSON.stringify(whole));
    const sub6 = await runCliJson([
      'verifier',
      'submit',
      f6,
      '--verifier',
      url,
      '--session',
      s6.id,
    ]);
    const r6 = sub6.json as ResultJson;
    assert.equal(r6.status, 'affirming', JSON.stringify(r6.appraisal.findings));
    assert.deepEqual(r6.ima_checkpoint, {
      register: 'mr_ima',
      since: 0,
      offset: 26,
      advanced: false,
    });
  },
);
