import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { hclRuntimeKey, parseHclReport } from '../../../../src/formats/azure/hcl_report.js';
import { fixture } from '../../../_support/paths.js';

const snp = (f: string): Uint8Array => new Uint8Array(readFileSync(fixture('evidence', 'snp', f)));

test('SNP-6 HCL report: header, SNP report at 0x20, runtime data at 0x4C0', () => {
  const bytes = snp('trustee-azure-milan-v2.hcl-report.bin');
  const h = parseHclReport(bytes);
  assert.equal(h.report_type, 'snp');
  assert.equal(h.hash_alg, 'sha256');
  // The derived report file is bytes 0x20..0x4C0 of the HCL report.
  assert.deepEqual(h.report, snp('trustee-azure-milan-v2.report.bin'));
  assert.equal(h.variable_data.length, 1110);
  // SHA-256 of the 1110-byte variable data (PROVENANCE: b3fbad65…afac).
  assert.equal(
    createHash('sha256').update(h.variable_data).digest('hex'),
    'b3fbad6514c83caeb0380882145e49f794229ef37c421b91fc47ff93556bafac',
  );
  const ak = hclRuntimeKey(h, 'HCLAkPub');
  assert.equal(ak['kty'], 'RSA');
  assert.equal(ak['e'], 'AQAB');
});

test('HCL report: bad magic, truncation and an unknown hash type are typed errors', () => {
  const bytes = snp('trustee-azure-milan-v2.hcl-report.bin');
  const m = Uint8Array.from(bytes);
  m[0] = 0x58;
  assert.throws(() => parseHclReport(m), { code: 'ERR_BAD_MAGIC', format: 'hcl-report' });
  assert.throws(() => parseHclReport(bytes.subarray(0, 0x4c8)), { code: 'ERR_TRUNCATED' });
  assert.throws(() => parseHclReport(bytes.subarray(0, 0x4d4 + 100)), { code: 'ERR_TRUNCATED' });
  const ht = Uint8Array.from(bytes);
  ht[0x4cc] = 9;
  assert.throws(() => parseHclReport(ht), { code: 'ERR_UNKNOWN_ALGORITHM', offset: 0x4cc });
});
