// Incremental IMA verification of a TPM quote's list through `mrstack verifier serve` (issue #14
// item 3, TPM half). The emulated TPM's PCR 10 is extended as IMA extends it — each entry's
// template data hashed in each bank (sha1, sha256) — and the quote of pcr10 in both banks goes
// to the service as a report envelope with the new `ima_log` member. The first session sends the
// whole list; the session after it names the stored offset (`ima_since`), the second quote comes
// with only the new entries and PCR 10 must be the fold of the stored value over them. The
// expected PCR 10 values are an independent fold computed with node:crypto (in
// test/_support/ima_entries.ts) and compared with what the TPM quoted (so the test does not lean on mrstack's fold); a list sent from a
// wrong entry and a whole list with an entry below the checkpoint changed each fail with their
// own code and finding; an entry past what PCR 10 covers is not judged and moves nothing.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliJson } from '../../_support/cli.js';
import { writePolicy } from '../../_support/appraise.js';
import { tempDir } from '../../_support/tmp.js';
import { serveEmulatedTvm, verifierEnv, verifierHttp } from '../../_support/verifier_service.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { reportEnvelope } from '../../../src/cli/commands/report.js';
import { encodeImaBinary } from '../../../src/formats/ima/ima_binary.js';
import type { ImaEntry } from '../../../src/formats/ima/ima_template.js';
import { imaEntry, measuredFile, ngName, ngSha256, pcr10Fold } from '../../_support/ima_entries.js';
import { parseAttest } from '../../../src/formats/tpm2/marshal/attest.js';

interface ResultJson {
  readonly passed: boolean;
  readonly status: string;
  readonly errors: readonly { code: string }[];
  readonly ima_checkpoint?: unknown;
  readonly appraisal: { findings: { id: string; actual?: unknown }[] };
}

interface SessionJson {
  id: string;
  nonce: string;
  ima_since?: { register: string; offset: number; boot_id?: string };
}

/**
 * `verifier serve` trusting an emulated TPM TVM, with `policy`; the TPM's PCR 10 extended as IMA
 * does (`measure`), sessions for attester `tpm-host`, and quotes of pcr10 (sha1, sha256) sent
 * as report envelopes with an IMA list (`submit`).
 */
async function tpmImaService(
  t: TestContext,
  dir: string,
  tvm: string,
  policy: string,
): Promise<{
  url: string;
  measure(entries: readonly ImaEntry[]): Promise<void>;
  session(): Promise<SessionJson>;
  submit(
    s: { id: string; nonce: string },
    list: readonly ImaEntry[],
    since: number,
  ): Promise<{ r: ResultJson; pcr10: Map<string, Buffer> }>;
}> {
  const svc = await serveEmulatedTvm(tvm, join(dir, 'store'), verifierEnv(), ['--policy', policy]);
  t.after(() => svc.stop());
  const provider = await openEmulatedProvider({ stateDir: tvm });
  t.after(() => provider.close());
  return {
    url: svc.url,
    /** IMA's extends: each entry's template data into PCR 10, hashed per bank. */
    async measure(entries) {
      for (const e of entries)
        await provider.extend({ name: 'pcr10' }, { kind: 'event', data: e.templateData });
    },
    async session() {
      const s = await verifierHttp(svc.url, 'POST', '/v1/sessions', { attester_id: 'tpm-host' });
      assert.equal(s.status, 201, JSON.stringify(s.json));
      return s.json as unknown as SessionJson;
    },
    async submit(s, list, since) {
      const nonce = new Uint8Array(Buffer.from(s.nonce, 'hex'));
      const raw = await provider.report({
        reportData: nonce,
        pcrs: new Map([
          ['sha1', [10]],
          ['sha256', [10]],
        ]),
      });
      // what the TPM quoted (its pcr_values part, in selection order), for the independent check
      const v = Buffer.from(raw.parts!['pcr_values']!);
      const pcr10 = new Map([
        ['sha1', v.subarray(0, 20)],
        ['sha256', v.subarray(20, 52)],
      ]);
      assert.equal(parseAttest(raw.outblob).clockInfo.resetCount, 0);
      const env = {
        ...reportEnvelope(raw, nonce, undefined, nonce),
        ima_log: {
          format: 'ima-binary',
          ...(since === 0 ? {} : { since }),
          data: Buffer.from(encodeImaBinary(list)).toString('base64'),
        },
      };
      const r = await verifierHttp(
        svc.url,
        'POST',
        `/v1/sessions/${s.id}/evidence`,
        new TextEncoder().encode(JSON.stringify(env)),
      );
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return { r: r.json as unknown as ResultJson, pcr10 };
    },
  };
}

test(
  'TPM quote with its IMA list: whole list first, then only the entries after the stored IMA checkpoint, bound by PCR 10; refusals with their own codes',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-tpmima-');
    const tvm = join(dir, 'tvm');
    assert.equal(
      (await runCli(['emulate', 'init', '--profile', 'tpm', '--tvm-state', tvm])).code,
      0,
    );
    const made = Array.from({ length: 14 }, (_, i) =>
      measuredFile(`/usr/bin/tool-${i}`, `tool ${i} ${randomBytes(4).toString('hex')}`),
    );
    const digests = Object.fromEntries(made.map((m, i) => [`/usr/bin/tool-${i}`, [m.digest]]));
    const policy = writePolicy(dir, { version: 1, name: 'tpm-hosts', ima: { digests } });
    const svc = await tpmImaService(t, dir, tvm, policy);
    const entries = made.map((m) => m.e);
    const measure = (from: number, to: number): Promise<void> =>
      svc.measure(entries.slice(from, to));
    const session = (): Promise<SessionJson> => svc.session();
    const submit = (s: { id: string; nonce: string }, list: readonly ImaEntry[], since: number) =>
      svc.submit(s, list, since);
    const codes = (r: ResultJson): string[] => r.errors.map((e) => e.code);
    const ids = (r: ResultJson): string[] => r.appraisal.findings.map((f) => f.id);

    // 1. the whole list of 8 entries
    await measure(0, 8);
    const s1 = await session();
    assert.equal(s1.ima_since, undefined);
    const first = await submit(s1, entries.slice(0, 8), 0);
    assert.deepEqual(first.pcr10.get('sha1'), pcr10Fold(entries.slice(0, 8), 'sha1'));
    assert.deepEqual(first.pcr10.get('sha256'), pcr10Fold(entries.slice(0, 8), 'sha256'));
    assert.equal(first.r.status, 'affirming', JSON.stringify(first.r.appraisal.findings));
    assert.deepEqual(first.r.ima_checkpoint, {
      register: 'pcr10',
      since: 0,
      offset: 8,
      advanced: true,
    });

    // 2. four entries more; only they are sent, and PCR 10 is the fold of the stored value over them
    await measure(8, 12);
    const s2 = await session();
    // the boot: the quote's reset count (0 on the emulated TPM, checked above)
    assert.deepEqual(s2.ima_since, { register: 'pcr10', offset: 8, boot_id: 'tpm-reset:0' });
    const second = await submit(s2, entries.slice(8, 12), 8);
    for (const alg of ['sha1', 'sha256'] as const) {
      const at8 = pcr10Fold(entries.slice(0, 8), alg);
      assert.deepEqual(second.pcr10.get(alg), pcr10Fold(entries.slice(8, 12), alg, at8));
    }
    assert.equal(second.r.status, 'affirming', JSON.stringify(second.r.appraisal.findings));
    assert.deepEqual(second.r.ima_checkpoint, {
      register: 'pcr10',
      since: 8,
      offset: 12,
      advanced: true,
    });
    assert.equal(second.r.appraisal.findings.find((f) => f.id === 'ima.log.allowed')?.actual, 4);

    // 3. sent from entry 10 (the checkpoint is at 12): no trusted value there
    const gap = await submit(await session(), entries.slice(10, 12), 10);
    assert.equal(gap.r.passed, false);
    assert.ok(ids(gap.r).includes('ima.checkpoint.discontinuous'), ids(gap.r).join());
    assert.deepEqual(codes(gap.r), ['ERR_IMA_DISCONTINUOUS']);
    // 4. from the checkpoint, an entry PCR 10 does not cover (nothing was extended since): the
    //    shortest prefix that folds to the quoted value is empty, so the entry is past the
    //    quote — not judged, and the checkpoint stays (tpm_ima_attest covers a list that never
    //    reaches PCR 10)
    const other = [measuredFile('/usr/bin/tool-0', 'not what was measured').e];
    const past = await submit(await session(), other, 12);
    assert.equal(past.r.passed, true, JSON.stringify(past.r.errors));
    assert.deepEqual(past.r.ima_checkpoint, {
      register: 'pcr10',
      since: 12,
      offset: 12,
      advanced: false,
      unquoted: 1,
    });
    // 5. the whole list again with entry 3 replaced: below the checkpoint
    const changed = entries.slice(0, 12).map((e, i) => (i === 3 ? other[0]! : e));
    const below = await submit(await session(), changed, 0);
    assert.equal(below.r.passed, false);
    assert.ok(ids(below.r).includes('ima.checkpoint.mismatch'), ids(below.r).join());
    assert.ok(codes(below.r).includes('ERR_IMA_CHECKPOINT_MISMATCH'), codes(below.r).join());
    // nothing moved it
    const s6 = await session();
    assert.deepEqual(s6.ima_since, { register: 'pcr10', offset: 12, boot_id: 'tpm-reset:0' });

    // 6. the CLI route: `report --ima-log LIST --ima-since 12` (the emulated TPM quotes its sha256
    //    PCRs by default), `verifier submit`: continued from the sha256 value stored
    await measure(12, 14);
    const listFile = join(dir, 'binary_runtime_measurements');
    writeFileSync(listFile, encodeImaBinary(entries));
    const envFile = join(dir, 'env.json');
    const rep = await runCli([
      'report', '--tvm-state', tvm, '--nonce', s6.nonce, '--ima-log', listFile,
      '--ima-since', '12', '--out', envFile,
    ]); // prettier-ignore
    assert.equal(rep.code, 0, rep.stderr);
    const sub = await runCliJson([
      'verifier',
      'submit',
      envFile,
      '--verifier',
      svc.url,
      '--session',
      s6.id,
    ]);
    assert.equal(sub.result.code, 0, sub.result.stdout + sub.result.stderr);
    const sixth = sub.json as ResultJson;
    assert.deepEqual(sixth.ima_checkpoint, {
      register: 'pcr10',
      since: 12,
      offset: 14,
      advanced: true,
    });
    assert.equal(sixth.appraisal.findings.find((f) => f.id === 'ima.log.allowed')?.actual, 2);
  },
);

/** An openssl EC key and its self-signed certificate (DER), as a `.ima` keyring would hold it. */
function ecKey(dir: string, tag: string): { key: string; cert: Buffer } {
  const key = join(dir, `${tag}.key.pem`);
  const cert = join(dir, `${tag}.cert.der`);
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  execFileSync('openssl', [
    'req', '-x509', '-new', '-key', key, '-subj', `/CN=${tag}`, '-days', '2',
    '-outform', 'DER', '-out', cert,
  ], { stdio: 'ignore' }); // prettier-ignore
  return { key, cert: readFileSync(cert) };
}

/** An ima-sig entry of `content` at `path`, signed by evmctl (signature v2) with `key`. */
function signedEntry(path: string, content: string, key: string): ImaEntry {
  const digest = createHash('sha256').update(content).digest();
  const sig = execFileSync('evmctl', ['sign_hash', '--key', key, '--hashalgo', 'sha256'], {
    input: `${digest.toString('hex')}  ${path}\n`,
    encoding: 'utf8',
  });
  return imaEntry('ima-sig', [
    { id: 'd-ng', data: ngSha256(digest) },
    { id: 'n-ng', data: ngName(path) },
    { id: 'sig', data: new Uint8Array(Buffer.from(sig.trim().split(/\s+/).pop()!, 'hex')) },
  ]);
}

test(
  'a key learned from a .ima keyring entry below the IMA checkpoint still vouches for ima-sig entries sent after it',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t, 'mrstack-tpmima-ring-');
    const tvm = join(dir, 'tvm');
    assert.equal(
      (await runCli(['emulate', 'init', '--profile', 'tpm', '--tvm-state', tvm])).code,
      0,
    );
    const ring = ecKey(dir, 'ima-ring');
    const other = ecKey(dir, 'not-on-ring');
    const boot = measuredFile('/usr/bin/init', 'init');
    // policy: the keyring certificate allowed by its SHA-256, the signed tools in no allowlist
    const policy = writePolicy(dir, {
      version: 1,
      name: 'tpm-ring',
      ima: {
        digests: { '/usr/bin/init': [boot.digest] },
        keyrings: { '.ima': [createHash('sha256').update(ring.cert).digest('hex')] },
      },
    });
    const svc = await tpmImaService(t, dir, tvm, policy);
    // entries 0, 1: a file, then the key the kernel adds to .ima, measured as ima-buf
    const below = [
      boot.e,
      imaEntry('ima-buf', [
        { id: 'd-ng', data: ngSha256(createHash('sha256').update(ring.cert).digest()) },
        { id: 'n-ng', data: ngName('.ima') },
        { id: 'buf', data: ring.cert },
      ]),
    ];
    await svc.measure(below);
    const first = await svc.submit(await svc.session(), below, 0);
    assert.equal(first.r.status, 'affirming', JSON.stringify(first.r.appraisal.findings));
    assert.deepEqual(first.r.ima_checkpoint, {
      register: 'pcr10',
      since: 0,
      offset: 2,
      advanced: true,
    });
    // entry 2, sent alone from the checkpoint: signed by the keyring's key, in no allowlist
    const signed = signedEntry('/usr/bin/tool', 'a tool\n', ring.key);
    await svc.measure([signed]);
    const second = await svc.submit(await svc.session(), [signed], 2);
    assert.equal(second.r.status, 'affirming', JSON.stringify(second.r.appraisal.findings));
    assert.deepEqual(second.r.ima_checkpoint, {
      register: 'pcr10',
      since: 2,
      offset: 3,
      advanced: true,
    });
    // control: entry 3 signed by a key no keyring entry brought is not vouched for
    const stranger = signedEntry('/usr/bin/other', 'another tool\n', other.key);
    await svc.measure([stranger]);
    const third = await svc.submit(await svc.session(), [stranger], 3);
    assert.equal(third.r.passed, false);
    assert.ok(
      third.r.appraisal.findings.some(
        (f) => f.id === 'ima.file.signature-invalid' || f.id === 'ima.file.unknown',
      ),
      JSON.stringify(third.r.appraisal.findings),
    );
  },
);
