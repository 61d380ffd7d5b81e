// Attester registration of an SNP guest under an SVSM (issue 12): the SVSM's vTPM is a swtpm
// whose EK public area (written by tpm2_createek, not by mrstack) goes into the emulated SVSM's
// services manifest (`emulate init --svsm --svsm-ek`). The attester opens a session, gets the
// SVSM report bound to its nonce (`report --service-provider svsm`), and `verifier register
// --svsm-report` sends it with the AK; the verifier verifies the report (emulated AMD chain,
// VMPL 0, REPORT_DATA = SHA-512(nonce ‖ manifest)), seals MakeCredential to the manifest's EK
// and name(AK), the swtpm recovers the secret, and the AK is registered with ek_trust
// `svsm_report`, which the result of a later quote names. Refused, each with its own code and
// check: an altered manifest, a report at VMPL 1 binding the same manifest, a report from a TVM
// the verifier does not trust, an AK with decrypt, an AK without fixedTPM; a TPM that does not
// hold the manifest's EK cannot activate. Offline, `evidence verify` of a TPM quote beside an
// SVSM report keeps the AK untrusted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliError, runCli, runCliJson, type EvidenceVerifyJson } from '../../_support/cli.js';
import { startSwtpmFixture, type SwtpmFixture } from '../tpm/swtpm_fixture.js';
import {
  startVerifier,
  verifierEnv,
  verifierHttp,
  type ServedVerifier,
} from '../../_support/verifier_service.js';

const root = mkdtempSync(join(tmpdir(), 'mrstack-svsmreg-'));
const ENV = verifierEnv();
const AUTH = { authorization: `Bearer ${ENV.MRSTACK_VERIFIER_ADMIN_TOKEN}` };
const at = (f: string): string => join(root, f);
const VTPM_GUID = 'c476f1eb-0123-45a5-9641-b4e7dde5bfe3';

let fx: SwtpmFixture; // the SVSM's vTPM
let svc: ServedVerifier;
let url = '';
const tvm = at('tvm');
const otherTvm = at('other-tvm');

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const http = (
  method: string,
  path: string,
  body?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> =>
  verifierHttp(url, method, path, body, headers);
const errorOf = (j: Record<string, unknown>): { code: string; check?: string } =>
  j['error'] as { code: string; check?: string };

function tpmCli(args: string[], sw: SwtpmFixture = fx): ReturnType<typeof runCliJson> {
  return runCliJson([...args, '--swtpm', sw.address, '--json'], { env: ENV });
}

async function session(attesterId?: string): Promise<{ id: string; nonce: string }> {
  const s = await http(
    'POST',
    '/v1/sessions',
    attesterId === undefined ? {} : { attester_id: attesterId },
  );
  assert.equal(s.status, 201, JSON.stringify(s.json));
  return { id: s.json['id'] as string, nonce: s.json['nonce'] as string };
}

/** `mrstack report --service-provider svsm` from an emulated TVM: the envelope JSON. */
async function svsmReport(
  state: string,
  nonce: string,
  out: string,
): Promise<Record<string, unknown>> {
  const r = await runCli([
    'report', '--provider', 'emulated', '--tvm-state', state, '--nonce', nonce,
    '--service-provider', 'svsm', '--service-guid', VTPM_GUID, '--out', out,
  ]); // prettier-ignore
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
}

function register(
  s: { id: string },
  envelope: Record<string, unknown>,
  akPublic: Uint8Array,
  attesterId?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return http('POST', '/v1/attesters', {
    ...(attesterId === undefined ? {} : { attester_id: attesterId }),
    svsm_report: hex(Buffer.from(JSON.stringify(envelope))),
    session_id: s.id,
    ak_public: hex(akPublic),
  });
}

before(async () => {
  fx = await startSwtpmFixture();
  // The vTPM's EK as tpm2-tools makes it (TCG default RSA template), TPM2B_PUBLIC and its name.
  fx.tool('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
  fx.tool('tpm2_readpublic', ['-c', 'ek.ctx', '-n', 'ek.name']);
  const init = await runCli(['emulate', 'init', '--profile', 'snp', '--svsm', '--svsm-ek', join(fx.dir, 'ek.pub'), '--tvm-state', tvm]); // prettier-ignore
  assert.equal(init.code, 0, init.stderr);
  // Another emulated SVSM guest, whose roots the verifier does not trust.
  const other = await runCli(['emulate', 'init', '--profile', 'snp', '--svsm', '--svsm-ek', join(fx.dir, 'ek.pub'), '--tvm-state', otherTvm]); // prettier-ignore
  assert.equal(other.code, 0, other.stderr);
  svc = await startVerifier(
    ['--listen', '127.0.0.1:0', '--store', `embedded:${at('store')}`, '--trust-emulated', '--tvm-state', tvm], // prettier-ignore
    ENV,
  );
  url = svc.url;
});

after(async () => {
  await (svc as ServedVerifier | undefined)?.stop();
  await (fx as SwtpmFixture | undefined)?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('SVSM registration', () => {
  let akName = '';
  let akPublic: Uint8Array = new Uint8Array(0);

  test('the manifest lists the EK tpm2_createek made; `verifier register --svsm-report` registers the AK with ek_trust svsm_report', async () => {
    const s = await session('svsm-a');
    const env = await svsmReport(tvm, s.nonce, at('svsm.json'));
    // The vTPM entry of the manifest (one service: its data at offset 48) is the TPMT_PUBLIC
    // inside the TPM2B_PUBLIC tpm2_createek wrote.
    const manifest = Buffer.from(env['manifestblob'] as string, 'hex');
    assert.deepEqual(manifest.subarray(48), readFileSync(join(fx.dir, 'ek.pub')).subarray(2));

    const ak = await tpmCli(['tpm', 'ak', 'create', '--out', at('ak.blob')]);
    assert.equal(ak.result.code, 0, ak.result.stderr);
    akName = (ak.json as { name: string }).name;
    const reg = await tpmCli([
      'verifier', 'register', '--verifier', url, '--ak', at('ak.blob'),
      '--svsm-report', at('svsm.json'), '--session', s.id,
    ]); // prettier-ignore
    assert.equal(reg.result.code, 0, reg.result.stderr + reg.result.stdout);
    const r = reg.json as Record<string, unknown>;
    assert.equal(r['registered'], true);
    assert.equal(r['attester_id'], 'svsm-a'); // the session's attester
    assert.equal(r['ak_name'], akName);
    assert.deepEqual(r['relaxed'], []);

    const got = await http('GET', '/v1/attesters/svsm-a', undefined, AUTH);
    assert.equal(got.status, 200);
    assert.equal(got.json['ek_trust'], 'svsm_report');
    assert.equal(got.json['ek_certificate'], false);
    // The EK the AK was activated against is the swtpm's, by the name tpm2_readpublic printed.
    assert.equal(got.json['ek_name'], hex(readFileSync(join(fx.dir, 'ek.name'))));
    const keys = got.json['keys'] as { ak_name: string; ak_public: string }[];
    assert.deepEqual(
      keys.map((k) => k.ak_name),
      [akName],
    );
    akPublic = new Uint8Array(Buffer.from(keys[0]!.ak_public, 'hex'));
    // The session is spent by the registration.
    const again = await register(s, env, akPublic, 'svsm-a');
    assert.equal(again.status, 409);
    assert.equal(errorOf(again.json).code, 'ERR_NONCE_REUSED');
  });

  test('a quote by that AK verifies; the result names the AK registered and its EK trusted by the SVSM report', async () => {
    const s = await session('svsm-a');
    const q = await tpmCli(['report', '--provider', 'tpm', '--ak', at('ak.blob'), '--nonce', s.nonce, '--out', at('q.json')]); // prettier-ignore
    assert.equal(q.result.code, 0, q.result.stderr);
    const sub = await runCliJson(['verifier', 'submit', at('q.json'), '--verifier', url, '--session', s.id], { env: ENV }); // prettier-ignore
    const r = sub.json as Record<string, unknown>;
    assert.equal(r['verified'], true, JSON.stringify(r['errors']));
    assert.deepEqual(r['ak'], {
      reason: 'registered',
      attester_id: 'svsm-a',
      ak_name: akName,
      matches_evidence: true,
      ek_trust: 'svsm_report',
    });
  });

  test('an altered manifest is refused: ERR_BINDING_MISMATCH at svsm_manifest', async () => {
    const s = await session();
    const env = await svsmReport(tvm, s.nonce, at('svsm-alt.json'));
    const m = Buffer.from(env['manifestblob'] as string, 'hex');
    m[m.length - 1] = m[m.length - 1]! ^ 0x01; // inside the EK's modulus
    const r = await register(s, { ...env, manifestblob: hex(m) }, akPublic);
    assert.equal(r.status, 422, JSON.stringify(r.json));
    assert.equal(errorOf(r.json).code, 'ERR_BINDING_MISMATCH');
    assert.equal(errorOf(r.json).check, 'svsm_manifest');
  });

  test('a report at VMPL 1 over SHA-512(nonce ‖ manifest) is refused: ERR_VMPL_MISMATCH at svsm_vmpl', async () => {
    // What a guest kernel at VMPL 1 can make: a report over report data it computed itself
    // (openssl here) for the genuine manifest.
    const s = await session();
    const genuine = await svsmReport(tvm, s.nonce, at('svsm-g.json'));
    const manifest = Buffer.from(genuine['manifestblob'] as string, 'hex');
    const inblob = Buffer.alloc(64);
    Buffer.from(s.nonce, 'hex').copy(inblob);
    writeFileSync(at('rd.bin'), Buffer.concat([inblob, manifest]));
    const rd = execFileSync('openssl', ['dgst', '-sha512', '-binary', at('rd.bin')]).toString(
      'hex',
    );
    const low = await runCli([
      'report', '--provider', 'emulated', '--tvm-state', tvm, '--nonce', rd, '--privlevel', '1',
      '--out', at('vmpl1.json'),
    ]); // prettier-ignore
    assert.equal(low.code, 0, low.stderr);
    const env = JSON.parse(readFileSync(at('vmpl1.json'), 'utf8')) as Record<string, unknown>;
    // The report carries VMPL 1 at offset 0x30 (SNP ABI, ATTESTATION_REPORT.VMPL).
    assert.equal(Buffer.from(env['outblob'] as string, 'hex').readUInt32LE(0x30), 1);
    const r = await register(s, { ...env, manifestblob: hex(manifest) }, akPublic);
    assert.equal(r.status, 422, JSON.stringify(r.json));
    assert.equal(errorOf(r.json).code, 'ERR_VMPL_MISMATCH');
    assert.equal(errorOf(r.json).check, 'svsm_vmpl');
    // The binding itself holds: only the VMPL refuses it.
    const checks = (r.json['error'] as { checks: Record<string, string> }).checks;
    assert.equal(checks['svsm_manifest'], 'ok');
    assert.equal(checks['report_signature'], 'ok');
  });

  test("a report signed under another TVM, with that TVM's own VCEK chain, is refused", async () => {
    // Another emulated platform's SVSM report, carrying that platform's VCEK → ASK → ARK
    // (the auxblob of its plain report): that ARK is no anchor of this verifier, so the only
    // VCEK it trusts is its own TVM's, and the report's signature does not verify under it.
    const s = await session();
    const env = await svsmReport(otherTvm, s.nonce, at('svsm-other.json'));
    const plain = await runCli(['report', '--provider', 'emulated', '--tvm-state', otherTvm, '--nonce', '00', '--out', at('other-plain.json')]); // prettier-ignore
    assert.equal(plain.code, 0, plain.stderr);
    const auxblob = (
      JSON.parse(readFileSync(at('other-plain.json'), 'utf8')) as { auxblob: string }
    ).auxblob;
    const r = await register(s, { ...env, auxblob }, akPublic);
    assert.equal(r.status, 422, JSON.stringify(r.json));
    assert.equal(errorOf(r.json).code, 'ERR_SIGNATURE_INVALID');
    assert.equal(errorOf(r.json).check, 'report_signature');
    const checks = (r.json['error'] as { checks: Record<string, string> }).checks;
    // The manifest binding holds: it is the signer that is not trusted.
    assert.equal(checks['svsm_manifest'], 'ok');
    assert.equal(checks['chip_id'], 'failed');
  });

  test('bad report bytes beside a valid AK: a typed 4xx naming the report, no attester registered, the nonce spent once judged', async () => {
    // Bytes that are no envelope and no report carry no manifest: refused before the session
    // is touched, so the nonce still serves.
    const s = await session('svsm-bad');
    const junk = await http('POST', '/v1/attesters', {
      svsm_report: hex(randomBytes(200)),
      session_id: s.id,
      ak_public: hex(akPublic),
    });
    assert.equal(junk.status, 400, JSON.stringify(junk.json));
    assert.equal(errorOf(junk.json).code, 'ERR_USAGE');
    assert.match((junk.json['error'] as { message: string }).message, /no services manifest/);
    // The envelope with its report cut short (an SNP report is 0x4A0 bytes, AMD 56860 table
    // 22): judged, so the nonce is spent, and refused as a truncated SNP report.
    const env = await svsmReport(tvm, s.nonce, at('svsm-bad.json'));
    const outblob = env['outblob'] as string;
    const cut = await register(s, { ...env, outblob: outblob.slice(0, 2 * 0x2a0) }, akPublic);
    assert.ok(cut.status >= 400 && cut.status < 500, JSON.stringify(cut.json));
    const e = cut.json['error'] as { code: string; format?: string; message: string };
    assert.equal(e.code, 'ERR_TRUNCATED', JSON.stringify(e));
    assert.match(e.format ?? e.message, /snp/i);
    // The intact envelope cannot now be replayed with that nonce.
    const again = await register(s, env, akPublic);
    assert.equal(again.status, 409, JSON.stringify(again.json));
    assert.equal(errorOf(again.json).code, 'ERR_NONCE_REUSED');
    const got = await http('GET', '/v1/attesters/svsm-bad', undefined, AUTH);
    assert.equal(got.status, 404, JSON.stringify(got.json));
  });

  test('an AK with decrypt, or without fixedTPM, is refused: ERR_AK_ATTRIBUTES', async () => {
    fx.tool('tpm2_createprimary', ['-C', 'o', '-c', 'prim.ctx']);
    fx.tool('tpm2_create', ['-C', 'prim.ctx', '-G', 'ecc', '-a', 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign|decrypt', '-u', 'dec.pub', '-r', 'dec.priv']); // prettier-ignore
    fx.tool('tpm2_create', ['-C', 'prim.ctx', '-G', 'ecc256:ecdsa-sha256:null', '-a', 'sensitivedataorigin|userwithauth|restricted|sign', '-u', 'dup.pub', '-r', 'dup.priv']); // prettier-ignore
    const s = await session();
    const env = await svsmReport(tvm, s.nonce, at('svsm-ak.json'));
    const dec = await register(s, env, readFileSync(join(fx.dir, 'dec.pub')));
    assert.equal(dec.status, 422, JSON.stringify(dec.json));
    assert.equal(errorOf(dec.json).code, 'ERR_AK_ATTRIBUTES');
    assert.deepEqual((dec.json['error'] as { forbidden: string[] }).forbidden, ['decrypt']);
    const dup = await register(s, env, readFileSync(join(fx.dir, 'dup.pub')));
    assert.equal(dup.status, 422, JSON.stringify(dup.json));
    assert.equal(errorOf(dup.json).code, 'ERR_AK_ATTRIBUTES');
    const missing = (dup.json['error'] as { missing: string[] }).missing;
    assert.ok(missing.includes('fixedTPM'), JSON.stringify(missing));
    assert.deepEqual((dup.json['error'] as { forbidden: string[] }).forbidden, []);
    // An EK beside the SVSM report is refused: the report names the EK.
    const both = await http('POST', '/v1/attesters', {
      svsm_report: hex(Buffer.from(JSON.stringify(env))),
      session_id: s.id,
      ak_public: hex(akPublic),
      ek_public: hex(readFileSync(join(fx.dir, 'ek.pub'))),
    });
    assert.equal(both.status, 400, JSON.stringify(both.json));
    assert.equal(errorOf(both.json).code, 'ERR_USAGE');
  });

  test("a TPM that does not hold the manifest's EK cannot activate: nothing is registered", async () => {
    const other = await startSwtpmFixture();
    try {
      const ak = await tpmCli(['tpm', 'ak', 'create', '--out', at('ak-b.blob')], other);
      assert.equal(ak.result.code, 0, ak.result.stderr);
      const s = await session();
      await svsmReport(tvm, s.nonce, at('svsm-b.json'));
      const reg = await tpmCli(
        ['verifier', 'register', '--verifier', url, '--ak', at('ak-b.blob'), '--svsm-report', at('svsm-b.json'), '--session', s.id, '--attester', 'svsm-b'], // prettier-ignore
        other,
      );
      // The challenge was sealed to the SVSM vTPM's EK: this TPM's ActivateCredential fails.
      assert.notEqual(reg.result.code, 0, reg.result.stdout);
      assert.equal(cliError(reg.json).code, 'ERR_TPM_RC', JSON.stringify(reg.json));
      assert.equal((await http('GET', '/v1/attesters/svsm-b', undefined, AUTH)).status, 404);
      // Guessing instead spends the challenge: ERR_CREDENTIAL_MISMATCH.
      const guess = await http('POST', '/v1/attesters/svsm-b/activate', {
        secret: randomBytes(32).toString('hex'),
      });
      assert.equal(errorOf(guess.json).code, 'ERR_CREDENTIAL_MISMATCH');
      assert.equal((await http('GET', '/v1/attesters/svsm-b', undefined, AUTH)).status, 404);
    } finally {
      await other.stop();
    }
  });

  test('offline: a TPM quote beside an SVSM report is not trusted for it (ERR_UNTRUSTED_KEY); pinned, it verifies', async () => {
    const nonce = randomBytes(32).toString('hex');
    const q = await tpmCli(['report', '--provider', 'tpm', '--ak', at('ak.blob'), '--nonce', nonce, '--out', at('q-off.json')]); // prettier-ignore
    assert.equal(q.result.code, 0, q.result.stderr);
    const quote = JSON.parse(readFileSync(at('q-off.json'), 'utf8')) as {
      parts: Record<string, string>;
    };
    const svsm = await svsmReport(tvm, nonce, at('svsm-off.json'));
    writeFileSync(
      at('q-svsm.json'),
      JSON.stringify({
        ...quote,
        parts: {
          ...quote.parts,
          svsm_report: svsm['outblob'] as string,
          manifestblob: svsm['manifestblob'] as string,
        },
      }),
    );
    const v = await runCliJson(['evidence', 'verify', at('q-svsm.json'), '--nonce', nonce, '--trust-emulated', '--tvm-state', tvm, '--json']); // prettier-ignore
    assert.equal(v.result.code, 1, v.result.stdout);
    const j = v.json as EvidenceVerifyJson;
    assert.equal(j.verified, false);
    assert.equal(j.checks['quote_signature'], 'ok');
    assert.equal(j.checks['ak_trust'], 'failed');
    const e: Record<string, unknown> = j.errors.find((x) => x.check === 'ak_trust') ?? {};
    assert.equal(e['code'], 'ERR_UNTRUSTED_KEY');
    assert.equal(e['svsm_report'], 'vouches-for-ek-only');
    // Control: the same envelope with the AK pinned by the caller verifies.
    writeFileSync(at('ak.pub'), Buffer.from(quote.parts['ak_public']!, 'hex'));
    const pinned = await runCliJson(['evidence', 'verify', at('q-svsm.json'), '--nonce', nonce, '--ak', at('ak.pub'), '--trust-emulated', '--tvm-state', tvm, '--json']); // prettier-ignore
    assert.equal(pinned.result.code, 0, JSON.stringify((pinned.json as EvidenceVerifyJson).errors));
    assert.equal((pinned.json as EvidenceVerifyJson).checks['ak_trust'], 'ok');
  });
});
