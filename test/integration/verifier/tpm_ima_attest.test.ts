// `mrstack agent attest --verifier URL --provider tpm --swtpm ADDR --ima-log LIST` against a real
// swtpm (issue #14: "a 1,000,000-entry list is appraised once and then only the entries after
// the stored offset are sent"). The TPM is registered by credential activation (EK certificate
// from swtpm's local CA); IMA's extends are made with tpm2_pcrextend (each entry's template
// data hashed per bank by node:crypto), and PCR 10 is read back with tpm2_pcrread and compared
// with a node:crypto fold, so no expected value comes from mrstack. The list file runs ahead of
// PCR 10 as the kernel's does when it appends entries between the quote and the read: the
// verifier replays the shortest prefix that folds to the quoted PCR 10 and the checkpoint moves
// only to it. A list that never reaches PCR 10, an altered entry, and a new TPM boot (swtpm
// re-initialised, reset count up, the whole list sent again) are covered too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliJson } from '../../_support/cli.js';
import { writePolicy } from '../../_support/appraise.js';
import {
  startVerifier,
  verifierEnv,
  type ServedVerifier,
} from '../../_support/verifier_service.js';
import { parsePcrreadYaml, startSwtpmFixture, type SwtpmFixture } from '../tpm/swtpm_fixture.js';
import { encodeImaBinary } from '../../../src/formats/ima/ima_binary.js';
import { encodeImaTemplateData, type ImaEntry } from '../../../src/formats/ima/ima_template.js';

const enc = new TextEncoder();
const root = mkdtempSync(join(tmpdir(), 'mrstack-tpm-attest-'));
const at = (f: string): string => join(root, f);
const ENV = verifierEnv();

let fx: SwtpmFixture;
let svc: ServedVerifier;

/** An ima-ng entry of `path` with `content` (template hash: SHA-1 of its template data). */
function entry(path: string, content: string): { e: ImaEntry; digest: string } {
  const digest = createHash('sha256').update(content).digest();
  const templateData = encodeImaTemplateData('ima-ng', [
    { id: 'd-ng', data: new Uint8Array([...enc.encode('sha256:'), 0, ...digest]) },
    { id: 'n-ng', data: new Uint8Array([...enc.encode(path), 0]) },
  ]);
  return {
    e: {
      index: 0,
      offset: 0,
      pcr: 10,
      templateHash: new Uint8Array(createHash('sha1').update(templateData).digest()),
      templateName: 'ima-ng',
      templateData,
      littleEndian: true,
    },
    digest: digest.toString('hex'),
  };
}

/** PCR 10 after `entries` from zero, in `alg`, by node:crypto. */
function nodeFold(entries: readonly ImaEntry[], alg: 'sha1' | 'sha256'): string {
  let v = Buffer.alloc(alg === 'sha1' ? 20 : 32);
  for (const e of entries)
    v = createHash(alg).update(v).update(createHash(alg).update(e.templateData).digest()).digest();
  return v.toString('hex');
}

/** IMA's extends, by tpm2_pcrextend: H_bank(template data) into PCR 10 of sha1 and sha256. */
function measure(entries: readonly ImaEntry[]): void {
  for (const e of entries) {
    const d = (alg: string): string => createHash(alg).update(e.templateData).digest('hex');
    fx.tool('tpm2_pcrextend', [`10:sha1=${d('sha1')},sha256=${d('sha256')}`]);
  }
}

/** PCR 10 as tpm2_pcrread reads it. */
function pcr10(): { sha1: string; sha256: string } {
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
async function attest(list: readonly ImaEntry[]): Promise<AttestJson> {
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

const made = Array.from({ length: 16 }, (_, i) =>
  entry(`/usr/bin/tool-${i}`, `tool ${i} ${randomBytes(4).toString('hex')}`),
);
const entries = made.map((m) => m.e);

before(async () => {
  fx = await startSwtpmFixture();
  const policy = writePolicy(root, {
    version: 1,
    name: 'tpm-ima-hosts',
    ima: { digests: Object.fromEntries(made.map((m, i) => [`/usr/bin/tool-${i}`, [m.digest]])) },
  });
  svc = await startVerifier(
    [
      '--listen', '127.0.0.1:0', '--store', `embedded:${at('store')}`,
      '--tpm-ca', join(fx.sw.stateDir, 'ca', 'swtpm-localca-rootca-cert.pem'), '--policy', policy,
    ], // prettier-ignore
    ENV,
  );
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
});

after(async () => {
  await svc.stop();
  await fx.stop();
  rmSync(root, { recursive: true, force: true });
});

test('agent attest with a TPM quote and its IMA list: the prefix the quote covers is appraised, then only the entries after the checkpoint are sent', async () => {
  // 1. PCR 10 covers 6 entries; the list read after the quote holds 8 (2 appended meanwhile)
  measure(entries.slice(0, 6));
  assert.deepEqual(pcr10(), {
    sha1: nodeFold(entries.slice(0, 6), 'sha1'),
    sha256: nodeFold(entries.slice(0, 6), 'sha256'),
  });
  const first = await attest(entries.slice(0, 8));
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
  measure(entries.slice(6, 11));
  const second = await attest(entries.slice(0, 11));
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
  const same = await attest(entries.slice(0, 11));
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
  measure(entries.slice(11, 12));
  const altered = [...entries.slice(0, 11), entry('/usr/bin/tool-11', 'not what was measured').e];
  const bad = await attest(altered);
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
  const short = await attest(entries.slice(0, 11));
  assert.equal(short.passed, false);
  assert.deepEqual(
    short.errors.map((e) => e.code),
    ['ERR_IMA_DISCONTINUOUS'],
  );
  assert.equal(short.ima_checkpoint?.offset, 11);
  // the true list passes and moves it to 12
  const good = await attest(entries.slice(0, 12));
  assert.equal(good.status, 'affirming', JSON.stringify(good.appraisal.findings));
  assert.deepEqual(good.ima_checkpoint, {
    register: 'pcr10',
    since: 11,
    offset: 12,
    advanced: true,
  });
});

test('a new TPM boot (reset count up, PCR 10 reset): the attester sends its whole list and the checkpoint starts over', async () => {
  const before = fx.tool('tpm2_readclock', []);
  execFileSync('swtpm_ioctl', ['--tcp', `${fx.sw.host}:${fx.sw.ctrlPort}`, '-i']);
  fx.tool('tpm2_startup', ['-c']);
  const resetOf = (y: string): number => Number(/reset_count:\s*(\d+)/.exec(y)![1]);
  const reset = resetOf(fx.tool('tpm2_readclock', []));
  assert.equal(reset, resetOf(before) + 1);
  const boot2 = entries.slice(12, 16);
  measure(boot2);
  assert.deepEqual(pcr10(), { sha1: nodeFold(boot2, 'sha1'), sha256: nodeFold(boot2, 'sha256') });
  const r = await attest(boot2);
  // the session named entry 12 of the old boot; the quote says another boot: the whole list
  assert.deepEqual(r.ima_sent, {
    since: 0,
    bytes: encodeImaBinary(boot2).length,
    whole: 'other-boot',
  });
  assert.equal(r.status, 'affirming', JSON.stringify(r.appraisal.findings));
  assert.deepEqual(r.ima_checkpoint, { register: 'pcr10', since: 0, offset: 4, advanced: true });
});
