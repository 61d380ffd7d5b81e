// DESIGN §1's source layout, kept in docs/development.md, against the tree: every folder the
// map names exists (or its line says "(planned)"), and every top-level entry of src/ is named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../_support/paths.js';

interface MapEntry {
  /** `src/…` path as written (folders end with `/`). */
  readonly path: string;
  /** Sub-folders the description names (`name/`), relative to `path`. */
  readonly subfolders: readonly string[];
  readonly planned: boolean;
}

/** The map: the first code block after "## Layers" in docs/development.md. */
function folderMap(): MapEntry[] {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'development.md'), 'utf8');
  const m = /## Layers[^\n]*\n+```\n([\s\S]*?)```/.exec(doc);
  assert.ok(m, 'docs/development.md has a "## Layers" section with the map in a code block');
  const entries: { path: string; text: string }[] = [];
  for (const line of m[1]!.split('\n')) {
    const head = /^(src\/\S*)\s+(.*)$/.exec(line);
    if (head) entries.push({ path: head[1]!, text: head[2]! });
    // A continuation line (indented) belongs to the entry above.
    else if (/^\s+\S/.test(line) && entries.length > 0)
      entries[entries.length - 1]!.text += ` ${line.trim()}`;
  }
  return entries.map((e) => ({
    path: e.path,
    planned: e.text.includes('(planned)'),
    // `name/` tokens in the description, except src/… paths and URLs.
    subfolders: e.path.endsWith('/')
      ? [...e.text.matchAll(/(?:^|[\s(,`])([a-z][a-z0-9_]*)\/(?=[\s,;)`]|$)/g)].map((x) => x[1]!)
      : [],
  }));
}

test('the folder map parses and names the layers', () => {
  const map = folderMap();
  assert.ok(map.length >= 10, `${map.length} entries`);
  assert.ok(map.some((e) => e.path === 'src/verifier/' && e.subfolders.includes('verify')));
});

test('every folder and file the map names exists (or is marked planned)', () => {
  const missing: string[] = [];
  for (const e of folderMap()) {
    if (e.planned) continue;
    const p = join(REPO_ROOT, e.path);
    if (!existsSync(p)) missing.push(e.path);
    for (const sub of e.subfolders) {
      const sp = join(p, sub);
      if (!existsSync(sp) || !statSync(sp).isDirectory()) missing.push(`${e.path}${sub}/`);
    }
  }
  assert.deepEqual(missing, []);
});

test('every top-level entry of src/ is in the map', () => {
  const named = new Set(folderMap().map((e) => e.path));
  const unnamed = readdirSync(join(REPO_ROOT, 'src'))
    .map((n) => (statSync(join(REPO_ROOT, 'src', n)).isDirectory() ? `src/${n}/` : `src/${n}`))
    .filter((p) => !named.has(p));
  assert.deepEqual(unnamed, []);
});

test('every sub-folder of a mapped folder with sub-folders is named', () => {
  // formats/, verifier/, providers/ and cli/ list their sub-folders; a new one must join the map.
  const unnamed: string[] = [];
  for (const e of folderMap()) {
    if (e.subfolders.length === 0 || e.planned) continue;
    const dir = join(REPO_ROOT, e.path);
    for (const n of readdirSync(dir)) {
      if (statSync(join(dir, n)).isDirectory() && !e.subfolders.includes(n)) {
        unnamed.push(`${e.path}${n}/`);
      }
    }
  }
  assert.deepEqual(unnamed, []);
});
