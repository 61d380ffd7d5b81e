// Bad-input sweep on a few captures (the every-offset sweep of all of them is
// scripts/sweep_eventlogs.mjs): cuts inside the first and last records and around every record
// boundary, seeded truncations and mutations. Every input parses or is a typed ParseError.
import { test } from 'node:test';
import { logFixture } from './support.js';
import { sweepCuts, sweepRandom } from './sweep.js';

const CASES = [
  ['tcg2', 'tcg/pc-client-sha1-sha256.binary_bios_measurements'],
  ['tcg2', 'tcg/intel-nuc-sha1-legacy-format.binary_bios_measurements'],
  ['tcg2', 'tcg/specid-vendordata.tpm2-tools.bin'],
  ['ccel', 'ccel/intel-tdx-unpadded.ccel.bin'],
  ['aael', 'aael/coco-aael-text-v1-sample2.aael.txt'],
] as const;

for (const [format, name] of CASES) {
  test(`${name}: cuts at record boundaries and inside records`, { timeout: 60_000 }, async () => {
    const buf = logFixture(name);
    if (format === 'aael') {
      // Text: any cut is a shorter log (a last line without LF is still a line) or a grammar error.
      await sweepRandom(format, buf, 7, 200);
      return;
    }
    await sweepCuts(format, buf, buf.length);
  });
  test(`${name}: seeded truncations and mutations`, { timeout: 60_000 }, async () => {
    await sweepRandom(format, logFixture(name), 0x5eed, 400);
  });
}

test(
  'padded CCEL: cuts in the 0xFF padding still parse every record',
  { timeout: 60_000 },
  async () => {
    const buf = logFixture('ccel/tdx-ovmf.ccel.bin');
    await sweepCuts('ccel', buf, 2120, [2120 + 8, 2120 + 100, 4096, buf.length]);
  },
);
