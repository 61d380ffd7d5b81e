/**
 * The little an adapter must provide for {@link ./sql_store.ts}: run one parameterised statement,
 * and run a function inside one transaction. PGlite and node-postgres both fit it, so the SQL
 * that carries the store's rules is written once.
 *
 * @module
 */

/** Rows of a statement, as plain objects keyed by column name. */
export interface SqlResult {
  readonly rows: Record<string, unknown>[];
}

/** One connection's worth of SQL. */
export interface SqlRunner {
  query(text: string, params?: readonly unknown[]): Promise<SqlResult>;
  /** Runs several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

/** A connection (or pool) that can also open transactions. */
export interface SqlClient extends SqlRunner {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
