// `mrstack log replay --verify-sig --ima-key CERT` against `evmctl ima_measurement --verify-sig
// --key CERT` (Debian ima-evm-utils 1.4) on one ima-sig list: keys and certificates are made by
// openssl here, files are signed by `evmctl sign_hash` (signature v2 over the file's SHA-256),
// and the list is written by `mrstack emulate ima measure --sig` (one call per file, each with its
// own signature). The two must agree entry by entry: which signatures verify, which fail, and which
// name a key id that no given key has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliJson } from '../_support/cli.js';
import { tempDir } from '../_support/tmp.js';

interface Failure {
  path: string;
  status: string;
  keyid?: string;
  reason?: string;
}
interface Signatures {
  signed: number;
  verified: number;
  unsigned: number;
  failures: Failure[];
}

/**
 * A key and its self-signed certificate (PEM and DER), made by openssl: RSA 2048, or EC on the
 * named curve (`ec:P-256`).
 */
function makeKey(
  dir: string,
  name: string,
  type = 'rsa:2048',
): { key: string; pem: string; der: string } {
  const key = join(dir, `${name}.key`);
  const pem = join(dir, `${name}.pem`);
  const der = join(dir, `${name}.der`);
  const newkey = type.startsWith('ec:')
    ? ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${type.slice(3)}`]
    : ['-newkey', type];
  execFileSync('openssl', [
    'req', '-x509', ...newkey, '-nodes', '-keyout', key, '-out', pem,
    '-subj', `/CN=${name}`, '-days', '2',
  ], { stdio: 'ignore' }); // prettier-ignore
  execFileSync('openssl', ['x509', '-in', pem, '-outform', 'DER', '-out', der]);
  return { key, pem, der };
}

/** evmctl's signature v2 of a file's SHA-256, as bytes. */
function evmctlSign(file: string, key: string): Uint8Array {
  const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
  const out = execFileSync('evmctl', ['sign_hash', '--key', key, '--hashalgo', 'sha256'], {
    input: `${digest}  ${file}\n`,
    encoding: 'utf8',
  });
  const hex = out.trim().split(/\s+/).pop()!;
  assert.match(hex, /^030204[0-9a-f]+$/);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** evmctl -v's verdict per path: 'ok', or the text after "verification failed: ". */
function evmctlVerdicts(list: string, cert: string): Map<string, string> {
  const r = spawnSync('evmctl', ['-v', 'ima_measurement', '--verify-sig', '--key', cert, list], {
    encoding: 'utf8',
  });
  const out = new Map<string, string>();
  for (const l of `${r.stdout}${r.stderr}`.split('\n')) {
    const ok = /^(\/\S+): verification is OK$/.exec(l);
    if (ok !== null) out.set(ok[1]!, 'ok');
    const bad = /^(\/\S+): verification failed: (.*)$/.exec(l);
    if (bad !== null) out.set(bad[1]!, bad[2]!);
  }
  return out;
}

/** mrstack's verdict per signed path: 'ok', or the failure's status and reason. */
async function mrstackVerdicts(
  list: string,
  cert: string,
  signedPaths: readonly string[],
): Promise<{ code: number | null; verdicts: Map<string, string>; sigs: Signatures }> {
  const { result, json } = await runCliJson([
    'log', 'replay', list, '--verify-sig', '--ima-key', cert, '--json',
  ]); // prettier-ignore
  const sigs = (json as { signatures: Signatures }).signatures;
  const verdicts = new Map<string, string>(signedPaths.map((p) => [p, 'ok']));
  for (const f of sigs.failures) verdicts.set(f.path, `${f.status}: ${f.reason ?? ''}`);
  return { code: result.code, verdicts, sigs };
}

test('ima-sig: mrstack --verify-sig and evmctl --verify-sig agree on good, tampered, foreign-key and reused signatures', async (t) => {
  const dir = tempDir(t, 'mrstack-imasig-');
  const a = makeKey(dir, 'vendor-a');
  const b = makeKey(dir, 'vendor-b');
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const good1 = file('good1', 'the first signed file\n');
  const good2 = file('good2', 'the second signed file\n');
  const tampered = file('tampered', 'a file whose signature was altered\n');
  const foreign = file('foreign', 'signed by vendor b\n');
  const reused = file('reused', "carries good1's signature\n");
  const unsigned = file('unsigned', 'no signature\n');

  const sigs = new Map<string, Uint8Array>([
    [good1, evmctlSign(good1, a.key)],
    [good2, evmctlSign(good2, a.key)],
    [foreign, evmctlSign(foreign, b.key)],
  ]);
  const bad = evmctlSign(tampered, a.key);
  bad[100] = bad[100]! ^ 0x01; // one bit inside the RSA signature
  sigs.set(tampered, bad);
  sigs.set(reused, sigs.get(good1)!);

  const tvm = join(dir, 'tvm');
  const init = await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm]);
  assert.equal(init.code, 0, init.stderr);
  for (const p of [good1, tampered, foreign, unsigned, reused, good2]) {
    const args = ['emulate', 'ima', 'measure', p, '--tvm-state', tvm];
    const sig = sigs.get(p);
    if (sig !== undefined) {
      writeFileSync(`${p}.sig`, sig);
      args.push('--sig', `${p}.sig`);
    }
    const r = await runCli(args);
    assert.equal(r.code, 0, r.stderr);
  }
  const list = join(tvm, 'ima', 'binary_runtime_measurements');
  const signed = [...sigs.keys()];

  // Vendor A's certificate: good1 and good2 verify; the rest of the signed entries fail.
  const evA = evmctlVerdicts(list, a.der);
  assert.deepEqual(
    [...evA]
      .filter(([, v]) => v === 'ok')
      .map(([p]) => p)
      .sort(),
    [good1, good2].sort(),
  );
  assert.equal(evA.get(foreign), 'unknown keyid ' + evA.get(foreign)!.split(' ').pop()!);
  const mA = await mrstackVerdicts(list, a.der, signed);
  assert.equal(mA.code, 1, 'a failed signature is exit 1');
  assert.deepEqual(
    { signed: mA.sigs.signed, verified: mA.sigs.verified, unsigned: mA.sigs.unsigned },
    { signed: 5, verified: 2, unsigned: 2 }, // boot_aggregate and the unsigned file
  );
  for (const p of signed) {
    const ev = evA.get(p);
    const m = mA.verdicts.get(p)!;
    assert.ok(ev !== undefined, `evmctl printed no verdict for ${p}`);
    if (ev === 'ok') assert.equal(m, 'ok', p);
    // evmctl prints the 4-byte key id with %x (no leading zeros), mrstack as 8 hex digits.
    else if (ev.startsWith('unknown keyid')) {
      assert.match(m, /^unknown-key: unknown keyid [0-9a-f]{8}$/, p);
      assert.equal(keyidOf(m), keyidOf(ev), p);
    } else assert.match(m, /^failed: /, `${p}: evmctl "${ev}", mrstack "${m}"`);
  }

  // Vendor B's certificate (PEM this time): only the foreign file verifies, in both tools.
  const evB = evmctlVerdicts(list, b.der);
  const mB = await mrstackVerdicts(list, b.pem, signed);
  assert.deepEqual(
    [...evB].filter(([, v]) => v === 'ok').map(([p]) => p),
    [foreign],
  );
  assert.deepEqual(
    [...mB.verdicts].filter(([, v]) => v === 'ok').map(([p]) => p),
    [foreign],
  );
  for (const p of [good1, good2, tampered, reused]) {
    assert.match(evB.get(p)!, /^unknown keyid/, p);
    assert.match(mB.verdicts.get(p)!, /^unknown-key: unknown keyid/, p);
  }
});

/** The key id at the end of an "unknown keyid …" verdict, as a number. */
function keyidOf(verdict: string): number {
  return Number.parseInt(verdict.split(' ').pop()!, 16);
}

test('ECDSA keys (P-256, P-384): mrstack --verify-sig and evmctl --verify-sig agree entry by entry', async (t) => {
  // evmctl sign_hash with an EC key writes signature v2 whose body is a DER ECDSA signature over
  // the file digest; evmctl verifies it with EVP_PKEY_verify, the kernel with its ecdsa-nist-*.
  const dir = tempDir(t, 'mrstack-imasig-ec-');
  const p256 = makeKey(dir, 'ec-p256', 'ec:P-256');
  const p384 = makeKey(dir, 'ec-p384', 'ec:P-384');
  const file = (name: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `${name}\n`);
    return p;
  };
  const ok256 = file('ok256');
  const ok384 = file('ok384');
  const tampered = file('tampered');
  const reused = file('reused');
  const sigs = new Map<string, Uint8Array>([
    [ok256, evmctlSign(ok256, p256.key)],
    [ok384, evmctlSign(ok384, p384.key)],
  ]);
  const bad = evmctlSign(tampered, p256.key);
  bad[bad.length - 3] = bad[bad.length - 3]! ^ 0x01; // a bit of s, the DER stays well-formed
  sigs.set(tampered, bad);
  sigs.set(reused, sigs.get(ok256)!);

  const tvm = join(dir, 'tvm');
  assert.equal((await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm])).code, 0);
  for (const [p, sig] of sigs) {
    writeFileSync(`${p}.sig`, sig);
    const r = await runCli([
      'emulate',
      'ima',
      'measure',
      p,
      '--sig',
      `${p}.sig`,
      '--tvm-state',
      tvm,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
  const list = join(tvm, 'ima', 'binary_runtime_measurements');
  const signed = [...sigs.keys()];
  for (const [cert, okPath] of [
    [p256, ok256],
    [p384, ok384],
  ] as const) {
    const ev = evmctlVerdicts(list, cert.der);
    const m = await mrstackVerdicts(list, cert.pem, signed);
    assert.equal(m.code, 1);
    for (const p of signed) {
      const e = ev.get(p);
      assert.ok(e !== undefined, `evmctl printed no verdict for ${p}`);
      const v = m.verdicts.get(p)!;
      if (e === 'ok') assert.equal(v, 'ok', p);
      else if (e.startsWith('unknown keyid')) assert.match(v, /^unknown-key: /, p);
      else assert.match(v, /^failed: ECDSA signature does not verify$/, `${p}: evmctl "${e}"`);
    }
    // Each key verifies exactly its own good signature; the reused one is over another digest.
    const okEv = [...ev].filter(([, v]) => v === 'ok').map(([p]) => p);
    assert.ok(okEv.includes(okPath));
    assert.deepEqual(
      [...m.verdicts].filter(([, v]) => v === 'ok').map(([p]) => p),
      okEv,
    );
  }
});

test('--verify-sig needs --ima-key, and --ima-key needs --verify-sig', async (t) => {
  const dir = tempDir(t, 'mrstack-imasig-usage-');
  const list = join(dir, 'list');
  writeFileSync(list, '');
  const r1 = await runCli(['log', 'replay', list, '--verify-sig']);
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /--verify-sig needs at least one --ima-key/);
  const r2 = await runCli(['log', 'replay', list, '--ima-key', list]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /--ima-key is for --verify-sig/);
});
