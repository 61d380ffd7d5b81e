// IMA list details: per-bank binary lists, host-endian (big-endian) vs canonical lists, the
// kernel's ascii rendering (%2d PCR, names with spaces, empty fields), templates and custom
// field lists. Expected hashes come from openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../../../../src/bytes/hex.js';
import {
  detectImaBinaryLayout,
  encodeImaBinary,
  parseImaBinary,
} from '../../../../src/formats/ima/ima_binary.js';
import { encodeImaAscii, parseImaAscii } from '../../../../src/formats/ima/ima_ascii.js';
import {
  decodeImaFields,
  encodeImaTemplateData,
  imaEntryDetails,
  type ImaEntry,
  type ImaField,
} from '../../../../src/formats/ima/ima_template.js';
import { replayImaBytes } from '../../../_support/ima_replay.js';
import { opensslDigest } from '../../../_support/peers.js';

const enc = new TextEncoder();
const dng = (alg: string, d: Uint8Array): Uint8Array =>
  new Uint8Array([...enc.encode(`${alg}:`), 0, ...d]);
const nng = (s: string): Uint8Array => new Uint8Array([...enc.encode(s), 0]);

function entry(tpl: string, fields: ImaField[], bank = 'sha1', pcr = 10, le = true): ImaEntry {
  const templateData = encodeImaTemplateData(tpl, fields, le);
  return {
    index: 0,
    offset: 0,
    pcr,
    templateHash: opensslDigest(bank, templateData),
    templateName: tpl,
    templateData,
    littleEndian: le,
  };
}

test('per-bank binary list (SHA-256 template hashes) is detected and replays', async () => {
  const e = entry(
    'ima-ng',
    [
      { id: 'd-ng', data: dng('sha256', new Uint8Array(32).fill(7)) },
      { id: 'n-ng', data: nng('/bin/true') },
    ],
    'sha256',
  );
  const bin = encodeImaBinary([e, { ...e, index: 1 }]);
  assert.deepEqual(detectImaBinaryLayout(bin), { bank: 'sha256', littleEndian: true });
  const back = parseImaBinary(bin);
  assert.equal(back.length, 2);
  assert.equal(back[0]!.templateHash.length, 32);
  const r = await replayImaBytes(bin);
  assert.equal(r.digestMismatches, 0);
  const once = opensslDigest('sha256', new Uint8Array([...new Uint8Array(32), ...e.templateHash]));
  const twice = opensslDigest('sha256', new Uint8Array([...once, ...e.templateHash]));
  assert.equal(r.registers['pcr10']?.['sha256'], toHex(twice));
});

test('big-endian (host order on BE machines) lists: detected, hashed as stored, re-encoded both ways', async () => {
  const le = entry('ima-sig', [
    { id: 'd-ng', data: dng('sha256', new Uint8Array(32).fill(1)) },
    { id: 'n-ng', data: nng('/x') },
    { id: 'sig', data: new Uint8Array([3, 2, 1]) },
  ]);
  const be = entry('ima-sig', decodeImaFields(le), 'sha1', 10, false);
  const beBin = encodeImaBinary([be]);
  assert.deepEqual(detectImaBinaryLayout(beBin), { bank: 'sha1', littleEndian: false });
  assert.equal(new DataView(beBin.buffer).getUint32(0, false), 10);
  const parsed = parseImaBinary(beBin);
  assert.equal(parsed[0]!.littleEndian, false);
  assert.deepEqual(imaEntryDetails(parsed[0]!), imaEntryDetails(le));
  assert.equal((await replayImaBytes(beBin)).digestMismatches, 0);
  assert.equal(toHex(encodeImaBinary(parsed)), toHex(beBin));
  // Re-encoded little-endian: every length field flipped, same content.
  const asLe = encodeImaBinary(parsed, true);
  const reparsed = parseImaBinary(asLe);
  assert.equal(reparsed[0]!.littleEndian, true);
  assert.deepEqual(decodeImaFields(reparsed[0]!), decodeImaFields(le));
});

test('ascii rendering follows the kernel: %2d PCR, spaces in names, empty signature', () => {
  const a = entry(
    'ima-sig',
    [
      { id: 'd-ng', data: dng('sha256', new Uint8Array(32).fill(0xab)) },
      { id: 'n-ng', data: nng('/opt/my app/run me') },
      { id: 'sig', data: new Uint8Array(0) },
    ],
    'sha1',
    2,
  );
  const text = encodeImaAscii([a]);
  assert.equal(
    text,
    ` 2 ${toHex(a.templateHash)} ima-sig sha256:${'ab'.repeat(32)} /opt/my app/run me \n`,
  );
  const back = parseImaAscii(text);
  assert.equal(toHex(back[0]!.templateData), toHex(a.templateData));
  assert.equal(back[0]!.pcr, 2);
  const b = entry('ima-modsig', [
    { id: 'd-ng', data: dng('sha512', new Uint8Array(64).fill(1)) },
    { id: 'n-ng', data: nng('/lib/modules/a b.ko') },
    { id: 'sig', data: new Uint8Array(0) },
    { id: 'd-modsig', data: dng('sha256', new Uint8Array(32).fill(2)) },
    { id: 'modsig', data: new Uint8Array([9, 8, 7]) },
  ]);
  const t2 = encodeImaAscii([b]);
  assert.match(t2, / \/lib\/modules\/a b\.ko {2}sha256:(02){32} 090807\n$/);
  assert.equal(toHex(parseImaAscii(t2)[0]!.templateData), toHex(b.templateData));
});

test('ima-ngv2 digest type prefix, ima-buf, legacy ima, custom field list', async () => {
  const v2 = entry('ima-ngv2', [
    { id: 'd-ngv2', data: dng('verity:sha256', new Uint8Array(32).fill(3)) },
    { id: 'n-ng', data: nng('/usr/bin/x') },
  ]);
  assert.deepEqual(imaEntryDetails(v2), {
    file_digest: '03'.repeat(32),
    file_digest_alg: 'sha256',
    digest_type: 'verity',
    file_name: '/usr/bin/x',
  });
  assert.match(encodeImaAscii([v2]), / ima-ngv2 verity:sha256:(03){32} \/usr\/bin\/x\n$/);
  const buf = entry('ima-buf', [
    { id: 'd-ng', data: dng('sha256', new Uint8Array(32)) },
    { id: 'n-ng', data: nng('kexec-cmdline') },
    { id: 'buf', data: enc.encode('quiet') },
  ]);
  assert.equal(imaEntryDetails(buf)['buf'], toHex(enc.encode('quiet')));
  // The legacy hash covers the digest and the name padded to 256 bytes (not the stored bytes).
  const padded = new Uint8Array(276);
  padded.fill(5, 0, 20);
  padded.set(enc.encode('/init'), 20);
  const legacy = {
    ...entry('ima', [
      { id: 'd', data: new Uint8Array(20).fill(5) },
      { id: 'n', data: enc.encode('/init') },
    ]),
    templateHash: opensslDigest('sha1', padded),
  };
  assert.equal((await replayImaBytes(encodeImaBinary([legacy]))).digestMismatches, 0);
  const legacyText = encodeImaAscii([legacy]);
  assert.equal(legacyText, `10 ${toHex(legacy.templateHash)} ima ${'05'.repeat(20)} /init\n`);
  assert.equal(toHex(parseImaAscii(legacyText)[0]!.templateData), toHex(legacy.templateData));
  const custom = entry('d-ng|n-ng|buf', decodeImaFields(buf));
  assert.deepEqual(
    decodeImaFields(custom).map((f) => f.id),
    ['d-ng', 'n-ng', 'buf'],
  );
  assert.equal(
    toHex(parseImaAscii(encodeImaAscii([custom]))[0]!.templateData),
    toHex(custom.templateData),
  );
});

test('ascii errors name the line and field', () => {
  assert.throws(() => parseImaAscii('10 zz ima-ng sha1:00 x\n'), {
    code: 'ERR_BAD_HEX',
    offset: 1,
  });
  assert.throws(() => parseImaAscii(`10 ${'0'.repeat(40)} ima-ng sha1:00 x\nfoo\n`), {
    code: 'ERR_BAD_VALUE',
    offset: 2,
  });
  assert.throws(() => parseImaAscii(`10 ${'0'.repeat(40)} no-such-template x\n`), {
    code: 'ERR_UNSUPPORTED_VERSION',
  });
  assert.throws(() => parseImaAscii(`10 ${'0'.repeat(40)} ima-sig sha1:0g x y\n`), {
    code: 'ERR_BAD_VALUE',
  });
  assert.throws(() => parseImaAscii(new Uint8Array([0x31, 0x30, 0x20, 0xff, 0x0a])), {
    code: 'ERR_BAD_ENCODING',
  });
  assert.equal(parseImaAscii('').length, 0);
  assert.equal(toHex(fromHex('')), '');
});
