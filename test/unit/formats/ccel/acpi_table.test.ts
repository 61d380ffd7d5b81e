import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ccelChecksumOk,
  encodeCcelAcpiTable,
  parseCcelAcpiTable,
} from '../../../../src/formats/ccel/acpi_table.js';
import { logFixture } from '../../eventlog/support.js';

test('the CCEL ACPI table re-encodes byte-exact, checksum included', () => {
  for (const name of [
    'ccel/intel-tdx.acpi-ccel-table.bin',
    'ccel/gcp-cos113-tdx.acpi-ccel-table.bin',
  ]) {
    const b = logFixture(name);
    assert.ok(ccelChecksumOk(b), name);
    assert.deepEqual(encodeCcelAcpiTable(parseCcelAcpiTable(b)), b);
  }
});

test('short, long and mislabelled tables are typed errors', () => {
  const b = logFixture('ccel/intel-tdx.acpi-ccel-table.bin');
  assert.throws(() => parseCcelAcpiTable(b.subarray(0, 40)), { code: 'ERR_TRUNCATED' });
  const long = new Uint8Array(60);
  long.set(b);
  assert.throws(() => parseCcelAcpiTable(long), { code: 'ERR_TRAILING_BYTES' });
});
