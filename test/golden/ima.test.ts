// IMA captures against the values their provenance asserts (test/fixtures/eventlogs/ima/
// PROVENANCE.md): counts, template hashes, PCR10 per bank, violations, truncation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../_support/paths.js';
import { parseImaBinary } from '../../src/formats/ima/ima_binary.js';
import { parseImaAscii } from '../../src/formats/ima/ima_ascii.js';
import {
  imaEntryDetails,
  imaTemplateHashInput,
  isImaViolation,
} from '../../src/formats/ima/ima_template.js';
import { toHex } from '../../src/bytes/hex.js';
import { ParseError } from '../../src/errors.js';
import { imaAsciiFormat, imaBinaryFormat } from '../../src/eventlog/ima_format.js';
import { bytesInput } from '../../src/formats/stream/framer.js';
import { Replay } from '../../src/eventlog/replay.js';
import { detectLogFormat } from '../../src/eventlog/registry.js';
import { opensslDigest } from '../_support/peers.js';
import { replayImaFile } from '../_support/ima_replay.js';

const path = (name: string): string => fixture('eventlogs', 'ima', name);
const ima = (name: string): Uint8Array => new Uint8Array(readFileSync(path(name)));

function truncation(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ParseError, String(e));
    return e;
  }
  assert.fail('expected a ParseError');
}

test('tpm2-tss ima-ng sha1 list: 6 events, their template hashes, PCR10, stray byte = truncation', async () => {
  const b = ima('debian-ima-ng-sha1.binary_runtime_measurements');
  const e = truncation(() => parseImaBinary(b));
  assert.equal(e.code, 'ERR_TRUNCATED');
  assert.equal(e.completeRecords, 6);
  assert.equal(e.offset, 558);
  const entries = parseImaBinary(b, { partialTail: 'stop' });
  assert.deepEqual(
    entries.map((x) => toHex(x.templateHash)),
    [
      '1d8d532d463c9f8c205d0df7787669a85f93e260',
      '972d62ff5b3a74e89952e0980b2099eed49bf8f0',
      'c76ee54d77352bee745ce43829247ff1706886df',
      'ef885dd41140c5fb993188f60a298c5a9b31d038',
      'a8fe19f5a9773edebf7b7df90bf9ce38b071e684',
      '0801daa94a2c43f41200143b319f19b28b43f745',
    ],
  );
  assert.ok(entries.every((x) => x.pcr === 10 && x.templateName === 'ima-ng'));
  assert.deepEqual(
    entries.map((x) => imaEntryDetails(x)['file_name']),
    [
      'boot_aggregate',
      '/init',
      '/usr/bin/sh',
      '/usr/lib/x86_64-linux-gnu/ld-2.31.so',
      '/etc/ld.so.cache',
      '/usr/lib/x86_64-linux-gnu/libc-2.31.so',
    ],
  );
  // boot_aggregate without a TPM: sha1 and zeros.
  const ba = imaEntryDetails(entries[0]!);
  assert.equal(ba['file_digest_alg'], 'sha1');
  assert.equal(ba['file_digest'], '00'.repeat(20));
  // Every template hash verifies (checked with openssl, independent of node:crypto).
  for (const x of entries) {
    assert.equal(toHex(opensslDigest('sha1', imaTemplateHashInput(x))), toHex(x.templateHash));
  }
  await assert.rejects(replayImaFile(path('debian-ima-ng-sha1.binary_runtime_measurements')), {
    code: 'ERR_TRUNCATED',
  });
  const r = await replayImaFile(path('debian-ima-ng-sha1.binary_runtime_measurements'), {
    allowPartialTail: true,
  });
  assert.equal(r.digestMismatches, 0);
  assert.deepEqual(r.registers, { pcr10: { sha1: 'ef2a20de2a84a4780f92ab11d5c4934c709dff00' } });
});

test('legacy ima template: 12 events, 256-byte padded hashing, PCR10', async () => {
  const b = ima('debian-ima-legacy-template-sha1.binary_runtime_measurements');
  assert.equal(truncation(() => parseImaBinary(b)).completeRecords, 12);
  const entries = parseImaBinary(b, { partialTail: 'stop' });
  assert.deepEqual(
    entries.map((x) => toHex(x.templateHash)),
    [
      '719de8e521439498e9b77f6ed41e230b9821111e',
      'a3ff2672a129ea092ec2d41b88daafe632a8b65a',
      '11fdfd51127b2a3853c55136d0c76411f6246892',
      '7a89e5da2a7299c7b3d76fbbbd4727d13818cc9a',
      '6d644a6a36001decfbc93ae98734473adc807c98',
      '70ff9de3f9a80361cca4f13edc027150318116da',
      '082ab538004eb50f2c8cdcbc8467037b11436ed6',
      '0cf46ceded0ffc71df00612568f6679208bb43d1',
      '37d29d0dbcfcc9b90fcd1986e452ab27a017e61a',
      'b81750d408faeb879a02f14cd8f42253308686fa',
      '47a8d6956a06cecf639af074b264bd1338c0942e',
      '21044c1265a4b298dfd97ead49c355817b1a2493',
    ],
  );
  assert.equal(imaEntryDetails(entries[11]!)['file_name'], '/scripts/init-top/blacklist');
  assert.equal(imaTemplateHashInput(entries[1]!).length, 20 + 256);
  const r = await replayImaFile(
    path('debian-ima-legacy-template-sha1.binary_runtime_measurements'),
    { allowPartialTail: true },
  );
  assert.equal(r.events, 12);
  assert.equal(r.digestMismatches, 0);
  assert.equal(r.registers['pcr10']?.['sha1'], '062a05a9d18d1a51775ff8162bf6964b8dd23eb4');
});

test('violations: all-zero template hash extended as all ones', async () => {
  const a = parseImaBinary(ima('ima-legacy-template-invalidated.binary_runtime_measurements'));
  assert.equal(a.length, 1);
  assert.ok(isImaViolation(a[0]!));
  const ra = await replayImaFile(
    path('ima-legacy-template-invalidated.binary_runtime_measurements'),
  );
  assert.equal(ra.registers['pcr10']?.['sha1'], 'bac37b84f007d0238af95af707cac8d61254870e');

  const b = parseImaBinary(ima('ima-sig-sha256-invalidated.binary_runtime_measurements'));
  assert.equal(b.length, 2);
  assert.equal(toHex(b[0]!.templateHash), 'bcb0e518b79de0d7f2cd20b8a29a7092e65db7ef');
  assert.equal(b[0]!.templateName, 'ima-sig');
  assert.ok(isImaViolation(b[1]!));
  const rb = await replayImaFile(path('ima-sig-sha256-invalidated.binary_runtime_measurements'));
  assert.equal(rb.digestMismatches, 0);
  assert.equal(rb.registers['pcr10']?.['sha1'], 'a0e7bc9af0a2b54147b0d595d058f15c6cc44a6d');
});

test('a record cut inside its template data is ERR_TRUNCATED with 0 complete records', () => {
  const e = truncation(() =>
    parseImaBinary(ima('malformed-ima-ng-invalidated-truncated.binary_runtime_measurements')),
  );
  assert.equal(e.code, 'ERR_TRUNCATED');
  assert.equal(e.completeRecords, 0);
  assert.equal(e.format, 'ima-binary');
  assert.match(e.field, /template_data/);
});

test('ascii lists: keylime agent list (826 entries) and one-line list replay to PCR10', async () => {
  const big = parseImaAscii(ima('rust-keylime-agent-ima-ng-sha1.ascii_runtime_measurements'));
  assert.equal(big.length, 826);
  const r = await replayImaFile(path('rust-keylime-agent-ima-ng-sha1.ascii_runtime_measurements'));
  assert.equal(r.events, 826);
  assert.equal(r.digestMismatches, 0);
  assert.equal(r.registers['pcr10']?.['sha1'], '82231c67a69da98dc5b3aa10f6343d33109225fc');
  const one = parseImaAscii(ima('rust-keylime-one-line.ascii_runtime_measurements'));
  assert.equal(one.length, 1);
  const r1 = await replayImaFile(path('rust-keylime-one-line.ascii_runtime_measurements'));
  assert.equal(r1.registers['pcr10']?.['sha1'], '703b9083e1f35ae2faf8aee75f0541c709c53c77');
});

test('ascii lists: keylime policy inputs in every digest algorithm', async () => {
  for (const alg of ['sha1', 'sha256', 'sha384', 'sha512']) {
    const e = parseImaAscii(ima(`keylime-policy-${alg}.ascii_runtime_measurements`));
    assert.equal(e.length, 2);
    assert.equal(imaEntryDetails(e[1]!)['file_digest_alg'], alg);
    assert.equal(imaEntryDetails(e[1]!)['file_name'], '/data');
    assert.equal(e.filter(isImaViolation).length, alg === 'sha256' ? 0 : 1, alg);
    const r = await replayImaFile(path(`keylime-policy-${alg}.ascii_runtime_measurements`));
    assert.equal(r.digestMismatches, 0, alg);
  }
  const sm3 = parseImaAscii(ima('keylime-policy-sm3_256.ascii_runtime_measurements'));
  assert.equal(sm3[1]!.templateHash.length, 32);
  assert.equal(toHex(sm3[1]!.templateHash).slice(0, 8), '7dd89e51');
  // The 64-digit column verifies as SM3 (not SHA-256): replayed in the sm3 bank.
  const rs = await replayImaFile(path('keylime-policy-sm3_256.ascii_runtime_measurements'));
  assert.equal(rs.digestMismatches, 0);
  assert.deepEqual(Object.keys(rs.registers['pcr10'] ?? {}), ['sm3']);
  // The "unknown" list copies the SM3 template hash onto other data: it must not verify.
  const unk = await replayImaFile(path('keylime-policy-unknown-alg.ascii_runtime_measurements'));
  assert.equal(unk.digestMismatches, 1);
});

test('TDX kernel list: register column " 2" and a SHA-384 template hash', async () => {
  const text = ima('tdx-rtmr-ima-ng-sha384.ascii_runtime_measurements');
  const e = parseImaAscii(text);
  assert.equal(e.length, 1);
  assert.equal(e[0]!.pcr, 2);
  assert.equal(
    toHex(e[0]!.templateHash),
    '67c70809bd405ea82081e8f1eb2ca16108bce307f5f139492da641e08e07ec99e2163649f29323a5f5963fe07bb06cc6',
  );
  assert.equal(imaEntryDetails(e[0]!)['file_digest_alg'], 'sha384');
  const r = await replayImaFile(path('tdx-rtmr-ima-ng-sha384.ascii_runtime_measurements'));
  assert.equal(r.digestMismatches, 0);
  assert.deepEqual(Object.keys(r.registers), ['pcr2']);
  assert.deepEqual(Object.keys(r.registers['pcr2'] ?? {}), ['sha384']);
});

test('an invalid ascii list is a typed parse error', () => {
  const text = ima('malformed-rust-keylime-invalid.ascii_runtime_measurements');
  const e = truncation(() => parseImaAscii(text));
  assert.equal(e.format, 'ima-ascii');
  assert.equal(e.code, 'ERR_BAD_VALUE');
  assert.throws(() => detectLogFormat(text), { code: 'ERR_UNKNOWN_FORMAT' });
});

test('through the format registry and the core replay: detection, events, PCR10', async () => {
  const bin = ima('ima-sig-sha256-invalidated.binary_runtime_measurements');
  assert.equal(detectLogFormat(bin).id, 'ima-binary');
  const rp = new Replay();
  await rp.addAll(imaBinaryFormat.parse(bytesInput(bin)));
  const res = rp.result();
  assert.equal(res.events, 2);
  assert.equal(
    toHex(res.registers.get('pcr10')!.get('sha1')!),
    'a0e7bc9af0a2b54147b0d595d058f15c6cc44a6d',
  );
  const asc = ima('rust-keylime-agent-ima-ng-sha1.ascii_runtime_measurements');
  assert.equal(detectLogFormat(asc).id, 'ima-ascii');
  const rp2 = new Replay();
  await rp2.addAll(imaAsciiFormat.parse(bytesInput(asc)));
  assert.equal(rp2.result().warnings.length, 0);
  assert.equal(
    toHex(rp2.result().registers.get('pcr10')!.get('sha1')!),
    '82231c67a69da98dc5b3aa10f6343d33109225fc',
  );
  // Truncation through the streaming parser: ERR_TRUNCATED with the complete-record count.
  const cut = ima('debian-ima-ng-sha1.binary_runtime_measurements');
  const seen: unknown[] = [];
  await assert.rejects(
    async () => {
      for await (const e of imaBinaryFormat.parse(bytesInput(cut))) seen.push(e);
    },
    (e: unknown) =>
      e instanceof ParseError && e.code === 'ERR_TRUNCATED' && e.completeRecords === 6,
  );
});
