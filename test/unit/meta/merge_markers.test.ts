// A merge resolved in a hurry once landed `<<<<<<<`/`>>>>>>>` lines in CHANGELOG.md; neither
// tsc nor prettier looks at every file. Every tracked text file is checked here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../_support/paths.js';

/** Files git tracks (a fresh clone has exactly these). */
function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && !f.startsWith('test/fixtures/'));
}

test('no tracked file carries merge conflict markers', () => {
  const files = trackedFiles();
  assert.ok(files.length > 100, 'git ls-files lists the repository');
  const marker = /^(<{7}|>{7}) /m;
  const hits = files.filter((f) => {
    const text = readFileSync(join(REPO_ROOT, f), 'latin1');
    return marker.test(text);
  });
  assert.deepEqual(hits, []);
});
