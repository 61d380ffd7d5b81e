// `mrstack agent attest --verifier URL --provider tpm --swtpm ADDR --ima-log LIST` against a real
// swtpm (issue #14: "a 1,000,000-entry list is appraised once and then only the entries after
// the stored offset are sent"). The TPM is registered by credential activation (EK certificate
// from swtpm's local CA); IMA's extends are made with tpm2_pcrextend (each entry's template
// data hashed per bank by node:crypto), and PCR 10 is read back with tpm2_pcrread and compared
// with a node:crypto fold, so no expected value comes from mrstack. The list file runs ahead of
// PCR 10 as the kernel's does when it appends entries between the quote and the read: the
// verifier replays the shortest prefix that folds to the quoted PCR 10 and the checkpoint moves
// only to it. A list that never reaches PCR 10, an altered entry, and a new TPM boot (swtpm
// re-initialised, reset count up, the whole list sent again) are covered too. The suite runs on
// the embedded store and on a real PostgreSQL started here; on PostgreSQL two verifier processes
// share the database and race to advance the same IMA checkpoint: exactly one moves it, once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliJson } from '../../_support/cli.js';
import { startPostgres, type PgServer } from '../../_support/postgres.js';
import { writePolicy } from '../../_support/appraise.js';
import {
  startVerifier,
  verifierEnv,
  verifierHttp,
  type ServedVerifier,
} from '../../_support/verifier_service.js';
import { parsePcrreadYaml, startSwtpmFixture, type SwtpmFixture } from '../tpm/swtpm_fixture.js';
import { encodeImaBinary } from '../../../src/formats/ima/ima_binary.js';
import type { ImaEntry } from '../../../src/formats/ima/ima_template.js';
import { measuredFile, pcr10Fold } from '../../_support/ima_entries.js';

const root = mkdtempSync(join(tmpdir(), 'mrstack-tpm-attest-'));
const ENV = verifierEnv();
after(() => rmSync(root, { recursive: true, force: true }));

/** One store's run: its swtpm, its verifier, its files. */
interface Ctx {
  fx: SwtpmFixture;
  svc: ServedVerifier;
  at: (f: string) => string;
}

/** IMA's extends, by tpm2_pcrextend: H_bank(template data) into PCR 10 of sha1 and sha256. */
function measure({ fx }: Ctx, entries: readonly ImaEntry[]): void {
  for (const e of entries) {
    const d = (alg: string): string => createHash(alg).update(e.templateData).digest('hex');
    fx.tool('tpm2_pcrextend', [`10:sha1=${d('sha1')},sha256=${d('sha256')}`]);
  }
}

/** PCR 10 as tpm2_pcrread reads it. */
function pcr10({ fx }: Ctx): { sha1: string; sha256: string } {
  const m = parsePcrreadYaml(fx.tool('tpm2_pcrread', ['sha1:10+sha256:10']));
  return { sha1: m.get('sha1')!.get(10)!, sha256: m.get('sha256')!.get(10)! };
}

interface AttestJson {
  readonly passed: boolean;
  readonly status: string;
  readonly errors: readonly { code: string; message: string }[];
  readonly ima_sent?: { since: number; bytes: number; whole?: string };
  readonly ima_checkpoint?: {
    register: string;
    since: number;
    offset: number | null;
    advanced: boolean;
    unquoted?: number;
  };
  readonly appraisal: { findings: { id: string; actual?: unknown; message?: string }[] };
}

/** `mrstack agent attest` of the swtpm's quote (PCR 10 in sha1 and sha256) with `list`. */
async function attest({ fx, svc, at }: Ctx, list: readonly ImaEntry[]): Promise<AttestJson> {
  writeFileSync(at('binary_runtime_measurements'), encodeImaBinary(list));
  const r = await runCliJson([
    'agent', 'attest', '--verifier', svc.url, '--attester', 'tpm-ima',
    '--provider', 'tpm', '--swtpm', fx.address, '--ak', at('ak.blob'),
    '--pcr-list', 'sha1:10+sha256:10', '--ima-log', at('binary_runtime_measurements'),
  ]); // prettier-ignore
  const j = r.json as AttestJson;
  assert.equal(r.result.code, j.passed ? 0 : 1, r.result.stderr);
  return j;
}

const made = Array.from({ length: 20 }, (_, i) =>
  measuredFile(`/usr/bin/tool-${i}`, `tool ${i} ${randomBytes(4).toString('hex')}`),
);
const entries = made.map((m) => m.e);

/** swtpm, `verifier serve` on `store` (a second process on it with `twice`), the AK registered. */
async function setup(
  dir: string,
  store: string,
  twice: boolean,
): Promise<Ctx & { svc2?: ServedVerifier }> {
  mkdirSync(dir);
  const at = (f: string): string => join(dir, f);
  const fx = await startSwtpmFixture();
  const policy = writePolicy(dir, {
    version: 1,
    name: 'tpm-ima-hosts',
    ima: { digests: Object.fromEntries(made.map((m, i) => [`/usr/bin/tool-${i}`, [m.digest]])) },
  });
  const args = [
    '--listen', '127.0.0.1:0', '--store', store,
    '--tpm-ca', join(fx.sw.stateDir, 'ca', 'swtpm-localca-rootca-cert.pem'), '--policy', policy,
  ]; // prettier-ignore
  const svc = await startVerifier(args, ENV);
  const svc2 = twice ? await startVerifier(args, ENV) : undefined;
  const ak = await runCliJson(['tpm', 'ak', 'create', '--out', at('ak.blob'), '--swtpm', fx.address, '--json']); // prettier-ignore
  assert.equal(ak.result.code, 0, ak.result.stderr);
  const reg = await runCliJson(
    [
      'verifier', 'register', '--verifier', svc.url, '--ak', at('ak.blob'),
      '--ek-chain', join(fx.sw.stateDir, 'ca', 'issuercert.pem'), '--attester', 'tpm-ima',
      '--swtpm', fx.address, '--json',
    ], // prettier-ignore
    { env: ENV },
  );
  assert.equal(reg.result.code, 0, reg.result.stderr + reg.result.stdout);
  return { fx, svc, at, ...(svc2 === undefined ? {} : { svc2 }) };
}

for (const kind of ['embedded', 'postgres'] as const) {
  describe(`on the ${kind} store`, () => {
    let c: Ctx & { svc2?: ServedVerifier };
    let pg: PgServer | undefined;
    before(async () => {
      if (kind === 'postgres') pg = await startPostgres();
      const store =
        pg === undefined ? `embedded:${join(root, kind, 'store')}` : pg.createDatabase('ima');
      c = await setup(join(root, kind), store, pg !== undefined);
    });
    after(async () => {
      await c.svc2?.stop();
      await c.svc.stop();
      await c.fx.stop();
      await pg?.stop();
    });
    tests(
      () => c,
      () => pg,
      kind === 'postgres',
    );
  });
}

function tests(
  ctx: () => Ctx & { svc2?: ServedVerifier },
  pgOf: () => PgServer | undefined,
  withPg: boolean,
): void {
  test('agent attest with a TPM quote and its IMA list: the prefix the quote covers is appraised, then only the entries after the checkpoint are sent', async () => {
    // 1. PCR 10 covers 6 entries; the list read after the quote holds 8 (2 appended meanwhile)
    measure(ctx(), entries.slice(0, 6));
    assert.deepEqual(pcr10(ctx()), {
      sha1: pcr10Fold(entries.slice(0, 6), 'sha1').toString('hex'),
      sha256: pcr10Fold(entries.slice(0, 6), 'sha256').toString('hex'),
    });
    const first = await attest(ctx(), entries.slice(0, 8));
    assert.equal(first.status, 'affirming', JSON.stringify(first.appraisal.findings));
    assert.deepEqual(first.ima_sent, {
      since: 0,
      bytes: encodeImaBinary(entries.slice(0, 8)).length,
    });
    assert.deepEqual(first.ima_checkpoint, {
      register: 'pcr10',
      since: 0,
      offset: 6,
      advanced: true,
      unquoted: 2,
    });
    assert.equal(first.appraisal.findings.find((f) => f.id === 'ima.log.allowed')?.actual, 6);

    // 2. the two extended and three more: only the entries from 6 travel, all 5 covered
    measure(ctx(), entries.slice(6, 11));
    const second = await attest(ctx(), entries.slice(0, 11));
    assert.equal(second.status, 'affirming', JSON.stringify(second.appraisal.findings));
    assert.deepEqual(second.ima_sent, {
      since: 6,
      bytes:
        encodeImaBinary(entries.slice(0, 11)).length - encodeImaBinary(entries.slice(0, 6)).length,
    });
    assert.deepEqual(second.ima_checkpoint, {
      register: 'pcr10',
      since: 6,
      offset: 11,
      advanced: true,
    });
    assert.equal(second.appraisal.findings.find((f) => f.id === 'ima.log.allowed')?.actual, 5);

    // 3. nothing new: the quote equals the checkpoint's value, nothing to judge, nothing moves
    const same = await attest(ctx(), entries.slice(0, 11));
    assert.equal(same.passed, true, JSON.stringify(same.errors));
    assert.deepEqual(same.ima_checkpoint, {
      register: 'pcr10',
      since: 11,
      offset: 11,
      advanced: false,
    });
  });

  test('a list that never reaches the quoted PCR 10, or an altered entry after the checkpoint, fails and moves nothing', async () => {
    // entry 11 extended, but the list holds a different entry 11: no prefix folds to PCR 10
    measure(ctx(), entries.slice(11, 12));
    const altered = [
      ...entries.slice(0, 11),
      measuredFile('/usr/bin/tool-11', 'not what was measured').e,
    ];
    const bad = await attest(ctx(), altered);
    assert.equal(bad.passed, false);
    assert.deepEqual(
      bad.errors.map((e) => e.code),
      ['ERR_IMA_DISCONTINUOUS'],
    );
    assert.match(bad.errors[0]!.message, /entry 11/);
    assert.ok(bad.appraisal.findings.some((f) => f.id === 'ima.checkpoint.discontinuous'));
    assert.deepEqual(bad.ima_checkpoint, {
      register: 'pcr10',
      since: 11,
      offset: 11,
      advanced: false,
    });
    // a list that stops short of what PCR 10 covers (entry 11 missing)
    const short = await attest(ctx(), entries.slice(0, 11));
    assert.equal(short.passed, false);
    assert.deepEqual(
      short.errors.map((e) => e.code),
      ['ERR_IMA_DISCONTINUOUS'],
    );
    assert.equal(short.ima_checkpoint?.offset, 11);
    // the true list passes and moves it to 12
    const good = await attest(ctx(), entries.slice(0, 12));
    assert.equal(good.status, 'affirming', JSON.stringify(good.appraisal.findings));
    assert.deepEqual(good.ima_checkpoint, {
      register: 'pcr10',
      since: 11,
      offset: 12,
      advanced: true,
    });
  });

  /** The stored IMA checkpoint row, as psql reads it (PostgreSQL only). */
  const row = (pg: PgServer): { version: number; offset: number; boot: string } => {
    const [v, o, b] = pg
      .psql(
        "select version, value->'ima'->>'offset', boot_id from checkpoints where attester_id = 'tpm-ima' and register = 'pcr10'",
        'ima',
      )
      .split('|');
    return { version: Number(v), offset: Number(o), boot: b! };
  };

  // the embedded store is one process's: the race of two processes is PostgreSQL's
  if (withPg)
    test('two verifier processes on one PostgreSQL race to advance the IMA checkpoint: exactly one moves it, once', async (t) => {
      const { fx, svc, svc2, at } = ctx();
      const pg = pgOf()!;
      assert.ok(svc2 !== undefined);
      const before = row(pg);
      assert.equal(before.offset, 12);
      measure(ctx(), entries.slice(12, 14));
      writeFileSync(at('race_list'), encodeImaBinary(entries.slice(0, 14)));
      const sessions = await Promise.all(
        [svc, svc2].map(async (v) => {
          const s = await verifierHttp(v.url, 'POST', '/v1/sessions', { attester_id: 'tpm-ima' });
          assert.equal(s.status, 201);
          return s.json as { id: string; nonce: string; ima_since?: { offset: number } };
        }),
      );
      // swtpm serves one client at a time: the two quotes one after the other, by `report`
      const envs: Buffer[] = [];
      for (const [i, s] of sessions.entries()) {
        assert.equal(s.ima_since?.offset, 12);
        const r = await runCliJson([
        'report', '--provider', 'tpm', '--swtpm', fx.address, '--ak', at('ak.blob'),
        '--pcr-list', 'sha1:10+sha256:10', '--nonce', s.nonce, '--ima-log', at('race_list'),
        '--ima-since', '12', '--out', at(`race${i}.json`), '--json',
      ]); // prettier-ignore
        assert.equal(r.result.code, 0, r.result.stderr);
        envs.push(readFileSync(at(`race${i}.json`)));
      }
      const results = await Promise.all(
        [svc, svc2].map(async (v, i) => {
          const r = await verifierHttp(
            v.url,
            'POST',
            `/v1/sessions/${sessions[i]!.id}/evidence`,
            new Uint8Array(envs[i]!),
          );
          assert.equal(r.status, 200, JSON.stringify(r.json));
          return r.json as unknown as AttestJson;
        }),
      );
      t.diagnostic(
        JSON.stringify(
          results.map((r) => [r.passed, r.ima_checkpoint, r.errors.map((e) => e.code)]),
        ),
      );
      // the loser verified from the old checkpoint and lost the compare-and-set, or read the new
      // one and was sent from an entry it no longer trusts: either way it moved nothing
      assert.equal(results.filter((r) => r.ima_checkpoint?.advanced === true).length, 1);
      for (const r of results) {
        if (r.ima_checkpoint?.advanced === true) assert.equal(r.ima_checkpoint.offset, 14);
        else if (r.passed) assert.equal(r.ima_checkpoint?.advanced, false);
        else
          assert.deepEqual(
            r.errors.map((e) => e.code),
            ['ERR_IMA_DISCONTINUOUS'],
          );
      }
      assert.deepEqual(row(pg), { ...before, version: before.version + 1, offset: 14 });
    });

  test('a new TPM boot (reset count up, PCR 10 reset): the attester sends its whole list and the checkpoint starts over', async () => {
    const pg = pgOf();
    const oldBoot = pg === undefined ? undefined : row(pg).boot;
    const before = ctx().fx.tool('tpm2_readclock', []);
    execFileSync('swtpm_ioctl', ['--tcp', `${ctx().fx.sw.host}:${ctx().fx.sw.ctrlPort}`, '-i']);
    ctx().fx.tool('tpm2_startup', ['-c']);
    const resetOf = (y: string): number => Number(/reset_count:\s*(\d+)/.exec(y)![1]);
    const reset = resetOf(ctx().fx.tool('tpm2_readclock', []));
    assert.equal(reset, resetOf(before) + 1);
    const boot2 = entries.slice(16, 20);
    measure(ctx(), boot2);
    assert.deepEqual(pcr10(ctx()), {
      sha1: pcr10Fold(boot2, 'sha1').toString('hex'),
      sha256: pcr10Fold(boot2, 'sha256').toString('hex'),
    });
    const r = await attest(ctx(), boot2);
    // the session named entry 12 of the old boot; the quote says another boot: the whole list
    assert.deepEqual(r.ima_sent, {
      since: 0,
      bytes: encodeImaBinary(boot2).length,
      whole: 'other-boot',
    });
    assert.equal(r.status, 'affirming', JSON.stringify(r.appraisal.findings));
    assert.deepEqual(r.ima_checkpoint, { register: 'pcr10', since: 0, offset: 4, advanced: true });
    // the stored row starts over under the new boot id: the quote's reset count, which the TPM
    // obfuscates for a key outside the endorsement and platform hierarchies (TPM 2.0 Part 1,
    // "Obfuscation"), so not tpm2_readclock's count — but another one after the reset
    if (pg !== undefined) {
      const after = row(pg);
      assert.equal(after.offset, 4);
      assert.match(after.boot, /^tpm-reset:\d+$/);
      assert.notEqual(after.boot, oldBoot);
    }
  });
}
