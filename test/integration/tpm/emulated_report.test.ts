/**
 * The emulated TVM's `tpm` profile quote: a real TPMS_ATTEST signed by the emulated AK, checked
 * by tpm2_checkquote (an independent verifier) and by mrstack's verifier; the AK is created
 * once, atomically, even by concurrent first reports; the quote names it by its qualified name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { initEmulatedTvm } from '../../../src/providers/emulated/tvm_state.js';
import { openEmulatedProvider } from '../../../src/providers/emulated/emulated_provider.js';
import { encodePublic, readPublic } from '../../../src/formats/tpm2/marshal/public.js';
import { publicFromKeyObject, publicToPem } from '../../../src/formats/tpm2/public_key.js';
import { srkTemplate } from '../../../src/formats/tpm2/templates.js';
import { ByteReader } from '../../../src/bytes/reader.js';
import { parseAttest } from '../../../src/formats/tpm2/marshal/attest.js';
import { parsePcrValues, verifyTpmQuote } from '../../../src/verifier/verify/tpm_quote.js';

test('emulated tpm quote passes tpm2_checkquote and mrstack verification; concurrent first reports share one AK', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-emutpm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, 'tvm');
  await initEmulatedTvm({ stateDir: state, profile: 'tpm' });
  const p = await openEmulatedProvider({ stateDir: state });
  try {
    await p.extend({ name: 'pcr10' }, { kind: 'event', data: new TextEncoder().encode('abc') });
    const nonce = new Uint8Array(createHash('sha256').update('nonce').digest());
    const [a, b] = await Promise.all([
      p.report({ reportData: nonce, pcrs: new Map([['sha256', [0, 10, 17]]]) }),
      p.report({ reportData: nonce }),
    ]);
    assert.deepEqual(a.parts!['ak_public'], b.parts!['ak_public'], 'one AK');
    assert.deepEqual(
      readdirSync(join(state, 'keys', 'tpm')),
      ['ak-key.pem', 'srk-key.pem'],
      'no temporary files left',
    );
    assert.equal(a.emulated, true);
    const ak = readPublic(new ByteReader(a.parts!['ak_public']!, { format: 'tpm2' }), 'ak');
    writeFileSync(join(dir, 'ak.pem'), publicToPem(ak));
    writeFileSync(join(dir, 'q.msg'), a.outblob);
    writeFileSync(join(dir, 'q.sig'), a.parts!['signature']!);
    writeFileSync(join(dir, 'q.pcrs'), a.parts!['pcr_values']!);
    execFileSync(
      'tpm2_checkquote',
      [
        '-u',
        join(dir, 'ak.pem'),
        '-m',
        join(dir, 'q.msg'),
        '-s',
        join(dir, 'q.sig'),
        '-g',
        'sha256',
        '-f',
        join(dir, 'q.pcrs'),
        '-l',
        'sha256:0,10,17',
        '-q',
        Buffer.from(nonce).toString('hex'),
      ],
      { stdio: 'pipe' },
    );
    const at = parseAttest(a.outblob);
    // qualifiedSigner is the AK's qualified name under the emulated ECC SRK in the owner
    // hierarchy, as mrstack's tpm provider has it on swtpm (swtpm_tools.test.ts), not its Name:
    // QN = 000b ‖ SHA-256(QN(SRK) ‖ Name(AK)), QN(SRK) = 000b ‖ SHA-256(40000001 ‖ Name(SRK)).
    const srkKey = createPrivateKey(readFileSync(join(state, 'keys', 'tpm', 'srk-key.pem')));
    const name = (tpmtPublic: Uint8Array): Buffer =>
      Buffer.concat([Buffer.from('000b', 'hex'), createHash('sha256').update(tpmtPublic).digest()]);
    const qn = (parent: Buffer, n: Buffer): Buffer =>
      Buffer.concat([
        Buffer.from('000b', 'hex'),
        createHash('sha256').update(parent).update(n).digest(),
      ]);
    const srkQn = qn(
      Buffer.from('40000001', 'hex'),
      name(encodePublic(publicFromKeyObject(srkKey, srkTemplate('ecc')))),
    );
    const akName = name(a.parts!['ak_public']!);
    assert.equal(
      Buffer.from(at.qualifiedSigner).toString('hex'),
      qn(srkQn, akName).toString('hex'),
    );
    assert.notEqual(Buffer.from(at.qualifiedSigner).toString('hex'), akName.toString('hex'));
    const sel = at.attested.kind === 'quote' ? at.attested.pcrSelect : [];
    const pcrs = parsePcrValues(a.parts!['pcr_values']!, sel);
    // PC Client reset values and the extend, computed here: pcr10 = SHA-256(0³² ‖ SHA-256("abc")).
    const pcr10 = createHash('sha256')
      .update(Buffer.alloc(32))
      .update(createHash('sha256').update('abc').digest())
      .digest('hex');
    assert.equal(Buffer.from(pcrs.get('sha256')!.get(10)!).toString('hex'), pcr10);
    assert.equal(Buffer.from(pcrs.get('sha256')!.get(17)!).toString('hex'), 'ff'.repeat(32));
    const r = verifyTpmQuote({
      attest: a.outblob,
      signature: a.parts!['signature']!,
      ak: { tpmtPublic: a.parts!['ak_public']! },
      nonce,
      pcrs,
    });
    assert.deepEqual(r.errors, []);
  } finally {
    await p.close();
  }
});
