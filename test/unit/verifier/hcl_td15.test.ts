// TDX 1.5 fields in the Azure TDX HCL binding (`hcl_td_report`, issue 12): no TDX 1.5 capture
// exists here, so the TDREPORT is written byte by byte at the offsets of Intel's TDX module 1.5
// ABI (TDREPORT_STRUCT: TEE_TCB_INFO at 256 with TEE_TCB_SVN2 at +128 → 384; TDINFO at 512 with
// SERVTD_HASH after ATTRIBUTES, XFAM, four 48-byte MRs and four RTMRs → 912), and the quote's TD
// 1.5 body carries TEE_TCB_SVN2 and MRSERVICETD (DCAP quote v5, body type 3, at body offsets 584
// and 600). A quote whose 1.5 fields differ from the TDREPORT's fails naming the field and both
// offsets; a TD 1.0 body leaves them uncovered, with a warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTdReport } from '../../../src/formats/tdx/tdreport.js';
import type { TdReportBody } from '../../../src/formats/tdx/quote.js';
import { checkHclTdReport } from '../../../src/verifier/verify/binding_hcl.js';
import { ResultBuilder } from '../../../src/verifier/verify/evidence_result.js';

// TEE_TCB_SVN2: TDX module SVN minor 5, major 1, SEAM last patch SVN 3.
const SVN2 = Buffer.from('05010300000000000000000000000000', 'hex');
const SERVTD = Buffer.alloc(48, 0x5a);

/** A TDREPORT laid out by hand: type 0x81, a few identity bytes, and the two 1.5 fields. */
function tdreport15(): Uint8Array {
  const b = Buffer.alloc(1024);
  b[0] = 0x81; // REPORTTYPE.TYPE = TDX
  b[2] = 1; // REPORTTYPE.VERSION 1: TDINFO.SERVTD_HASH is used (TDX 1.5)
  b.fill(0x11, 528, 576); // TDINFO.MRTD
  b.fill(0x22, 720, 768); // TDINFO.RTMR0
  SVN2.copy(b, 384); // TEE_TCB_INFO.TEE_TCB_SVN2
  SERVTD.copy(b, 912); // TDINFO.SERVTD_HASH
  return b;
}

function check(body: TdReportBody, report: Uint8Array = tdreport15()): ResultBuilder {
  const b = new ResultBuilder('tdx', new Date('2026-01-01T00:00:00Z'));
  checkHclTdReport(b, parseTdReport(report), body);
  return b;
}

/** The quote's TD 1.5 body for the TDREPORT: its 1.0 fields, then the two 1.5 fields. */
function body15(over: Partial<TdReportBody> = {}): TdReportBody {
  const t = parseTdReport(tdreport15());
  return {
    teeTcbSvn: t.teeTcbSvn,
    mrSeam: t.mrSeam,
    mrSignerSeam: t.mrSignerSeam,
    seamAttributes: t.seamAttributes,
    tdAttributes: t.tdAttributes,
    xfam: t.xfam,
    mrTd: t.mrTd,
    mrConfigId: t.mrConfigId,
    mrOwner: t.mrOwner,
    mrOwnerConfig: t.mrOwnerConfig,
    rtmr: t.rtmr,
    reportData: t.reportData,
    teeTcbSvn2: new Uint8Array(SVN2),
    mrServiceTd: new Uint8Array(SERVTD),
    ...over,
  };
}

test('TDX 1.5: TEE_TCB_SVN2 and SERVTD_HASH read from their ABI offsets', () => {
  const t = parseTdReport(tdreport15());
  assert.deepEqual(Buffer.from(t.teeTcbSvn2), SVN2);
  assert.deepEqual(Buffer.from(t.servTdHash), SERVTD);
  // The 1.0 fields around them are untouched by the 1.5 bytes.
  assert.deepEqual(Buffer.from(t.seamAttributes), Buffer.alloc(8));
  assert.deepEqual(Buffer.from(t.rtmr[3]), Buffer.alloc(48));
});

test('a TD 1.5 body equal to the TDREPORT: hcl_td_report ok, no warning', () => {
  const b = check(body15());
  assert.equal(b.checks['hcl_td_report'], 'ok');
  assert.deepEqual(b.warnings, []);
});

test('MRSERVICETD ≠ SERVTD_HASH: ERR_BINDING_MISMATCH naming mrservicetd (TDREPORT 912, body 600)', () => {
  const b = check(body15({ mrServiceTd: new Uint8Array(48).fill(0x5b) }));
  assert.equal(b.checks['hcl_td_report'], 'failed');
  const e = b.errors[0]!;
  assert.equal(e.code, 'ERR_BINDING_MISMATCH');
  assert.equal(e['field'], 'mrservicetd');
  assert.equal(e['tdreport_offset'], 912);
  assert.equal(e['body_offset'], 600);
  assert.equal(e['actual'], '5a'.repeat(48));
  assert.equal(e['expected'], '5b'.repeat(48));
});

test('TEE_TCB_SVN2 differs: ERR_BINDING_MISMATCH naming tee_tcb_svn2 (TDREPORT 384, body 584)', () => {
  const b = check(body15({ teeTcbSvn2: new Uint8Array(16) }));
  assert.equal(b.checks['hcl_td_report'], 'failed');
  const e = b.errors[0]!;
  assert.equal(e['field'], 'tee_tcb_svn2');
  assert.equal(e['tdreport_offset'], 384);
  assert.equal(e['body_offset'], 584);
  assert.equal(e['actual'], SVN2.toString('hex'));
});

test('a TD 1.0 body cannot cover the 1.5 fields: ok for the 1.0 fields, with a warning', () => {
  const { teeTcbSvn2: _s, mrServiceTd: _m, ...v10 } = body15(); // eslint-disable-line @typescript-eslint/no-unused-vars
  const b = check(v10);
  assert.equal(b.checks['hcl_td_report'], 'ok');
  assert.equal(b.warnings.length, 1);
  assert.match(b.warnings[0]!, /tee_tcb_svn2, mrservicetd \(TDX 1\.5\) are not covered/);
  // A 1.0 TDREPORT (1.5 fields zero) with a 1.0 body: nothing to warn about.
  const r10 = Buffer.from(tdreport15());
  r10.fill(0, 384, 400);
  r10.fill(0, 912, 960);
  assert.deepEqual(check(v10, r10).warnings, []);
});
