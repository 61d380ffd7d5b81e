// Incremental verification of the ima layer (docs/verifier.md "Incremental IMA"): a list sent
// from a trusted IMA checkpoint's offset is folded from the checkpoint's running value; a whole
// list sent again must fold to it at its offset; anything else does not continue from it. The
// checkpoint values and the expected banks are an independent PCR-10 fold with node:crypto
// (value ← H(value ‖ H(template data)) per bank, in test/_support/ima_entries.ts), never
// mrstack's fold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { HashAlg } from '../../../src/crypto/hash_alg.js';
import type { BundleImaLog } from '../../../src/formats/bundle/bundle.js';
import { encodeImaBinary } from '../../../src/formats/ima/ima_binary.js';
import type { ImaEntry } from '../../../src/formats/ima/ima_template.js';
import { imaNgEntry, pcr10Fold } from '../../_support/ima_entries.js';
import { mrImaCommitment } from '../../../src/formats/mrlog/mr_ima_commitment.js';
import type { VmrObservation } from '../../../src/eventlog/mrlog_replay.js';
import { replayImaLayer } from '../../../src/verifier/replay/ima_layer.js';
import type { ImaCheckpoint } from '../../../src/verifier/replay/ima_checkpoint.js';

const ALG: HashAlg = 'sha384';
const BANKS: HashAlg[] = ['sha1', 'sha256', 'sha384'];

const ENTRIES = Array.from({ length: 10 }, (_, i) => imaNgEntry(i, `/usr/bin/tool-${i}`));
const SALT = new Uint8Array(randomBytes(32));

/** PCR 10 after the first `count` entries, per bank: node:crypto only. */
function nodeFold(entries: readonly ImaEntry[], count: number): Uint8Array[] {
  return BANKS.map((b) => new Uint8Array(pcr10Fold(entries.slice(0, count), b)));
}

function tokens(counts: readonly number[], entries = ENTRIES): VmrObservation[] {
  return counts.map((count, i) => ({
    alg: ALG,
    record: 3 + 2 * i,
    count,
    value: mrImaCommitment({ alg: ALG, salt: SALT, count, banks: nodeFold(entries, count) }),
  }));
}

/** The bundle's ima_log: entries `since`..count-1 of `entries`, banks at count. */
function imaLog(entries: readonly ImaEntry[], since = 0, count = entries.length): BundleImaLog {
  const banks = nodeFold(ENTRIES, count);
  return {
    vmr: 'mr_ima',
    alg: ALG,
    salt: SALT,
    count,
    banks: new Map(BANKS.map((b, i) => [b, banks[i]!])),
    format: 'ima-binary',
    data: encodeImaBinary(entries.slice(since)),
    ...(since === 0 ? {} : { since }),
  };
}

function checkpoint(offset: number, over = ENTRIES, banks = BANKS): ImaCheckpoint {
  const v = nodeFold(over, offset);
  return {
    offset,
    banks: new Map(banks.map((b) => [b, v[BANKS.indexOf(b)]!])),
    keys: [],
    salt: SALT,
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('a list sent from the checkpoint is folded from its running value', () => {
  const r = replayImaLayer(imaLog(ENTRIES, 4), tokens([0, 4, 10]), 100, undefined, checkpoint(4));
  assert.deepEqual(r.issues, []);
  assert.equal(r.checkpoint, 'continued');
  assert.equal(r.since, 4);
  assert.equal(r.entries, 10);
  assert.equal(r.verified, 10);
  const want = nodeFold(ENTRIES, 10);
  assert.deepEqual(
    BANKS.map((b) => r.banks[b]),
    want.map(hex),
  );
  // only the entries sent are listed, with their place in the whole list
  const events = [...r.list.views(0, r.list.verified)];
  assert.deepEqual(
    events.map((e) => [e.index, e.path]),
    [4, 5, 6, 7, 8, 9].map((i) => [i, `/usr/bin/tool-${i}`]),
  );
  // the report taken between the tokens for 4 and 10: nothing new verified, the checkpoint
  // holds (never a step back to 0)
  const mid = replayImaLayer(imaLog(ENTRIES, 4), tokens([0, 4, 10]), 6, undefined, checkpoint(4));
  assert.deepEqual(mid.issues, []);
  assert.equal(mid.verified, 4);
  assert.deepEqual(
    BANKS.map((b) => mid.banks[b]),
    nodeFold(ENTRIES, 4).map(hex),
  );
  // only tokens past the checkpoint in the physical window (it was served from a checkpoint)
  const only = replayImaLayer(
    imaLog(ENTRIES, 4),
    tokens([0, 4, 10]).slice(2),
    100,
    undefined,
    checkpoint(4),
  );
  assert.deepEqual(only.issues, []);
  assert.equal(only.verified, 10);
});

test('continued with no token in the window: the list is the checkpoint, nothing new', () => {
  const r = replayImaLayer(imaLog(ENTRIES.slice(0, 4), 4, 4), [], 100, undefined, checkpoint(4));
  assert.deepEqual(r.issues, []);
  assert.equal(r.verified, 4);
  assert.equal(r.pending, 0);
  // a count past the checkpoint needs a token for it
  const more = replayImaLayer(imaLog(ENTRIES.slice(0, 6), 4, 6), [], 100, undefined, checkpoint(4));
  assert.equal(more.issues[0]!.code, 'ERR_BINDING_MISMATCH');
  assert.equal(more.verified, 0);
});

test('a list sent from an entry the verifier trusts no value at does not continue', () => {
  const none = replayImaLayer(imaLog(ENTRIES, 4), tokens([4, 10]), 100);
  assert.equal(none.issues[0]!.code, 'ERR_IMA_DISCONTINUOUS');
  assert.equal(none.verified, 0);
  assert.equal(none.checkpoint, 'refused');
  const gap = replayImaLayer(imaLog(ENTRIES, 6), tokens([4, 10]), 100, undefined, checkpoint(4));
  assert.equal(gap.issues[0]!.code, 'ERR_IMA_DISCONTINUOUS');
  assert.match(gap.issues[0]!.message, /entries 4\.\.5 are missing/);
  assert.equal(gap.verified, 0);
  // another boot (another salt): its checkpoint is no start
  const other = { ...checkpoint(4), salt: new Uint8Array(32) };
  const boot = replayImaLayer(imaLog(ENTRIES, 4), tokens([4, 10]), 100, undefined, other);
  assert.equal(boot.issues[0]!.code, 'ERR_IMA_DISCONTINUOUS');
  // a checkpoint kept in SHA-1 alone is no start for the sha256 and sha384 banks
  const sha1 = replayImaLayer(
    imaLog(ENTRIES, 4),
    tokens([4, 10]),
    100,
    undefined,
    checkpoint(4, ENTRIES, ['sha1']),
  );
  assert.equal(sha1.issues[0]!.code, 'ERR_IMA_DISCONTINUOUS');
  assert.deepEqual(sha1.issues[0]!['banks'], ['sha256', 'sha384']);
});

test('a running value the new entries do not continue: the first token past it fails', () => {
  // the checkpoint was taken over another history (e.g. before a reboot with the same salt)
  const elsewhere = Array.from({ length: 4 }, (_, i) => imaNgEntry(i, `/opt/other-${i}`));
  const r = replayImaLayer(
    imaLog(ENTRIES, 4),
    tokens([10]),
    100,
    undefined,
    checkpoint(4, elsewhere),
  );
  assert.equal(r.issues[0]!.code, 'ERR_IMA_DISCONTINUOUS');
  assert.deepEqual([r.issues[0]!['first_entry'], r.issues[0]!['last_entry']], [4, 9]);
  assert.equal(r.verified, 0);
  // a changed entry after the checkpoint is caught the same way
  const altered = ENTRIES.map((e, i) => (i === 7 ? imaNgEntry(7, '/usr/bin/tool-7', 'evil') : e));
  const t = replayImaLayer(imaLog(altered, 4), tokens([10]), 100, undefined, checkpoint(4));
  assert.equal(t.issues[0]!.code, 'ERR_IMA_DISCONTINUOUS');
  assert.equal(t.verified, 0);
});

test('a whole list sent again must fold to the checkpoint: a changed or removed entry below it', () => {
  const same = replayImaLayer(imaLog(ENTRIES), tokens([0, 4, 10]), 100, undefined, checkpoint(4));
  assert.deepEqual(same.issues, []);
  assert.equal(same.checkpoint, 'compared');
  assert.equal(same.verified, 10);
  // entry 2 changed (its template hash recomputed: the list itself is consistent)
  const altered = ENTRIES.map((e, i) => (i === 2 ? imaNgEntry(2, '/usr/bin/tool-2', 'evil') : e));
  const r = replayImaLayer(imaLog(altered), tokens([0, 4, 10]), 100, undefined, checkpoint(4));
  assert.equal(r.issues[0]!.code, 'ERR_IMA_CHECKPOINT_MISMATCH');
  assert.equal(r.issues[0]!['checkpoint'], 4);
  assert.equal(r.verified, 0);
  // entry 1 removed
  const cut = [...ENTRIES.slice(0, 1), ...ENTRIES.slice(2)];
  const c = replayImaLayer(imaLog(cut, 0, 10), tokens([0, 4, 10]), 100, undefined, checkpoint(4));
  // (the list's length is also short of its count: that issue comes first)
  assert.ok(
    c.issues.some((i) => i.code === 'ERR_IMA_CHECKPOINT_MISMATCH'),
    JSON.stringify(c.issues),
  );
  assert.equal(c.verified, 0);
  // a whole list of another boot is not compared with this one's checkpoint
  const other = { ...checkpoint(4, cut), salt: new Uint8Array(32) };
  const boot = replayImaLayer(imaLog(ENTRIES), tokens([0, 4, 10]), 100, undefined, other);
  assert.deepEqual(boot.issues, []);
  assert.equal(boot.checkpoint, 'other-boot');
});
