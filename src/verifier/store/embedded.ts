/**
 * The embedded store, the default: PGlite (PostgreSQL compiled to WASM) running in this process
 * on a data directory. Nothing to install or start, no native build on `npm ci`, and the same
 * SQL as the server adapter. Measured against node-sqlite3-wasm before choosing it (docs/verifier.md):
 * commits stay on disk across SIGKILL of the process. Statements go through pglite_wire.ts
 * (prepared, one protocol message per call), not `PGlite.query`.
 *
 * PGlite is single-process: a lock file keeps a second process from opening the same directory
 * (a fleet uses PostgreSQL instead). The client library is imported only when this runs.
 *
 * @module
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { MrstackError } from '../../errors.js';
import type { SqlClient } from './sql_client.js';
import { pgliteWireClient } from './pglite_wire.js';
import { migrate, SqlStore } from './sql_store.js';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// One process per directory: an exclusive-create lock file holding the owner's pid; a lock
// left by a dead process (SIGKILL) is taken over.
function takeLock(dir: string): string {
  const path = join(dir, 'mrstack-store.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
        throw new MrstackError(
          'ERR_STORE',
          `store: ${dir} is in use by process ${pid} (the embedded store serves one process; use PostgreSQL for a fleet)`,
          { details: { dir, pid } },
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new MrstackError('ERR_STORE', `store: could not lock ${dir}`, { details: { dir } });
}

/** Opens (creating and migrating when needed) the embedded store in `dir`; `memory` keeps nothing. */
export async function openEmbeddedStore(dir: string): Promise<SqlStore> {
  let lock: string | null = null;
  let dataDir: string | undefined;
  if (dir !== 'memory') {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    lock = takeLock(dir);
    dataDir = join(dir, 'pgdata');
  }
  let client: SqlClient;
  try {
    const { PGlite, protocol, types } = await import('@electric-sql/pglite');
    const db = await PGlite.create(dataDir);
    client = pgliteWireClient(
      db,
      {
        serialize: protocol.serialize,
        parseType: (v, oid) => types.parseType(v, oid) as unknown,
      },
      () => {
        if (lock !== null) rmSync(lock, { force: true });
      },
    );
  } catch (e) {
    if (lock !== null) rmSync(lock, { force: true });
    throw new MrstackError(
      'ERR_STORE',
      `store: cannot open the embedded database in ${dir}: ${String(e)}`,
      {
        cause: e,
        details: { dir },
      },
    );
  }
  try {
    await migrate(client);
  } catch (e) {
    await client.close();
    throw e;
  }
  // The lock file makes this process the database's only writer.
  return new SqlStore('embedded', client, { soleWriter: true });
}
