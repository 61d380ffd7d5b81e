// The X.509 encoder shared by the emulated PKIs. Expected bytes come from X.690 (its OID and
// length examples) and RFC 5280 (time forms); certificates are judged by openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { int, octets, oid, time } from '../../../../src/formats/x509/der_encode.js';
import {
  caExtension,
  encodeCertificate,
  encodeTbs,
  name,
} from '../../../../src/formats/x509/certificate_encode.js';
import { toPem } from '../../../../src/formats/x509/pem_encode.js';
import { runTool } from '../../../_support/peers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('DER primitives match X.690: OID, INTEGER sign byte, long-form length', () => {
  // X.690 §8.19.5's example arcs: 1.2.840.113549 → 2a 86 48 86 f7 0d.
  assert.equal(hex(oid('1.2.840.113549')), '06062a864886f70d');
  // A non-negative INTEGER whose top bit is set needs a leading zero (§8.3.2).
  assert.equal(hex(int(0x80)), '02020080');
  assert.equal(hex(int(0)), '020100');
  // 200 bytes: long form, one length octet (§8.1.3.5).
  assert.equal(hex(octets(new Uint8Array(200)).subarray(0, 3)), '0481c8');
  assert.equal(hex(octets(new Uint8Array(300)).subarray(0, 4)), '0482012c');
});

test('validity times switch from UTCTime to GeneralizedTime at 2050 (RFC 5280 §4.1.2.5)', () => {
  const utc = time(new Date('2049-12-31T23:59:59Z'));
  assert.equal(utc[0], 0x17);
  assert.equal(Buffer.from(utc.subarray(2)).toString('latin1'), '491231235959Z');
  const gen = time(new Date('2050-01-01T00:00:00Z'));
  assert.equal(gen[0], 0x18);
  assert.equal(Buffer.from(gen.subarray(2)).toString('latin1'), '20500101000000Z');
});

test('openssl reads and verifies a self-signed ECDSA P-384 CA certificate', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-x509-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const kp = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const subject = name([
    ['C', 'US'],
    ['O', 'mrstack test'],
    ['CN', 'x509 encoder'],
  ]);
  const tbs = encodeTbs({
    serial: 0x0123456789abcdefn,
    sigAlg: 'ecdsa-sha384',
    issuer: subject,
    subject,
    notBefore: new Date('2024-01-01T00:00:00Z'),
    notAfter: new Date('2060-01-01T00:00:00Z'),
    spki: new Uint8Array(kp.publicKey.export({ format: 'der', type: 'spki' })),
    extensions: [caExtension()],
  });
  const der = encodeCertificate(tbs, 'ecdsa-sha384', sign('sha384', tbs, kp.privateKey));
  const pem = join(dir, 'ca.pem');
  writeFileSync(pem, toPem(der));
  const text = runTool('openssl', ['x509', '-in', pem, '-noout', '-text']).toString();
  assert.match(text, /Version: 3 \(0x2\)/);
  assert.match(text, /Serial Number: 81985529216486895 \(0x123456789abcdef\)/);
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA384/);
  assert.match(text, /Subject: C ?= ?US, O ?= ?mrstack test, CN ?= ?x509 encoder/);
  assert.match(text, /Not After : Jan {2}1 00:00:00 2060 GMT/);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
  // openssl's DER reading of our PEM gives back our bytes exactly.
  const back = runTool('openssl', ['x509', '-in', pem, '-outform', 'DER']);
  assert.equal(hex(back), hex(der));
  const out = runTool('openssl', [
    'verify',
    '-attime',
    String(Date.parse('2025-01-01T00:00:00Z') / 1000),
    '-CAfile',
    pem,
    pem,
  ]).toString();
  assert.match(out, /: OK/);
});
