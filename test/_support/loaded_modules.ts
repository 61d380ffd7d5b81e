/**
 * Runs a child Node process under the hooks of `module_recorder.ts` and reports what it loaded:
 * the npm packages and this project's own built files, so a meta test can assert that an entry
 * point or a command does not pull in what it must not.
 */
import type { TestContext } from 'node:test';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './paths.js';
import { tempDir } from './tmp.js';

/** What {@link runRecordingModules} saw. */
export interface LoadedModules {
  readonly res: SpawnSyncReturns<string>;
  /** npm package names (scoped ones with their scope). */
  readonly packages: Set<string>;
  /** Resolved URLs of the project's built sources (`/dist/src/…`). */
  readonly ownFiles: string[];
}

/** `node --import <recorder> ...nodeArgs` in the repository root; every resolved URL logged. */
export function runRecordingModules(t: TestContext, nodeArgs: readonly string[]): LoadedModules {
  const log = join(tempDir(t, 'loaded-modules-'), 'loaded.txt');
  const hooks = pathToFileURL(join(REPO_ROOT, 'dist', 'test', '_support', 'module_recorder.js'));
  const register = `import { register } from 'node:module'; register(${JSON.stringify(hooks.href)});`;
  const res = spawnSync(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(register)}`, ...nodeArgs],
    { cwd: REPO_ROOT, env: { ...process.env, MRSTACK_LOADED_LOG: log }, encoding: 'utf8' },
  );
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const packages = new Set<string>();
  for (const u of urls) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
    if (m) packages.add(m[1]!);
  }
  return { res, packages, ownFiles: urls.filter((u) => u.includes('/dist/src/')) };
}
