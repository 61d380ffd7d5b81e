// Attester registration by TPM credential activation, against a real swtpm and through the
// built CLI: swtpm_setup manufactures the TPM with an EK certificate from swtpm's local CA, and
// `mrstack verifier serve --tpm-ca` trusts that CA's root. `mrstack verifier register` sends the
// EK certificate and the AK, the verifier answers with a MakeCredential challenge, the TPM
// recovers the secret with ActivateCredential and the AK is registered. A quote by that AK in a
// session for the attester then verifies with the registered AK; a quote by another AK of the
// same TPM, a bare EK not on the allowlist, an AK with the decrypt attribute and a wrong secret
// are each refused with their own code. tpm2-tools cross-check the challenge: the verifier's
// credential is activated by `tpm2_activatecredential` for an AK tpm2_createak made.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliError, runCliJson } from '../../_support/cli.js';
import { startSwtpmFixture, type SwtpmFixture } from '../tpm/swtpm_fixture.js';
import {
  startVerifier,
  verifierHttp,
  type ServedVerifier,
} from '../../_support/verifier_service.js';

const root = mkdtempSync(join(tmpdir(), 'mrstack-reg-'));
const KEK = randomBytes(32).toString('hex');
const TOKEN = randomBytes(16).toString('hex');
const ENV = { MRSTACK_VERIFIER_KEK: KEK, MRSTACK_VERIFIER_ADMIN_TOKEN: TOKEN };
const AUTH = { authorization: `Bearer ${TOKEN}` };
const at = (f: string): string => join(root, f);

let fx: SwtpmFixture;
let svc: ServedVerifier;
let url = '';

function http(
  method: string,
  path: string,
  body?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  return verifierHttp(url, method, path, body, headers);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const errCode = (j: Record<string, unknown>): string =>
  (j['error'] as { code: string } | undefined)?.code ?? '';
/** The first verification error of a result (the AK refusal leads them). */
const unregisteredCode = (r: Record<string, unknown>): string =>
  (r['errors'] as { code: string }[])[0]?.code ?? '';
/** The first finding of a result's appraisal. */
const firstFinding = (
  r: Record<string, unknown>,
): { id: string; status: string; actual?: unknown } =>
  (r['appraisal'] as { findings: { id: string; status: string; actual?: unknown }[] }).findings[0]!;

/** `mrstack … --swtpm ADDR`: swtpm serves one client at a time, and each CLI run is one. */
function tpmCli(args: string[]): ReturnType<typeof runCliJson> {
  return runCliJson([...args, '--swtpm', fx.address, '--json'], { env: ENV });
}

before(async () => {
  fx = await startSwtpmFixture();
  const ca = join(fx.sw.stateDir, 'ca');
  // The EK allowlist names the RSA EK by the SHA-256 of its SPKI, computed by openssl from the
  // public key tpm2_createek printed (not by mrstack).
  fx.tool('tpm2_createek', ['-c', 'ek-rsa.ctx', '-G', 'rsa', '-u', 'ek-rsa.pem', '-f', 'pem']);
  const spki = execFileSync('openssl', [
    'pkey',
    '-pubin',
    '-in',
    join(fx.dir, 'ek-rsa.pem'),
    '-outform',
    'der',
  ]);
  writeFileSync(
    at('allow.txt'),
    `# the RSA EK of the test swtpm\n${createHash('sha256').update(spki).digest('hex')}\n`,
  );
  svc = await startVerifier(
    [
      '--listen',
      '127.0.0.1:0',
      '--store',
      `embedded:${at('store')}`,
      '--tpm-ca',
      join(ca, 'swtpm-localca-rootca-cert.pem'),
      '--ek-allowlist',
      at('allow.txt'),
    ],
    ENV,
  );
  url = svc.url;
});

after(async () => {
  await svc.stop();
  await fx.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('registration through `mrstack verifier register`', () => {
  let akName = '';

  test('EK certificate (swtpm local CA) → challenge → ActivateCredential → AK registered', async () => {
    const ak = await tpmCli(['tpm', 'ak', 'create', '--out', at('ak.blob')]);
    assert.equal(ak.result.code, 0, ak.result.stderr);
    akName = (ak.json as { name: string }).name;
    const reg = await tpmCli([
      'verifier',
      'register',
      '--verifier',
      url,
      '--ak',
      at('ak.blob'),
      '--ek-chain',
      join(fx.sw.stateDir, 'ca', 'issuercert.pem'),
      '--attester',
      'tpm-a',
    ]);
    assert.equal(reg.result.code, 0, reg.result.stderr + reg.result.stdout);
    const r = reg.json as Record<string, unknown>;
    assert.equal(r['registered'], true);
    assert.equal(r['attester_id'], 'tpm-a');
    assert.deepEqual(r['relaxed'], []);
    const got = await http('GET', '/v1/attesters/tpm-a', undefined, AUTH);
    assert.equal(got.status, 200);
    assert.equal(got.json['ek_certificate'], true);
    assert.equal(got.json['ek_trust'], 'certificate');
    const keys = got.json['keys'] as { ak_name: string }[];
    // The name the verifier registered is the one the TPM reported when it made the AK.
    assert.equal(r['ak_name'], akName);
    assert.deepEqual(
      keys.map((k) => k.ak_name),
      [akName],
    );
  });
  test('a quote by the registered AK, in a session for the attester, verifies with that AK', async () => {
    const ch = await http('POST', '/v1/sessions', { attester_id: 'tpm-a' });
    assert.equal(ch.status, 201);
    const nonce = ch.json['nonce'] as string;
    const q = await tpmCli([
      'report',
      '--provider',
      'tpm',
      '--ak',
      at('ak.blob'),
      '--nonce',
      nonce,
      '--out',
      at('q1.json'),
    ]);
    assert.equal(q.result.code, 0, q.result.stderr);
    const sub = await runCliJson(
      [
        'verifier',
        'submit',
        at('q1.json'),
        '--verifier',
        url,
        '--session',
        ch.json['id'] as string,
      ],
      { env: ENV },
    );
    const r = sub.json as Record<string, unknown>;
    assert.equal(r['verified'], true, JSON.stringify(r));
    assert.equal(r['attester_id'], 'tpm-a');
    assert.deepEqual(r['ak'], {
      reason: 'registered',
      attester_id: 'tpm-a',
      ak_name: akName,
      matches_evidence: true,
      // The EK the AK was activated against was trusted by its certificate (swtpm's local CA).
      ek_trust: 'certificate',
    });
  });

  test('a quote by another AK of the same TPM is refused in a session for the attester', async () => {
    const ak2 = await tpmCli(['tpm', 'ak', 'create', '--out', at('ak2.blob')]);
    assert.equal(ak2.result.code, 0, ak2.result.stderr);
    const ch = await http('POST', '/v1/sessions', { attester_id: 'tpm-a' });
    const q = await tpmCli([
      'report',
      '--provider',
      'tpm',
      '--ak',
      at('ak2.blob'),
      '--nonce',
      ch.json['nonce'] as string,
      '--out',
      at('q2.json'),
    ]);
    assert.equal(q.result.code, 0, q.result.stderr);
    const sub = await runCliJson(
      [
        'verifier',
        'submit',
        at('q2.json'),
        '--verifier',
        url,
        '--session',
        ch.json['id'] as string,
      ],
      { env: ENV },
    );
    assert.equal(sub.result.code, 1);
    const r = sub.json as Record<string, unknown>;
    assert.equal(r['verified'], false);
    assert.equal(r['passed'], false);
    assert.equal(r['status'], 'contraindicated');
    // Refused as an AK the attester did not register: its own code and finding, naming the
    // quote's AK (the name the TPM reported when it made ak2) and the registered one.
    const ak2Name = (ak2.json as { name: string }).name;
    assert.equal(unregisteredCode(r), 'ERR_AK_UNREGISTERED');
    assert.deepEqual(r['ak'], {
      reason: 'not-this-attesters',
      attester_id: 'tpm-a',
      ak_name: ak2Name,
      registered: [akName],
    });
    const f = firstFinding(r);
    assert.equal(f.id, 'tpm.ak.unregistered');
    assert.equal(f.status, 'contraindicated');
    assert.equal(f.actual, ak2Name);
    const stored = await http('GET', '/v1/results?attester=tpm-a&limit=1', undefined, AUTH);
    const results = stored.json['results'] as { passed: boolean; status: string }[];
    assert.equal(results[0]!.passed, false);
    assert.equal(results[0]!.status, 'contraindicated');
  });

  test('a quote by an AK nobody registered (no AK certificate) is refused: ERR_AK_UNREGISTERED', async () => {
    // ak2 was made on the same TPM but never registered; a session for nobody.
    const ch = await http('POST', '/v1/sessions', {});
    const q = await tpmCli([
      'report',
      '--provider',
      'tpm',
      '--ak',
      at('ak2.blob'),
      '--nonce',
      ch.json['nonce'] as string,
      '--out',
      at('q4.json'),
    ]);
    assert.equal(q.result.code, 0, q.result.stderr);
    const sub = await runCliJson(
      [
        'verifier',
        'submit',
        at('q4.json'),
        '--verifier',
        url,
        '--session',
        ch.json['id'] as string,
      ],
      { env: ENV },
    );
    assert.equal(sub.result.code, 1);
    const r = sub.json as Record<string, unknown>;
    assert.equal(r['verified'], false);
    assert.equal(r['status'], 'contraindicated');
    assert.equal(unregisteredCode(r), 'ERR_AK_UNREGISTERED');
    assert.equal((r['ak'] as { reason: string }).reason, 'not-registered');
    assert.equal(firstFinding(r).id, 'tpm.ak.unregistered');
    // The registered AK in a session for nobody is still recognised as tpm-a's.
    const ch2 = await http('POST', '/v1/sessions', {});
    const q2 = await tpmCli([
      'report',
      '--provider',
      'tpm',
      '--ak',
      at('ak.blob'),
      '--nonce',
      ch2.json['nonce'] as string,
      '--out',
      at('q5.json'),
    ]);
    assert.equal(q2.result.code, 0, q2.result.stderr);
    const ok = await runCliJson(
      [
        'verifier',
        'submit',
        at('q5.json'),
        '--verifier',
        url,
        '--session',
        ch2.json['id'] as string,
      ],
      { env: ENV },
    );
    const r2 = ok.json as Record<string, unknown>;
    assert.equal(r2['verified'], true, JSON.stringify(r2));
    assert.equal(r2['attester_id'], 'tpm-a');
    assert.deepEqual(r2['errors'], []);
  });

  test('a bare EK public not on the allowlist is refused (ECC EK); the allowlisted RSA EK is accepted and relaxed', async () => {
    const ecc = await tpmCli([
      'verifier',
      'register',
      '--verifier',
      url,
      '--ak',
      at('ak.blob'),
      '--no-ek-cert',
      '--ek-alg',
      'ecc',
      '--attester',
      'tpm-ecc',
    ]);
    assert.equal(ecc.result.code, 1, ecc.result.stderr);
    assert.equal(cliError(ecc.json).code, 'ERR_UNTRUSTED_KEY');
    assert.equal((await http('GET', '/v1/attesters/tpm-ecc', undefined, AUTH)).status, 404);

    const rsa = await tpmCli([
      'verifier',
      'register',
      '--verifier',
      url,
      '--ak',
      at('ak.blob'),
      '--no-ek-cert',
      '--attester',
      'tpm-bare',
    ]);
    assert.equal(rsa.result.code, 0, rsa.result.stderr + rsa.result.stdout);
    assert.deepEqual((rsa.json as Record<string, unknown>)['relaxed'], ['unverified-ek']);
    const got = await http('GET', '/v1/attesters/tpm-bare', undefined, AUTH);
    assert.equal(got.json['ek_certificate'], false);
    assert.equal(got.json['ek_trust'], 'allowlist');
    assert.deepEqual(got.json['relaxed'], ['unverified-ek']);
    // Its results carry the relaxation, so they can never advance a checkpoint.
    const ch = await http('POST', '/v1/sessions', { attester_id: 'tpm-bare' });
    const q = await tpmCli([
      'report',
      '--provider',
      'tpm',
      '--ak',
      at('ak.blob'),
      '--nonce',
      ch.json['nonce'] as string,
      '--out',
      at('q3.json'),
    ]);
    assert.equal(q.result.code, 0, q.result.stderr);
    const sub = await runCliJson(
      [
        'verifier',
        'submit',
        at('q3.json'),
        '--verifier',
        url,
        '--session',
        ch.json['id'] as string,
      ],
      { env: ENV },
    );
    const r = sub.json as Record<string, unknown>;
    assert.equal(r['verified'], true, JSON.stringify(r));
    assert.ok((r['relaxed'] as string[]).includes('unverified-ek'));
    // DELETE removes it with its keys.
    assert.equal((await http('DELETE', '/v1/attesters/tpm-bare', undefined, AUTH)).status, 204);
    assert.equal((await http('GET', '/v1/attesters/tpm-bare', undefined, AUTH)).status, 404);
    assert.equal((await http('DELETE', '/v1/attesters/tpm-bare', undefined, AUTH)).status, 404);
  });
});

describe('registration over the API, cross-checked with tpm2-tools', () => {
  let ekCert = '';
  let chain = '';

  before(async () => {
    const ek = await tpmCli(['tpm', 'ek', '--cert', '--cert-out', at('ek.der')]);
    assert.equal(ek.result.code, 0, ek.result.stderr);
    ekCert = hex(readFileSync(at('ek.der')));
    chain = hex(readFileSync(join(fx.sw.stateDir, 'ca', 'issuercert.pem')));
  });

  test('an AK with the decrypt attribute (made by tpm2_create) is refused: ERR_AK_ATTRIBUTES', async () => {
    fx.tool('tpm2_createprimary', ['-C', 'o', '-c', 'prim.ctx']);
    fx.tool('tpm2_create', [
      '-C',
      'prim.ctx',
      '-G',
      'ecc',
      '-a',
      'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign|decrypt',
      '-u',
      'dec.pub',
      '-r',
      'dec.priv',
    ]);
    const r = await http('POST', '/v1/attesters', {
      ek_cert: ekCert,
      ek_chain: [chain],
      ak_public: hex(readFileSync(join(fx.dir, 'dec.pub'))),
    });
    assert.equal(r.status, 422, JSON.stringify(r.json));
    assert.equal(errCode(r.json), 'ERR_AK_ATTRIBUTES');
    const details = r.json['error'] as { missing: string[]; forbidden: string[] };
    assert.deepEqual(details.forbidden, ['decrypt']);
    assert.deepEqual(details.missing, ['restricted']);
  });

  test('an EK certificate without its issuer, or a swapped key, is refused', async () => {
    fx.tool('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
    fx.tool('tpm2_createak', [
      '-C',
      'ek.ctx',
      '-c',
      'ak.ctx',
      '-G',
      'ecc',
      '-g',
      'sha256',
      '-s',
      'ecdsa',
      '-u',
      'ak.pub',
      '-n',
      'ak.name',
    ]);
    const akPub = hex(readFileSync(join(fx.dir, 'ak.pub')));
    const noIssuer = await http('POST', '/v1/attesters', { ek_cert: ekCert, ak_public: akPub });
    assert.equal(noIssuer.status, 422);
    assert.equal(errCode(noIssuer.json), 'ERR_CHAIN_INVALID');
    // The certified EK with another EK public beside it: the challenge would be sealed to a key
    // the certificate does not vouch for.
    fx.tool('tpm2_createek', ['-c', 'ek-ecc.ctx', '-G', 'ecc', '-u', 'ek-ecc.pub']);
    const swapped = await http('POST', '/v1/attesters', {
      ek_cert: ekCert,
      ek_chain: [chain],
      ek_public: hex(readFileSync(join(fx.dir, 'ek-ecc.pub'))),
      ak_public: akPub,
    });
    assert.equal(swapped.status, 422);
    assert.equal(errCode(swapped.json), 'ERR_BINDING_MISMATCH');
  });

  /** tpm2-tools' credential file: magic, version, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET. */
  function credentialFile(blob: string, secret: string): Buffer {
    const b = Buffer.from(blob, 'hex');
    const s = Buffer.from(secret, 'hex');
    const head = Buffer.alloc(8);
    head.writeUInt32BE(0xbadcc0de, 0);
    head.writeUInt32BE(1, 4);
    const len = (n: number): Buffer => {
      const l = Buffer.alloc(2);
      l.writeUInt16BE(n);
      return l;
    };
    return Buffer.concat([head, len(b.length), b, len(s.length), s]);
  }

  /** tpm2_activatecredential with the EK's PolicySecret(endorsement) session. */
  function tpm2Activate(blob: string, secret: string, out: string): Uint8Array {
    writeFileSync(join(fx.dir, 'cred.in'), credentialFile(blob, secret));
    fx.tool('tpm2_startauthsession', ['--policy-session', '-S', 'session.ctx']);
    fx.tool('tpm2_policysecret', ['-S', 'session.ctx', '-c', 'e']);
    fx.tool('tpm2_activatecredential', [
      '-c',
      'ak.ctx',
      '-C',
      'ek.ctx',
      '-i',
      'cred.in',
      '-o',
      out,
      '-P',
      'session:session.ctx',
    ]);
    fx.tool('tpm2_flushcontext', ['session.ctx']);
    return new Uint8Array(readFileSync(join(fx.dir, out)));
  }

  test("tpm2_activatecredential recovers the verifier's secret; a wrong secret spends the challenge", async () => {
    const akPub = hex(readFileSync(join(fx.dir, 'ak.pub')));
    // The AK name the verifier binds the challenge to is the one tpm2_createak printed.
    const tpmName = hex(readFileSync(join(fx.dir, 'ak.name')));
    const first = await http('POST', '/v1/attesters', {
      attester_id: 'tools',
      ek_cert: ekCert,
      ek_chain: [chain],
      ak_public: akPub,
    });
    assert.equal(first.status, 201, JSON.stringify(first.json));
    assert.equal(first.json['ak_name'], tpmName);
    const wrong = await http('POST', '/v1/attesters/tools/activate', {
      registration_id: first.json['registration_id'],
      secret: randomBytes(32).toString('hex'),
    });
    assert.equal(wrong.status, 422);
    assert.equal(errCode(wrong.json), 'ERR_CREDENTIAL_MISMATCH');
    // The right secret, recovered by the TPM through tpm2-tools, now finds the challenge spent.
    const right = tpm2Activate(
      first.json['credential_blob'] as string,
      first.json['secret'] as string,
      'secret1.out',
    );
    const late = await http('POST', '/v1/attesters/tools/activate', {
      registration_id: first.json['registration_id'],
      secret: hex(right),
    });
    assert.equal(late.status, 409);
    assert.equal(errCode(late.json), 'ERR_NONCE_REUSED');
    assert.equal((await http('GET', '/v1/attesters/tools', undefined, AUTH)).status, 404);

    // A fresh challenge, answered with what tpm2_activatecredential recovers (no registration
    // id: the attester's pending challenge is used): registered.
    const second = await http('POST', '/v1/attesters', {
      attester_id: 'tools',
      ek_cert: ekCert,
      ek_chain: [chain],
      ak_public: akPub,
    });
    assert.equal(second.status, 201);
    const secret = tpm2Activate(
      second.json['credential_blob'] as string,
      second.json['secret'] as string,
      'secret2.out',
    );
    assert.equal(secret.length, 32);
    const ok = await http('POST', '/v1/attesters/tools/activate', { secret: hex(secret) });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json['registered'], true);
    const got = await http('GET', '/v1/attesters/tools', undefined, AUTH);
    assert.deepEqual(
      (got.json['keys'] as { ak_name: string }[]).map((k) => k.ak_name),
      [tpmName],
    );
    // Admin routes need the token.
    assert.equal((await http('GET', '/v1/attesters/tools')).status, 403);
  });
});
