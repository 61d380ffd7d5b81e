/** Temporary directories that live as long as one test. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';

/** A fresh directory under the OS temp dir, removed with its contents when test `t` ends. */
export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Retries: a child process killed a moment ago may still be writing into it (ENOTEMPTY).
  t.after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));
  return dir;
}

/**
 * A fresh directory for one test file, removed after its last test, and a writer that puts each
 * input in a new numbered file there and returns its path (for CLI calls that read files).
 */
export function fileWriter(prefix: string): (bytes: Uint8Array | string) => string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return (bytes) => {
    const p = join(dir, `f${n++}`);
    writeFileSync(p, bytes);
    return p;
  };
}
