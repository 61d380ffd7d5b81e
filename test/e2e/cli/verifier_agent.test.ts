// The attester side end to end through the built CLI: `mrstack verifier serve` on the embedded
// store, an agent on an emulated TDX, and `mrstack agent attest --verifier URL` running the whole
// loop (session → bundle from the agent bound to the nonce → submit → EAR). The affirming EAR is
// then checked by `mrstack ear verify` against the served `/.well-known/jwks.json`. A tampered
// tenant record, a reused nonce (the same session twice, and one session's bundle sent to
// another) and an expired nonce each fail with their own code; emulated SNP goes through
// `mrstack verifier submit` of a `report`. The emulated TPM and CCA profiles run the same loop
// (an agent owning pcr14 / rem3): affirming, then a second attestation sent and replayed from the
// stored checkpoint. (An unregistered TPM AK: test/integration/verifier/attester_registration.)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliError, runCli, runCliJson } from '../../_support/cli.js';
import { appendStep, cliAppend, cliAttest, startCliAgent } from '../../_support/agent_harness.js';
import { openEmbeddedStore } from '../../../src/verifier/store/embedded.js';
import {
  serveEmulatedTvm,
  verifierEnv,
  verifierHttp,
  type ServedVerifier,
} from '../../_support/verifier_service.js';

const root = mkdtempSync(join(tmpdir(), 'mrstack-vagent-'));
const ENV = verifierEnv();

/**
 * `mrstack verifier serve` on a fresh embedded store, trusting the roots of one emulated TVM
 * (whose PKI also issues the collateral its evidence needs).
 */
function serve(tvm: string, tag: string, ttlSeconds = 120): Promise<ServedVerifier> {
  return serveEmulatedTvm(tvm, join(root, `store-${tag}`), ENV, [
    '--session-ttl',
    String(ttlSeconds),
  ]);
}

let url = '';

after(() => {
  rmSync(root, { recursive: true, force: true });
});

interface Finding {
  readonly id: string;
  readonly status: string;
}
interface AttestJson {
  readonly session?: string;
  readonly status: string;
  readonly verified: boolean;
  readonly passed: boolean;
  readonly relaxed: readonly string[];
  readonly ear: string;
  readonly appraisal: { readonly findings: readonly Finding[] };
}

function post(
  path: string,
  body: Uint8Array | string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return verifierHttp(url, 'POST', path, body);
}

const failing = (r: AttestJson): string[] =>
  r.appraisal.findings.filter((f) => f.status !== 'affirming').map((f) => f.id);

test(
  'agent attest on emulated TDX: affirming EAR that `ear verify` accepts under the served JWKS; tampering and nonce misuse fail each in its own way',
  { timeout: 600_000 },
  async (t) => {
    const { dir, tvm, sock } = await startCliAgent(t, 'vagent', ['alice']);
    const svc = await serve(tvm, 'tdx');
    t.after(() => svc.stop());
    url = svc.url;
    assert.equal(
      (
        await cliAppend(sock('alice'), {
          domain: 'example.com/app',
          operation: 'start',
          content: 'alice v1',
        })
      ).code,
      0,
    );

    const a = await runCliJson(['agent', 'attest', '--verifier', url, '--socket', sock('alice')]);
    assert.equal(a.result.code, 0, a.result.stdout + a.result.stderr);
    const r = a.json as AttestJson;
    assert.equal(r.verified, true);
    assert.equal(r.passed, true);
    assert.equal(r.status, 'affirming');
    assert.deepEqual(failing(r), []);

    // The EAR, checked by the CLI's own verifier with only the JWKS the service publishes.
    const jwks = await (await fetch(new URL('/.well-known/jwks.json', url))).text();
    writeFileSync(join(dir, 'jwks.json'), jwks);
    writeFileSync(join(dir, 'ear.jwt'), r.ear);
    const ev = await runCliJson([
      'ear',
      'verify',
      join(dir, 'ear.jwt'),
      '--jwks',
      join(dir, 'jwks.json'),
      '--json',
    ]);
    assert.equal(ev.result.code, 0, ev.result.stdout + ev.result.stderr);
    const ear = ev.json as {
      verified: boolean;
      ear: { submods: Record<string, { status: string }> };
    };
    assert.equal(ear.verified, true);
    assert.deepEqual(
      Object.values(ear.ear.submods).map((s) => s.status),
      ['affirming'],
    );
    // Another service's key does not verify it.
    const other = await runCli([
      'ear',
      'keygen',
      '--out',
      join(dir, 'other.pem'),
      '--jwks-out',
      join(dir, 'other.jwks'),
    ]);
    assert.equal(other.code, 0, other.stderr);
    const wrongKey = await runCliJson([
      'ear',
      'verify',
      join(dir, 'ear.jwt'),
      '--jwks',
      join(dir, 'other.jwks'),
      '--json',
    ]);
    assert.equal(wrongKey.result.code, 1);

    // The same session again: the nonce is spent.
    const session = r.session!;
    const bundleOf = async (nonce: string, out: string): Promise<Record<string, unknown>> => {
      const g = await runCli([
        'evidence',
        'get',
        '--socket',
        sock('alice'),
        '--nonce',
        nonce,
        '--out',
        out,
      ]);
      assert.equal(g.code, 0, g.stderr);
      return JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    };
    const reuse = await post(
      `/v1/sessions/${session}/evidence`,
      readFileSync(join(dir, 'ear.jwt')),
    );
    assert.equal(reuse.status, 409);
    assert.equal((reuse.json['error'] as { code: string }).code, 'ERR_NONCE_REUSED');

    // A bundle bound to one session's nonce, sent to another session: the nonce does not match.
    const s1 = (await post('/v1/sessions', '{}')).json as { id: string; nonce: string };
    const s2 = (await post('/v1/sessions', '{}')).json as { id: string; nonce: string };
    const b1 = await bundleOf(s1.nonce, join(dir, 'b1.json'));
    const crossed = await runCliJson([
      'verifier',
      'submit',
      join(dir, 'b1.json'),
      '--verifier',
      url,
      '--session',
      s2.id,
    ]);
    assert.equal(crossed.result.code, 1);
    const cr = crossed.json as AttestJson;
    assert.equal(cr.verified, false);
    assert.notEqual(cr.status, 'affirming');

    // A tampered tenant record: its own code and finding.
    const tampered = structuredClone(b1) as { tenant_log: { lines: string[] } };
    tampered.tenant_log.lines = tampered.tenant_log.lines.map((l) =>
      l.replace('alice v1', 'alice v6'),
    );
    writeFileSync(join(dir, 'tampered.json'), JSON.stringify(tampered));
    const tr = await runCliJson([
      'verifier',
      'submit',
      join(dir, 'tampered.json'),
      '--verifier',
      url,
      '--session',
      s1.id,
    ]);
    assert.equal(tr.result.code, 1);
    const trj = tr.json as AttestJson;
    assert.equal(trj.verified, false);
    assert.equal(trj.passed, false);
    assert.notEqual(trj.status, 'affirming');

    // An expired nonce: a second service (its own store, the same TVM) whose sessions live 1 s
    // (a short lifetime on the first one made the steps above race the clock under load).
    const short = await serve(tvm, 'tdx-short', 1);
    t.after(() => short.stop());
    url = short.url;
    const s3 = (await post('/v1/sessions', '{}')).json as {
      id: string;
      nonce: string;
      expires_at: string;
    };
    await bundleOf(s3.nonce, join(dir, 'b3.json'));
    const wait = Date.parse(s3.expires_at) - Date.now() + 300;
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    const late = await runCliJson([
      'verifier',
      'submit',
      join(dir, 'b3.json'),
      '--verifier',
      url,
      '--session',
      s3.id,
      '--json',
    ]);
    assert.equal(late.result.code, 1);
    assert.equal(cliError(late.json).code, 'ERR_NONCE_EXPIRED');
    // Each failure names its own finding (docs/appraisal.md).
    assert.deepEqual(failing(cr), ['nonce.mismatch']);
    assert.deepEqual(failing(trj), ['replay.alice.inconsistent']);
  },
);

test(
  'emulated SNP: `verifier submit` of a `report` bound to a session → affirming EAR; a CVM attester registered by CHIP_ID accepts only its chip',
  { timeout: 600_000 },
  async (t) => {
    const tvm = join(root, 'snp');
    const init = await runCli(['emulate', 'init', '--profile', 'snp', '--tvm-state', tvm]);
    assert.equal(init.code, 0, init.stderr);
    const svc = await serve(tvm, 'snp');
    t.after(() => svc.stop());
    url = svc.url;
    const ch = await runCliJson(['verifier', 'challenge', '--verifier', url]);
    const s = ch.json as { id: string; nonce: string };
    const file = join(root, 'snp-report.json');
    const rep = await runCli([
      'report',
      '--provider',
      'emulated',
      '--tvm-state',
      tvm,
      '--nonce',
      s.nonce,
      '--out',
      file,
    ]);
    assert.equal(rep.code, 0, rep.stderr);
    const sub = await runCliJson([
      'verifier',
      'submit',
      file,
      '--verifier',
      url,
      '--session',
      s.id,
    ]);
    assert.equal(sub.result.code, 0, sub.result.stdout + sub.result.stderr);
    const r = sub.json as AttestJson;
    assert.equal(r.verified, true);
    assert.equal(r.status, 'affirming');
    assert.deepEqual(failing(r), []);

    // CVM attesters register their platform identity (admin): the emulated chip's CHIP_ID as
    // the emulator was given it (its key folder), not as mrstack decoded it.
    const chipId = readFileSync(join(tvm, 'keys', 'snp', 'chip_id.hex'), 'utf8').trim();
    // Registered with `mrstack verifier register-platform` (the admin token from a file).
    const tokenFile = join(root, 'admin-token');
    writeFileSync(tokenFile, `${ENV.MRSTACK_VERIFIER_ADMIN_TOKEN}\n`);
    const register = (
      id: string,
      platform: string,
      token: string[] = ['--admin-token-file', tokenFile],
    ) =>
      runCliJson([
        'verifier',
        'register-platform',
        '--verifier',
        url,
        '--attester',
        id,
        '--platform-id',
        platform,
        ...token,
        '--json',
      ]);
    const wrongToken = join(root, 'wrong-token');
    writeFileSync(wrongToken, 'not-the-token\n');
    const forbidden = await register('snp-vm', `snp:${chipId}`, ['--admin-token-file', wrongToken]);
    assert.equal(forbidden.result.code, 3);
    assert.equal(cliError(forbidden.json).code, 'ERR_FORBIDDEN');
    const reg = await register('snp-vm', `snp:${chipId.toUpperCase()}`);
    assert.equal(reg.result.code, 0, reg.result.stderr);
    assert.equal((reg.json as { kind: string }).kind, 'cvm');
    assert.equal((reg.json as { platform_id: string }).platform_id, `snp:${chipId.toLowerCase()}`);
    // The same identity again is the same attester; another identity under its id is a conflict.
    const again = await register('snp-vm', `snp:${chipId}`);
    assert.equal(again.result.code, 0);
    assert.equal(
      (again.json as { created_at: string }).created_at,
      (reg.json as { created_at: string }).created_at,
    );
    const other = randomBytes(64).toString('hex');
    const clash = await register('snp-vm', `snp:${other}`);
    assert.equal(clash.result.code, 2);
    assert.equal(cliError(clash.json).code, 'ERR_CONFLICT');
    assert.equal((await register('snp-elsewhere', `snp:${other}`)).result.code, 0);
    const submitFor = async (attester: string): Promise<{ code: number | null; r: AttestJson }> => {
      const c = (
        await runCliJson(['verifier', 'challenge', '--verifier', url, '--attester', attester])
      ).json as { id: string; nonce: string };
      const f = join(root, `snp-${attester}.json`);
      const made = await runCli([
        'report',
        '--provider',
        'emulated',
        '--tvm-state',
        tvm,
        '--nonce',
        c.nonce,
        '--out',
        f,
      ]);
      assert.equal(made.code, 0, made.stderr);
      const x = await runCliJson(['verifier', 'submit', f, '--verifier', url, '--session', c.id]);
      return { code: x.result.code, r: x.json as AttestJson };
    };
    // Its own chip: affirming.
    const mine = await submitFor('snp-vm');
    assert.equal(mine.code, 0);
    assert.equal(mine.r.status, 'affirming');
    // The same chip's report for an attester registered with another chip: refused.
    const theirs = await submitFor('snp-elsewhere');
    assert.equal(theirs.code, 1);
    assert.equal(theirs.r.verified, false);
    assert.equal(theirs.r.status, 'contraindicated');
    const errs = (theirs.r as unknown as { errors: { code: string }[] }).errors;
    assert.equal(errs[0]!.code, 'ERR_PLATFORM_MISMATCH');
    const f0 = theirs.r.appraisal.findings[0] as Finding & { actual?: string; expected?: string };
    assert.equal(f0.id, 'platform.identity.mismatch');
    assert.equal(f0.actual, `snp:${chipId}`);
    assert.equal(f0.expected, `snp:${other}`);
  },
);

test(
  'incremental: the second attestation sends only the records after the stored checkpoint and is affirmed',
  { timeout: 600_000 },
  async (t) => {
    const { dir, tvm, run, sock } = await startCliAgent(t, 'vinc', ['bob']);
    const svc = await serve(tvm, 'inc');
    t.after(() => svc.stop());
    url = svc.url;
    const append = (content: string): Promise<void> => appendStep(sock('bob'), content);
    const checkpoint = async (): Promise<number> => {
      const cp = await runCliJson(['agent', 'checkpoint', '--run-dir', run, '--json']);
      assert.equal(cp.result.code, 0, cp.result.stderr);
      return (cp.json as { checkpoint: number }).checkpoint;
    };
    const attest = async (out: string): Promise<AttestJson & Record<string, unknown>> => {
      const a = await cliAttest(url, sock('bob'), 'bob-vm', join(dir, out));
      assert.equal(a.result.code, 0, a.result.stdout + a.result.stderr);
      return a.json as AttestJson & Record<string, unknown>;
    };
    const physicalLines = (f: string): string[] =>
      (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { physical_log: { lines: string[] } })
        .physical_log.lines;

    for (let i = 0; i < 5; i++) await append(`before ${i}`);
    assert.equal(await checkpoint(), 1);
    await append('after 1');

    // First attestation: no checkpoint yet, the whole boot's log; it vouches for CHECKPOINT 1.
    const first = await attest('first.json');
    assert.equal(first.status, 'affirming');
    assert.ok(physicalLines('first.json')[0]!.startsWith('BOOT '));
    // and for bob's log at it: the first VMR record after CHECKPOINT 1 covers record 8 ('after 1')
    assert.deepEqual(first['checkpoint'], {
      register: 'rtmr3',
      seq: 1,
      advanced: true,
      tenant: { name: 'bob', record: 8, line: 8 },
    });

    // The next session names it ...
    const ch = await runCliJson([
      'verifier',
      'challenge',
      '--verifier',
      url,
      '--attester',
      'bob-vm',
    ]);
    assert.deepEqual((ch.json as { since?: unknown }).since, { register: 'rtmr3', seq: 1 });

    // ... so the second attestation sends the log from CHECKPOINT 1 on, and it is replayed from
    // the stored value (affirming, nothing relaxed).
    await append('after 2');
    const second = await attest('second.json');
    const lines = physicalLines('second.json');
    assert.match(lines[0]!, /^CHECKPOINT 1 /);
    assert.ok(!lines.some((l) => l.startsWith('BOOT ') || l.includes('before 0')));
    assert.ok(lines.length < physicalLines('first.json').length + 1);
    assert.equal(second.status, 'affirming', JSON.stringify(failing(second)));
    assert.equal(second.passed, true);
    assert.deepEqual(second.relaxed, []);
    assert.equal(second['replayed_since'], 1);
    assert.deepEqual(second['checkpoint'], { register: 'rtmr3', seq: 1, advanced: false });
    // bob's log too: only what follows record 8
    assert.equal(second['replayed_tenant_since'], 8);
    const tenantLines = (f: string): string[] =>
      (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { tenant_log: { lines: string[] } })
        .tenant_log.lines;
    assert.deepEqual(tenantLines('second.json'), ['example.com/app step after 2']);

    // A new checkpoint covered by a passed result moves the stored one forward.
    assert.equal(await checkpoint(), 2);
    await append('after cp 2');
    const third = await attest('third.json');
    assert.match(physicalLines('third.json')[0]!, /^CHECKPOINT 1 /);
    assert.deepEqual(third['checkpoint'], {
      register: 'rtmr3',
      seq: 2,
      advanced: true,
      tenant: { name: 'bob', record: 10, line: 10 },
    });
    const fourth = await attest('fourth.json');
    assert.match(physicalLines('fourth.json')[0]!, /^CHECKPOINT 2 /);
    assert.equal(fourth.status, 'affirming');
    // nothing appended since record 10: an empty tenant log, continued from the stored value
    assert.deepEqual(tenantLines('fourth.json'), []);
    assert.equal(fourth['replayed_tenant_since'], 10);

    // A since-bundle with a tampered record is not affirmed, and does not move the checkpoint.
    const s5 = (
      await runCliJson(['verifier', 'challenge', '--verifier', url, '--attester', 'bob-vm'])
    ).json as { id: string; nonce: string; since: { seq: number } };
    assert.equal(s5.since.seq, 2);
    const g = await runCli([
      'evidence',
      'get',
      '--socket',
      sock('bob'),
      '--nonce',
      s5.nonce,
      '--since',
      '2',
      '--out',
      join(dir, 'b5.json'),
    ]);
    assert.equal(g.code, 0, g.stderr);
    const b5 = JSON.parse(readFileSync(join(dir, 'b5.json'), 'utf8')) as {
      tenant_log: { lines: string[] };
    };
    b5.tenant_log.lines = b5.tenant_log.lines.map((l) => l.replace('after cp 2', 'after cp 9'));
    writeFileSync(join(dir, 'b5t.json'), JSON.stringify(b5));
    const bad = await runCliJson([
      'verifier',
      'submit',
      join(dir, 'b5t.json'),
      '--verifier',
      url,
      '--session',
      s5.id,
    ]);
    assert.equal(bad.result.code, 1);
    assert.equal((bad.json as AttestJson).passed, false);

    // The stored results list only the tenant events that did not verify (the counts stay).
    await svc.stop();
    const store = await openEmbeddedStore(join(root, 'store-inc'));
    try {
      const claimsOf = async (id: unknown): Promise<Record<string, unknown>> => {
        const r = await store.getResult(id as string);
        return (r!.findings as { verify: { claims: Record<string, unknown> } }).verify.claims;
      };
      const ok = await claimsOf(second['result_id']);
      assert.equal(ok['events_listed'], 'unverified');
      assert.deepEqual(ok['events'], []);
      const okLayers = ok['layers'] as { tenant: { verified: number; pending: number } };
      assert.equal(okLayers.tenant.verified, 1);
      const tampered = await claimsOf((bad.json as Record<string, unknown>)['result_id']);
      assert.equal(tampered['events_listed'], 'unverified');
      const listed = tampered['events'] as { content: string; state: string }[];
      assert.ok(listed.length > 0);
      assert.ok(listed.every((e) => e.state !== 'verified'));
      assert.ok(listed.some((e) => e.content === 'after cp 9'));
    } finally {
      await store.close();
    }
  },
);

for (const [profile, register] of [
  ['tpm', 'pcr14'],
  ['cca', 'rem3'],
] as const) {
  test(
    `agent attest on the emulated ${profile.toUpperCase()} profile: affirming EAR, then an incremental attestation from the stored checkpoint`,
    { timeout: 600_000 },
    async (t) => {
      const { dir, tvm, run, sock } = await startCliAgent(
        t,
        `v${profile}`,
        ['carol'],
        [],
        {},
        profile,
      );
      const svc = await serve(tvm, profile);
      t.after(() => svc.stop());
      const append = (content: string): Promise<void> => appendStep(sock('carol'), content);
      const attest = async (out: string): Promise<AttestJson & Record<string, unknown>> => {
        const a = await cliAttest(svc.url, sock('carol'), `carol-${profile}`, join(dir, out));
        assert.equal(a.result.code, 0, a.result.stdout + a.result.stderr);
        return a.json as AttestJson & Record<string, unknown>;
      };
      const bundle = (f: string): { report: { kind: string }; physical_log: { lines: string[] } } =>
        JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
          report: { kind: string };
          physical_log: { lines: string[] };
        };

      for (let i = 0; i < 3; i++) await append(`before ${i}`);
      const cp = await runCliJson(['agent', 'checkpoint', '--run-dir', run, '--json']);
      assert.equal(cp.result.code, 0, cp.result.stderr);
      assert.equal((cp.json as { checkpoint: number }).checkpoint, 1);
      await append('after 1');

      const first = await attest('first.json');
      assert.equal(bundle('first.json').report.kind, profile);
      assert.equal(first.verified, true);
      assert.equal(first.status, 'affirming', JSON.stringify(failing(first)));
      assert.deepEqual(failing(first), []);
      assert.deepEqual(first['errors'], []);
      assert.ok(bundle('first.json').physical_log.lines[0]!.startsWith('BOOT '));
      assert.deepEqual(first['checkpoint'], {
        register,
        seq: 1,
        advanced: true,
        tenant: { name: 'carol', record: 6, line: 6 },
      });

      // The second attestation sends the physical log from CHECKPOINT 1 on and is replayed
      // from the stored value.
      await append('after 2');
      const second = await attest('second.json');
      const lines = bundle('second.json').physical_log.lines;
      assert.match(lines[0]!, /^CHECKPOINT 1 /);
      assert.ok(!lines.some((l) => l.startsWith('BOOT ')));
      assert.equal(second.status, 'affirming', JSON.stringify(failing(second)));
      assert.equal(second.passed, true);
      assert.deepEqual(second.relaxed, []);
      assert.equal(second['replayed_since'], 1);
      // carol's log since record 6 ('after 1'): only 'after 2'
      assert.equal(second['replayed_tenant_since'], 6);
      assert.deepEqual(
        (bundle('second.json') as unknown as { tenant_log: { lines: string[] } }).tenant_log.lines,
        ['example.com/app step after 2'],
      );
    },
  );
}
