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
import { runCli, runCliJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';

// The captures' certificates expire (VCEKs and PCK certificates 2030-2032): every verification
// here runs at a pinned time inside all their validity periods, never the real clock.
const AT = ['--at', '2026-01-01T00:00:00Z'] as const;

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
    'evidence', 'verify', ...AT, fixture('evidence', 'tdx', 'gotdx-gce-cos113.quote-8000b.bin'),
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
    'evidence', 'verify', ...AT, fixture('evidence', 'tdx', 'trustee-v4-debug-td.quote.bin'),
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

test('TDX --eventlog lists the CCEL records at MRTD (CC MR index 0) and compares none of them', async () => {
  // trustee's parse of CCEL_data_grub_gke (its *_out.json) lists two records at CC MR index 0,
  // SP800-155 EV_NO_ACTION records; mrstack counts the Spec ID header as record 0. The quote is
  // another TD's (the GCE one): RTMR0-2 fail, and MRTD is never among the compared registers.
  // The readable line shows the record's 16-byte signature ("SP800-155 Event3", TCG SP800-155).
  const log = fixture('eventlogs', 'ccel', 'gke-tdx-grub-sp800-155.ccel.bin');
  const args = [
    'evidence', 'verify', ...AT, fixture('evidence', 'tdx', 'gotdx-gce-cos113.quote-8000b.bin'),
    '--relax', 'collateral,nonce', '--eventlog', log,
  ]; // prettier-ignore
  const trustee = (
    JSON.parse(
      readFileSync(fixture('eventlogs', 'ccel', 'gke-tdx-grub-sp800-155.trustee-out.json'), 'utf8'),
    ) as {
      uefi_event_logs: {
        index: number;
        type_name: string;
        event: string;
        digests: { alg: string; digest: string }[];
      }[];
    }
  ).uefi_event_logs;
  const atMrtd = trustee.flatMap((e, i) => (e.index === 0 ? [{ record: i + 1, ...e }] : []));
  assert.equal(atMrtd.length, 2);

  const { result, json } = await runCliJson([...args, '--json']);
  assert.equal(result.code, 1);
  const j = json as Out & {
    eventlog: {
      listed: {
        log: string;
        index: number;
        register: string;
        mr_index: number;
        type_name: string;
        digests: Record<string, string>;
        data: string;
        compared: boolean;
      }[];
    };
  };
  assert.deepEqual(
    j.eventlog.listed.map((l) => [l.log, l.index, l.register, l.mr_index, l.type_name, l.compared]),
    atMrtd.map((e) => [log, e.record, 'mrtd', 0, e.type_name, false]),
  );
  assert.deepEqual(
    j.eventlog.listed.map((l) => [l.digests['sha384'], l.data]),
    atMrtd.map((e) => [e.digests[0]!.digest, Buffer.from(e.event, 'base64').toString('hex')]),
  );
  assert.deepEqual(
    j.eventlog.registers.map((r) => r.register),
    ['rtmr0', 'rtmr1', 'rtmr2'],
  );

  const human = await runCli(args);
  assert.equal(human.code, 1);
  const lines = human.stdout.split('\n').filter((l) => l.startsWith('eventlog  mrtd'));
  assert.deepEqual(
    lines,
    atMrtd.map(
      (e) =>
        `eventlog  mrtd  record ${e.record} ${e.type_name} ${Buffer.from(e.event, 'base64').subarray(0, 16).toString('latin1')}  listed, not compared (MRTD is built by the TDX module from the TD pages, not by extends)  ${log}`,
    ),
  );
});
