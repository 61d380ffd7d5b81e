// TDX TCB level matching built from Intel's QVL rule (SGX-TDX-DCAP-QuoteVerificationLibrary at
// 7e5b2a1 = DCAP/1.21, the submodule pinned by SGXDataCenterAttestationPrimitives in 2025-08):
// Checks/TcbLevelCheck.cpp `matchTcbLevels` / `isTdxTcbHigherOrEqual`, Json/TcbLevel.cpp
// `TcbLevel::operator>`, QuoteVerifier.cpp 4.1.2.4.11 and Checks/TdxModuleCheck.cpp
// `findTdxModuleIdentity` / `checkTdxModuleTcbStatus`. Each TCB info and TEE_TCB_SVN below is
// crafted so that the rule tested and its tempting alternative give different answers; the
// alternative is named in each test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../../_support/paths.js';
import { parseTdxQuote } from '../../../src/formats/tdx/quote.js';
import { parseCertificate } from '../../../src/verifier/verify/x509/certificate.js';
import { pckExtensionOf } from '../../../src/verifier/verify/tdx_verifier.js';
import { evaluateTdxTcb, matchTdxTcbLevel } from '../../../src/verifier/verify/tdx_tcb.js';
import {
  parseTdxCollateralFiles,
  parseTdxTcbInfo,
  type TdxTcbInfo,
} from '../../../src/verifier/collateral/tdx_collateral.js';

// A real quote and its collateral supply the parts these tests do not vary (PCK FMSPC, the QE
// report and a QE identity that accepts it as UpToDate); SVNs and TCB levels are set per test.
const base = (() => {
  const q = parseTdxQuote(
    new Uint8Array(readFileSync(fixture('evidence', 'tdx', 'dcapqvl-v4-b0c06f.quote.bin'))),
  );
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
  return {
    pck: pckExtensionOf(parseCertificate(q.certificationData.pckChain[0]!)),
    qeReport: q.certificationData.qeReport,
    qe: c.qeIdentity.value,
    fmspc: c.tcbInfo.value.fmspc,
  };
})();

const ZERO48 = '00'.repeat(48);
const svn16 = (head: readonly number[], fill = 0): number[] => [
  ...head,
  ...new Array<number>(16 - head.length).fill(fill),
];
const hex16 = (head: readonly number[]): Uint8Array => Uint8Array.from(svn16(head));

interface LevelSpec {
  readonly sgx: readonly number[];
  readonly pce: number;
  readonly tdx: readonly number[];
  readonly status: string;
  readonly date: string;
}

interface ModuleSpec {
  readonly id: string;
  readonly levels: readonly { readonly isvsvn: number; readonly status: string }[];
}

const MODULE_01: ModuleSpec = { id: 'TDX_01', levels: [{ isvsvn: 0, status: 'UpToDate' }] };

/** A TDX TCB info JSON object (Intel PCS v4 layout), parsed by our collateral parser. */
function tcbInfo(
  levels: readonly LevelSpec[],
  modules: readonly ModuleSpec[] | null = [MODULE_01], // null: no tdxModuleIdentities member
): TdxTcbInfo {
  const comps = (svns: readonly number[]): { svn: number }[] => svns.map((svn) => ({ svn }));
  const json: Record<string, unknown> = {
    id: 'TDX',
    version: 3,
    issueDate: '2026-01-01T00:00:00Z',
    nextUpdate: '2026-02-01T00:00:00Z',
    fmspc: base.fmspc,
    pceId: '0000',
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    tdxModule: {
      mrsigner: ZERO48,
      attributes: '0000000000000000',
      attributesMask: 'FFFFFFFFFFFFFFFF',
    },
    tcbLevels: levels.map((l) => ({
      tcb: { sgxtcbcomponents: comps(l.sgx), pcesvn: l.pce, tdxtcbcomponents: comps(l.tdx) },
      tcbDate: l.date,
      tcbStatus: l.status,
    })),
  };
  if (modules !== null) {
    json['tdxModuleIdentities'] = modules.map((m) => ({
      id: m.id,
      mrsigner: ZERO48,
      attributes: '0000000000000000',
      attributesMask: 'FFFFFFFFFFFFFFFF',
      tcbLevels: m.levels.map((l) => ({
        tcb: { isvsvn: l.isvsvn },
        tcbDate: '2024-01-01T00:00:00Z',
        tcbStatus: l.status,
      })),
    }));
  }
  return parseTdxTcbInfo(json);
}

/** Evaluation input: PCK SGX components all `sgx`, PCESVN 11, the given TEE_TCB_SVN. */
function input(teeTcbSvn: readonly number[], sgx = 2): Parameters<typeof evaluateTdxTcb>[0] {
  return {
    pck: { ...base.pck, sgxTcbComponents: svn16([], sgx), pceSvn: 11 },
    teeTcbSvn: hex16(teeTcbSvn),
    mrSignerSeam: new Uint8Array(48),
    seamAttributes: new Uint8Array(8),
    qeReport: base.qeReport,
  };
}

const evaluate = (
  info: TdxTcbInfo,
  tee: readonly number[],
  sgx = 2,
): ReturnType<typeof evaluateTdxTcb> => evaluateTdxTcb(input(tee, sgx), info, base.qe);

// Two levels with the same SGX components and PCESVN, so QVL orders them by TDX components.
// The newer one's bytes 0–1 (the TDX module SVN, minor and major: Intel labels both "TDX Module"
// in real TCB info) are above the quote's, byte 2 (TDX late microcode) is met.
const NEWER: LevelSpec = {
  sgx: svn16([], 2),
  pce: 11,
  tdx: svn16([5, 2, 5]),
  status: 'UpToDate',
  date: '2024-11-13T00:00:00Z',
};
const OLDER: LevelSpec = {
  sgx: svn16([], 2),
  pce: 11,
  tdx: svn16([]),
  status: 'OutOfDate',
  date: '2023-08-09T00:00:00Z',
};

test('module major version > 0: TEE_TCB_SVN bytes 0–1 are not compared (isTdxTcbHigherOrEqual)', () => {
  const info = tcbInfo([NEWER, OLDER]);
  // Minor 3 < 5 and major 1 < 2, but both are the module's: comparing all 16 bytes would fall
  // through to the OutOfDate level.
  const tee = [3, 1, 5];
  const level = matchTdxTcbLevel(info.tcbLevels, input(tee).pck, hex16(tee));
  assert.equal(level?.tcbDate, '2024-11-13T00:00:00Z');
  const ev = evaluate(info, tee);
  assert.equal(ev.platformStatus, 'UpToDate');
  assert.equal(ev.tdxModuleId, 'TDX_01');
  assert.equal(ev.status, 'UpToDate');
  // Byte 2 on is still compared: one below the level's byte 2 drops to the older level.
  assert.equal(evaluate(info, [3, 1, 4]).platformStatus, 'OutOfDate');
  assert.equal(
    evaluate(info, [3, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).tcbDate,
    NEWER.date,
  );
});

test('module major version 0: all 16 bytes are compared', () => {
  const info = tcbInfo([NEWER, OLDER]);
  // Minor 7 ≥ 5 but byte 1 (0) < 2: skipping bytes 0–1 regardless of the version would say UpToDate.
  const ev = evaluate(info, [7, 0, 5]);
  assert.equal(ev.platformStatus, 'OutOfDate');
  assert.equal(ev.tcbDate, OLDER.date);
  assert.equal(ev.tdxModuleId, undefined, 'version 0 is judged by tdxModule, not an identity');
  // With byte 1 reached as well, the newer level matches.
  const atLevel: LevelSpec = { ...NEWER, tdx: svn16([5, 0, 5]) };
  assert.equal(evaluate(tcbInfo([atLevel, OLDER]), [7, 0, 5]).platformStatus, 'UpToDate');
  assert.equal(evaluate(tcbInfo([atLevel, OLDER]), [4, 0, 5]).platformStatus, 'OutOfDate');
});

test('the TDX level must also meet the SGX components and PCESVN (matchTcbLevels)', () => {
  // PCK components are all 5. A: SGX met, TDX byte 2 not. B: TDX met, SGX component 16 (9) not.
  // C: both met. Searching TDX components from A on, without the SGX test, would stop at B.
  const A: LevelSpec = {
    sgx: svn16([], 5),
    pce: 11,
    tdx: svn16([0, 0, 9]),
    status: 'UpToDate',
    date: '2025-01-01T00:00:00Z',
  };
  const B: LevelSpec = {
    sgx: [...svn16([], 4).slice(0, 15), 9],
    pce: 11,
    tdx: svn16([]),
    status: 'SWHardeningNeeded',
    date: '2024-01-01T00:00:00Z',
  };
  const C: LevelSpec = {
    sgx: svn16([]),
    pce: 0,
    tdx: svn16([]),
    status: 'OutOfDate',
    date: '2023-01-01T00:00:00Z',
  };
  const info = tcbInfo([A, B, C]);
  const ev = evaluate(info, [0, 1, 5], 5);
  assert.equal(ev.platformStatus, 'OutOfDate');
  assert.equal(ev.tcbDate, C.date);
  // PCESVN counts the same way: a level above the PCK's PCESVN (11) is skipped.
  const highPce: LevelSpec = { ...C, pce: 12, status: 'UpToDate', date: '2026-01-01T00:00:00Z' };
  assert.equal(evaluate(tcbInfo([highPce, C]), [0, 1, 5], 5).tcbDate, C.date);
});

test("levels are walked in QVL's order (TcbLevel::operator>), not the JSON's", () => {
  const low: LevelSpec = {
    sgx: svn16([]),
    pce: 0,
    tdx: svn16([]),
    status: 'OutOfDate',
    date: '2023-01-01T00:00:00Z',
  };
  const high: LevelSpec = {
    sgx: svn16([], 2),
    pce: 11,
    tdx: svn16([]),
    status: 'UpToDate',
    date: '2025-01-01T00:00:00Z',
  };
  // Listed lowest first: first-match in JSON order would say OutOfDate.
  assert.equal(evaluate(tcbInfo([low, high]), [0, 1, 0]).platformStatus, 'UpToDate');
  // Equal SGX components: PCESVN decides before the TDX components do.
  const pce10: LevelSpec = {
    ...high,
    pce: 10,
    tdx: svn16([0, 0, 9]),
    status: 'SWHardeningNeeded',
    date: '2024-06-01T00:00:00Z',
  };
  const pce11: LevelSpec = { ...high, pce: 11, tdx: svn16([0, 0, 0]) };
  // pce11 sorts first (PCESVN 11 > 10) although pce10's TDX components are higher; ordering by
  // TDX components first, or keeping the JSON order, would pick pce10 (SWHardeningNeeded).
  assert.equal(evaluate(tcbInfo([pce10, pce11]), [0, 1, 9]).platformStatus, 'UpToDate');
  // Two levels equal in every component: QVL rejects the TCB info.
  assert.throws(() => evaluate(tcbInfo([high, { ...high, status: 'OutOfDate' }]), [0, 1, 0]), {
    code: 'ERR_TCB_MISMATCH',
  });
});

test('a Revoked SGX level does not end the search; a Revoked TDX level is Revoked', () => {
  const revoked: LevelSpec = {
    sgx: svn16([], 5),
    pce: 11,
    tdx: svn16([0, 0, 9]),
    status: 'Revoked',
    date: '2025-01-01T00:00:00Z',
  };
  const later: LevelSpec = {
    sgx: svn16([]),
    pce: 0,
    tdx: svn16([]),
    status: 'SWHardeningNeeded',
    date: '2023-01-01T00:00:00Z',
  };
  const info = tcbInfo([revoked, later]);
  // The revoked level is the first SGX match but its TDX byte 2 (9) is not met.
  assert.equal(evaluate(info, [0, 1, 5], 5).status, 'SWHardeningNeeded');
  // When the revoked level is also the TDX match, it decides.
  assert.equal(evaluate(info, [0, 1, 9], 5).status, 'Revoked');
});

test('module version > 0 needs its TDX_xx identity: no fallback to tdxModule', () => {
  const info = (modules: readonly ModuleSpec[] | null): TdxTcbInfo =>
    tcbInfo([NEWER, OLDER], modules);
  for (const modules of [[], null, [{ ...MODULE_01, id: 'TDX_03' }]]) {
    assert.throws(() => evaluate(info(modules), [3, 1, 5]), { code: 'ERR_TCB_MISMATCH' });
  }
  // The id is "TDX_" + the major version as two upper-case hex digits, compared upper-cased.
  const ev = evaluate(info([{ ...MODULE_01, id: 'tdx_0a' }]), [3, 10, 5]);
  assert.equal(ev.tdxModuleId, 'TDX_0A');
  assert.equal(ev.status, 'UpToDate');
});

test('module identity levels: the highest isvsvn ≤ TEE_TCB_SVN[0] decides, whatever the JSON order', () => {
  const mod: ModuleSpec = {
    id: 'TDX_01',
    levels: [
      { isvsvn: 2, status: 'OutOfDate' },
      { isvsvn: 4, status: 'UpToDate' },
    ],
  };
  const info = tcbInfo([NEWER, OLDER], [mod]);
  const ev = evaluate(info, [5, 1, 5]);
  assert.equal(ev.tdxModuleStatus, 'UpToDate');
  assert.equal(ev.status, 'UpToDate');
  const old = evaluate(info, [3, 1, 5]);
  assert.equal(old.tdxModuleStatus, 'OutOfDate');
  assert.equal(old.status, 'OutOfDate', 'an OutOfDate module turns UpToDate into OutOfDate');
  assert.throws(() => evaluate(info, [1, 1, 5]), { code: 'ERR_TCB_MISMATCH' });
});
