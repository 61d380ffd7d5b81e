// Cross-check with evmctl (Debian ima-evm-utils 1.4): `evmctl ima_measurement --pcrs ALG,FILE`
// replays a binary IMA list itself and compares with the PCR values in FILE (lines
// `PCR-NN: <hex>`, PCR-00 to PCR-23 in order, as evmctl's reader expects). It exits 0 and prints
// "Matched per TPM bank…" (or "…SHA1 padded…") when every given bank matches, non-zero otherwise.
// Here the values come from mrstack's replay; evmctl must accept them and reject a wrong one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fixture } from '../_support/paths.js';
import { Evmctl } from '../_support/evmctl.js';
import { encodeImaBinary, parseImaBinary } from '../../src/formats/ima/ima_binary.js';
import { parseImaAscii } from '../../src/formats/ima/ima_ascii.js';
import { replayIma } from '../../src/formats/ima/ima_replay.js';
import {
  encodeImaTemplateData,
  type ImaEntry,
  type ImaField,
} from '../../src/formats/ima/ima_template.js';

const peer = new Evmctl();
test.after(() => peer.close());

function evmctl(list: Uint8Array, pcrs: Record<string, string>, extra: string[] = []) {
  return peer.run(list, pcrs, extra);
}

const WRONG_SHA1 = 'ab'.repeat(20);
const WRONG_SHA256 = 'cd'.repeat(32);

test('evmctl accepts mrstack PCR10 for the tpm2-tss ima-ng capture, re-encoded byte-exact', () => {
  const orig = new Uint8Array(
    readFileSync(fixture('eventlogs', 'ima', 'debian-ima-ng-sha1.binary_runtime_measurements')),
  );
  const entries = parseImaBinary(orig, { partialTail: 'stop' });
  const written = encodeImaBinary(entries);
  assert.deepEqual(written, orig.subarray(0, written.length));
  assert.equal(written.length, orig.length - 1);
  const r = replayIma(entries, { logBank: 'sha1', banks: ['sha1', 'sha256'] });
  const sha1 = r.registers['pcr10']!.sha1!;
  const ok = evmctl(written, { sha1 });
  assert.equal(ok.status, 0, ok.out);
  assert.match(ok.out, /Matched per TPM bank/);
  const both = evmctl(written, { sha1, sha256: r.registers['pcr10']!.sha256! });
  assert.equal(both.status, 0, both.out);
  const bad = evmctl(written, { sha1: WRONG_SHA1 });
  assert.notEqual(bad.status, 0);
});

test('evmctl agrees on the legacy ima template (256-byte padded name), SHA-1 and SHA-256 banks', () => {
  const entries = parseImaBinary(
    new Uint8Array(
      readFileSync(
        fixture('eventlogs', 'ima', 'debian-ima-legacy-template-sha1.binary_runtime_measurements'),
      ),
    ),
    { partialTail: 'stop' },
  );
  const r = replayIma(entries, { logBank: 'sha1', banks: ['sha1', 'sha256'] });
  const list = encodeImaBinary(entries);
  const ok = evmctl(list, {
    sha1: r.registers['pcr10']!.sha1!,
    sha256: r.registers['pcr10']!.sha256!,
  });
  assert.equal(ok.status, 0, ok.out);
  assert.notEqual(
    evmctl(list, { sha1: r.registers['pcr10']!.sha1!, sha256: WRONG_SHA256 }).status,
    0,
  );
});

const enc = new TextEncoder();
function dng(alg: string, d: Uint8Array): Uint8Array {
  const p = enc.encode(`${alg}:`);
  const o = new Uint8Array(p.length + 1 + d.length);
  o.set(p);
  o.set(d, p.length + 1);
  return o;
}
function nng(s: string): Uint8Array {
  const b = enc.encode(s);
  const o = new Uint8Array(b.length + 1);
  o.set(b);
  return o;
}
function entry(
  index: number,
  templateName: string,
  fields: ImaField[],
  violation = false,
): ImaEntry {
  const templateData = encodeImaTemplateData(templateName, fields);
  const templateHash = violation
    ? new Uint8Array(20)
    : new Uint8Array(createHash('sha1').update(templateData).digest());
  return {
    index,
    offset: 0,
    pcr: 10,
    templateHash,
    templateName,
    templateData,
    littleEndian: true,
  };
}

function written(withViolation: boolean): ImaEntry[] {
  const d = (b: number): Uint8Array => new Uint8Array(32).fill(b);
  const list = [
    entry(0, 'ima-ng', [
      { id: 'd-ng', data: dng('sha256', d(1)) },
      { id: 'n-ng', data: nng('boot_aggregate') },
    ]),
    entry(1, 'ima-ng', [
      { id: 'd-ng', data: dng('sha256', d(2)) },
      { id: 'n-ng', data: nng('/usr/bin/with space') },
    ]),
    entry(2, 'ima-sig', [
      { id: 'd-ng', data: dng('sha256', d(3)) },
      { id: 'n-ng', data: nng('/usr/lib/x.so') },
      {
        id: 'sig',
        data: new Uint8Array([0x03, 0x02, 0x04, 0xaa, 0xbb, 0xcc, 0xdd, 0x00, 0x02, 0x11, 0x22]),
      },
    ]),
    entry(3, 'ima-buf', [
      { id: 'd-ng', data: dng('sha256', d(5)) },
      { id: 'n-ng', data: nng('kexec-cmdline') },
      { id: 'buf', data: enc.encode('root=/dev/vda1 ro') },
    ]),
    entry(4, 'ima-ng', [
      { id: 'd-ng', data: dng('sha512', new Uint8Array(64).fill(6)) },
      { id: 'n-ng', data: nng('/etc/hosts') },
    ]),
  ];
  if (withViolation) {
    list.push(
      entry(
        5,
        'ima-ng',
        [
          { id: 'd-ng', data: dng('sha256', d(0)) },
          { id: 'n-ng', data: nng('/tmp/race') },
        ],
        true,
      ),
    );
  }
  return list;
}

test('lists mrstack writes: evmctl accepts per-bank SHA-256 and padded SHA-256 values', () => {
  const entries = written(false);
  const list = encodeImaBinary(entries);
  const r = replayIma(entries, { logBank: 'sha1', banks: ['sha1', 'sha256'], mode: 'both' });
  const sha1 = r.registers['pcr10']!.sha1!;
  const perBank = evmctl(list, { sha1, sha256: r.registers['pcr10']!.sha256! });
  assert.equal(perBank.status, 0, perBank.out);
  assert.match(perBank.out, /Matched per TPM bank/);
  // Older kernels: SHA-1 template hash zero-padded into the SHA-256 bank.
  const paddedValue = r.registersPadded!['pcr10']!.sha256!;
  assert.notEqual(paddedValue, r.registers['pcr10']!.sha256);
  const padded = evmctl(list, { sha1, sha256: paddedValue });
  assert.equal(padded.status, 0, padded.out);
  assert.match(padded.out, /padded/i);
  assert.notEqual(evmctl(list, { sha1, sha256: WRONG_SHA256 }).status, 0);
  assert.notEqual(evmctl(list, { sha1: WRONG_SHA1 }).status, 0);
});

test('violations: evmctl (with --ignore-violations) extends all ones, as mrstack does', () => {
  const entries = written(true);
  const list = encodeImaBinary(entries);
  const r = replayIma(entries, { logBank: 'sha1', banks: ['sha1', 'sha256'], mode: 'both' });
  assert.equal(r.violations, 1);
  const v = r.registers['pcr10']!;
  const ok = evmctl(list, { sha1: v.sha1!, sha256: v.sha256! }, ['--ignore-violations']);
  assert.equal(ok.status, 0, ok.out);
  const padded = evmctl(list, { sha1: v.sha1!, sha256: r.registersPadded!['pcr10']!.sha256! }, [
    '--ignore-violations',
  ]);
  assert.equal(padded.status, 0, padded.out);
  // Without the flag evmctl treats the violation itself as a failure.
  assert.notEqual(evmctl(list, { sha1: v.sha1!, sha256: v.sha256! }).status, 0);
  assert.notEqual(evmctl(list, { sha1: WRONG_SHA1 }, ['--ignore-violations']).status, 0);
});

test('an ascii list converted to binary by mrstack replays the same in evmctl (826 entries)', () => {
  const entries = parseImaAscii(
    readFileSync(
      fixture('eventlogs', 'ima', 'rust-keylime-agent-ima-ng-sha1.ascii_runtime_measurements'),
    ),
  );
  const r = replayIma(entries, { logBank: 'sha1', banks: ['sha1', 'sha256'] });
  assert.equal(r.registers['pcr10']!.sha1, '82231c67a69da98dc5b3aa10f6343d33109225fc');
  const list = encodeImaBinary(entries);
  const v = r.registers['pcr10'];
  assert.ok(v?.sha1 !== undefined && v.sha256 !== undefined);
  const ok = evmctl(list, { sha1: v.sha1, sha256: v.sha256 });
  assert.equal(ok.status, 0, ok.out);
});
