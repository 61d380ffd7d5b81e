/**
 * The built CLI against swtpm: `mr … --provider tpm --swtpm`, `report --provider tpm` +
 * `evidence verify`, `tpm ek|ak|activate`, a TPM error reaching the CLI as its TPM_RC name with
 * exit code 3, and `tpm swtpm start` starting and stopping swtpm.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  cliError,
  evidenceVerifyArgs,
  runCli,
  runCliJson,
  verifyEvidenceJson,
  type CliResult,
  type EvidenceVerifyJson,
} from '../../_support/cli.js';
import { CLI_PATH } from '../../_support/paths.js';
import { runTool } from '../../_support/peers.js';
import { parsePcrreadYaml, startSwtpmFixture, type SwtpmFixture } from './swtpm_fixture.js';

let fx: SwtpmFixture;
before(async () => {
  fx = await startSwtpmFixture();
});
after(async () => {
  await fx.stop();
});
/** `--swtpm <fixture> --json`, for the `tpm …` commands. */
const swtpmArgs = (): string[] => ['--swtpm', fx.address, '--json'];
/** The same with `--provider tpm`, for `mr …` and `report`. */
const tpmArgs = (): string[] => ['--provider', 'tpm', ...swtpmArgs()];

test('mr extend/read --provider tpm: the new values equal tpm2_pcrread in every bank', async () => {
  const { result, json } = await runCliJson([
    'mr',
    'extend',
    'pcr12',
    '--text',
    'cli event',
    ...tpmArgs(),
  ]);
  assert.equal(result.code, 0, result.stderr);
  const banks = (json as { banks: { alg: string; old: string; new: string }[] }).banks;
  assert.equal(banks.length, 3);
  const y = parsePcrreadYaml(fx.tool('tpm2_pcrread', ['sha1:12+sha256:12+sha384:12']));
  for (const b of banks) {
    const ev = createHash(b.alg).update('cli event').digest();
    const expect = createHash(b.alg).update(Buffer.from(b.old, 'hex')).update(ev).digest('hex');
    assert.equal(b.new, expect);
    assert.equal(y.get(b.alg)?.get(12), b.new);
  }
  const read = await runCliJson(['mr', 'read', 'pcr12:sha384', ...tpmArgs()]);
  assert.equal((read.json as { value: string }).value, y.get('sha384')?.get(12));
});

test('report --provider tpm, then evidence verify: the envelope AK alone is untrusted (exit 1); pinned with --ak: verified; another nonce: exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-tpmcli-'));
  try {
    const out = join(dir, 'rep.json');
    const r = await runCli(['report', '--nonce', 'a1b2c3', '--out', out, ...tpmArgs()]);
    assert.equal(r.code, 0, r.stderr);
    // DESIGN §6.1: the AK the envelope carries vouches for nothing by itself.
    const alone = await verifyEvidenceJson(out, { nonce: 'a1b2c3' });
    assert.equal(alone.result.code, 1, alone.result.stdout);
    assert.equal(alone.json.checks['quote_signature'], 'ok');
    assert.equal(alone.json.checks['ak_trust'], 'failed');
    assert.deepEqual(
      alone.json.errors.map((e) => e.code),
      ['ERR_UNTRUSTED_KEY'],
    );
    // The caller pins the AK. Here the test plays a caller that learned it out of band (in a
    // deployment: credential activation against the EK, issue #14), so the bytes are the
    // envelope's — the point is that the same bytes verify only once the caller pins them.
    const env = JSON.parse(readFileSync(out, 'utf8')) as { parts: { ak_public: string } };
    const akFile = join(dir, 'ak.tpmt');
    writeFileSync(akFile, Buffer.from(env.parts.ak_public, 'hex'));
    const v = await runCliJson([
      ...evidenceVerifyArgs(out, { nonce: 'a1b2c3' }),
      '--ak',
      akFile,
      '--json',
    ]);
    assert.equal(v.result.code, 0, v.result.stdout);
    const j = v.json as EvidenceVerifyJson;
    assert.equal(j.kind, 'tpm');
    assert.equal((j.claims['ak_trust'] as { reason: string }).reason, 'pinned');
    const bad = await runCliJson([
      ...evidenceVerifyArgs(out, { nonce: 'ffff' }),
      '--ak',
      akFile,
      '--json',
    ]);
    assert.equal(bad.result.code, 1);
    assert.deepEqual(
      (bad.json as EvidenceVerifyJson).errors.map((e) => e.code),
      ['ERR_NONCE_MISMATCH'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tpm ek --alg ecc --cert on a TPM without an ECC EK certificate says so (ERR_NOT_FOUND, exit 2)', async () => {
  // The fixture's swtpm_setup writes no ECC P-256 EK certificate at 0x01C0000A: NV_ReadPublic
  // answers TPM_RC_HANDLE, which the CLI names instead of printing the raw response code.
  const { result, json } = await runCliJson([
    'tpm',
    'ek',
    '--alg',
    'ecc',
    '--cert',
    ...swtpmArgs(),
  ]);
  assert.equal(result.code, 2);
  const e = cliError(json);
  assert.equal(e.code, 'ERR_NOT_FOUND');
  assert.equal(e['nv_index'], '0x1c0000a');
  assert.equal(e['tpm_rc'], 'TPM_RC_HANDLE');
  const plain = await runCli(['tpm', 'ek', '--alg', 'ecc', '--cert', '--swtpm', fx.address]);
  assert.equal(plain.code, 2);
  assert.match(
    plain.stderr,
    /^mrstack: ERR_NOT_FOUND: this TPM holds no ECC EK certificate: NV index 0x1C0000A is not defined/,
  );
});

test('tpm ek --cert, tpm ak create, ak make-credential, activate: the secret comes back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-tpmcli-'));
  try {
    const ek = await runCliJson([
      'tpm',
      'ek',
      '--cert',
      '--pem-out',
      join(dir, 'ek.pem'),
      '--cert-out',
      join(dir, 'ek.der'),
      ...swtpmArgs(),
    ]);
    assert.equal(ek.result.code, 0, ek.result.stderr);
    const cert = (
      ek.json as {
        certificate: { certifies_ek: boolean; serial: string; not_after: string; subject: string };
      }
    ).certificate;
    assert.equal(cert.certifies_ek, true);
    // The fields as openssl reads the certificate swtpm_setup made.
    const x509 = (...args: string[]): string =>
      runTool('openssl', ['x509', '-inform', 'DER', '-in', join(dir, 'ek.der'), '-noout', ...args])
        .toString()
        .trim();
    assert.equal(
      cert.serial,
      x509('-serial')
        .replace(/^serial=0*/, '')
        .toLowerCase(),
    );
    assert.equal(
      Date.parse(cert.not_after),
      Date.parse(x509('-enddate').replace(/^notAfter=/, '')),
    );
    // openssl and the EK's own public key: the certificate's key is the EK's.
    const certKey = runTool('openssl', [
      'x509',
      '-inform',
      'DER',
      '-in',
      join(dir, 'ek.der'),
      '-noout',
      '-pubkey',
    ]).toString();
    assert.equal(certKey.trim(), readFileSync(join(dir, 'ek.pem'), 'utf8').trim());
    const ak = await runCliJson([
      'tpm',
      'ak',
      'create',
      '--out',
      join(dir, 'ak.blob'),
      '--public-out',
      join(dir, 'ak.pub'),
      ...swtpmArgs(),
    ]);
    assert.equal(ak.result.code, 0, ak.result.stderr);
    const name = (ak.json as { name: string }).name;
    // The secret sealed to the EK for an AK name, then unsealed by the TPM holding that AK.
    const makeCredential = (akName: string, out: string): Promise<CliResult> =>
      runCli([
        'tpm',
        'ak',
        'make-credential',
        '--ek',
        join(dir, 'ek.pem'),
        '--ak-name',
        akName,
        '--secret',
        'c0ffee00',
        '--out',
        out,
      ]);
    const activate = (credential: string): ReturnType<typeof runCliJson> =>
      runCliJson([
        'tpm',
        'activate',
        '--ak',
        join(dir, 'ak.blob'),
        '--credential',
        credential,
        ...swtpmArgs(),
      ]);
    const mk = await makeCredential(name, join(dir, 'cred.json'));
    assert.equal(mk.code, 0, mk.stderr);
    const act = await activate(join(dir, 'cred.json'));
    assert.equal(act.result.code, 0, act.result.stderr);
    assert.equal((act.json as { secret: string }).secret, 'c0ffee00');

    // The activated AK quotes (not an ephemeral one), over the PCRs asked for; its public part,
    // as `tpm ak create` wrote it, pinned with --ak, verifies the quote.
    const quote = join(dir, 'quote.json');
    const rep = await runCli([
      'report', '--provider', 'tpm', '--swtpm', fx.address, '--ak', join(dir, 'ak.blob'),
      '--pcr-list', 'sha256:0,1,7+sha1:10', '--nonce', '5eed', '--out', quote,
    ]); // prettier-ignore
    assert.equal(rep.code, 0, rep.stderr);
    const env = JSON.parse(readFileSync(quote, 'utf8')) as { parts: { ak_public: string } };
    assert.equal(env.parts.ak_public, readFileSync(join(dir, 'ak.pub')).toString('hex'));
    const v = await runCliJson([
      ...evidenceVerifyArgs(quote, { nonce: '5eed' }),
      '--ak',
      join(dir, 'ak.pub'),
      '--json',
    ]);
    assert.equal(v.result.code, 0, v.result.stdout);
    const vj = v.json as EvidenceVerifyJson;
    assert.equal((vj.claims['ak_trust'] as { reason: string }).reason, 'pinned');
    // The quoted selection is the one asked for, and its values are the TPM's (tpm2_pcrread).
    const y = parsePcrreadYaml(fx.tool('tpm2_pcrread', ['sha256:0,1,7+sha1:10']));
    const pcrs = vj.claims['pcrs'] as Record<string, Record<string, string>>;
    assert.deepEqual(Object.keys(pcrs).sort(), ['sha1', 'sha256']);
    assert.deepEqual(Object.keys(pcrs['sha256']!).sort(), ['pcr0', 'pcr1', 'pcr7']);
    assert.equal(pcrs['sha1']!['pcr10'], y.get('sha1')?.get(10));
    assert.equal(pcrs['sha256']!['pcr7'], y.get('sha256')?.get(7));
    // A quote by another AK of the same TPM does not verify with this AK pinned.
    const eph = join(dir, 'eph.json');
    assert.equal((await runCli(['report', '--nonce', '5eed', '--out', eph, ...tpmArgs()])).code, 0);
    const no2 = await runCliJson([
      ...evidenceVerifyArgs(eph, { nonce: '5eed' }),
      '--ak',
      join(dir, 'ak.pub'),
      '--json',
    ]);
    assert.equal(no2.result.code, 1);
    // A credential for another name does not activate: TPM_RC_INTEGRITY, exit 3.
    const other = '000b' + '11'.repeat(32);
    await makeCredential(other, join(dir, 'bad.json'));
    const no = await activate(join(dir, 'bad.json'));
    assert.equal(no.result.code, 3);
    assert.equal(cliError(no.json)['tpm_rc'], 'TPM_RC_INTEGRITY');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report --ak HANDLE: an AK that tpm2-tools made and persisted quotes; pinned as tpm2_readpublic prints it, the quote verifies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-tpmcli-'));
  try {
    // tpm2-tools make the AK (under the EK, ECDSA P-256/SHA-256) and persist it at 0x81010002;
    // its public key as tpm2-tools print it (PEM) is what the verifier pins.
    fx.tool('tpm2_createek', ['-c', join(dir, 'ek.ctx'), '-G', 'rsa', '-u', join(dir, 'ek.pub')]);
    fx.tool('tpm2_createak', [
      '-C', join(dir, 'ek.ctx'), '-c', join(dir, 'ak.ctx'), '-G', 'ecc', '-g', 'sha256',
      '-s', 'ecdsa', '-u', join(dir, 'ak.pub'),
    ]); // prettier-ignore
    fx.tool('tpm2_evictcontrol', ['-C', 'o', '-c', join(dir, 'ak.ctx'), '0x81010002']);
    fx.tool('tpm2_readpublic', ['-c', '0x81010002', '-f', 'pem', '-o', join(dir, 'ak.pem')]);
    const quote = join(dir, 'quote.json');
    const rep = await runCli([
      'report', '--provider', 'tpm', '--swtpm', fx.address, '--ak', '0x81010002',
      '--pcr-list', 'sha256:0,7', '--nonce', '5eed', '--out', quote,
    ]); // prettier-ignore
    assert.equal(rep.code, 0, rep.stderr);
    const v = await runCliJson([
      ...evidenceVerifyArgs(quote, { nonce: '5eed' }),
      '--ak',
      join(dir, 'ak.pem'),
      '--json',
    ]);
    assert.equal(v.result.code, 0, v.result.stdout);
    const vj = v.json as EvidenceVerifyJson;
    assert.equal((vj.claims['ak_trust'] as { reason: string }).reason, 'pinned');
    // The quote names its signer (TPMS_ATTEST.qualifiedSigner): the AK's qualified name as
    // tpm2_readpublic prints it for the handle.
    const qn = /qualified name: ([0-9a-f]+)/.exec(fx.tool('tpm2_readpublic', ['-c', '0x81010002']));
    assert.equal(vj.claims['qualified_signer'], qn?.[1]);
    const y = parsePcrreadYaml(fx.tool('tpm2_pcrread', ['sha256:0,7']));
    const pcrs = vj.claims['pcrs'] as Record<string, Record<string, string>>;
    assert.equal(pcrs['sha256']!['pcr7'], y.get('sha256')?.get(7));
    // The persistent AK is still there afterwards (mrstack flushes only what it loaded).
    assert.match(fx.tool('tpm2_getcap', ['handles-persistent']), /0x81010002/);

    // Nothing at the handle: ERR_NOT_FOUND; the EK swtpm_setup persisted (a decryption key):
    // not an AK; a transient handle: not persistent. None reaches the TPM's quote.
    const nothing = await runCliJson([
      'report', '--ak', '0x81010009', '--nonce', '5eed', ...tpmArgs(),
    ]); // prettier-ignore
    assert.equal(nothing.result.code, 2);
    assert.equal(cliError(nothing.json).code, 'ERR_NOT_FOUND');
    const persistent = parsePersistent(fx.tool('tpm2_getcap', ['handles-persistent']));
    const ek = persistent.find((h) => h !== '0x81010002')!;
    const attrs = fx.tool('tpm2_readpublic', ['-c', ek]);
    assert.match(attrs, /decrypt/);
    const notAk = await runCliJson(['report', '--ak', ek, '--nonce', '5eed', ...tpmArgs()]);
    assert.equal(notAk.result.code, 2);
    assert.match(cliError(notAk.json)['message'] as string, /is not an attestation key/);
    const transient = await runCliJson([
      'report', '--ak', '0x80000000', '--nonce', '5eed', ...tpmArgs(),
    ]); // prettier-ignore
    assert.equal(transient.result.code, 2);
    assert.match(cliError(transient.json)['message'] as string, /not a persistent handle/);
  } finally {
    fx.tool('tpm2_evictcontrol', ['-C', 'o', '-c', '0x81010002']);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The handles of `tpm2_getcap handles-persistent` (a YAML list). */
function parsePersistent(text: string): string[] {
  return [...text.matchAll(/^- (0x[0-9a-f]+)$/gim)].map((m) => m[1]!.toLowerCase());
}

test('tpm swtpm start prints its address, serves tpm2-tools-compatible commands, stops on SIGINT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-tpmcli-'));
  const child = spawn(
    process.execPath,
    [CLI_PATH, 'tpm', 'swtpm', 'start', '--state', join(dir, 'st'), '--json'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    let out = '';
    const info = await new Promise<{ address: string }>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        try {
          resolve(JSON.parse(out) as { address: string });
        } catch {
          /* more to come */
        }
      });
      child.once('exit', (c) => reject(new Error(`exited ${String(c)}`)));
    });
    const r = await runCliJson([
      'mr',
      'read',
      'pcr0:sha256',
      '--provider',
      'tpm',
      '--swtpm',
      info.address,
      '--json',
    ]);
    assert.equal((r.json as { value: string }).value, '00'.repeat(32));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    const [host, port] = [
      info.address.slice(0, info.address.lastIndexOf(':')),
      Number(info.address.slice(info.address.lastIndexOf(':') + 1)),
    ];
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    assert.equal(refused, true, 'swtpm stopped with the command');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
