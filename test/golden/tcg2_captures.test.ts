// Every TCG PC Client capture whose provenance asserts values (test/fixtures/eventlogs/tcg):
// register values, record counts, event digests; malformed captures give typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/errors.js';
import { extend } from '../../src/crypto/hash.js';
import { opensslDigest } from '../_support/peers.js';
import { encodeTcgRecords } from '../../src/eventlog/tcg2_stream.js';
import { EventType } from '../../src/formats/tcg2/event_types.js';
import { goldenCaptures } from './eventlog_golden.js';
import { expectations, logFixture, parseAll, replayOf, regHex } from '../unit/eventlog/support.js';

goldenCaptures('tcg', ['malformed-exit-boot-services-events-missing.binary_bios_measurements']);

const exp = expectations('tcg');

test('EFI application digests in PCR4 are the ones the go-tpm-tools tests assert', async () => {
  let files = 0;
  for (const [name, e] of Object.entries(exp)) {
    if (e.efi_app_digests === undefined) continue;
    files++;
    const { events } = await parseAll(logFixture(`tcg/${name}`));
    const apps = events.filter(
      (ev) =>
        ev.kind === 'tcg2' &&
        ev.register === 'pcr4' &&
        ev.untrustedType === EventType.EV_EFI_BOOT_SERVICES_APPLICATION,
    );
    const hex = (alg: 'sha1' | 'sha256'): string[] =>
      apps.map((a) => Buffer.from(a.digests.get(alg)!).toString('hex'));
    assert.deepEqual(hex('sha256'), e.efi_app_digests.sha256, name);
    assert.deepEqual(hex('sha1'), e.efi_app_digests.sha1, name);
  }
  assert.ok(files >= 5);
});

test('every TCG capture re-encodes byte-exact (encode(parse(x)) == x)', async () => {
  for (const name of Object.keys(exp)) {
    if (name.startsWith('malformed-bogus') || name.startsWith('malformed-empty')) continue;
    const buf = logFixture(`tcg/${name}`);
    const { events } = await parseAll(buf, { format: 'tcg2' });
    const parts: Uint8Array[] = [];
    for await (const c of encodeTcgRecords(events, 'tcg2')) parts.push(c);
    assert.ok(Buffer.concat(parts).equals(buf), name);
  }
});

test('exit-boot-services capture: plain replay gives the provenance value; the missing events explain the asserted one', async () => {
  const name = 'malformed-exit-boot-services-events-missing.binary_bios_measurements';
  const { events } = await parseAll(logFixture(`tcg/${name}`));
  assert.equal(events.length, 38);
  const r = replayOf(events);
  assert.equal(regHex(r, 'pcr5', 'sha1'), exp[name]!.registers!.computed!['pcr5']!['sha1']);
  // go-attestation's workaround appends the two ExitBootServices actions to PCR5 (openssl hashes).
  let v = r.registers.get('pcr5')!.get('sha1')!;
  for (const s of ['Exit Boot Services Invocation', 'Exit Boot Services Returned with Success']) {
    v = extend('sha1', v, opensslDigest('sha1', new TextEncoder().encode(s)));
  }
  assert.equal(
    Buffer.from(v).toString('hex'),
    exp[name]!.asserted_with_ebs_workaround!['pcr5']!['sha1'],
  );
});

test('StartupLocality 3 starts PCR0 at 00..03 (keylime and GDC captures), anchored as reset', async () => {
  for (const name of [
    'gdc-host-sha256-only-locality3.binary_bios_measurements',
    'keylime-secureboot-disabled-locality3.binary_bios_measurements',
  ]) {
    const { events } = await parseAll(logFixture(`tcg/${name}`));
    const sl = events.find((e) => e.anchor !== undefined);
    assert.ok(sl, name);
    assert.equal(sl.register, 'pcr0');
    for (const v of sl.anchor!.values.values()) assert.equal(v[v.length - 1], 3);
    assert.equal(replayOf(events).anchors.get('pcr0'), 'reset');
  }
});

test('a log with only a StartupLocality record parses (go-attestation TestParseShortNoAction)', async () => {
  const { events } = await parseAll(
    logFixture('tcg/malformed-short-startup-locality-only.binary_bios_measurements'),
  );
  assert.equal(events.length, 1);
  assert.equal(events[0]!.extend, false);
  assert.equal(
    regHex(replayOf(events), 'pcr0', 'sha1'),
    '0000000000000000000000000000000000000003',
  );
});

test('Spec ID whose eventSize leaves out the vendor info (tpm2-tools) vs the correct one (tpm2-tss)', async () => {
  const tools = await parseAll(logFixture('tcg/specid-vendordata.tpm2-tools.bin'));
  const tss = await parseAll(logFixture('tcg/specid-vendordata.tpm2-tss.bin'));
  for (const p of [tools, tss]) {
    assert.equal(p.events.length, 1);
    const h = p.events[0]!;
    assert.ok(h.kind === 'tcg2' && h.header);
    assert.equal(Buffer.from(h.data.subarray(h.data.length - 4)).toString('hex'), 'deadbeef');
  }
  assert.deepEqual(
    tools.warnings.map((w) => w.code),
    ['SPECID_SIZE_OMITS_VENDOR_INFO'],
  );
  const t = tools.events[0]!;
  assert.ok(t.kind === 'tcg2');
  assert.equal(t.declaredSize, 37);
  assert.deepEqual(tss.warnings, []);
});

test('H-CRTM capture: PCR0 reaches the tpm2-tss asserted value only from 00..04', async () => {
  const { events } = await parseAll(
    logFixture('tcg/hygon-dhyana-hcrtm-sm3.binary_bios_measurements'),
  );
  const h = events[1]!;
  assert.ok(h.kind === 'tcg2' && h.untrustedType === EventType.EV_EFI_HCRTM_EVENT);
  assert.equal(
    regHex(replayOf(events), 'pcr0', 'sha1'),
    '15f4e6ca457d1af6bc49511a93ba3500ad69acc5',
  );
});

test('a PCR 0xFFFFFFFF EV_NO_ACTION last record is a record, not padding, and names no register', async () => {
  const { events } = await parseAll(
    logFixture('tcg/hw-option-rom-sha1-legacy-format.binary_bios_measurements'),
  );
  assert.equal(events.length, 61);
  const last = events[60]!;
  assert.ok(last.kind === 'tcg2');
  assert.equal(last.mrIndex, 0xffffffff);
  assert.equal(last.register, undefined);
  assert.equal(last.extend, false);
});

test('malformed captures: empty and text inputs are typed errors', async () => {
  await assert.rejects(parseAll(logFixture('tcg/malformed-empty.binary_bios_measurements')), {
    code: 'ERR_UNKNOWN_FORMAT',
  });
  await assert.rejects(
    parseAll(logFixture('tcg/malformed-empty.binary_bios_measurements'), { format: 'tcg2' }),
    (e: unknown) =>
      e instanceof ParseError && e.code === 'ERR_TRUNCATED' && e.completeRecords === 0,
  );
  await assert.rejects(parseAll(logFixture('tcg/malformed-bogus-text.binary_bios_measurements')), {
    code: 'ERR_UNKNOWN_FORMAT',
  });
  await assert.rejects(
    parseAll(logFixture('tcg/malformed-bogus-text.binary_bios_measurements'), { format: 'tcg2' }),
    (e: unknown) => e instanceof ParseError && e.format === 'tcg2',
  );
});
