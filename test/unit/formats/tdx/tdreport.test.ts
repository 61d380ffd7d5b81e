// TDREPORT parsing against intel-dcap's sample (TDX-9 in PROVENANCE.md: the values and the two
// internal SHA-384 self-checks were computed there with Python, independently of this code).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../../../_support/paths.js';
import { opensslDigest } from '../../../_support/peers.js';
import { toHex } from '../../../../src/bytes/hex.js';
import {
  checkTdReportHashes,
  encodeTdReport,
  parseTdReport,
} from '../../../../src/formats/tdx/tdreport.js';

const sample = new Uint8Array(
  readFileSync(fixture('evidence', 'tdx', 'inteldcap-tdreport-sample.tdreport.bin')),
);

test('TDX-9 TDREPORT: fields and internal hashes', () => {
  const t = parseTdReport(sample);
  assert.equal(toHex(t.reportType), '81000000');
  assert.equal(toHex(t.cpuSvn), '05050f1103ff00040000000000000000');
  assert.equal(
    toHex(t.teeTcbInfoHash),
    '3e00fdef8508b231f93d722b971a9fb151264e7fe41fb8a4dd7bfdfc0692d5ad08fa9addf3ed771eb15b1b56c7f72197',
  );
  assert.equal(
    toHex(t.teeInfoHash),
    'c155ed68c23976c9737ab9e75b9bd85076c6fd42d30978308e1f40aebeb2509789c25487c1270296b83c25e3c39ecd10',
  );
  assert.equal(
    toHex(t.reportData),
    'b46a00ebf78bcdff4a1d54bd4d8780427f9dbace511059be041209444c7bde00e5deebdc6ab9dcb4d6307123b7f165368e1f04df305d9d3470a679bc2257bd07',
  );
  assert.equal(toHex(t.mac), '9239cdad7147af14508c5314b7e1a7e120c960e3dab59e1959120b31f9701a88');
  assert.equal(toHex(t.teeTcbInfoValid), 'ff01000000000000');
  assert.equal(toHex(t.teeTcbSvn), '04000500000000000000000000000000');
  assert.equal(
    toHex(t.mrSeam),
    '48fa69949db08002ee84252847f572988b1d6e568ec1353f64cb6c0fd905375f69ad959c0eaf7747ac70a392789302a1',
  );
  assert.equal(toHex(t.tdAttributes), '0000005000000000');
  assert.equal(toHex(t.xfam), 'e702060000000000');
  assert.equal(
    toHex(t.mrTd),
    'bb1249bde960ef9b22d56eefb94b7f40ca3b528b31e6e4af0babb075c02ce5c1f63681101779927ea604f5aa49ec95b3',
  );
  assert.equal(
    toHex(t.rtmr[0]),
    'e1af75e61927410e42b54b39f6681cf9b0bfbae512b15e870e4c8d9d5a5cb385571b0e1dc2f70bf9ccef08560f0a2b58',
  );
  assert.equal(
    toHex(t.rtmr[1]),
    'eac22f0257a3dcce04d13a8ec1e5e89112e1bc649e743845f58598f6e13bc7fc62506296235aa300eab6b16292cd8a9c',
  );
  assert.equal(toHex(t.rtmr[2]), '00'.repeat(48));
  assert.equal(toHex(t.servTdHash), '00'.repeat(48));
  assert.deepEqual(checkTdReportHashes(t), { teeTcbInfoHash: true, teeInfoHash: true });
  // Cross-check the hash ranges with openssl.
  assert.equal(toHex(opensslDigest('sha384', sample.subarray(256, 495))), toHex(t.teeTcbInfoHash));
  assert.equal(toHex(opensslDigest('sha384', sample.subarray(512, 1024))), toHex(t.teeInfoHash));
});

test('a changed TDINFO byte breaks TEE_INFO_HASH; a changed TEE_TCB_INFO byte its hash', () => {
  const a = sample.slice();
  a[600]! ^= 1;
  assert.deepEqual(checkTdReportHashes(parseTdReport(a)), {
    teeTcbInfoHash: true,
    teeInfoHash: false,
  });
  const b = sample.slice();
  b[300]! ^= 1;
  assert.deepEqual(checkTdReportHashes(parseTdReport(b)), {
    teeTcbInfoHash: false,
    teeInfoHash: true,
  });
});

test('encodeTdReport round-trips the sample (hashes recomputed equal the CPU-made ones)', () => {
  const t = parseTdReport(sample);
  const again = encodeTdReport({ ...t, rtmr: t.rtmr });
  assert.equal(toHex(again), toHex(sample));
});

test('wrong size and wrong report type are typed errors', () => {
  assert.throws(() => parseTdReport(sample.subarray(0, 1023)), {
    code: 'ERR_TRUNCATED',
    format: 'tdx-report',
  });
  const longer = new Uint8Array(1025);
  longer.set(sample);
  assert.throws(() => parseTdReport(longer), { code: 'ERR_TRAILING_BYTES' });
  const sgx = sample.slice();
  sgx[0] = 0;
  assert.throws(() => parseTdReport(sgx), { code: 'ERR_BAD_MAGIC', offset: 0 });
});
