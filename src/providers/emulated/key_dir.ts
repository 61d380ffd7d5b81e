/**
 * Emulated key sets created once per TVM state, atomically across processes.
 *
 * A set is written into a private temporary directory beside its place and renamed into place
 * (rename(2) of a directory onto a missing or empty one is atomic); a process that loses the
 * race drops its own set and uses the winner's. `marker` names the file whose presence means the
 * set is complete, so a partial directory left by something else is replaced once.
 *
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fromErrno, ProviderError } from '../../errors.js';

/**
 * The key set in `keysDir`, written by `write(tmpDir)` on first use and read by `read(keysDir)`.
 * @throws ProviderError for file-system failures
 */
export function loadOrCreateKeyDir<T>(
  keysDir: string,
  marker: string,
  write: (tmpDir: string) => void,
  read: (dir: string) => T,
): T {
  try {
    if (fs.existsSync(path.join(keysDir, marker))) return read(keysDir);
    const tmp = `${keysDir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    fs.mkdirSync(tmp, { recursive: true, mode: 0o700 });
    write(tmp);
    fs.mkdirSync(path.dirname(keysDir), { recursive: true, mode: 0o700 });
    try {
      fs.renameSync(tmp, keysDir);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      const code = (e as { code?: string }).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      if (!fs.existsSync(path.join(keysDir, marker))) {
        // Not a complete set (left by something else): replace it once.
        fs.rmSync(keysDir, { recursive: true, force: true });
        return loadOrCreateKeyDir(keysDir, marker, write, read);
      }
    }
    return read(keysDir);
  } catch (e) {
    if (e instanceof ProviderError) throw e;
    throw fromErrno(e, keysDir);
  }
}
