// TDX quote parsing and encoding against the shared captures: field values are the ones the
// upstream projects' own tests assert (test/fixtures/evidence/tdx/PROVENANCE.md), and the
// malformed-input cases are go-tdx-guest's abi_test mutations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../../../_support/paths.js';
import { toHex } from '../../../../src/bytes/hex.js';
import {
  encodeTdxQuoteSignedPart,
  parseTdxQuote,
  tdxQuoteClaims,
} from '../../../../src/formats/tdx/quote.js';
import { reencodeTdxQuote } from '../../../_support/tdx_quote.js';
import { ParseError } from '../../../../src/errors.js';
import { withLimits } from '../../../../src/limits.js';

const load = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(fixture('evidence', 'tdx', name)));
const Z48 = '00'.repeat(48);

test('TDX-1 go-tdx-guest v4 quote: every field its TestTdxQuote asserts', () => {
  const q = parseTdxQuote(load('gotdx-v4-spr-e4.quote.bin'));
  assert.equal(q.header.version, 4);
  assert.equal(q.bodyType, 2);
  assert.equal(toHex(q.header.qeVendorId), '939a7233f79c4ca9940a0db3957f0607');
  assert.equal(q.header.qeSvn, 0);
  assert.equal(q.header.pceSvn, 0);
  const b = q.body;
  assert.equal(toHex(b.teeTcbSvn), '03000400000000000000000000000000');
  assert.equal(
    toHex(b.mrSeam),
    '2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656',
  );
  assert.equal(toHex(b.tdAttributes), '0000004000000000');
  assert.equal(toHex(b.xfam), 'e71a060000000000');
  assert.equal(
    toHex(b.mrTd),
    '6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb',
  );
  assert.equal(toHex(b.mrConfigId), Z48);
  assert.equal(toHex(b.mrOwner), Z48);
  assert.equal(toHex(b.mrOwnerConfig), Z48);
  assert.equal(
    toHex(b.rtmr[0]),
    '2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823adf08f833c1e50b51779c6593f32a',
  );
  assert.equal(
    toHex(b.rtmr[1]),
    '2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b56d035c59107c6bc5800db2cacb61',
  );
  assert.equal(
    toHex(b.rtmr[2]),
    '8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2287fc7c3bf5c924eb4424e',
  );
  assert.equal(toHex(b.rtmr[3]), Z48);
  assert.equal(
    toHex(b.reportData),
    '6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113',
  );
  assert.equal(b.teeTcbSvn2, undefined);
  // The QE report values TestNegativeVerifyUsingQeIdentityV4 names.
  const qe = q.certificationData.qeReport;
  assert.equal(
    toHex(qe.mrSigner),
    'dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5',
  );
  assert.equal(qe.isvProdId, 2);
  assert.equal(qe.miscSelect, 0);
  assert.equal(qe.attributes[0]! & 0xfb, 0x11);
  assert.equal(q.certificationData.pckChain.length, 3);
  // 39 bytes of ASCII text follow the signature data; tolerated and reported.
  assert.equal(q.trailingBytes, 39);
  assert.ok(q.warnings.some((w) => w.startsWith('39 bytes after the signature data')));
  assert.equal(q.signedBytes.length, 632);
});

test('TDX-4 dcap-qvl v4 quote: the snapshot fields', () => {
  const q = parseTdxQuote(load('dcapqvl-v4-b0c06f.quote.bin'));
  assert.equal(q.header.teeType, 129);
  assert.equal(q.header.attKeyType, 2);
  assert.equal(toHex(q.header.userData), '889b7d6ff9df2405b240a830e73faf3d00000000');
  assert.equal(toHex(q.body.teeTcbSvn), '06010300000000000000000000000000');
  assert.equal(
    toHex(q.body.mrSeam),
    '5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1',
  );
  assert.equal(toHex(q.body.tdAttributes), '0000001000000000');
  assert.equal(toHex(q.body.xfam), 'e702060000000000');
  assert.equal(
    toHex(q.body.mrTd),
    '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7',
  );
  assert.equal(
    toHex(q.body.rtmr[2]),
    'd833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132',
  );
  assert.equal(
    toHex(q.signature),
    'f156eac8ad01d79f7cce668f60005819b22f2151a66155a430ad4f7a9538ae31330f9dfd5424e7c4124b44a668cb97fe2da48e617252ee5aeb6252d48e9324e5',
  );
  assert.equal(
    toHex(q.attestationKey),
    'c78ac5859b9f567238fad82ad63202bc516ee7ad14ec1d9adfc633e4cf5f71f73d6138ce76d0d9c1443f695464d1ed419c37ce696e70e95a5b317894a5897907',
  );
  assert.equal(
    toHex(q.certificationData.qeReportSignature),
    'ca1bd340a4c8437b3d3d6fcf8b40030ddb7ac7f22d9597f4b593120350c891cafdf7c699e6feac62e44d474b48c653114a2adf325623b6a218a166a27dfe8550',
  );
  assert.equal(
    toHex(q.certificationData.qeAuthData),
    Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join(''),
  );
  assert.equal(q.trailingBytes, 70);
});

test('TDX-2 and TDX-7 v5 quotes with TDX 1.5 bodies', () => {
  const q = parseTdxQuote(load('gotdx-v5-sample.quote.bin'));
  assert.equal(q.header.version, 5);
  assert.equal(q.bodyType, 3);
  assert.equal(
    toHex(q.body.mrTd),
    '7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876',
  );
  assert.equal(toHex(q.body.teeTcbSvn), '0b010400000000000000000000000000');
  assert.equal(toHex(q.body.teeTcbSvn2!), '0d010400000000000000000000000000');
  assert.equal(toHex(q.body.mrServiceTd!), Z48);
  assert.equal(q.certificationData.qeReport.isvSvn, 7);
  // v5 signs the body type and size too: 48 + 6 + 648.
  assert.equal(q.signedBytes.length, 702);

  const t = parseTdxQuote(load('trustee-v5.quote.bin'));
  assert.equal(t.header.version, 5);
  assert.equal(t.bodyType, 3);
  assert.equal(
    toHex(t.body.mrTd),
    'dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7c9638bfcba422f3886400a',
  );
  assert.equal(
    toHex(t.body.reportData),
    '6d6ab13b046cff606ac0074be13981b07b6325dba10b5facc96febf551c0c3be2b75f92fe1f88f4bb996969ad0174b4b7a70261b7b85c844f4b33a4674fd049f',
  );
  assert.equal(toHex(t.body.teeTcbSvn), '05010200000000000000000000000000');
});

test('TDX-6/7/8 claims use the DESIGN §7 names', () => {
  const debug = tdxQuoteClaims(parseTdxQuote(load('trustee-v4-debug-td.quote.bin')));
  assert.equal(
    toHex(debug['mrtd'] as Uint8Array),
    '705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031',
  );
  assert.equal(
    toHex(debug['rtmr1'] as Uint8Array),
    '559cfcf42716ed6c40a48a73d5acb7da255435012f0a9f00fbe8c1c57612ede486a5684c4c9ff3ddf52315fcdca3a596',
  );
  assert.equal(toHex(debug['td_attributes'] as Uint8Array), '0100001000000000');
  assert.deepEqual(
    { ...(debug['td_attributes_flags'] as Record<string, boolean>) },
    { debug: true, sept_ve_disable: true, pks: false, kl: false, perfmon: false },
  );
  assert.equal(toHex(debug['xfam'] as Uint8Array), 'e742060000000000');
  assert.equal(toHex(debug['user_data'] as Uint8Array), 'd099bfec0a477aa85a605dceabf2b10800000000');
  assert.equal(toHex(debug['tee_tcb_svn'] as Uint8Array), '03000500000000000000000000000000');

  const cfg = tdxQuoteClaims(parseTdxQuote(load('trustee-v4-mrconfigid.quote.bin')));
  assert.equal(
    toHex(cfg['mrconfigid'] as Uint8Array),
    '889abf4718f037e38d74464c11e7c91a6e9890b5546409e1e7df9de7a51ca93152bf847bd2440328e90adb18b150ed67',
  );

  const azureText = readFileSync(fixture('evidence', 'tdx', 'teekit-v4-azure.quote.b64'), 'utf8');
  const azure = parseTdxQuote(new Uint8Array(Buffer.from(azureText.trim(), 'base64')));
  assert.equal(
    toHex(azure.body.mrTd),
    'fe27b2aa3a05ec56864c308aff03dd13c189a6112d21e417ec1afe626a8cb9d91482d1379ec02fe6308972950a930d0a',
  );
  assert.equal(
    toHex(azure.body.reportData),
    `675b293e4e395b2bfbfb27a1754f5ca1fdca87e1949b3bc4d8ca39a8be195afe${'00'.repeat(32)}`,
  );
  assert.equal(toHex(azure.body.teeTcbSvn), '04010700000000000000000000000000');

  const edgeless = parseTdxQuote(load('teekit-v4-edgeless.quote.bin'));
  assert.equal(
    Buffer.from(edgeless.body.reportData).toString('latin1').replace(/\0+$/, ''),
    'Hello from Edgeless Systems!',
  );
});

test('TDX-3 GCE 8000-byte buffer: 3065 trailing zero bytes tolerated', () => {
  const q = parseTdxQuote(load('gotdx-gce-cos113.quote-8000b.bin'));
  assert.equal(q.trailingBytes, 3065);
  assert.equal(
    toHex(q.body.mrTd),
    'dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f94a',
  );
  assert.equal(toHex(q.body.reportData), '00'.repeat(64));
});

test('encoding a parsed quote gives back its bytes (up to the trailing padding)', () => {
  for (const name of ['gotdx-v4-spr-e4.quote.bin', 'gotdx-gce-cos113.quote-8000b.bin']) {
    const raw = load(name);
    const q = parseTdxQuote(raw);
    const again = reencodeTdxQuote(q);
    assert.equal(toHex(again), toHex(raw.subarray(0, raw.length - q.trailingBytes)), name);
  }
  // v5 signed part (header, body type, size, 1.5 body) re-encodes exactly.
  const v5 = load('gotdx-v5-sample.quote.bin');
  const q5 = parseTdxQuote(v5);
  assert.equal(toHex(encodeTdxQuoteSignedPart(q5.header, q5.body)), toHex(v5.subarray(0, 702)));
});

function mutate(raw: Uint8Array, at: number, bytes: number[]): Uint8Array {
  const c = raw.slice();
  c.set(bytes, at);
  return c;
}

function assertParseError(data: Uint8Array, code: string, field?: string, offset?: number): void {
  assert.throws(
    () => parseTdxQuote(data),
    (e: unknown) => {
      assert.ok(e instanceof ParseError, String(e));
      assert.equal(e.code, code);
      assert.equal(e.format, 'tdx-quote');
      if (field !== undefined) assert.equal(e.field, field);
      if (offset !== undefined) assert.equal(e.offset, offset);
      return true;
    },
  );
}

test("go-tdx-guest's abi_test mutations of the v5 quote are typed errors", () => {
  const v5 = load('gotdx-v5-sample.quote.bin');
  // Truncated to 100 bytes.
  assertParseError(v5.subarray(0, 100), 'ERR_TRUNCATED');
  // Body type 1 (SGX).
  assertParseError(mutate(v5, 48, [1, 0]), 'ERR_UNSUPPORTED_VERSION', 'body_type', 48);
  // Body size 999.
  assertParseError(mutate(v5, 50, [0xe7, 0x03, 0, 0]), 'ERR_BAD_VALUE', 'body_size', 50);
  // Body type 2 (TDX 1.0) with the 648-byte size of a 1.5 body.
  assertParseError(mutate(v5, 48, [2, 0]), 'ERR_BAD_VALUE', 'body_size', 50);
});

test('TDX-1 tamper recipes that break the structure are typed errors', () => {
  const raw = load('gotdx-v4-spr-e4.quote.bin');
  // 0x000 → 0x03: version 3.
  assertParseError(mutate(raw, 0x000, [0x03]), 'ERR_UNSUPPORTED_VERSION', 'header.version', 0);
  // 0x278 → 0x10: the signature-data length no longer matches its content.
  assertParseError(mutate(raw, 0x278, [0x10]), 'ERR_TRUNCATED');
  // 0x1343 → 0x32: the PEM chain's END line is broken.
  assertParseError(mutate(raw, 0x1343, [0x32]), 'ERR_BAD_ENCODING');
});

test('a certification data type other than 6 (outer) or 5 (inner) is rejected', () => {
  const raw = load('gotdx-v4-spr-e4.quote.bin');
  // v4: outer type-6 header @764, inner type-5 header @1252.
  assertParseError(mutate(raw, 764, [5, 0]), 'ERR_BAD_VALUE', 'certification_data.type', 764);
  assertParseError(mutate(raw, 1252, [4, 0]), 'ERR_BAD_VALUE', 'certification_data.pck.type', 1252);
});

test('truncation anywhere is ERR_TRUNCATED; oversized input is ERR_LENGTH_LIMIT', () => {
  const raw = load('dcapqvl-v4-b0c06f.quote.bin');
  for (const cut of [0, 1, 47, 48, 631, 632, 635, 700, 1000, 1300]) {
    assertParseError(raw.subarray(0, cut), 'ERR_TRUNCATED');
  }
  assert.throws(() => parseTdxQuote(raw, withLimits({ maxEvidenceSize: 4096 })), {
    code: 'ERR_LENGTH_LIMIT',
  });
  // A TEE type other than TDX (SGX quotes have 0).
  assertParseError(mutate(raw, 4, [0]), 'ERR_BAD_MAGIC', 'header.tee_type', 4);
  // An attestation key type other than ECDSA P-256.
  assertParseError(mutate(raw, 2, [3]), 'ERR_UNKNOWN_ALGORITHM', 'header.att_key_type', 2);
});
