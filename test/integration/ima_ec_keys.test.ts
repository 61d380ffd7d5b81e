// EC IMA signing keys (issue 13/18): the key id of an EC key without a subjectKeyIdentifier, and
// an EC certificate loaded through the `.ima` keyring as an RSA one is.
//
// The key id evmctl writes into a signature v2 header (libimaevm calc_keyid_v2) is the last 4
// bytes of SHA-1 over the key's subjectPublicKey bits — for EC the point 04‖X‖Y, not the whole
// SubjectPublicKeyInfo. Here openssl makes the key and a certificate with no
// subjectKeyIdentifier, evmctl signs, openssl computes the SHA-1 of the point, and mrstack must
// agree with both and with `evmctl ima_measurement --verify-sig`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliJson } from '../_support/cli.js';
import { tempDir } from '../_support/tmp.js';
import { imaKeyidOfKey } from '../../src/verifier/verify/ima_signature.js';
import { encodeImaBinary } from '../../src/formats/ima/ima_binary.js';
import { imaEntry, ngName, ngSha256 } from '../_support/ima_entries.js';

/** An EC P-256 key, its public key and a self-signed certificate without subjectKeyIdentifier. */
function ecKey(dir: string): { key: string; pub: string; cert: string } {
  const key = join(dir, 'ec.key.pem');
  const pub = join(dir, 'ec.pub.pem');
  const cert = join(dir, 'ec.cert.der');
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  execFileSync('openssl', ['ec', '-in', key, '-pubout', '-out', pub], { stdio: 'ignore' });
  execFileSync('openssl', [
    'req', '-x509', '-new', '-key', key, '-subj', '/CN=ec-ima', '-days', '2',
    '-addext', 'subjectKeyIdentifier=none', '-addext', 'authorityKeyIdentifier=none',
    '-outform', 'DER', '-out', cert,
  ], { stdio: 'ignore' }); // prettier-ignore
  return { key, pub, cert };
}

/** evmctl's signature v2 over a file's SHA-256. */
function evmctlSign(file: string, key: string): Uint8Array {
  const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
  const out = execFileSync('evmctl', ['sign_hash', '--key', key, '--hashalgo', 'sha256'], {
    input: `${digest}  ${file}\n`,
    encoding: 'utf8',
  });
  return new Uint8Array(Buffer.from(out.trim().split(/\s+/).pop()!, 'hex'));
}

test('EC key id: evmctl header = SHA-1 of the point (openssl) = mrstack; verify-sig with the bare key and a certificate without SKID agrees with evmctl', async (t) => {
  const dir = tempDir(t, 'mrstack-ima-ec-');
  const k = ecKey(dir);
  const text = execFileSync(
    'openssl',
    ['x509', '-inform', 'DER', '-in', k.cert, '-noout', '-text'],
    {
      encoding: 'utf8',
    },
  );
  assert.ok(!/Subject Key Identifier/i.test(text), 'the certificate has no subjectKeyIdentifier');
  // openssl: the SPKI of a P-256 key ends with its 65-byte uncompressed point
  const spki = execFileSync('openssl', ['pkey', '-pubin', '-in', k.pub, '-outform', 'DER']);
  assert.equal(spki.length, 91);
  const pointSha1 = execFileSync('openssl', ['dgst', '-sha1', '-r'], { input: spki.subarray(-65) })
    .toString()
    .split(' ')[0]!;
  const file = join(dir, 'app');
  writeFileSync(file, 'an application signed with an EC key\n');
  const sig = evmctlSign(file, k.key);
  assert.deepEqual([...sig.subarray(0, 3)], [3, 2, 4]); // v2, digital signature, sha256
  const headerKeyid = Buffer.from(sig.subarray(3, 7)).toString('hex');
  assert.equal(headerKeyid, pointSha1.slice(-8), 'evmctl: last 4 bytes of SHA-1(point)');
  assert.equal(imaKeyidOfKey(createPublicKey(readFileSync(k.pub))), headerKeyid);

  const list = join(dir, 'list.bin');
  writeFileSync(
    list,
    encodeImaBinary([
      imaEntry('ima-ng', [
        { id: 'd-ng', data: ngSha256(new Uint8Array(32)) },
        { id: 'n-ng', data: ngName('boot_aggregate') },
      ]),
      imaEntry('ima-sig', [
        { id: 'd-ng', data: ngSha256(createHash('sha256').update(readFileSync(file)).digest()) },
        { id: 'n-ng', data: ngName(file) },
        { id: 'sig', data: sig },
      ]),
    ]),
  );
  const ev = spawnSync('evmctl', ['-v', 'ima_measurement', '--verify-sig', '--key', k.cert, list], {
    encoding: 'utf8',
  });
  assert.match(`${ev.stdout}${ev.stderr}`, new RegExp(`${file}: verification is OK`));
  for (const key of [k.pub, k.cert]) {
    const { result, json } = await runCliJson([
      'log', 'replay', list, '--verify-sig', '--ima-key', key, '--json',
    ]); // prettier-ignore
    const s = (json as { signatures: { signed: number; verified: number; failures: unknown[] } })
      .signatures;
    assert.equal(result.code, 0, JSON.stringify(s));
    assert.deepEqual([s.signed, s.verified, s.failures.length], [1, 1, 0], key);
  }
});

test('an EC certificate on the .ima keyring (ima-buf) vouches for later ima-sig entries in appraisal, as an RSA one does', async (t) => {
  const dir = tempDir(t, 'mrstack-ima-ec-ring-');
  const k = ecKey(dir);
  const certDer = readFileSync(k.cert);
  const file = join(dir, 'tool');
  writeFileSync(file, 'a tool signed by the keyring key\n');
  const list = join(dir, 'list.bin');
  writeFileSync(
    list,
    encodeImaBinary([
      imaEntry('ima-ng', [
        { id: 'd-ng', data: ngSha256(new Uint8Array(32)) },
        { id: 'n-ng', data: ngName('boot_aggregate') },
      ]),
      // the kernel measures a key added to the .ima keyring as ima-buf: its certificate DER
      imaEntry('ima-buf', [
        { id: 'd-ng', data: ngSha256(createHash('sha256').update(certDer).digest()) },
        { id: 'n-ng', data: ngName('.ima') },
        { id: 'buf', data: certDer },
      ]),
      imaEntry('ima-sig', [
        { id: 'd-ng', data: ngSha256(createHash('sha256').update(readFileSync(file)).digest()) },
        { id: 'n-ng', data: ngName(file) },
        { id: 'sig', data: evmctlSign(file, k.key) },
      ]),
    ]),
  );
  const certSha256 = createHash('sha256').update(certDer).digest('hex');
  const appraise = async (
    ring: string,
  ): Promise<{ code: number | null; ids: string[]; ima: Record<string, number> }> => {
    const policy = join(dir, `p-${ring.slice(0, 6)}.json`);
    writeFileSync(
      policy,
      JSON.stringify({
        version: 1,
        name: 'keyring',
        ima: { keyrings: { '.ima': [ring] }, excludes: ['boot_aggregate'] },
      }),
    );
    const { result, json } = await runCliJson([
      'appraise', '--eventlog', list, '--policy', policy, '--json',
    ]); // prettier-ignore
    const j = json as { findings: { id: string; status: string }[]; ima: Record<string, number> };
    return {
      code: result.code,
      ids: j.findings.filter((f) => f.status === 'contraindicated').map((f) => f.id),
      ima: j.ima,
    };
  };
  // the keyring's certificate is allowed: the EC signature of the later entry verifies with it
  const ok = await appraise(certSha256);
  assert.deepEqual(ok.ids, []);
  assert.equal(ok.code, 0);
  assert.equal(ok.ima['signed'], 1);
  // another key allowed on the keyring: the certificate is refused and vouches for nothing
  const bad = await appraise('00'.repeat(32));
  // (no trusted key at all, so the signed file is simply unknown)
  assert.deepEqual(bad.ids.sort(), ['ima.buf.unknown', 'ima.file.unknown']);
  assert.equal(bad.code, 1);
});
