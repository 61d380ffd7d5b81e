/**
 * The PostgreSQL store, for many verifier processes behind a load balancer: node-postgres (`pg`)
 * with a small pool, loaded only when a `postgres://` store is opened. Migrations take an
 * advisory lock, so a fleet starting at once migrates once.
 *
 * @module
 */
import { MrstackError } from '../../errors.js';
import type { SqlClient, SqlRunner } from './sql_client.js';
import { migrate, SqlStore } from './sql_store.js';

interface PgQueryable {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}
interface PgPoolClient extends PgQueryable {
  release(err?: Error | boolean): void;
}
interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
  on(event: 'error', fn: (e: Error) => void): void;
}

function runner(c: PgQueryable): SqlRunner {
  return {
    query: (text, params = []) => c.query(text, [...params]),
    exec: async (text) => {
      await c.query(text);
    },
  };
}

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** Pool size per process (default 8). */
  readonly maxConnections?: number;
}

/** Connects to PostgreSQL at `url` and migrates the schema when needed. */
export async function openPostgresStore(
  url: string,
  opts: PostgresStoreOptions = {},
): Promise<SqlStore> {
  const pg = (await import('pg')).default as unknown as {
    Pool: new (cfg: Record<string, unknown>) => PgPool;
  };
  const pool = new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 8 });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const client: SqlClient = {
    ...runner(pool),
    transaction: async (fn) => {
      const c = await pool.connect();
      try {
        await c.query('begin');
        const out = await fn(runner(c));
        await c.query('commit');
        c.release();
        return out;
      } catch (e) {
        await c.query('rollback').catch(() => undefined);
        c.release(true);
        throw e;
      }
    },
    close: () => pool.end(),
  };
  try {
    await migrate(client);
  } catch (e) {
    await pool.end().catch(() => undefined);
    if (e instanceof MrstackError) throw e;
    throw new MrstackError('ERR_STORE', `store: cannot use PostgreSQL: ${String(e)}`, {
      cause: e,
      details: { url: url.replace(/\/\/[^@/]*@/, '//…@') },
    });
  }
  return new SqlStore('postgres', client);
}
