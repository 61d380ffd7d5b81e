// `log replay --expect` takes what `evidence verify --json` prints (issue 18): the two commands
// pipe into each other. The GCE TDX quote and its CCEL come from the same TD (go-tdx-guest ships
// the quote, go-eventlog the log and the RTMR0-2 values it replays to, expected.json); the trustee
// debug-TD quote belongs to another TD than trustee's CCEL_data, so the replay must fail on RTMR0
// with the quote's RTMR0 as the expected value. That value is read here from the quote's bytes at
// the offset the Intel TDX DCAP quote layout gives (48-byte header, then TEE_TCB_SVN 16, MRSEAM 48,
// MRSIGNERSEAM 48, SEAMATTRIBUTES 8, TDATTRIBUTES 8, XFAM 8, MRTD, MRCONFIGID, MROWNER,
// MROWNERCONFIG 48 each: RTMR0 at 376), not from mrstack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cliError, runCli, runCliJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';

// The captures' certificates expire (VCEKs and PCK certificates 2030-2032): every verification
// here runs at a pinned time inside all their validity periods, never the real clock.
const AT = ['--at', '2026-01-01T00:00:00Z'] as const;

const quote = (name: string): string => fixture('evidence', 'tdx', name);
const ccel = (name: string): string => fixture('eventlogs', 'ccel', name);

const asserted = (name: string): Record<string, { sha384: string }> =>
  (
    JSON.parse(readFileSync(ccel('expected.json'), 'utf8')) as Record<
      string,
      { registers: { asserted: Record<string, { sha384: string }> } }
    >
  )[name]!.registers.asserted;

/** `evidence verify FILE --json` with the relaxations these captures need (no collateral). */
async function verifyJson(file: string, relax = 'collateral,nonce'): Promise<string> {
  const r = await runCli(['evidence', 'verify', ...AT, file, '--relax', relax, '--json']);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return r.stdout;
}

interface ReplayOut {
  registers: Record<string, Record<string, string>>;
  expect: { matched: string[] };
  warnings: { code: string }[];
}

test('evidence verify --json | log replay CCEL --expect -: the registers the log extends match', async () => {
  const evidence = await verifyJson(quote('gotdx-gce-cos113.quote-8000b.bin'));
  const { result, json } = await runCliJson(
    ['log', 'replay', ccel('gcp-cos113-tdx.ccel.bin'), '--expect', '-', '--json'],
    { input: evidence },
  );
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const j = json as ReplayOut;
  // RTMR3 is zero in the quote and the CCEL never extends it: not compared (as --eventlog).
  assert.deepEqual(j.expect.matched, ['rtmr0:sha384', 'rtmr1:sha384', 'rtmr2:sha384']);
  const want = asserted('gcp-cos113-tdx.ccel.bin');
  for (const r of ['rtmr0', 'rtmr1', 'rtmr2'])
    assert.equal(j.registers[r]!['sha384'], want[r]!.sha384);
  assert.equal(
    j.warnings.some((w) => w.code === 'EXPECT_UNVERIFIED'),
    false,
  );

  // The readable output says which values were compared.
  const human = await runCli(
    ['log', 'replay', ccel('gcp-cos113-tdx.ccel.bin'), '--expect', '-', '--quiet'],
    { input: evidence },
  );
  assert.equal(human.code, 0);
  assert.match(
    human.stdout,
    /^expected values matched: rtmr0:sha384, rtmr1:sha384, rtmr2:sha384$/m,
  );
});

test("another TD's CCEL against the trustee debug-TD quote fails on RTMR0 with the quote's value", async () => {
  const file = quote('trustee-v4-debug-td.quote.bin');
  const rtmr0 = readFileSync(file)
    .subarray(376, 376 + 48)
    .toString('hex');
  const evidence = await verifyJson(file);
  const { result, json } = await runCliJson(
    ['log', 'replay', ccel('tdx-old-tdvf-1mib-zero-padded.ccel.bin'), '--expect', '-', '--json'],
    { input: evidence },
  );
  assert.equal(result.code, 1);
  const e = cliError(json);
  assert.equal(e.code, 'ERR_REPLAY_MISMATCH');
  assert.equal(e['register'], 'rtmr0');
  assert.equal(e['expected'], rtmr0);
  assert.equal(e['computed'], asserted('tdx-old-tdvf-1mib-zero-padded.ccel.bin')['rtmr0']!.sha384);
});

test('unverified evidence is still compared, with a warning that nothing vouched for it', async () => {
  // Without --relax nonce the result is verified: false (no nonce: freshness not checked).
  const evidence = await verifyJson(quote('gotdx-gce-cos113.quote-8000b.bin'), 'collateral');
  assert.equal((JSON.parse(evidence) as { verified: boolean }).verified, false);
  const { result, json } = await runCliJson(
    ['log', 'replay', ccel('gcp-cos113-tdx.ccel.bin'), '--expect', '-', '--json'],
    { input: evidence },
  );
  assert.equal(result.code, 0);
  assert.equal((json as ReplayOut).warnings[0]!.code, 'EXPECT_UNVERIFIED');
  const human = await runCli(['log', 'replay', ccel('gcp-cos113-tdx.ccel.bin'), '--expect', '-'], {
    input: evidence,
  });
  assert.match(human.stderr, /warning: EXPECT_UNVERIFIED: -: the tdx evidence was not verified/);
});

test('evidence whose registers no log extends, or that has none, is refused with a reason', async () => {
  // A TDX quote's RTMRs against a TPM log (PCRs): nothing to compare is a failure, not a pass.
  const evidence = await verifyJson(quote('gotdx-gce-cos113.quote-8000b.bin'));
  const tcg = fixture('eventlogs', 'tcg', 'gce-cos85-amd-sev.binary_bios_measurements');
  const none = await runCliJson(['log', 'replay', tcg, '--expect', '-', '--json'], {
    input: evidence,
  });
  assert.equal(none.result.code, 1);
  assert.equal(cliError(none.json).code, 'ERR_REPLAY_MISMATCH');
  assert.match(cliError(none.json)['message'] as string, /extend none of the expected registers/);

  // An SNP report has no register a log extends (MEASUREMENT is built at launch).
  const snp = await runCli([
    'evidence', 'verify', ...AT, fixture('evidence', 'snp', 'trustee-milan-v2.report.bin'),
    '--cert', fixture('evidence', 'snp', 'trustee-milan-v2.vcek.der'), '--relax', 'crl,nonce', '--json',
  ]); // prettier-ignore
  const bad = await runCliJson(
    ['log', 'replay', ccel('gcp-cos113-tdx.ccel.bin'), '--expect', '-', '--json'],
    { input: snp.stdout },
  );
  assert.equal(bad.result.code, 2);
  assert.equal(cliError(bad.json).code, 'ERR_BAD_JSON');
  assert.match(cliError(bad.json)['message'] as string, /none in this snp evidence/);

  // stdin cannot be both the log and the expected values.
  const both = await runCli(['log', 'replay', '-', '--expect', '-']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /either a log or --expect/);
});
