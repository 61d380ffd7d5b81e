// The finding-id table: every row has a status the AR4SI tiers know, ids the issue names exist
// with the statuses the issue gives them, and the verdict rule never lets an unproven finding
// read as affirming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FINDING_IDS,
  FINDING_STATUSES,
  appraisalStatus,
  findingIdInfo,
  replayFindingId,
  type FindingIdKey,
} from '../../../../src/verifier/appraise/finding.js';

test('the ids the contract names exist with their default status', () => {
  const want: Record<string, string> = {
    'tdx.td.debug': 'contraindicated',
    'tdx.tcb.out-of-date': 'warning',
    'tdx.tcb.revoked': 'contraindicated',
    'tdx.mrtd.mismatch': 'contraindicated',
    'ima.file.unknown': 'contraindicated',
    'ima.file.digest-mismatch': 'contraindicated',
    'tenant.event.not-allowed': 'contraindicated',
    'nonce.mismatch': 'contraindicated',
    'claim.unproven': 'none',
    'evidence.unverified': 'none',
  };
  for (const [id, status] of Object.entries(want))
    assert.equal(FINDING_IDS[id as FindingIdKey].status, status, id);
  for (const [id, row] of Object.entries(FINDING_IDS)) {
    assert.ok(FINDING_STATUSES.includes(row.status), id);
    assert.match(id, /^[a-z0-9-]+(\.[a-z0-9<>-]+)+$/, id);
  }
});

test('replay ids are per register and share their table row', () => {
  assert.equal(replayFindingId('rtmr1', 'mismatch'), 'replay.rtmr1.mismatch');
  assert.equal(findingIdInfo('replay.rtmr1.mismatch').status, 'contraindicated');
  assert.equal(findingIdInfo('replay.pcr10.match').status, 'affirming');
  assert.equal(findingIdInfo('tdx.td.debug').status, 'contraindicated');
});

test('an unproven finding never leaves a set affirming', () => {
  assert.equal(appraisalStatus([]), 'none');
  assert.equal(appraisalStatus(['affirming', 'affirming']), 'affirming');
  assert.equal(appraisalStatus(['affirming', 'none']), 'none');
  assert.equal(appraisalStatus(['none', 'warning', 'affirming']), 'warning');
  assert.equal(appraisalStatus(['warning', 'contraindicated', 'none']), 'contraindicated');
});
