// The ima layer's fold pass on worker threads (ima_layer_fold.ts): a list large enough to be
// folded side by side gives, per bank, the values of PCR 10's fold computed here entry by entry
// with node:crypto (bank = H(bank ‖ H(template data)), from zeros), at each count asked for; a
// refused entry stops every bank at the same place, whichever thread folds the column's bank.
// The slowest bank's hashes of template data may be worked out by other threads: the chain
// that extends them gives the same values and stops at the same refused entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { HashAlg } from '../../../src/crypto/hash_alg.js';
import { encodeImaBinary } from '../../../src/formats/ima/ima_binary.js';
import type { ImaEntry } from '../../../src/formats/ima/ima_template.js';
import { imaNgEntry } from '../../_support/ima_entries.js';
import {
  foldImaPart,
  foldImaSnapshots,
  foldImaSnapshotsParallel,
  helpImaFold,
  imaFoldHelp,
  openImaFoldHelp,
  prewarmImaFoldWorkers,
} from '../../../src/verifier/replay/ima_layer_fold.js';

const BANKS: readonly HashAlg[] = ['sha1', 'sha256', 'sha384'];
const N = 40_000; // about 5 MB: over the size folded on one thread

/** Entry `index`: a library path spread over 61 folders, its content the path itself. */
function entry(index: number): ImaEntry {
  return imaNgEntry(index, `/usr/lib/x86_64-linux-gnu/lib${index % 61}/file-${index}.so`);
}

const ENTRIES = Array.from({ length: N }, (_, i) => entry(i));

/** PCR 10 per bank after each count in `at`, the plain way. */
function expected(entries: readonly ImaEntry[], at: readonly number[]): Map<number, Buffer[]> {
  const size = { sha1: 20, sha256: 32, sha384: 48 } as Record<string, number>;
  let vals = BANKS.map((b) => Buffer.alloc(size[b]!));
  const out = new Map<number, Buffer[]>();
  if (at.includes(0)) out.set(0, vals);
  entries.forEach((e, i) => {
    vals = BANKS.map((b, k) =>
      createHash(b).update(vals[k]!).update(createHash(b).update(e.templateData).digest()).digest(),
    );
    if (at.includes(i + 1)) out.set(i + 1, vals);
  });
  return out;
}

test('banks folded on worker threads: the values at each count asked for', async () => {
  const data = encodeImaBinary(ENTRIES);
  assert.ok(data.length > 4 << 20);
  const counts = [0, 1, 777, 20_000, N];
  const want = expected(ENTRIES, counts);
  const par = await foldImaSnapshotsParallel(data, BANKS, counts, { threads: 2 });
  const one = foldImaSnapshots(data, BANKS, counts);
  for (const r of [par, one]) {
    assert.equal(r.entries, N);
    assert.equal(r.folded, N);
    assert.equal(r.failure, undefined);
    for (const c of counts)
      assert.deepEqual(
        r.at(c)?.map((v) => Buffer.from(v).toString('hex')),
        want.get(c)!.map((v) => v.toString('hex')),
        `count ${c}`,
      );
    assert.equal(r.at(5), undefined, 'a count not asked for');
  }
});

test('a refused entry stops every bank there: a column that is not H(data), a PCR 11', async () => {
  for (const [k, bad] of [
    [12_345, { ...ENTRIES[12_345]!, templateHash: new Uint8Array(20).fill(7) }],
    [30_001, { ...ENTRIES[30_001]!, pcr: 11 }],
  ] as const) {
    const entries = [...ENTRIES];
    entries[k] = bad;
    const data = encodeImaBinary(entries);
    const counts = [0, 1000, k, k + 1, N];
    const want = expected(ENTRIES.slice(0, k), counts);
    for (const r of [
      await foldImaSnapshotsParallel(data, BANKS, counts, { threads: 2 }),
      foldImaSnapshots(data, BANKS, counts),
    ]) {
      assert.equal(r.entries, N);
      assert.equal(r.folded, k);
      assert.equal(r.failure?.index, k);
      assert.equal(r.failure.column, bad.pcr === 10);
      assert.equal(r.failure.code, bad.pcr === 10 ? 'ERR_EVENT_DIGEST_MISMATCH' : 'ERR_BAD_VALUE');
      assert.deepEqual(
        r.at(k)?.map((v) => Buffer.from(v).toString('hex')),
        want.get(k)!.map((v) => v.toString('hex')),
      );
      assert.equal(r.at(k + 1), undefined);
      assert.equal(r.at(N), undefined);
    }
  }
});

test('workers started ahead of the list (prewarmImaFoldWorkers) fold it the same', async () => {
  const data = encodeImaBinary(ENTRIES);
  assert.equal(prewarmImaFoldWorkers(2, 1000, 2), 0, 'none for a small list');
  assert.equal(prewarmImaFoldWorkers(2, data.length, 1), 0, 'none on one core');
  assert.equal(prewarmImaFoldWorkers(3, data.length, 2), 3);
  const counts = [0, 777, N];
  const want = expected(ENTRIES, counts);
  const r = await foldImaSnapshotsParallel(data, BANKS, counts, { threads: 2 });
  assert.equal(prewarmImaFoldWorkers(0, data.length, 2), 0, 'the fold took them all');
  assert.equal(r.folded, N);
  for (const c of counts)
    assert.deepEqual(
      r.at(c)?.map((v) => Buffer.from(v).toString('hex')),
      want.get(c)!.map((v) => v.toString('hex')),
      `count ${c}`,
    );
  // a refused entry, through started-ahead workers too
  const entries = [...ENTRIES];
  entries[9_999] = { ...ENTRIES[9_999]!, templateHash: new Uint8Array(20).fill(7) };
  prewarmImaFoldWorkers(3, data.length, 2);
  const bad = await foldImaSnapshotsParallel(encodeImaBinary(entries), BANKS, [0, N], {
    threads: 2,
  });
  assert.equal(bad.failure?.index, 9_999);
  assert.equal(bad.failure.column, true);
});

test('hashes of template data worked out by helpers: the chain folds the same, a bad entry fails at its index', () => {
  // entry 39_500 lies in a chunk the helpers hashed: its column made not H(data) (the sha1
  // chain refuses it there), or its data changed (the sha384 chain, which checks no column,
  // folds the changed data: other values from there on); a PCR 11 stops the chain at 30_100
  const changed = (e: ImaEntry): ImaEntry => {
    const templateData = new Uint8Array(e.templateData);
    const at = templateData.length - 2; // a letter of the path
    templateData[at] = templateData[at]! ^ 1;
    return { ...e, templateData };
  };
  for (const [bank, k, bad, stops] of [
    ['sha1', 39_500, { ...ENTRIES[39_500]!, templateHash: new Uint8Array(20).fill(7) }, true],
    ['sha384', 39_500, changed(ENTRIES[39_500]!), false],
    ['sha384', 30_100, { ...ENTRIES[30_100]!, pcr: 11 }, true],
    ['sha256', -1, undefined, false],
  ] as const) {
    const entries = [...ENTRIES];
    if (bad !== undefined) entries[k] = bad;
    const data = encodeImaBinary(entries);
    const end = stops ? k : N;
    const counts = [0, 1000, 25_000, 39_999, end, N];
    const want = expected(entries.slice(0, end), counts);
    const share = imaFoldHelp(bank, data.length);
    const spans = foldImaPart(data, [], counts, true, undefined, { share, role: 'spans' });
    assert.equal(spans.entries, N);
    assert.equal(helpImaFold(data, share), false, 'nothing to hash before the spans are written');
    openImaFoldHelp(share, N);
    // helpers hash the top 20 chunks (1,024 entries each): entries 19,456..39,999
    for (let c = 0; c < 20; c++) assert.ok(helpImaFold(data, share));
    const i = BANKS.indexOf(bank);
    const chain = foldImaPart(data, [bank], counts, false, undefined, { share, role: 'chain' });
    assert.equal(chain.folded, end, bank);
    assert.equal(chain.failure?.index, stops ? k : undefined, bank);
    if (stops) assert.equal(chain.failure!.column, bad.pcr === 10);
    for (const c of counts.filter((x) => x <= end))
      assert.deepEqual(
        Buffer.from(chain.snaps.get(c)![0]!).toString('hex'),
        want.get(c)![i]!.toString('hex'),
        `${bank} at ${c}`,
      );
    if (bad !== undefined && !stops)
      assert.notEqual(
        Buffer.from(chain.snaps.get(N)![0]!).toString('hex'),
        expected(ENTRIES, [N]).get(N)![i]!.toString('hex'),
        'the changed entry is folded',
      );
    // the chain took the helpers' hashes (one changed there changes the fold), and none is
    // left to hash
    assert.equal(helpImaFold(data, share), false);
    if (bad === undefined) {
      share.inner.fill(0, 30_000 * 32, 30_001 * 32);
      const again = foldImaPart(data, [bank], [N], false, undefined, { share, role: 'chain' });
      assert.notDeepEqual(again.snaps.get(N), chain.snaps.get(N));
    }
  }
});
