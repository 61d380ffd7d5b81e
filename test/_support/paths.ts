/** Where things are, for tests running from dist/test. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  const env = process.env['MRSTACK_REPO_ROOT'];
  if (env !== undefined && env !== '') return env;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('dist')) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** The repository root (the folder holding package.json). */
export const REPO_ROOT: string = findRoot();

/** Path of a file under test/fixtures. */
export function fixture(...parts: string[]): string {
  return join(REPO_ROOT, 'test', 'fixtures', ...parts);
}

/** The built CLI entry point. */
export const CLI_PATH: string = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
