// The `registers.computed` goldens of the TCG captures (test/fixtures/eventlogs/tcg/expected.json)
// were computed by a Python hashlib replay; that replay is scripts/tcg_replay.py, written from the
// PC Client PFP specification and independent of mrstack. This test runs it (python3 is on CI)
// and checks that it reproduces every computed value, so the goldens' origin is in the repo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, fixture } from '../_support/paths.js';
import { expectations } from '../unit/eventlog/support.js';

test('scripts/tcg_replay.py reproduces all 143 computed TCG register values', () => {
  const exp = expectations('tcg');
  const files = Object.keys(exp).filter((f) => exp[f]!.registers?.computed !== undefined);
  const r = spawnSync(
    'python3',
    [
      join(REPO_ROOT, 'scripts', 'tcg_replay.py'),
      ...files.map((f) => fixture('eventlogs', 'tcg', f)),
    ],
    { encoding: 'utf8', maxBuffer: 16 << 20 },
  );
  assert.equal(r.error, undefined, 'python3 must be installed (it is on CI)');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, Record<string, Record<string, string>>>;
  let compared = 0;
  for (const f of files) {
    const got = out[fixture('eventlogs', 'tcg', f)];
    for (const [reg, banks] of Object.entries(exp[f]!.registers!.computed!)) {
      for (const [alg, hex] of Object.entries(banks)) {
        assert.equal(got?.[reg]?.[alg], hex, `${f} ${reg} ${alg}`);
        compared++;
      }
    }
  }
  assert.equal(compared, 143);
});
