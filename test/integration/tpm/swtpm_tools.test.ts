/**
 * mrstack's TPM 2.0 commands against a real swtpm, each result cross-checked with tpm2-tools on
 * the same swtpm: PCR values after extends (every bank), quotes both ways (mrstack → tpm2_checkquote,
 * tpm2_quote → mrstack), the EK public (tpm2_createek, and the EK certificate swtpm_setup wrote),
 * credential activation (tpm2_makecredential and mrstack's software MakeCredential), and the
 * control channel's power cycle.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePcrreadYaml, startSwtpmFixture, type SwtpmFixture } from './swtpm_fixture.js';
import { TpmProvider } from '../../../src/providers/tpm/tpm_provider.js';
import { SwtpmControl, SwtpmTransport } from '../../../src/providers/tpm/swtpm_transport.js';
import {
  createAk,
  createEk,
  createSrk,
  loadAk,
  readEkCertificate,
} from '../../../src/providers/tpm/identity.js';
import {
  hierarchyQualifiedName,
  objectName,
  publicToPem,
  qualifiedName,
} from '../../../src/formats/tpm2/public_key.js';
import { makeCredential } from '../../../src/formats/tpm2/credential.js';
import { parseAttest } from '../../../src/formats/tpm2/marshal/attest.js';
import { TPM_ALG, TPM_RH } from '../../../src/formats/tpm2/constants.js';
import { ByteReader } from '../../../src/bytes/reader.js';
import { readPublic } from '../../../src/formats/tpm2/marshal/public.js';
import { readTpm2b } from '../../../src/formats/tpm2/marshal/tpm2b.js';
import { TpmRcError } from '../../../src/formats/tpm2/rc.js';
import {
  akFromBytes,
  parsePcrValues,
  verifyTpmQuote,
  type TpmQuoteClaims,
  type TpmQuoteResult,
} from '../../../src/verifier/verify/tpm_quote.js';

let fx: SwtpmFixture;

/** The claims of a result that must have them. */
function claimsOf(r: TpmQuoteResult): TpmQuoteClaims {
  assert.ok(r.claims !== undefined, 'claims');
  return r.claims;
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha = (alg: string, ...parts: Uint8Array[]): Uint8Array => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

before(async () => {
  fx = await startSwtpmFixture();
});
after(async () => {
  await fx.stop();
});

function provider(): TpmProvider {
  return new TpmProvider(new SwtpmTransport({ host: fx.sw.host, port: fx.sw.port }));
}

test('describe lists pcr0..23 in each bank swtpm_setup allocated (sha1, sha256, sha384)', async () => {
  const p = provider();
  try {
    const mrs = await p.describe();
    const algs = new Set(mrs.map((m) => m.alg));
    assert.deepEqual([...algs].sort(), ['sha1', 'sha256', 'sha384']);
    assert.equal(mrs.length, 72);
    assert.equal(mrs.find((m) => m.name === 'pcr17')?.extendable, false);
    assert.equal(mrs.find((m) => m.name === 'pcr16' && m.alg === 'sha384')?.size, 48);
  } finally {
    await p.close();
  }
  // tpm2-tools sees the same banks.
  const caps = fx.tool('tpm2_getcap', ['pcrs']);
  for (const b of ['sha1', 'sha256', 'sha384']) assert.match(caps, new RegExp(`${b}: \\[ 0, 1, 2`));
});

test('extends: bare pcrN in every bank from event data, pcrN:ALG one bank; tpm2_pcrread agrees in every bank', async () => {
  const data = new TextEncoder().encode('mrstack integration event');
  const digest = sha('sha256', new TextEncoder().encode('one bank only'));
  const p = provider();
  let results;
  let one;
  try {
    results = await p.extend({ name: 'pcr15' }, { kind: 'event', data });
    one = await p.extend({ name: 'pcr14', alg: 'sha256' }, { kind: 'digest', digest });
    await assert.rejects(p.extend({ name: 'pcr14' }, { kind: 'digest', digest }), {
      code: 'ERR_EVENT_DATA_REQUIRED',
    });
    await assert.rejects(p.extend({ name: 'pcr14', alg: 'sha1' }, { kind: 'digest', digest }), {
      code: 'ERR_DIGEST_SIZE',
    });
  } finally {
    await p.close();
  }
  assert.equal(results.length, 3);
  // Each bank moved by H(old ‖ H(data)) in its own algorithm (computed here independently).
  for (const r of results) {
    assert.equal(hex(r.new), hex(sha(r.alg!, r.old, sha(r.alg!, data))));
  }
  assert.equal(one.length, 1);
  assert.equal(hex(one[0]!.new), hex(sha('sha256', one[0]!.old, digest)));
  const y = parsePcrreadYaml(fx.tool('tpm2_pcrread', ['sha1:14,15+sha256:14,15+sha384:14,15']));
  for (const r of results) assert.equal(y.get(r.alg!)?.get(15), hex(r.new), `${r.alg} pcr15`);
  assert.equal(y.get('sha256')?.get(14), hex(one[0]!.new));
  assert.equal(y.get('sha1')?.get(14), '00'.repeat(20), 'the sha1 bank of pcr14 is untouched');
  // And a full read of all 72 values agrees with tpm2_pcrread.
  const all = parsePcrreadYaml(fx.tool('tpm2_pcrread', ['sha1:all+sha256:all+sha384:all']));
  const p2 = provider();
  try {
    for (const m of await p2.describe()) {
      const [v] = await p2.read({ name: m.name, alg: m.alg! });
      assert.equal(
        hex(v!.value),
        all.get(m.alg!)?.get(Number(m.name.slice(3))),
        `${m.name}:${m.alg}`,
      );
    }
  } finally {
    await p2.close();
  }
});

test('PCR_Event: the digests the TPM returns are the hashes of the data (openssl-equivalent)', async () => {
  const data = new TextEncoder().encode('pcr event');
  const d = await fx.withTpm((t) => t.pcrEvent(13, data));
  const byAlg = new Map(d.map((x) => [x.hashAlg, hex(x.digest)]));
  assert.equal(byAlg.get(TPM_ALG.SHA1), hex(sha('sha1', data)));
  assert.equal(byAlg.get(TPM_ALG.SHA256), hex(sha('sha256', data)));
  assert.equal(byAlg.get(TPM_ALG.SHA384), hex(sha('sha384', data)));
});

for (const akAlg of ['ecc', 'rsa'] as const) {
  test(`a quote mrstack produces (${akAlg} AK) passes tpm2_checkquote, and mrstack's own verification`, async () => {
    const nonce = new Uint8Array(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
    const p = new TpmProvider(new SwtpmTransport({ host: fx.sw.host, port: fx.sw.port }), {
      akAlg,
    });
    let rep;
    try {
      rep = await p.report({ reportData: nonce, pcrs: new Map([['sha256', [0, 14, 15, 16]]]) });
    } finally {
      await p.close();
    }
    const parts = rep.parts!;
    const akPub = parts['ak_public']!;
    const pem = publicToPem(readPublic(new ByteReader(akPub, { format: 'tpm2' }), 'ak'));
    writeFileSync(join(fx.dir, 'm.pem'), pem);
    writeFileSync(join(fx.dir, 'm.msg'), rep.outblob);
    writeFileSync(join(fx.dir, 'm.sig'), parts['signature']!);
    writeFileSync(join(fx.dir, 'm.pcrs'), parts['pcr_values']!);
    const args = [
      '-u',
      'm.pem',
      '-m',
      'm.msg',
      '-s',
      'm.sig',
      '-g',
      'sha256',
      '-f',
      'm.pcrs',
      '-l',
      'sha256:0,14,15,16',
    ];
    fx.tool('tpm2_checkquote', [...args, '-q', hex(nonce)]);
    // tpm2_checkquote does check the nonce: a different one fails.
    assert.throws(() => fx.tool('tpm2_checkquote', [...args, '-q', 'ff' + hex(nonce).slice(2)]));
    const attest = parseAttest(rep.outblob);
    assert.equal(attest.attested.kind, 'quote');
    const r = verifyTpmQuote({
      attest: rep.outblob,
      signature: parts['signature']!,
      ak: { tpmtPublic: akPub },
      nonce,
      pcrs: parsePcrValues(parts['pcr_values']!, attest.attested.pcrSelect),
    });
    assert.deepEqual(r.errors, []);
    assert.equal(claimsOf(r).signature_scheme, akAlg === 'ecc' ? 'ecdsa' : 'rsassa');
  });
}

for (const [alg, scheme] of [
  ['rsa', 'rsassa'],
  ['rsa', 'rsapss'],
  ['ecc', 'ecdsa'],
] as const) {
  test(`a quote tpm2_quote produces (${alg} ${scheme} AK from tpm2_createak) passes mrstack's verification`, () => {
    fx.tool('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
    fx.tool('tpm2_createak', [
      '-C',
      'ek.ctx',
      '-c',
      'ak.ctx',
      '-G',
      alg,
      '-g',
      'sha256',
      '-s',
      scheme,
      '-u',
      'ak.pub',
      '-n',
      'ak.name',
    ]);
    fx.tool('tpm2_quote', [
      '-c',
      'ak.ctx',
      '-l',
      'sha1:0,15+sha256:0,14,15',
      '-q',
      'c0ffee',
      '-m',
      'q.msg',
      '-s',
      'q.sig',
      '-o',
      'q.pcrs',
      '-F',
      'values',
      '-g',
      'sha256',
      '--scheme',
      scheme,
    ]);
    const rd = (n: string): Uint8Array => new Uint8Array(readFileSync(join(fx.dir, n)));
    const attest = rd('q.msg');
    const a = parseAttest(attest);
    assert.equal(a.attested.kind, 'quote');
    const sel = a.attested.pcrSelect;
    const pcrs = parsePcrValues(rd('q.pcrs'), sel);
    const ak = akFromBytes(rd('ak.pub'));
    const r = verifyTpmQuote({
      attest,
      signature: rd('q.sig'),
      ak,
      nonce: Uint8Array.of(0xc0, 0xff, 0xee),
      pcrs,
    });
    assert.deepEqual(r.errors, []);
    assert.equal(claimsOf(r).signature_scheme, scheme);
    if (scheme === 'rsapss') assert.ok((claimsOf(r).pss_salt_length ?? 0) >= 32);
    // The AK name mrstack computes equals the one tpm2_createak printed to ak.name.
    assert.equal(hex(claimsOf(r).ak_name!), hex(rd('ak.name')));
    // A wrong nonce fails.
    assert.deepEqual(
      verifyTpmQuote({ attest, signature: rd('q.sig'), ak, nonce: Uint8Array.of(1) }).errors.map(
        (e) => e.code,
      ),
      ['ERR_NONCE_MISMATCH'],
    );
  });
}

test("qualifiedSigner is the AK's qualified name (TPM 2.0 Part 1 §16): tpm2_quote's equals tpm2_readpublic -q and qualifiedName(SRK QN, AK Name); mrstack's own quote has the same layout", async () => {
  fx.tool('tpm2_createprimary', ['-C', 'o', '-G', 'ecc', '-g', 'sha256', '-c', 'qn-srk.ctx']);
  fx.tool('tpm2_readpublic', ['-c', 'qn-srk.ctx', '-n', 'qn-srk.name']);
  fx.tool('tpm2_create', [
    '-C',
    'qn-srk.ctx',
    '-G',
    'ecc:ecdsa-sha256:null',
    '-g',
    'sha256',
    '-a',
    'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign',
    '-u',
    'qn-ak.pub',
    '-r',
    'qn-ak.priv',
  ]);
  fx.tool('tpm2_load', [
    '-C',
    'qn-srk.ctx',
    '-u',
    'qn-ak.pub',
    '-r',
    'qn-ak.priv',
    '-c',
    'qn-ak.ctx',
    '-n',
    'qn-ak.name',
  ]);
  fx.tool('tpm2_readpublic', ['-c', 'qn-ak.ctx', '-q', 'qn-ak.qname']);
  fx.tool('tpm2_quote', [
    '-c',
    'qn-ak.ctx',
    '-l',
    'sha256:0',
    '-q',
    'c0ffee',
    '-m',
    'qn.msg',
    '-s',
    'qn.sig',
    '-g',
    'sha256',
  ]);
  const rd = (n: string): Uint8Array => new Uint8Array(readFileSync(join(fx.dir, n)));
  const signer = parseAttest(rd('qn.msg')).qualifiedSigner;
  assert.equal(hex(signer), hex(rd('qn-ak.qname')), 'tpm2_quote vs tpm2_readpublic -q');
  const srkQn = qualifiedName(hierarchyQualifiedName(TPM_RH.OWNER), rd('qn-srk.name'));
  assert.equal(hex(qualifiedName(srkQn, rd('qn-ak.name'))), hex(signer));
  assert.notEqual(hex(signer), hex(rd('qn-ak.name')), 'not the AK Name');

  // mrstack's tpm provider quotes with an AK under the ECC SRK of the owner hierarchy; the
  // emulated TPM models exactly this.
  const p = new TpmProvider(new SwtpmTransport({ host: fx.sw.host, port: fx.sw.port }));
  let rep;
  try {
    rep = await p.report({ reportData: Uint8Array.of(1, 2, 3) });
  } finally {
    await p.close();
  }
  const srk = await fx.withTpm(async (t) => {
    const k = await createSrk(t, 'ecc');
    await t.flush(k.handle);
    return k;
  });
  assert.equal(
    hex(parseAttest(rep.outblob).qualifiedSigner),
    hex(
      qualifiedName(
        qualifiedName(hierarchyQualifiedName(TPM_RH.OWNER), srk.name),
        objectName(rep.parts!['ak_public']!),
      ),
    ),
  );
});

for (const alg of ['rsa', 'ecc'] as const) {
  test(`the EK public mrstack derives (${alg}) equals tpm2_createek's`, async () => {
    const ek = await fx.withTpm(async (t) => {
      const k = await createEk(t, alg);
      await t.flush(k.handle);
      return k;
    });
    fx.tool('tpm2_createek', ['-c', 'ek.ctx', '-G', alg, '-u', `ek-${alg}.pem`, '-f', 'pem']);
    const theirs = readFileSync(join(fx.dir, `ek-${alg}.pem`), 'utf8').trim();
    assert.equal(publicToPem(ek.public.public).trim(), theirs);
  });
}

test('the RSA EK certificate read from NV 0x01C00002 equals tpm2_nvread and certifies the derived EK', async () => {
  const { cert, ek } = await fx.withTpm(async (t) => {
    const c = await readEkCertificate(t, 'rsa');
    const k = await createEk(t, 'rsa');
    await t.flush(k.handle);
    return { cert: c, ek: k };
  });
  fx.tool('tpm2_nvread', ['-C', '0x1c00002', '0x1c00002', '-o', 'ekcert.der']);
  assert.equal(hex(cert), hex(new Uint8Array(readFileSync(join(fx.dir, 'ekcert.der')))));
  const x = new X509Certificate(cert);
  assert.equal(
    x.publicKey.export({ type: 'spki', format: 'pem' }).toString().trim(),
    publicToPem(ek.public.public).trim(),
  );
});

test("a credential made for mrstack's AK activates; one made for another key's name does not", async () => {
  const secret = new Uint8Array(Buffer.from('0123456789abcdef0123456789abcdef', 'hex'));
  await fx.withTpm(async (t) => {
    const blob = await createAk(t, 'ecc', 'ecc');
    const ak = await loadAk(t, blob);
    const ek = await createEk(t, 'rsa');
    try {
      assert.equal(hex(ak.name), hex(objectName(blob.public)));
      const good = makeCredential(ek.public.public, ak.name, secret);
      assert.equal(
        hex(await t.activateCredential(ak.handle, ek.handle, good.credentialBlob, good.secret)),
        hex(secret),
      );
      const otherName = objectName(ek.public.bytes);
      const bad = makeCredential(ek.public.public, otherName, secret);
      await assert.rejects(
        t.activateCredential(ak.handle, ek.handle, bad.credentialBlob, bad.secret),
        (e: unknown) => {
          assert.ok(e instanceof TpmRcError);
          assert.equal(e.code, 'ERR_TPM_RC');
          assert.equal(e.rcName, 'TPM_RC_INTEGRITY');
          return true;
        },
      );
      // tpm2_makecredential (an independent MakeCredential) for the AK's name activates too.
      writeFileSync(join(fx.dir, 'ek.pem'), publicToPem(ek.public.public));
      writeFileSync(join(fx.dir, 'secret.bin'), secret);
      fx.offline('tpm2_makecredential', [
        '-T',
        'none',
        '-u',
        'ek.pem',
        '-G',
        'rsa',
        '-s',
        'secret.bin',
        '-n',
        hex(ak.name),
        '-o',
        'cred.out',
      ]);
      const f = new Uint8Array(readFileSync(join(fx.dir, 'cred.out')));
      // tpm2-tools file: magic 0xBADCC0DE, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET.
      const r = new ByteReader(f, { format: 'tpm2' });
      assert.equal(r.u32be('magic'), 0xbadcc0de);
      r.u32be('version');
      const idObject = readTpm2b(r, 'credentialBlob', 256);
      const encSecret = readTpm2b(r, 'secret', 512);
      assert.equal(
        hex(await t.activateCredential(ak.handle, ek.handle, idObject, encSecret)),
        hex(secret),
      );
    } finally {
      await t.flush(ak.handle);
      await t.flush(ek.handle);
    }
  });
});

test('an ECC EK (L-2): a credential made in software (ECDH + KDFe) activates; a tampered one does not', async () => {
  const secret = new Uint8Array(Buffer.from('feedfacecafebeef', 'hex'));
  await fx.withTpm(async (t) => {
    const ak = await loadAk(t, await createAk(t, 'ecc', 'ecc'));
    const ek = await createEk(t, 'ecc');
    try {
      const c = makeCredential(ek.public.public, ak.name, secret);
      assert.equal(
        hex(await t.activateCredential(ak.handle, ek.handle, c.credentialBlob, c.secret)),
        hex(secret),
      );
      const tampered = c.credentialBlob.slice();
      tampered[tampered.length - 1]! ^= 1;
      await assert.rejects(t.activateCredential(ak.handle, ek.handle, tampered, c.secret), {
        code: 'ERR_TPM_RC',
        message: /TPM_RC_INTEGRITY/,
      });
    } finally {
      await t.flush(ak.handle);
      await t.flush(ek.handle);
    }
  });
});

test('a report with the EK binding carries the EK public and its certificate, which certifies it', async () => {
  const p = new TpmProvider(new SwtpmTransport({ host: fx.sw.host, port: fx.sw.port }), {
    ekBinding: 'rsa',
  });
  let rep;
  try {
    rep = await p.report({ reportData: Uint8Array.of(5) });
  } finally {
    await p.close();
  }
  const ekPub = readPublic(new ByteReader(rep.parts!['ek_public']!, { format: 'tpm2' }), 'ek');
  const cert = new X509Certificate(rep.parts!['ek_certificate']!);
  assert.equal(
    cert.publicKey.export({ type: 'spki', format: 'pem' }).toString().trim(),
    publicToPem(ekPub).trim(),
  );
  fx.tool('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ekb.pem', '-f', 'pem']);
  assert.equal(publicToPem(ekPub).trim(), readFileSync(join(fx.dir, 'ekb.pem'), 'utf8').trim());
});

test('GetRandom, ReadPublic and ContextSave round trips on the live TPM', async () => {
  await fx.withTpm(async (t) => {
    const r = await t.getRandom(48);
    assert.equal(r.length, 48);
    const ek = await createEk(t, 'ecc');
    try {
      const rp = await t.readPublic(ek.handle);
      assert.equal(hex(rp.outPublic.bytes), hex(ek.public.bytes));
      assert.equal(hex(rp.name), hex(objectName(ek.public.bytes)));
      const c = await t.contextSave(ek.handle);
      assert.equal(c.savedHandle >>> 24, 0x80);
      assert.ok(c.contextBlob.length > 0);
    } finally {
      await t.flush(ek.handle);
    }
  });
});

test('the control channel power-cycles swtpm: after Startup(CLEAR) PCR 16 is zero again (tpm2_pcrread agrees)', async () => {
  await fx.withTpm(async (t) => {
    await t.pcrEvent(16, Uint8Array.of(1));
  });
  assert.notEqual(
    parsePcrreadYaml(fx.tool('tpm2_pcrread', ['sha256:16']))
      .get('sha256')
      ?.get(16),
    '00'.repeat(32),
  );
  const ctrl = new SwtpmControl({ host: fx.sw.host, port: fx.sw.ctrlPort });
  await ctrl.init();
  await fx.withTpm(async (t) => {
    // Before Startup every command fails with TPM_RC_INITIALIZE.
    await assert.rejects(t.pcrBanks(), { code: 'ERR_TPM_RC', message: /TPM_RC_INITIALIZE/ });
    assert.equal(await t.startup(), true);
  });
  assert.equal(
    parsePcrreadYaml(fx.tool('tpm2_pcrread', ['sha256:16']))
      .get('sha256')
      ?.get(16),
    '00'.repeat(32),
  );
});
