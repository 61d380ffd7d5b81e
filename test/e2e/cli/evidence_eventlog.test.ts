// `evidence verify QUOTE --eventlog LOG` (issue 18): the log is replayed against the registers the
// verified quote reports. Expected values come from the captures' provenance: go-eventlog asserts
// that the GCE CCEL replays to RTMR0-2 = the values below (expected.json), and go-tdx-guest ships
// the quote of that TD; the trustee debug-TD quote comes with no log of its own, so trustee's
// CCEL_data (another TD, RTMR values asserted by trustee) must fail against it, naming the first
// register and the last record extended into it (trustee's own parse lists the records: CC MR
// index 1 = RTMR0; mrstack counts the Spec ID header as record 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCliJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';

interface Out {
  verified: boolean;
  errors: { code: string; register?: string; record?: number; message: string }[];
  eventlog: { registers: { register: string; alg: string; proof: string; replayed: string }[] };
}

const asserted = (name: string): Record<string, { sha384: string }> =>
  (
    JSON.parse(readFileSync(fixture('eventlogs', 'ccel', 'expected.json'), 'utf8')) as Record<
      string,
      { registers: { asserted: Record<string, { sha384: string }> } }
    >
  )[name]!.registers.asserted;

test('the GCE TDX quote with its CCEL: RTMR0-2 replay to the quoted values', async () => {
  const { result, json } = await runCliJson([
    'evidence', 'verify', fixture('evidence', 'tdx', 'gotdx-gce-cos113.quote-8000b.bin'),
    '--relax', 'collateral,nonce',
    '--eventlog', fixture('eventlogs', 'ccel', 'gcp-cos113-tdx.ccel.bin'), '--json',
  ]); // prettier-ignore
  const j = json as Out;
  assert.equal(result.code, 0, result.stdout);
  assert.equal(j.verified, true);
  const want = asserted('gcp-cos113-tdx.ccel.bin');
  assert.deepEqual(
    j.eventlog.registers.map((r) => [r.register, r.alg, r.proof, r.replayed]),
    ['rtmr0', 'rtmr1', 'rtmr2'].map((r) => [r, 'sha384', 'ok', want[r]!.sha384]),
  );
});

test("the trustee debug-TD quote with another TD's CCEL fails, naming register and record", async () => {
  const { result, json } = await runCliJson([
    'evidence', 'verify', fixture('evidence', 'tdx', 'trustee-v4-debug-td.quote.bin'),
    '--relax', 'collateral,nonce',
    '--eventlog', fixture('eventlogs', 'ccel', 'tdx-old-tdvf-1mib-zero-padded.ccel.bin'), '--json',
  ]); // prettier-ignore
  const j = json as Out;
  assert.equal(result.code, 1);
  assert.equal(j.verified, false);
  const trustee = (
    JSON.parse(
      readFileSync(
        fixture('eventlogs', 'ccel', 'tdx-old-tdvf-1mib-zero-padded.trustee-out.json'),
        'utf8',
      ),
    ) as { uefi_event_logs: { index: number }[] }
  ).uefi_event_logs;
  const lastOf = (mrIndex: number): number => 1 + trustee.map((e) => e.index).lastIndexOf(mrIndex);
  const mism = j.errors.filter((e) => e.code === 'ERR_REPLAY_MISMATCH');
  assert.deepEqual(
    mism.map((e) => [e.register, e.record]),
    [
      ['rtmr0', lastOf(1)],
      ['rtmr1', lastOf(2)],
    ],
  );
  const want = asserted('tdx-old-tdvf-1mib-zero-padded.ccel.bin');
  assert.equal(j.eventlog.registers[0]!.replayed, want['rtmr0']!.sha384);
  assert.match(
    mism[0]!.message,
    /rtmr0 \(sha384\) replays to 2dc712306a963ead…, the evidence reports e940da7c2712d279…/,
  );
});
