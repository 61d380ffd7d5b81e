// TDX TCB evaluation (QVL's algorithm) on real TCB info: go-tdx-guest's v4/v5 cases and the
// convergence rules of Intel's QVL (TcbLevelCheck / convergeTcbStatus).
import { jsonMemberSpans } from '../../../src/formats/json/json_text.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { verify as nodeVerify, X509Certificate } from 'node:crypto';
import { fixture } from '../../_support/paths.js';
import { parseTdxQuote } from '../../../src/formats/tdx/quote.js';
import { parseCertificate } from '../../../src/verifier/verify/x509/certificate.js';
import { pckExtensionOf } from '../../../src/verifier/verify/tdx_verifier.js';
import {
  convergeTcbStatus,
  evaluateTdxTcb,
  matchTdxTcbLevel,
  TCB_STATUS,
} from '../../../src/verifier/verify/tdx_tcb.js';
import {
  parseQeIdentity,
  parseTdxCollateralFiles,
  parseTdxTcbInfo,
  type QeIdentity,
  type TdxTcbInfo,
} from '../../../src/verifier/collateral/tdx_collateral.js';

const text = (...p: string[]): string => readFileSync(fixture('evidence', 'tdx', ...p), 'utf8');
const quote = (name: string): ReturnType<typeof parseTdxQuote> =>
  parseTdxQuote(new Uint8Array(readFileSync(fixture('evidence', 'tdx', name))));

function inputOf(name: string): Parameters<typeof evaluateTdxTcb>[0] {
  const q = quote(name);
  return {
    pck: pckExtensionOf(parseCertificate(q.certificationData.pckChain[0]!)),
    teeTcbSvn: q.body.teeTcbSvn,
    mrSignerSeam: q.body.mrSignerSeam,
    seamAttributes: q.body.seamAttributes,
    qeReport: q.certificationData.qeReport,
  };
}

const tcbInfoV4 = (): TdxTcbInfo =>
  parseTdxTcbInfo(
    (
      JSON.parse(text('gotdx-2023-pcs', 'gotdx-v4-spr-e4.tcbinfo-50806f000000.json')) as {
        tcbInfo: unknown;
      }
    ).tcbInfo,
  );
const qe2023 = (): QeIdentity =>
  parseQeIdentity(
    (
      JSON.parse(text('gotdx-2023-pcs', 'gotdx-2023.qe-identity.json')) as {
        enclaveIdentity: unknown;
      }
    ).enclaveIdentity,
  );

test('TDX-1: the 2023 TCB info lists newer SVNs than the quote: no level matches', () => {
  const input = inputOf('gotdx-v4-spr-e4.quote.bin');
  assert.equal(matchTdxTcbLevel(tcbInfoV4().tcbLevels, input.pck, input.teeTcbSvn), undefined);
  assert.throws(() => evaluateTdxTcb(input, tcbInfoV4(), qe2023()), { code: 'ERR_TCB_MISMATCH' });
});

test('TDX-1: with the first level zeroed (TestVerifyUsingTcbInfoV4) the status is UpToDate', () => {
  const info = tcbInfoV4();
  const first = info.tcbLevels[0]!;
  const zeroed: TdxTcbInfo = {
    ...info,
    tcbLevels: [
      {
        ...first,
        sgxTcbComponents: new Array<number>(16).fill(0),
        pceSvn: 0,
        tdxTcbComponents: new Array<number>(16).fill(0),
      },
      ...info.tcbLevels.slice(1),
    ],
  };
  const ev = evaluateTdxTcb(inputOf('gotdx-v4-spr-e4.quote.bin'), zeroed, qe2023());
  assert.equal(ev.platformStatus, 'UpToDate');
  assert.equal(ev.status, 'UpToDate');
  // FMSPC compared case-insensitively (the TCB info has it lower case here, upper case elsewhere).
  assert.equal(info.fmspc, '50806f000000');
});

test('TDX-2 v5 with its TCB info: UpToDate at TCB date 2024-11-13, module TDX_01 UpToDate', () => {
  const info = parseTdxTcbInfo(
    (JSON.parse(text('gotdx-v5-sample.tcbinfo-90c06f000000.json')) as { tcbInfo: unknown }).tcbInfo,
  );
  const input = inputOf('gotdx-v5-sample.quote.bin');
  const level = matchTdxTcbLevel(info.tcbLevels, input.pck, input.teeTcbSvn);
  assert.ok(level !== undefined);
  assert.equal(level.tcbStatus, 'UpToDate');
  assert.equal(level.tcbDate, '2024-11-13T00:00:00Z');
  // A QE identity as go-tdx-guest's test makes it (first ISVSVN lowered so this QE matches).
  const qe = qe2023();
  const ev = evaluateTdxTcb(input, info, {
    ...qe,
    tcbLevels: [{ ...qe.tcbLevels[0]!, isvSvn: 1 }],
  });
  assert.equal(ev.tdxModuleId, 'TDX_01');
  assert.equal(ev.tdxModuleStatus, 'UpToDate');
  assert.equal(ev.status, 'UpToDate');
});

test('the v5 TCB info signature verifies with the re-issued TCB signing certificate (2025–2032)', () => {
  const doc = text('gotdx-v5-sample.tcbinfo-90c06f000000.json');
  const span = jsonMemberSpans(doc).get('tcbInfo')!;
  const raw = doc.slice(span.start, span.end);
  const sig = (
    JSON.parse(text('gotdx-v5-sample.tcbinfo-90c06f000000.json')) as { signature: string }
  ).signature;
  const chain = (JSON.parse(text('dcapqvl-v4-b0c06f.collateral.json')) as Record<string, string>)[
    'tcb_info_issuer_chain'
  ]!;
  const signer = new X509Certificate(chain);
  assert.equal(signer.validFrom.includes('2025'), true);
  assert.ok(
    nodeVerify(
      'sha256',
      Buffer.from(raw),
      { key: signer.publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(sig, 'hex'),
    ),
  );
});

test('QE identity applied to the QE report: ISVSVN below every level and mismatches throw', () => {
  const input = inputOf('dcapqvl-v4-b0c06f.quote.bin');
  const c = parseTdxCollateralFiles(
    new Map([
      [
        'c.json',
        new Uint8Array(
          readFileSync(fixture('evidence', 'tdx', 'dcapqvl-v4-b0c06f.collateral.json')),
        ),
      ],
    ]),
  );
  const base = evaluateTdxTcb(input, c.tcbInfo.value, c.qeIdentity.value);
  assert.equal(base.status, 'UpToDate');
  const qe = c.qeIdentity.value;
  const high = { ...qe, tcbLevels: qe.tcbLevels.map((l) => ({ ...l, isvSvn: 1000 })) };
  // QVL fails a QE whose ISVSVN no level covers (EnclaveReportVerifier: ISVSVN_NOT_SUPPORTED).
  assert.throws(() => evaluateTdxTcb(input, c.tcbInfo.value, high), {
    code: 'ERR_TCB_MISMATCH',
    message: /below every level of the QE identity/,
  });
  // A QE level marked OutOfDate that the QE does reach makes the whole verdict OutOfDate.
  const stale = { ...qe, tcbLevels: qe.tcbLevels.map((l) => ({ ...l, tcbStatus: 'OutOfDate' })) };
  const ev = evaluateTdxTcb(input, c.tcbInfo.value, stale);
  assert.equal(ev.qeStatus, 'OutOfDate');
  assert.equal(ev.status, 'OutOfDate');
  const wrongSigner = { ...qe, mrSigner: new Uint8Array(32) };
  assert.throws(() => evaluateTdxTcb(input, c.tcbInfo.value, wrongSigner), {
    code: 'ERR_TCB_MISMATCH',
  });
  assert.throws(() => evaluateTdxTcb(input, c.tcbInfo.value, { ...qe, isvProdId: 3 }), {
    code: 'ERR_TCB_MISMATCH',
  });
  // The mask hides attribute bit 2 of byte 0 (FB): setting it in the identity changes nothing.
  const masked = {
    ...qe,
    attributes: Uint8Array.from([...qe.attributes].map((b, i) => (i === 0 ? b | 0x04 : b))),
  };
  assert.equal(evaluateTdxTcb(input, c.tcbInfo.value, masked).status, 'UpToDate');
  // A wrong TDX module signer is a mismatch.
  const info = c.tcbInfo.value;
  const badModule = {
    ...info,
    tdxModuleIdentities: info.tdxModuleIdentities.map((m) => ({
      ...m,
      mrSigner: new Uint8Array(48).fill(1),
    })),
  };
  assert.throws(() => evaluateTdxTcb(input, badModule, qe), { code: 'ERR_TCB_MISMATCH' });
  // Every platform level forced to OutOfDate (dcap-qvl's override test) gives OutOfDate.
  const old = { ...info, tcbLevels: info.tcbLevels.map((l) => ({ ...l, tcbStatus: 'OutOfDate' })) };
  assert.equal(evaluateTdxTcb(input, old, qe).status, 'OutOfDate');
  // Every level Revoked: the matched TDX level is too (tdx_tcb_qvl.test.ts has the mixed cases).
  const revoked = {
    ...info,
    tcbLevels: info.tcbLevels.map((l) => ({ ...l, tcbStatus: 'Revoked' })),
  };
  assert.equal(evaluateTdxTcb(input, revoked, qe).status, 'Revoked');
  // Advisory IDs of the matched level are reported.
  const adv = {
    ...info,
    tcbLevels: info.tcbLevels.map((l) => ({ ...l, advisoryIds: ['INTEL-SA-00001'] })),
  };
  assert.deepEqual(evaluateTdxTcb(input, adv, qe).advisoryIds, ['INTEL-SA-00001']);
});

test('TCB info with the wrong number of components is rejected', () => {
  const j = JSON.parse(text('gotdx-v5-sample.tcbinfo-90c06f000000.json')) as {
    tcbInfo: { tcbLevels: { tcb: { sgxtcbcomponents: unknown[]; tdxtcbcomponents: unknown[] } }[] };
  };
  j.tcbInfo.tcbLevels[0]!.tcb.sgxtcbcomponents = j.tcbInfo.tcbLevels[0]!.tcb.sgxtcbcomponents.slice(
    0,
    8,
  );
  assert.throws(() => parseTdxTcbInfo(j.tcbInfo), { code: 'ERR_BAD_JSON' });
});

test('status convergence follows QVL', () => {
  const S = TCB_STATUS;
  const table: [string, string, string][] = [
    [S.UP_TO_DATE, S.UP_TO_DATE, S.UP_TO_DATE],
    [S.UP_TO_DATE, S.OUT_OF_DATE, S.OUT_OF_DATE],
    [S.SW_HARDENING_NEEDED, S.OUT_OF_DATE, S.OUT_OF_DATE],
    [S.CONFIGURATION_NEEDED, S.OUT_OF_DATE, S.OUT_OF_DATE_CONFIGURATION_NEEDED],
    [S.CONFIGURATION_AND_SW_HARDENING_NEEDED, S.OUT_OF_DATE, S.OUT_OF_DATE_CONFIGURATION_NEEDED],
    [S.SW_HARDENING_NEEDED, S.UP_TO_DATE, S.SW_HARDENING_NEEDED],
    [S.UP_TO_DATE, S.REVOKED, S.REVOKED],
    [S.REVOKED, S.UP_TO_DATE, S.REVOKED],
    [S.OUT_OF_DATE, S.OUT_OF_DATE, S.OUT_OF_DATE],
  ];
  for (const [platform, other, want] of table) {
    assert.equal(convergeTcbStatus(platform, other), want, `${platform} + ${other}`);
  }
});
