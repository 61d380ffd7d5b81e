// The ima layer of an ima bundle (MR_IMA_SPEC "Verification"): the IMA list against the mr_ima
// tokens of the physical log. Inputs are built here: entries with node:crypto template hashes,
// tokens committing (label ‖ salt ‖ u64be count ‖ banks) to the fold of a prefix. What is
// asserted is the spec's rule — which entries are verified, which token fails and the entry
// range it names — not values mrstack printed. Commitment and fold values themselves are checked
// against openssl and evmctl elsewhere (mr_ima_token.test.ts, ima_fold.test.ts, the e2e test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ParseError } from '../../../src/errors.js';
import type { HashAlg } from '../../../src/crypto/hash_alg.js';
import type { BundleImaLog } from '../../../src/formats/bundle/bundle.js';
import { encodeImaBinary } from '../../../src/formats/ima/ima_binary.js';
import { ImaBankFold } from '../../../src/formats/ima/ima_fold.js';
import type { ImaEntry } from '../../../src/formats/ima/ima_template.js';
import { imaNgEntry } from '../../_support/ima_entries.js';
import { mrImaBankAlgs, mrImaCommitment } from '../../../src/formats/mrlog/mr_ima_commitment.js';
import type { VmrObservation } from '../../../src/eventlog/mrlog_replay.js';
import { replayImaLayer } from '../../../src/verifier/replay/ima_layer.js';

const ALG: HashAlg = 'sha384';
const BANKS = mrImaBankAlgs(ALG);

const ENTRIES = Array.from({ length: 10 }, (_, i) => imaNgEntry(i, `/usr/bin/tool-${i}`));
const SALT = new Uint8Array(randomBytes(32));

function foldAt(entries: readonly ImaEntry[], count: number): Uint8Array[] {
  const f = new ImaBankFold(BANKS);
  for (const e of entries.slice(0, count)) f.push(e);
  return f.values();
}

/** Tokens as the agent writes them: physical records 3, 5, 7 … with counts, committing to the list. */
function tokens(counts: readonly number[], entries = ENTRIES): VmrObservation[] {
  return counts.map((count, i) => ({
    alg: ALG,
    record: 3 + 2 * i,
    count,
    value: mrImaCommitment({ alg: ALG, salt: SALT, count, banks: foldAt(entries, count) }),
  }));
}

function imaLog(entries: readonly ImaEntry[], count = entries.length): BundleImaLog {
  const banks = foldAt(ENTRIES, count);
  return {
    vmr: 'mr_ima',
    alg: ALG,
    salt: SALT,
    count,
    banks: new Map(BANKS.map((b, i) => [b, banks[i]!])),
    format: 'ima-binary',
    data: encodeImaBinary(entries),
  };
}

test('every token matches: entries up to the last token before the position are verified', () => {
  const r = replayImaLayer(imaLog(ENTRIES), tokens([0, 4, 10]), 100);
  assert.deepEqual(r.issues, []);
  assert.equal(r.entries, 10);
  assert.equal(r.verified, 10);
  assert.equal(r.pending, 0);
  assert.deepEqual(
    r.tokens.map((t) => t.state),
    ['verified', 'verified', 'verified'],
  );
  assert.deepEqual(Object.keys(r.banks), ['sha1', 'sha256', 'sha384']);
  assert.equal(r.events[9]!.path, '/usr/bin/tool-9');
  assert.equal(r.events[9]!.digest, createHash('sha256').update('/usr/bin/tool-9').digest('hex'));
  assert.equal(r.events[9]!.state, 'verified');
  // the report was taken between the tokens at records 5 and 7: entries 4.. are pending
  const mid = replayImaLayer(imaLog(ENTRIES), tokens([0, 4, 10]), 6);
  assert.deepEqual(mid.issues, []);
  assert.equal(mid.verified, 4);
  assert.equal(mid.pending, 6);
  assert.deepEqual(
    mid.tokens.map((t) => t.state),
    ['verified', 'verified', 'pending'],
  );
  assert.equal(mid.events[3]!.state, 'verified');
  assert.equal(mid.events[4]!.state, 'pending');
  // no position (the physical layer failed): nothing verified
  assert.equal(replayImaLayer(imaLog(ENTRIES), tokens([4, 10]), undefined).verified, 0);
});

test('an entry deleted from the list: the failing token names the range holding it', () => {
  const cut = [...ENTRIES.slice(0, 6), ...ENTRIES.slice(7)];
  const r = replayImaLayer(imaLog(cut, 10), tokens([2, 5, 8, 10]), 100);
  assert.equal(r.verified, 0);
  const miss = r.issues.find((i) => i['first_entry'] !== undefined);
  assert.ok(miss, JSON.stringify(r.issues));
  assert.equal(miss.code, 'ERR_REPLAY_MISMATCH');
  assert.equal(miss['record'], 7); // the token with count 8
  assert.ok((miss['first_entry'] as number) <= 6 && 6 <= (miss['last_entry'] as number));
  assert.deepEqual([miss['first_entry'], miss['last_entry']], [5, 7]);
  // and the list's length differs from count
  assert.ok(r.issues.some((i) => i['entries'] === 9 && i['count'] === 10));
  // deleted in the last range: the list ends before the token's count
  const tail = replayImaLayer(imaLog(ENTRIES.slice(0, 9), 10), tokens([5, 10]), 100);
  const t = tail.issues.find((i) => i['first_entry'] !== undefined)!;
  assert.deepEqual([t['first_entry'], t['last_entry'], t['record']], [5, 9, 5]);
});

test('an altered entry (template hash recomputed) fails at the token covering it', () => {
  const altered = ENTRIES.map((e, i) => (i === 2 ? imaNgEntry(2, '/usr/bin/tool-2', 'evil') : e));
  const r = replayImaLayer(imaLog(altered), tokens([2, 4, 10]), 100);
  const miss = r.issues.find((i) => i['first_entry'] !== undefined)!;
  assert.deepEqual([miss['record'], miss['first_entry'], miss['last_entry']], [5, 2, 3]);
  assert.equal(r.tokens[0]!.state, 'verified');
  assert.equal(r.tokens[1]!.state, 'mismatch');
  assert.equal(r.verified, 0);
  assert.ok(r.events.every((e) => e.state === 'pending'));
});

test('refused entries: a template-hash column that is not H(data); PCR 11', () => {
  const col = ENTRIES.map((e, i) =>
    i === 3 ? { ...e, templateHash: new Uint8Array(20).fill(0x5a) } : e,
  );
  const r = replayImaLayer(imaLog(col), tokens([10]), 100);
  assert.equal(r.issues[0]!.code, 'ERR_EVENT_DIGEST_MISMATCH');
  assert.equal(r.issues[0]!['entry'], 3);
  const pcr = ENTRIES.map((e, i) => (i === 5 ? { ...e, pcr: 11 } : e));
  const p = replayImaLayer(imaLog(pcr), tokens([10]), 100);
  assert.equal(p.issues[0]!.code, 'ERR_BAD_VALUE');
  assert.equal(p.issues[0]!['entry'], 5);
  assert.equal(p.verified, 0);
});

test('banks: every bank is checked, not SHA-1 alone', () => {
  for (const bank of BANKS) {
    const log = imaLog(ENTRIES);
    const banks = new Map(log.banks);
    const v = new Uint8Array(banks.get(bank)!);
    v[0]! ^= 1;
    banks.set(bank, v);
    const r = replayImaLayer({ ...log, banks }, tokens([10]), 100);
    assert.deepEqual(
      r.issues.map((i) => [i.code, i['bank']]),
      [['ERR_BINDING_MISMATCH', bank]],
    );
    assert.equal(r.verified, 0);
  }
});

test('tokens: the last count must be ima_log.count; none at all verifies nothing', () => {
  const short = replayImaLayer(imaLog(ENTRIES), tokens([4]), 100);
  assert.ok(short.issues.some((i) => i.code === 'ERR_BINDING_MISMATCH'));
  assert.equal(short.verified, 0);
  const none = replayImaLayer(imaLog(ENTRIES), [], 100);
  assert.equal(none.verified, 0);
  assert.ok(none.issues.some((i) => i.code === 'ERR_BINDING_MISMATCH'));
  // a wrong salt: no token matches
  const salted = replayImaLayer(
    { ...imaLog(ENTRIES), salt: new Uint8Array(32) },
    tokens([10]),
    100,
  );
  assert.equal(salted.issues[0]!.code, 'ERR_REPLAY_MISMATCH');
  // a list that does not parse is bad input
  assert.throws(
    () => replayImaLayer({ ...imaLog(ENTRIES), data: new Uint8Array([1, 2, 3]) }, [], 100),
    ParseError,
  );
});
