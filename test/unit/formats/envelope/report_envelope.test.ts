// The report envelope (docs/evidence.md) has one writer and one strict parser; the report-data
// bindings have one home and refuse a length their field cannot hold instead of wrapping it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  encodeReportEnvelope,
  frameEnvelope,
  parseReportEnvelope,
  type EnvelopeImaLog,
} from '../../../../src/formats/envelope/report_envelope.js';
import { evidenceBinding, reportDataBinding } from '../../../../src/formats/envelope/binding.js';
import { decodeEvidenceInput } from '../../../../src/verifier/verify/evidence.js';
import { runTool } from '../../../_support/peers.js';
import { DEFAULT_LIMITS } from '../../../../src/limits.js';

const b = (...x: number[]): Uint8Array => Uint8Array.from(x);

/** An emulated TPM quote's envelope (nonce 01, outblob aa), with `imaLog` when given. */
function tpmEnvelope(imaLog?: EnvelopeImaLog): Record<string, unknown> {
  return encodeReportEnvelope({
    kind: 'tpm',
    provider: 'tpm',
    emulated: true,
    nonce: b(1),
    reportData: b(1),
    outblob: b(0xaa),
    ...(imaLog === undefined ? {} : { imaLog }),
  });
}

const written = encodeReportEnvelope({
  kind: 'snp',
  provider: 'sev_guest',
  emulated: true,
  nonce: b(1, 2),
  reportData: b(1, 2, 0),
  outblob: b(0xaa, 0xbb),
  auxblob: b(0xcc),
  manifestblob: b(0xdd),
  parts: { signature: b(0xee) },
  collateral: { tcb_info: 'x' },
});

test('the written envelope reads back through the front door: kind, blobs, parts, manifest', () => {
  const text = JSON.stringify(written);
  assert.match(text, /"format":"mrstack-report-v1"/);
  const d = decodeEvidenceInput(new TextEncoder().encode(text));
  assert.equal(d.encoding, 'envelope');
  assert.deepEqual(d.data, b(0xaa, 0xbb));
  assert.equal(d.envelope?.kind, 'snp');
  assert.deepEqual(d.envelope.auxblob, b(0xcc));
  // The top-level manifestblob (SVSM) reaches the verifier among the parts.
  assert.deepEqual(d.envelope.parts, { signature: b(0xee), manifestblob: b(0xdd) });
  assert.deepEqual(d.envelope.collateral, { tcb_info: 'x' });
  assert.deepEqual(d.envelope.nonce, b(1, 2));
});

test('strict parser: each malformed member is refused naming it (ERR_BAD_JSON / ERR_BAD_HEX)', () => {
  const cases: [Record<string, unknown>, string, string][] = [
    [{ ...written, kind: 'sgx' }, 'kind', 'ERR_BAD_JSON'],
    [{ ...written, extra: 1 }, 'extra', 'ERR_BAD_JSON'],
    [{ ...written, emulated: 'yes' }, 'emulated', 'ERR_BAD_JSON'],
    [{ ...written, outblob: 12 }, 'outblob', 'ERR_BAD_JSON'],
    [{ ...written, outblob: undefined }, 'outblob', 'ERR_BAD_JSON'],
    [{ ...written, parts: [] }, 'parts', 'ERR_BAD_JSON'],
    [{ ...written, parts: { signature: 7 } }, 'parts.signature', 'ERR_BAD_JSON'],
    [{ ...written, parts: { signature: 'zz' } }, 'parts.signature', 'ERR_BAD_HEX'],
    [{ ...written, parts: { manifestblob: '00' } }, 'manifestblob', 'ERR_BAD_JSON'],
  ];
  for (const [env, field, code] of cases) {
    assert.throws(
      () => parseReportEnvelope(JSON.parse(JSON.stringify(env))),
      (e: { code?: string; details?: { field?: string } }) => {
        assert.equal(e.code, code, field);
        assert.match(String(e.details?.field), new RegExp(`^${field.replace('.', '\\.')}`));
        return true;
      },
    );
  }
  // Controls: the written form, and JSON that is not an envelope (left to other readers).
  assert.equal(parseReportEnvelope(JSON.parse(JSON.stringify(written)))?.kind, 'snp');
  assert.equal(parseReportEnvelope({ format: 'mrstack-evidence-bundle' }), undefined);
});

test("ima_log (a TPM quote's IMA list): base64 data, optional since; malformed members refused", () => {
  const list = b(1, 2, 3, 4, 5);
  const env = tpmEnvelope({ format: 'ima-binary', since: 7, data: list });
  const ima = env['ima_log'] as Record<string, unknown>;
  assert.deepEqual(ima, {
    format: 'ima-binary',
    since: 7,
    data: Buffer.from(list).toString('base64'),
  });
  assert.deepEqual(parseReportEnvelope(JSON.parse(JSON.stringify(env)))?.imaLog, {
    format: 'ima-binary',
    since: 7,
    data: list,
  });
  const whole = { ...env, ima_log: { format: 'ima-binary', data: 'AQI=' } };
  assert.equal(parseReportEnvelope(whole)?.imaLog?.since, 0);
  for (const [bad, field] of [
    [{ format: 'ima-ascii', data: '' }, 'ima_log.format'],
    [{ format: 'ima-binary', since: -1, data: '' }, 'ima_log.since'],
    [{ format: 'ima-binary', data: 'AQI' }, 'ima_log.data'],
    [{ format: 'ima-binary', data: 'AQ-_' }, 'ima_log.data'],
    [{ format: 'ima-binary', data: '', extra: 1 }, 'ima_log.extra'],
    ['AQI=', 'ima_log'],
  ] as const) {
    assert.throws(
      () => parseReportEnvelope({ ...env, ima_log: bad }),
      (e: { code?: string; details?: { field?: string } }) =>
        e.code === 'ERR_BAD_JSON' && e.details?.field === field,
      field,
    );
  }
});

test('a framed envelope: the IMA list as bytes after the JSON text and a NUL, bounded as a whole file, not as evidence', () => {
  const env = tpmEnvelope();
  // a list of 10,000 bytes, the JSON well under the evidence limit given (4 KiB)
  const list = new Uint8Array(10_000).map((_, i) => (i * 7) & 0xff);
  list[17] = 0; // NUL bytes inside the list are the list's
  const framed = frameEnvelope(env, { since: 12, data: list });
  const nul = framed.indexOf(0);
  const head = JSON.parse(Buffer.from(framed.subarray(0, nul)).toString('utf8')) as Record<
    string,
    unknown
  >;
  assert.deepEqual(head['ima_log'], { format: 'ima-binary', since: 12, bytes: 10_000 });
  assert.deepEqual(Buffer.from(framed.subarray(nul + 1)), Buffer.from(list));
  const limits = { maxEvidenceSize: 4096, maxWholeFile: 12_000 };
  const d = decodeEvidenceInput(framed, { ...DEFAULT_LIMITS, ...limits });
  assert.equal(d.encoding, 'envelope');
  assert.deepEqual(d.envelope?.imaLog, { format: 'ima-binary', since: 12, data: list });
  // the same envelope with the list as base64 in the JSON is over the evidence limit
  const inline = new TextEncoder().encode(
    JSON.stringify({
      ...env,
      ima_log: { format: 'ima-binary', data: Buffer.from(list).toString('base64') },
    }),
  );
  assert.throws(
    () => decodeEvidenceInput(inline, { ...DEFAULT_LIMITS, ...limits }),
    (e: { code?: string }) => e.code === 'ERR_LENGTH_LIMIT',
  );
  // a list over the whole-file limit; a count that is not the bytes after the NUL either way
  const refuse = (bytes: Uint8Array, code: string, field: string): void =>
    assert.throws(
      () => decodeEvidenceInput(bytes, { ...DEFAULT_LIMITS, ...limits }),
      (e: { code?: string; details?: { field?: string } }) =>
        e.code === code && e.details?.field === field,
      `${code} ${field}`,
    );
  refuse(
    frameEnvelope(env, { since: 0, data: new Uint8Array(12_001) }),
    'ERR_LENGTH_LIMIT',
    'ima_log',
  );
  refuse(Buffer.concat([framed, b(9)]), 'ERR_TRAILING_BYTES', 'ima_log.bytes');
  refuse(framed.subarray(0, framed.length - 1), 'ERR_TRUNCATED', 'ima_log.bytes');
  // bytes after a NUL with no ima_log.bytes to count them, or a count with nothing after
  const plain = new TextEncoder().encode(JSON.stringify(env));
  refuse(Buffer.concat([plain, b(0, 1, 2)]), 'ERR_TRAILING_BYTES', 'evidence');
  const counted = new TextEncoder().encode(
    JSON.stringify({ ...env, ima_log: { format: 'ima-binary', bytes: 3 } }),
  );
  refuse(counted, 'ERR_BAD_JSON', 'ima_log.bytes');
  const both = new TextEncoder().encode(
    JSON.stringify({ ...env, ima_log: { format: 'ima-binary', bytes: 3, data: 'AQID' } }),
  );
  refuse(Buffer.concat([both, b(0, 1, 2, 3)]), 'ERR_BAD_JSON', 'ima_log.data');
  // other JSON evidence followed by a NUL is no envelope with a list
  refuse(Buffer.from('{"format":"nothing-known"}\0abc'), 'ERR_TRAILING_BYTES', 'evidence');
});

test('report binding: u16 lengths; 65,535 bytes of user data as openssl hashes it, 65,536 refused', () => {
  const nonce = b(0xc0, 0xff, 0xee);
  const ud = new Uint8Array(65_535).fill(0x5a);
  const input = Buffer.concat([
    Buffer.from('mrstack-report-v1'),
    Buffer.from([0, 3]),
    nonce,
    Buffer.from([0xff, 0xff]),
    ud,
  ]);
  const want = runTool('openssl', ['dgst', '-sha512', '-binary'], input).toString('hex');
  assert.equal(Buffer.from(reportDataBinding(nonce, ud)).toString('hex'), want);
  // One byte more would wrap the u16 to 0 and collide with another input: refused.
  assert.throws(() => reportDataBinding(nonce, new Uint8Array(65_536)), {
    code: 'ERR_LENGTH_LIMIT',
  });
  assert.throws(() => reportDataBinding(new Uint8Array(65_536), b(1)), {
    code: 'ERR_LENGTH_LIMIT',
  });
});

test('evidence binding: u32 lengths, as docs/bundle.md lays them out', () => {
  const want = createHash('sha512')
    .update(
      Buffer.concat([
        Buffer.from('mrstack-evidence-v1'),
        Buffer.from([0, 0, 0, 5]),
        Buffer.from('alice'),
        Buffer.from([0, 0, 0, 2]),
        Buffer.from([1, 2]),
        Buffer.from([0, 0, 0, 0]),
      ]),
    )
    .digest('hex');
  assert.equal(Buffer.from(evidenceBinding('alice', b(1, 2))).toString('hex'), want);
});
