/**
 * The embedded store's SQL client: PGlite driven through its public wire-protocol entry
 * (`execProtocol`) with named prepared statements, instead of `PGlite.query`.
 *
 * Why: `PGlite.query` runs six protocol exchanges per statement (parse, describe, bind, describe,
 * execute, sync), each a trip into the WASM backend, and parses and plans the SQL every time.
 * Measured on this project's 2-core machine (bench/verifier/RESULTS.md, session 6): `select 1`
 * cost 0.46 ms of CPU through `query` and 0.05 ms as one Bind/Execute/Sync message on a prepared
 * statement; a session's statements were more than half of the embedded service's CPU. Each
 * statement text is parsed and described once (its parameter and column types kept), then every
 * call is one message.
 *
 * One exchange at a time: calls are serialised on PGlite's own query mutex
 * (`runExclusive`), and a transaction holds it from `begin` to `commit`, so no other statement
 * can land inside it.
 *
 * @module
 */
import type { SqlClient, SqlResult, SqlRunner } from './sql_client.js';

/** The part of PGlite this client uses (all public API). */
export interface PgliteWireDb {
  execProtocol(message: Uint8Array): Promise<{ messages: readonly unknown[] }>;
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** PGlite's exported protocol serializer and type parsers (`protocol.serialize`, `types`). */
export interface PgliteWireLib {
  readonly serialize: {
    parse(q: { name?: string; text: string }): Uint8Array;
    describe(q: { type: 'S' | 'P'; name?: string }): Uint8Array;
    execute(q?: { portal?: string; rows?: number }): Uint8Array;
    query(text: string): Uint8Array;
    sync(): Uint8Array;
  };
  parseType(value: string, oid: number): unknown;
}

interface Prepared {
  readonly name: string;
  readonly paramOids: readonly number[];
  /** Result columns (name, type oid); empty for a statement that returns no rows. */
  readonly columns: readonly { readonly name: string; readonly oid: number }[];
}

// PostgreSQL type oids whose text form this client writes itself.
const BOOL = 16;
const BYTEA = 17;
const JSON_OID = 114;
const JSONB = 3802;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** A parameter as the text the backend reads for its type (what `PGlite.query` sends too). */
function paramText(v: unknown, oid: number): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) {
    return '\\x' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  }
  if ((oid === JSON_OID || oid === JSONB) && typeof v !== 'string') return JSON.stringify(v);
  if (oid === BOOL && typeof v === 'boolean') return v ? 't' : 'f';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * A Bind message (unnamed portal, every parameter and result column in text format) for a
 * prepared statement, followed by `tail` (Execute + Sync), as one buffer: PostgreSQL's
 * frontend/backend protocol §55.7 — 'B', Int32 length, portal name, statement name, Int16 0
 * (parameter formats: all text), Int16 n, n × (Int32 length or -1 for NULL, bytes), Int16 0
 * (result formats: all text). Written with Buffer's native UTF-8 encoder: PGlite's serializer
 * measured each string's UTF-8 length and copied it in JavaScript, ~0.5 ms of CPU for a
 * session's 24 KB result row (bench/verifier, session 7).
 */
export function bindMessage(
  statement: string,
  values: readonly (string | null)[],
  tail: Uint8Array,
): Buffer {
  const lengths = values.map((v) => (v === null ? -1 : Buffer.byteLength(v, 'utf8')));
  let size = 4 + 1 + Buffer.byteLength(statement, 'utf8') + 1 + 2 + 2 + 2;
  for (const l of lengths) size += 4 + Math.max(l, 0);
  const b = Buffer.allocUnsafe(1 + size + tail.length);
  let o = b.writeUInt8(0x42, 0); // 'B'
  o = b.writeInt32BE(size, o);
  o = b.writeUInt8(0, o); // the unnamed portal
  o += b.write(statement, o, 'utf8');
  o = b.writeUInt8(0, o);
  o = b.writeInt16BE(0, o);
  o = b.writeInt16BE(values.length, o);
  for (let i = 0; i < values.length; i++) {
    o = b.writeInt32BE(lengths[i]!, o);
    const v = values[i];
    if (v !== null && v !== undefined) o += b.write(v, o, 'utf8');
  }
  o = b.writeInt16BE(0, o);
  b.set(tail, o);
  return b;
}

function isMessage(m: unknown, name: string): boolean {
  return typeof m === 'object' && m !== null && (m as { name?: unknown }).name === name;
}

/** Builds the {@link SqlClient} over a PGlite instance. */
export function pgliteWireClient(
  db: PgliteWireDb,
  lib: PgliteWireLib,
  onClose: () => void,
): SqlClient {
  const s = lib.serialize;
  const statements = new Map<string, Prepared>();
  let made = 0;
  const sync = s.sync();
  const executeSync = concat([s.execute(), sync]);

  async function prepare(text: string): Promise<Prepared> {
    const name = `m${++made}`;
    const { messages } = await db.execProtocol(
      concat([s.parse({ name, text }), s.describe({ type: 'S', name }), sync]),
    );
    let paramOids: readonly number[] = [];
    let columns: Prepared['columns'] = [];
    for (const m of messages) {
      if (isMessage(m, 'parameterDescription')) {
        paramOids = (m as { dataTypeIDs: number[] }).dataTypeIDs;
      } else if (isMessage(m, 'rowDescription')) {
        columns = (m as { fields: { name: string; dataTypeID: number }[] }).fields.map((f) => ({
          name: f.name,
          oid: f.dataTypeID,
        }));
      }
    }
    const p = { name, paramOids, columns };
    statements.set(text, p);
    return p;
  }

  async function queryUnlocked(text: string, params: readonly unknown[] = []): Promise<SqlResult> {
    const p = statements.get(text) ?? (await prepare(text));
    const values = params.map((v, i) => paramText(v, p.paramOids[i] ?? 0));
    const { messages } = await db.execProtocol(bindMessage(p.name, values, executeSync));
    const rows: Record<string, unknown>[] = [];
    for (const m of messages) {
      if (!isMessage(m, 'dataRow')) continue;
      const fields = (m as { fields: (string | null)[] }).fields;
      const row: Record<string, unknown> = {};
      for (let i = 0; i < p.columns.length; i++) {
        const c = p.columns[i]!;
        const v = fields[i] ?? null;
        row[c.name] =
          v === null
            ? null
            : c.oid === BYTEA
              ? new Uint8Array(Buffer.from(v.slice(2), 'hex'))
              : lib.parseType(v, c.oid);
      }
      rows.push(row);
    }
    return { rows };
  }

  async function execUnlocked(text: string): Promise<void> {
    await db.execProtocol(s.query(text));
  }

  const unlocked: SqlRunner = { query: queryUnlocked, exec: execUnlocked };

  return {
    query: (text, params) => db.runExclusive(() => queryUnlocked(text, params)),
    exec: (text) => db.runExclusive(() => execUnlocked(text)),
    transaction: (fn) =>
      db.runExclusive(async () => {
        await execUnlocked('begin');
        let out;
        try {
          out = await fn(unlocked);
        } catch (e) {
          await execUnlocked('rollback');
          throw e;
        }
        await execUnlocked('commit');
        return out;
      }),
    close: async () => {
      await db.close();
      onClose();
    },
  };
}
