// Appraisal checks ima-sig signatures with verify's one checker, selecting the key by the key id
// of the signature v2 header — as the kernel does (security/integrity/digsig_asymmetric.c:
// request_asymmetric_key by id, -ENOKEY when no key has it), and evmctl ("unknown keyid") and
// keylime (ImaKeyring.get_pubkey_by_keyidv2) follow it. A signature whose key id names no trusted
// key is refused even though a trusted key would verify it. The header (type 3, version 2,
// hash_algo 4 = sha256, 4-byte key id, 2-byte big-endian size) and the key id rule (last 4
// bytes of SHA-1 of the PKCS#1 public key) are written here from evmctl's documentation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { appraise } from '../../../../src/verifier/appraise/appraise.js';
import type { ImaRecord } from '../../../../src/verifier/appraise/appraisal_input.js';
import { compilePolicy, validatePolicy } from '../../../../src/verifier/appraise/policy.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyid = createHash('sha1')
  .update(publicKey.export({ format: 'der', type: 'pkcs1' }))
  .digest()
  .subarray(-4);
const content = Buffer.from('#!/bin/sh\necho signed\n');
const digest = createHash('sha256').update(content).digest();
const rsaSig = sign('sha256', content, privateKey); // PKCS#1 v1.5 over DigestInfo ‖ SHA-256

function header(id: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.set([3, 2, 4]);
  id.copy(h, 3);
  h.writeUInt16BE(rsaSig.length, 7);
  return Buffer.concat([h, rsaSig]);
}

async function judge(sig: Buffer) {
  const policy = compilePolicy(
    await validatePolicy({
      version: 1,
      name: 'keys',
      ima: { keys: [publicKey.export({ format: 'pem', type: 'spki' }).toString()] },
    }),
  );
  const entry: ImaRecord = {
    record: 1,
    offset: 0,
    template: 'ima-sig',
    path: '/usr/bin/signed',
    digestAlg: 'sha256',
    digest: digest.toString('hex'),
    signature: new Uint8Array(sig),
    violation: false,
  };
  return appraise(
    undefined,
    { registers: [], tenantEvents: [], ima: [{ log: 'l', proof: 'ok', entries: [entry] }] },
    policy,
    { at: new Date('2026-12-07T00:00:00Z') },
  );
}

test('ima-sig: the header key id selects the key; another key id is refused though the key would verify', async () => {
  const ok = await judge(header(keyid));
  assert.equal(ok.ima?.signed, 1);
  assert.deepEqual(
    ok.findings.map((f) => f.id),
    ['ima.log.allowed'],
  );
  const other = Buffer.from(keyid.map((b) => b ^ 0xff));
  const refused = await judge(header(other));
  assert.equal(refused.ima?.signed, 0);
  assert.deepEqual(
    refused.findings.filter((f) => f.status === 'contraindicated').map((f) => [f.id, f.claim]),
    [['ima.file.signature-invalid', '/usr/bin/signed']],
  );
});
