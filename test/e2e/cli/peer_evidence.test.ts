// Peer evidence containers (issue 18): trustee's SNP evidence JSON (the report as the `sev` crate
// serialises it, field by field, with the VCEK), trustee's TDX evidence JSON ({quote, cc_eventlog}
// in base64, built here from the go-tdx-guest quote), a raw TDREPORT (Intel's sample, whose field
// values the TDX-9 provenance pins), and input that matches nothing: the message lists what was
// tried. Expected values: the report's own ECDSA signature (a byte rebuilt wrong fails it), the
// claims of the same report as binary (the shared set's `.report.bin`), the TDX-9 values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliError, runCli, runCliJson, type EvidenceVerifyJson } from '../../_support/cli.js';
import { fixture } from '../../_support/paths.js';
import { tempDir } from '../../_support/tmp.js';

// The captures' certificates expire (VCEKs and PCK certificates 2030-2032): every verification
// here runs at a pinned time inside all their validity periods, never the real clock.
const AT = ['--at', '2026-01-01T00:00:00Z'] as const;

const snp = (name: string): string => fixture('evidence', 'snp', name);
const tdx = (name: string): string => fixture('evidence', 'tdx', name);

test('trustee SNP evidence JSON: the report rebuilt from its fields verifies with its own VCEK', async () => {
  const { result, json } = await runCliJson([
    'evidence', 'verify', ...AT, snp('trustee-e2e-genoa-v3.evidence.json'), '--relax', 'crl,nonce', '--json',
  ]); // prettier-ignore
  const j = json as EvidenceVerifyJson;
  assert.equal(result.code, 0, result.stdout);
  assert.equal(j.kind, 'snp');
  assert.equal(j.checks['report_signature'], 'ok');
  assert.equal(j.checks['cert_chain'], 'ok');
  // The same report as binary decodes to the same claims.
  const fromJson = await runCliJson(['evidence', 'show', snp('trustee-e2e-genoa-v3.evidence.json'), '--json']); // prettier-ignore
  const fromBin = await runCliJson(['evidence', 'show', snp('trustee-e2e-genoa-v3.report.bin'), '--json']); // prettier-ignore
  assert.deepEqual(
    (fromJson.json as { claims: unknown }).claims,
    (fromBin.json as { claims: unknown }).claims,
  );
  // The measurement is the JSON's byte array.
  const doc = JSON.parse(readFileSync(snp('trustee-e2e-genoa-v3.evidence.json'), 'utf8')) as {
    attestation_report: { measurement: number[] };
  };
  assert.equal(
    j.claims['measurement'],
    Buffer.from(doc.attestation_report.measurement).toString('hex'),
  );
});

test('trustee SNP evidence JSON with a changed field fails its signature; a malformed one is exit 2', async (t) => {
  const dir = tempDir(t, 'mrstack-peer-');
  const doc = JSON.parse(readFileSync(snp('trustee-e2e-genoa-v3.evidence.json'), 'utf8')) as {
    attestation_report: { guest_svn: number; report_data: number[] };
  };
  doc.attestation_report.guest_svn = 1;
  const changed = join(dir, 'changed.json');
  writeFileSync(changed, JSON.stringify(doc));
  const r = await runCliJson([
    'evidence',
    'verify',
    ...AT,
    changed,
    '--relax',
    'crl,nonce',
    '--json',
  ]);
  assert.equal(r.result.code, 1);
  assert.equal((r.json as EvidenceVerifyJson).checks['report_signature'], 'failed');

  doc.attestation_report.report_data = doc.attestation_report.report_data.slice(1);
  writeFileSync(changed, JSON.stringify(doc));
  const m = await runCliJson(['evidence', 'verify', ...AT, changed, '--json']);
  assert.equal(m.result.code, 2);
  const e = cliError(m.json);
  assert.equal(e.code, 'ERR_BAD_JSON');
  assert.match(
    e['message'] as string,
    /attestation_report\.report_data: expected 64 bytes, found 63/,
  );
});

test('trustee TDX evidence JSON ({quote, cc_eventlog} in base64): the quote inside is verified', async (t) => {
  const dir = tempDir(t, 'mrstack-peer-');
  const quote = readFileSync(tdx('gotdx-gce-cos113.quote-8000b.bin'));
  const ccel = readFileSync(fixture('eventlogs', 'ccel', 'gcp-cos113-tdx.ccel.bin'));
  const file = join(dir, 'trustee-tdx.json');
  const write = (q: Buffer): void =>
    writeFileSync(
      file,
      JSON.stringify({ cc_eventlog: ccel.toString('base64'), quote: q.toString('base64') }),
    );
  write(quote);
  const raw = await runCliJson([
    'evidence', 'verify', ...AT, tdx('gotdx-gce-cos113.quote-8000b.bin'), '--relax', 'collateral,nonce', '--json',
  ]); // prettier-ignore
  const wrapped = await runCliJson(['evidence', 'verify', ...AT, file, '--relax', 'collateral,nonce', '--json']); // prettier-ignore
  assert.equal(wrapped.result.code, 0, wrapped.result.stdout);
  const w = wrapped.json as EvidenceVerifyJson;
  assert.equal(w.kind, 'tdx');
  assert.deepEqual(w.claims, (raw.json as EvidenceVerifyJson).claims);
  // One bit of the quote's signature flipped: not verified.
  const bad = Buffer.from(quote);
  bad[700] = bad[700]! ^ 1;
  write(bad);
  const no = await runCliJson(['evidence', 'verify', ...AT, file, '--relax', 'collateral,nonce', '--json']); // prettier-ignore
  assert.equal(no.result.code, 1);
  assert.equal((no.json as EvidenceVerifyJson).verified, false);
});

test('a raw TDREPORT: show decodes it (TDX-9 values); verify says why it cannot be verified', async () => {
  const file = tdx('inteldcap-tdreport-sample.tdreport.bin');
  const show = await runCliJson(['evidence', 'show', file, '--json']);
  assert.equal(show.result.code, 0, show.result.stderr);
  const c = (show.json as { claims: Record<string, unknown>; warnings: string[] }).claims;
  assert.equal(c['format'], 'tdreport');
  assert.equal(
    c['mrtd'],
    'bb1249bde960ef9b22d56eefb94b7f40ca3b528b31e6e4af0babb075c02ce5c1f63681101779927ea604f5aa49ec95b3',
  );
  assert.equal(
    c['rtmr0'],
    'e1af75e61927410e42b54b39f6681cf9b0bfbae512b15e870e4c8d9d5a5cb385571b0e1dc2f70bf9ccef08560f0a2b58',
  );
  assert.equal(c['mac'], '9239cdad7147af14508c5314b7e1a7e120c960e3dab59e1959120b31f9701a88');
  assert.equal(c['tee_tcb_info_hash_ok'], true);
  assert.equal(c['tee_info_hash_ok'], true);
  assert.match((show.json as { warnings: string[] }).warnings[0]!, /not a quote/);
  const v = await runCliJson(['evidence', 'verify', ...AT, file, '--json']);
  assert.equal(v.result.code, 2);
  assert.equal(cliError(v.json).code, 'ERR_UNSUPPORTED');
  assert.match(cliError(v.json)['message'] as string, /TDREPORT .*cannot be verified elsewhere/);
});

test('input that matches no format: the message lists the formats tried', async (t) => {
  const dir = tempDir(t, 'mrstack-peer-');
  const bin = join(dir, 'junk.bin');
  writeFileSync(bin, Buffer.from('00112233445566778899aabbccddeeff'.repeat(8), 'hex'));
  const r = await runCli(['evidence', 'verify', ...AT, bin]);
  assert.equal(r.code, 2);
  for (const f of [
    'TDX quote',
    'SNP report',
    'TPMS_ATTEST',
    'CCA token',
    'trustee TDX/SNP evidence',
  ])
    assert.ok(r.stderr.includes(f), `${f} in: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /bundle @0x0/);
  const json = join(dir, 'other.json');
  writeFileSync(json, '{"tee":"tdx","evidence":"…"}');
  const j = await runCli(['evidence', 'verify', ...AT, json]);
  assert.equal(j.code, 2);
  assert.match(j.stderr, /ERR_UNKNOWN_FORMAT/);
  assert.match(
    j.stderr,
    /mrstack report envelope, an mrstack evidence bundle, trustee TDX evidence/,
  );
  assert.match(j.stderr, /found a JSON object with members tee, evidence/);
});

test('trustee TDX evidence JSON: its cc_eventlog is replayed against RTMR0-2 as --eventlog does', async (t) => {
  const dir = tempDir(t, 'mrstack-peer-');
  const quote = readFileSync(tdx('gotdx-gce-cos113.quote-8000b.bin'));
  const ccelPath = fixture('eventlogs', 'ccel', 'gcp-cos113-tdx.ccel.bin');
  const ccel = readFileSync(ccelPath);
  const file = join(dir, 'trustee-tdx.json');
  const write = (log: Buffer): void =>
    writeFileSync(file, JSON.stringify({ quote: quote.toString('base64'), cc_eventlog: log.toString('base64') })); // prettier-ignore
  type Out = EvidenceVerifyJson & {
    eventlog: { registers: { log: string; register: string; proof: string; replayed: string }[] };
  };
  // The same comparison as the quote with --eventlog FILE (evidence_eventlog.test.ts holds it to
  // go-eventlog's asserted RTMR0-2 for this CCEL).
  const byFlag = await runCliJson([
    'evidence', 'verify', ...AT, tdx('gotdx-gce-cos113.quote-8000b.bin'), '--relax', 'collateral,nonce',
    '--eventlog', ccelPath, '--json',
  ]); // prettier-ignore
  write(ccel);
  const auto = await runCliJson(['evidence', 'verify', ...AT, file, '--relax', 'collateral,nonce', '--json']); // prettier-ignore
  assert.equal(auto.result.code, 0, auto.result.stdout);
  const a = (auto.json as Out).eventlog.registers;
  const f = (byFlag.json as Out).eventlog.registers;
  assert.deepEqual(
    a.map((r) => [r.register, r.proof, r.replayed]),
    f.map((r) => [r.register, r.proof, r.replayed]),
  );
  assert.deepEqual(
    a.map((r) => r.register),
    ['rtmr0', 'rtmr1', 'rtmr2'],
  );
  assert.equal(a[0]!.log, `${file}#cc_eventlog`);
  // Another TD's CCEL (trustee's CCEL_data) in the container: RTMR0 and RTMR1 fail, as they do
  // with --eventlog (evidence_eventlog.test.ts names the records from trustee's own parse).
  write(readFileSync(fixture('eventlogs', 'ccel', 'tdx-old-tdvf-1mib-zero-padded.ccel.bin')));
  const no = await runCliJson(['evidence', 'verify', ...AT, file, '--relax', 'collateral,nonce', '--json']); // prettier-ignore
  const j = no.json as { verified: boolean; errors: { code: string; register?: string }[] };
  assert.equal(no.result.code, 1, no.result.stdout);
  assert.equal(j.verified, false);
  assert.deepEqual(
    j.errors.filter((e) => e.code === 'ERR_REPLAY_MISMATCH').map((e) => e.register),
    ['rtmr0', 'rtmr1'],
  );
});

test('trustee TDX evidence JSON: its aa_eventlog (AAEL text) is replayed against RTMR3, by evidence verify and by appraise', async (t) => {
  const dir = tempDir(t, 'mrstack-peer-');
  const aaelPath = fixture('eventlogs', 'aael', 'coco-aael-text-v1-sample1.aael.txt');
  // The RTMR3 trustee's aael_integrity_check asserts for this AAEL (PROVENANCE, expected.json).
  const expected = JSON.parse(
    readFileSync(fixture('eventlogs', 'aael', 'expected.json'), 'utf8'),
  ) as Record<string, { registers: { asserted: { rtmr3: { sha384: string } } } }>;
  const rtmr3 = expected['coco-aael-text-v1-sample1.aael.txt']!.registers.asserted.rtmr3.sha384;
  const file = join(dir, 'trustee-tdx-aael.json');
  writeFileSync(
    file,
    JSON.stringify({
      quote: readFileSync(tdx('gotdx-gce-cos113.quote-8000b.bin')).toString('base64'),
      cc_eventlog: readFileSync(fixture('eventlogs', 'ccel', 'gcp-cos113-tdx.ccel.bin')).toString(
        'base64',
      ),
      aa_eventlog: readFileSync(aaelPath, 'utf8'),
    }),
  );
  type Out = EvidenceVerifyJson & {
    eventlog: {
      registers: {
        log: string;
        register: string;
        proof: string;
        replayed: string;
        reported?: string;
      }[];
    };
  };
  const v = await runCliJson(['evidence', 'verify', ...AT, file, '--relax', 'collateral,nonce', '--json']); // prettier-ignore
  // The GCE TD never extended RTMR3 (its quote reports zero), so this AAEL does not match it.
  assert.equal(v.result.code, 1, v.result.stdout);
  const regs = (v.json as Out).eventlog.registers;
  const r3 = regs.find((r) => r.register === 'rtmr3');
  assert.ok(r3 !== undefined, JSON.stringify(regs));
  assert.equal(r3.log, `${file}#aa_eventlog`);
  assert.equal(r3.replayed, rtmr3);
  assert.equal(r3.reported, '00'.repeat(48));
  assert.equal(r3.proof, 'failed');
  // RTMR0-2 from the container's CCEL still match; only RTMR3 fails.
  assert.deepEqual(
    regs.filter((r) => r.proof === 'ok').map((r) => r.register),
    ['rtmr0', 'rtmr1', 'rtmr2'],
  );
  const errs = (v.json as { errors: { code: string; register?: string }[] }).errors;
  assert.deepEqual(
    errs.filter((e) => e.code === 'ERR_REPLAY_MISMATCH').map((e) => e.register),
    ['rtmr3'],
  );
  // The same comparison as --eventlog FILE on the bare quote.
  const byFlag = await runCliJson([
    'evidence', 'verify', ...AT, tdx('gotdx-gce-cos113.quote-8000b.bin'), '--relax', 'collateral,nonce',
    '--eventlog', aaelPath, '--json',
  ]); // prettier-ignore
  const f3 = (byFlag.json as Out).eventlog.registers.find((r) => r.register === 'rtmr3');
  assert.equal(f3?.replayed, r3.replayed);

  // appraise reads the container's logs too: RTMR0-2 match, RTMR3 inconsistent at the AAEL's
  // last record.
  const a = await runCliJson(['appraise', ...AT, file, '--relax', 'collateral,nonce', '--json']); // prettier-ignore
  const findings = (
    a.json as { findings: { id: string; where: { log?: string; record?: number } }[] }
  ).findings;
  const ids = findings.map((x) => x.id);
  for (const id of [
    'replay.rtmr0.match',
    'replay.rtmr1.match',
    'replay.rtmr2.match',
    'replay.rtmr3.inconsistent',
  ])
    assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
  const bad = findings.find((x) => x.id === 'replay.rtmr3.inconsistent')!;
  assert.equal(bad.where.log, `${file}#aa_eventlog`);
  assert.equal(bad.where.record, 1);
});

test('appraise uses the parts inside an Azure vTPM container as evidence verify does', async () => {
  // trustee's az-snp-vtpm evidence (v2): the vTPM quote with its signature, PCRs and the HCL
  // report inside, verified with the nonce azure_vtpm.test.ts uses (its extraData).
  const file = fixture('evidence', 'azure', 'trustee-az-snp-vtpm.evidence-v2.json');
  const nonce =
    '982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef';
  const args = ['--nonce', nonce, '--relax', 'crl', '--at', '2026-01-01T00:00:00Z', '--json'];
  const v = await runCliJson(['evidence', 'verify', file, ...args]);
  const vj = v.json as EvidenceVerifyJson;
  assert.equal(v.result.code, 0, JSON.stringify(vj.errors));
  // Before, appraise read only the quote: no signature, no AK, `verified: false`.
  const a = await runCliJson(['appraise', file, ...args]);
  const aj = a.json as { verified: boolean; kind: string; trust_root: string | null };
  assert.equal(aj.verified, true, a.result.stdout.slice(0, 2000));
  assert.equal(aj.kind, 'tpm');
  assert.equal(aj.trust_root, (vj.trust as { root: string }).root);
  // A wrong nonce: appraise refuses it as verify does.
  const wrong = await runCliJson(['appraise', file, ...args.map((x) => (x === nonce ? 'ff'.repeat(48) : x))]); // prettier-ignore
  assert.equal((wrong.json as { verified: boolean }).verified, false);
});
