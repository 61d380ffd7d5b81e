// Log warnings for people (issue 18): the quirks docs/eventlog-quirks.md promises are reported
// (STARTUP_LOCALITY, HCRTM_PCR0) with their code; benign ones are one count line at the end,
// --quiet prints none, --json lists each one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, runCliJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';

// PROVENANCE: a host log whose TPM2_Startup came from locality 3; a Hygon log with H-CRTM
const LOC3 = fixture('eventlogs', 'tcg', 'gdc-host-sha256-only-locality3.binary_bios_measurements');
const HCRTM = fixture('eventlogs', 'tcg', 'hygon-dhyana-hcrtm-sm3.binary_bios_measurements');
const OVMF = fixture('eventlogs', 'ccel', 'tdx-ovmf.ccel.bin');

interface Warning {
  code: string;
  message: string;
  index?: number;
}

test('STARTUP_LOCALITY and HCRTM_PCR0 are reported, with their code, in --json and on stderr', async () => {
  const loc = await runCliJson(['log', 'replay', LOC3, '--json']);
  assert.equal(loc.result.code, 0);
  assert.equal(loc.result.stderr, '');
  const lw = (loc.json as { warnings: Warning[] }).warnings.filter(
    (w) => w.code === 'STARTUP_LOCALITY',
  );
  assert.equal(lw.length, 1);
  assert.match(lw[0]!.message, /StartupLocality 3: PCR0 starts at 00…03/);

  const h = await runCliJson(['log', 'replay', HCRTM, '--json']);
  assert.equal(h.result.code, 0);
  assert.equal(
    (h.json as { warnings: Warning[] }).warnings.filter((w) => w.code === 'HCRTM_PCR0').length,
    1,
  );

  const human = await runCli(['log', 'replay', LOC3]);
  assert.equal(human.code, 0);
  const lines = human.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, human.stderr);
  assert.match(
    lines[0]!,
    /^mrstack: note: known log quirks \(docs\/eventlog-quirks\.md\): .*STARTUP_LOCALITY/,
  );
});

test('benign warnings print once as a count; --quiet prints none', async () => {
  // the OVMF CCEL: 0xff padding after the last record and OVMF's handoff-table digests
  const j = await runCliJson(['log', 'replay', OVMF, '--json']);
  const codes = (j.json as { warnings: Warning[] }).warnings.map((w) => w.code);
  const mismatches = codes.filter((c) => c === 'ERR_EVENT_DIGEST_MISMATCH').length;
  assert.ok(codes.includes('TRAILING_PADDING'));
  assert.ok(mismatches > 1);
  const human = await runCli(['log', 'replay', OVMF]);
  assert.equal(human.code, 0);
  assert.equal(
    human.stderr,
    `mrstack: note: known log quirks (docs/eventlog-quirks.md): ERR_EVENT_DIGEST_MISMATCH x${mismatches}, TRAILING_PADDING; --json lists each, --quiet hides this\n`,
  );
  const quiet = await runCli(['log', 'parse', OVMF, '--quiet']);
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stderr, '');
});
