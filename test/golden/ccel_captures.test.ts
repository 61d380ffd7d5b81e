// Every CCEL capture whose provenance asserts values (test/fixtures/eventlogs/ccel): RTMR values,
// record counts, padding, the ACPI table, and trustee's own parse of the same logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fixture } from '../_support/paths.js';
import { ParseError } from '../../src/errors.js';
import { eventTypeName } from '../../src/formats/tcg2/event_types.js';
import { parseCcelAcpiTable, ccelChecksumOk } from '../../src/formats/ccel/acpi_table.js';
import { ccelFormat } from '../../src/eventlog/ccel_format.js';
import { goldenCaptures } from './eventlog_golden.js';
import { logFixture, parseAll, replayOf } from '../unit/eventlog/support.js';

goldenCaptures('ccel', []);

interface TrusteeEntry {
  readonly index: number;
  readonly type_name: string;
  readonly digests: { alg: string; digest: string }[];
  readonly event: string;
  readonly digest_matches_event: boolean;
}

const TRUSTEE_ALGS: Record<string, string> = { 'SHA-384': 'sha384', SM3: 'sm3', 'SM3-256': 'sm3' };

for (const [log, sidecar] of [
  ['ccel/tdx-ovmf.ccel.bin', 'ccel/tdx-ovmf.trustee-out.json'],
  [
    'ccel/tdx-old-tdvf-1mib-zero-padded.ccel.bin',
    'ccel/tdx-old-tdvf-1mib-zero-padded.trustee-out.json',
  ],
  ['ccel/gke-tdx-grub-sp800-155.ccel.bin', 'ccel/gke-tdx-grub-sp800-155.trustee-out.json'],
  ['ccel/hygon-csv-sm3.ccel.bin', 'ccel/hygon-csv-sm3.trustee-out.json'],
  [
    'aael/alibabacloud-tdx-ccel-with-aael-v2.ccel.bin',
    'aael/alibabacloud-tdx-ccel-with-aael-v2.trustee-out.json',
  ],
] as const) {
  test(`${log}: every record equals trustee's parse (index, type, digests, data)`, async () => {
    const entries = (
      JSON.parse(readFileSync(fixture('eventlogs', sidecar), 'utf8')) as {
        uefi_event_logs: TrusteeEntry[];
      }
    ).uefi_event_logs;
    const { format, events } = await parseAll(logFixture(log), { chunk: 4093 });
    assert.equal(format, 'ccel');
    // trustee lists every record after the Spec ID header.
    assert.equal(events.length, entries.length + 1);
    for (const [i, t] of entries.entries()) {
      const e = events[i + 1]!;
      assert.ok(e.kind === 'tcg2');
      assert.equal(e.mrIndex, t.index, `record ${i + 1} index`);
      assert.equal(eventTypeName(e.untrustedType), t.type_name, `record ${i + 1} type`);
      assert.equal(Buffer.from(e.data).toString('base64'), t.event, `record ${i + 1} data`);
      const digests = Object.fromEntries(
        t.digests.map((d) => [TRUSTEE_ALGS[d.alg] ?? d.alg, d.digest]),
      );
      assert.deepEqual(
        Object.fromEntries([...e.digests].map(([a, d]) => [a, Buffer.from(d).toString('hex')])),
        digests,
        `record ${i + 1} digests`,
      );
      // Where mrstack has an opinion on the digest (types whose digest is H(data), AAEL v2),
      // it agrees with trustee's.
      const check = ccelFormat.checkDigest!(e);
      if (check === 'mismatch') assert.equal(t.digest_matches_event, false, `record ${i + 1}`);
      if (t.type_name === 'EV_EVENT_TAG') assert.equal(check === 'match', t.digest_matches_event);
    }
  });
}

test('CCEL index 0 (MRTD) is never replayed: SP800-155 records at index 0 name mrtd, extend nothing', async () => {
  const { events } = await parseAll(logFixture('ccel/gke-tdx-grub-sp800-155.ccel.bin'));
  const mrtd = events.filter((e) => e.register === 'mrtd');
  assert.equal(mrtd.length, 2);
  for (const e of mrtd) assert.equal(e.extend, false);
  assert.equal(replayOf(events).registers.has('mrtd'), false);
});

test('padding: 0xFF fill and the old TDVF zero fill after the last record are accepted and reported', async () => {
  for (const [name, records, pad] of [
    ['ccel/gcp-cos113-tdx-dupe-separator.ccel.bin', 44, 262144 - 18101],
    ['ccel/tdx-old-tdvf-1mib-zero-padded.ccel.bin', 6, 1048576 - 9822],
  ] as const) {
    const { events, warnings } = await parseAll(logFixture(name), { chunk: 65536 });
    assert.equal(events.length, records);
    const w = warnings.find((x) => x.code === 'TRAILING_PADDING');
    assert.ok(w, name);
    assert.match(w.message, new RegExp(`^${pad} bytes of`));
  }
  const unpadded = await parseAll(
    logFixture('ccel/gcp-cos113-tdx-dupe-separator-unpadded.ccel.bin'),
  );
  assert.equal(
    unpadded.warnings.some((w) => w.code === 'TRAILING_PADDING'),
    false,
  );
});

test('bytes after the padding are an error, not more padding', async () => {
  const buf = logFixture('ccel/intel-tdx-64k.ccel.bin').slice();
  buf[buf.length - 10] = 0x00;
  await assert.rejects(parseAll(buf), (e: unknown) => {
    assert.ok(e instanceof ParseError);
    assert.equal(e.code, 'ERR_TRAILING_BYTES');
    assert.equal(e.offset, buf.length - 10);
    return true;
  });
});

test('ACPI CCEL tables parse to their provenance values (go-eventlog TestParseCCACPITable)', () => {
  const gcp = parseCcelAcpiTable(logFixture('ccel/gcp-cos113-tdx.acpi-ccel-table.bin'));
  assert.equal(gcp.ccType, 2);
  assert.equal(gcp.laml, 0x40000n);
  assert.equal(gcp.lasa, 0xbedbf000n);
  assert.equal(gcp.oemId, 'INTEL ');
  assert.equal(gcp.oemTableId, 'EDK2    ');
  const intelBytes = logFixture('ccel/intel-tdx.acpi-ccel-table.bin');
  const intel = parseCcelAcpiTable(intelBytes);
  assert.equal(intel.ccType, 2);
  assert.equal(intel.laml, 65536n);
  assert.equal(intel.lasa, 0x7d649000n);
  assert.ok(ccelChecksumOk(intelBytes));
  // The log areas captured with them are LAML bytes long.
  assert.equal(BigInt(logFixture('ccel/gcp-cos113-tdx.ccel.bin').length), gcp.laml);
  assert.equal(BigInt(logFixture('ccel/intel-tdx-64k.ccel.bin').length), intel.laml);
  // go-eventlog's error cases: signature ABCD, and a length byte of 48.
  const bad = intelBytes.slice();
  bad.set([0x41, 0x42, 0x43, 0x44], 0);
  assert.throws(() => parseCcelAcpiTable(bad), { code: 'ERR_BAD_MAGIC', offset: 0 });
  const short = intelBytes.slice();
  short[4] = 48;
  assert.throws(() => parseCcelAcpiTable(short), { code: 'ERR_BAD_VALUE', field: 'length' });
  assert.equal(
    createHash('sha256').update(intelBytes).digest('hex'),
    '922ff5a35693d28e14aa829cbd5579979c701743c38e8f1fc55bdecb64f19164',
  );
});

test('convert ccel -> ccel (padding dropped) parses to the same events and the same replay', async () => {
  for (const name of ['ccel/gke-tdx-grub-sp800-155.ccel.bin', 'ccel/hygon-csv-sm3.ccel.bin']) {
    const before = await parseAll(logFixture(name));
    const parts: Uint8Array[] = [];
    for await (const c of ccelFormat.encode!(before.events)) parts.push(c);
    const bytes = new Uint8Array(Buffer.concat(parts));
    const after = await parseAll(bytes);
    assert.equal(after.format, 'ccel');
    assert.equal(after.events.length, before.events.length);
    for (const [i, e] of after.events.entries()) {
      const b = before.events[i]!;
      assert.ok(e.kind === 'tcg2' && b.kind === 'tcg2');
      assert.deepEqual(
        [e.mrIndex, e.untrustedType, e.register],
        [b.mrIndex, b.untrustedType, b.register],
      );
      assert.deepEqual(e.data, b.data);
      assert.deepEqual(e.digests, b.digests);
    }
    assert.deepEqual(replayOf(after.events).registers, replayOf(before.events).registers);
  }
});
