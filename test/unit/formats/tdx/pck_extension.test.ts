// The SGX extension of PCK certificates, read from the TDX-1 quote's leaf (values asserted by
// go-tdx-guest's TestPckCertificateExtensions) and from the TDX-6 quote (trustee's pck.rs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../../../_support/paths.js';
import { toHex } from '../../../../src/bytes/hex.js';
import { parseTdxQuote } from '../../../../src/formats/tdx/quote.js';
import {
  encodePckExtension,
  parsePckExtension,
} from '../../../../src/formats/tdx/pck_extension.js';
import { parseCertificate } from '../../../../src/verifier/verify/x509/certificate.js';
import { pckExtensionOf } from '../../../../src/verifier/verify/tdx_verifier.js';

const leafOf = (name: string): ReturnType<typeof parseCertificate> =>
  parseCertificate(
    parseTdxQuote(new Uint8Array(readFileSync(fixture('evidence', 'tdx', name)))).certificationData
      .pckChain[0]!,
  );

test('TDX-1 PCK leaf: PPID, FMSPC, PCE-ID, PCESVN, CPUSVN and components', () => {
  const e = pckExtensionOf(leafOf('gotdx-v4-spr-e4.quote.bin'));
  assert.equal(toHex(e.ppid), '089ddfdb9c0359c82a3bc7719239574e');
  assert.equal(toHex(e.fmspc), '50806f000000');
  assert.equal(toHex(e.pceId), '0000');
  assert.equal(e.pceSvn, 11);
  assert.equal(toHex(e.cpuSvn), '03030202020100020000000000000000');
  assert.equal(toHex(Uint8Array.from(e.sgxTcbComponents)), '03030202020100020000000000000000');
});

test('TDX-6 PCK leaf (platform CA): instance id and configuration flags present', () => {
  const e = pckExtensionOf(leafOf('trustee-v4-debug-td.quote.bin'));
  // The DER octets (as `openssl asn1parse` shows them) are 021ac64d…; trustee's pck.rs prints
  // the same 16 bytes reversed (82548d22…), which is what its test asserts.
  assert.equal(toHex(e.platformInstanceId!), '021ac64d355ba904e2d5948d228d5482');
  assert.equal(toHex(e.platformInstanceId!.slice().reverse()), '82548d228d94d5e204a95b354dc61a02');
  assert.equal(e.fmspc.length, 6);
  assert.equal(e.pceId.length, 2);
  assert.deepEqual(Object.keys(e.configuration!).sort(), [
    'cached_keys',
    'dynamic_platform',
    'smt_enabled',
  ]);
});

test('encode → parse round trip', () => {
  const e = {
    ppid: new Uint8Array(16).fill(0xaa),
    sgxTcbComponents: [3, 3, 2, 2, 4, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 200],
    pceSvn: 300,
    cpuSvn: new Uint8Array(16).fill(7),
    pceId: Uint8Array.of(0, 0),
    fmspc: Uint8Array.of(1, 2, 3, 4, 5, 6),
    sgxType: 1,
  };
  assert.deepEqual(parsePckExtension(encodePckExtension(e)), e);
});

test('malformed DER is a typed x509 parse error', () => {
  assert.throws(() => parsePckExtension(Uint8Array.of(0x30, 0x05, 0x30)), {
    code: 'ERR_TRUNCATED',
    format: 'x509',
  });
  assert.throws(() => parsePckExtension(Uint8Array.of(0x04, 0x00)), { code: 'ERR_BAD_ENCODING' });
});
