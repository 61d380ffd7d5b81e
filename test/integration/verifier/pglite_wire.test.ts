// The embedded store's SQL client (src/verifier/store/pglite_wire.ts) on an in-memory PGlite:
// typed values both ways, errors that keep their SQLSTATE and leave the connection usable,
// transactions that roll back as a whole, and no statement of another caller landing inside an
// open transaction.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PGlite, protocol, types } from '@electric-sql/pglite';
import { pgliteWireClient } from '../../../src/verifier/store/pglite_wire.js';
import type { SqlClient } from '../../../src/verifier/store/sql_client.js';

let db: SqlClient;
let closed = 0;
before(async () => {
  const pgl = await PGlite.create();
  db = pgliteWireClient(
    pgl,
    {
      serialize: protocol.serialize,
      parseType: (v, oid) => types.parseType(v, oid) as unknown,
    },
    () => {
      closed++;
    },
  );
  await db.exec(
    'create table t (id text primary key, b bytea, j jsonb, n bigint, f boolean, at timestamptz)',
  );
});
after(async () => {
  await db.close();
  assert.equal(closed, 1);
});

test('parameters and columns keep their types', async () => {
  const at = new Date('2026-12-07T07:00:00.123Z');
  await db.query('insert into t values ($1, $2, $3::jsonb, $4, $5, $6)', [
    'a',
    new Uint8Array([0, 1, 254, 255]),
    JSON.stringify({ k: [1, 'x'] }),
    42,
    true,
    at,
  ]);
  const r = await db.query('select * from t where id = $1', ['a']);
  assert.equal(r.rows.length, 1);
  const row = r.rows[0]!;
  assert.deepEqual(row['b'], new Uint8Array([0, 1, 254, 255]));
  assert.deepEqual(row['j'], { k: [1, 'x'] });
  assert.equal(Number(row['n']), 42);
  assert.equal(row['f'], true);
  assert.equal((row['at'] as Date).toISOString(), at.toISOString());
  // The same statement text again (the prepared path) with a null and another row.
  await db.query('insert into t values ($1, $2, $3::jsonb, $4, $5, $6)', [
    'b',
    null,
    null,
    null,
    false,
    null,
  ]);
  const both = await db.query('select id, b, f from t order by id', []);
  assert.deepEqual(both.rows, [
    { id: 'a', b: new Uint8Array([0, 1, 254, 255]), f: true },
    { id: 'b', b: null, f: false },
  ]);
});

test('text parameters arrive byte for byte: multi-byte UTF-8, empty, NULL, 100 KB', async () => {
  // PostgreSQL's octet_length and md5 of what it received, against node's UTF-8 encoding and
  // md5 of the value sent: the Bind message's lengths and bytes (bindMessage) are exact.
  const values = ['', 'é', '漢字', 'a😀b', 'x'.repeat(100_000) + 'ü', null];
  for (const v of values) {
    const r = await db.query(
      'select $1::text as v, octet_length($1::text) as n, md5($1::text) as h',
      [v],
    );
    const row = r.rows[0]!;
    assert.equal(row['v'], v);
    if (v === null) {
      assert.equal(row['n'], null);
      continue;
    }
    assert.equal(row['n'], Buffer.byteLength(v, 'utf8'));
    assert.equal(row['h'], createHash('md5').update(v, 'utf8').digest('hex'));
  }
  // Several parameters in one message, in their places.
  const r = await db.query('select $1::text || $2::text || coalesce($3::text, $4::text) as v', [
    'ä',
    '',
    null,
    '漢',
  ]);
  assert.equal(r.rows[0]!['v'], 'ä漢');
});

test('an error keeps its SQLSTATE and the connection stays usable', async () => {
  await assert.rejects(
    db.query('insert into t (id) values ($1)', ['a']),
    (e: unknown) => (e as { code?: string }).code === '23505',
  );
  await assert.rejects(db.query('select nope from t', []), /nope/);
  const r = await db.query('select count(*)::int as n from t', []);
  assert.equal(r.rows[0]!['n'], 2);
});

test('a transaction that throws leaves nothing behind; one that resolves commits', async () => {
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query('insert into t (id) values ($1)', ['tx-1']);
      await tx.query('insert into t (id) values ($1)', ['a']); // unique violation
    }),
    (e: unknown) => (e as { code?: string }).code === '23505',
  );
  assert.equal((await db.query('select 1 from t where id = $1', ['tx-1'])).rows.length, 0);
  await db.transaction(async (tx) => {
    await tx.query('insert into t (id) values ($1)', ['tx-2']);
  });
  assert.equal((await db.query('select 1 from t where id = $1', ['tx-2'])).rows.length, 1);
});

test('a statement issued while a transaction is open runs after it, not inside it', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const tx = db.transaction(async (q) => {
    await q.query('insert into t (id) values ($1)', ['tx-3']);
    await gate;
    throw new Error('roll back');
  });
  // Issued while the transaction holds the connection; if it ran inside the transaction, the
  // rollback would take its row away too.
  const outside = db.query('insert into t (id) values ($1)', ['outside-1']);
  release();
  await assert.rejects(tx, /roll back/);
  await outside;
  const ids = (await db.query("select id from t where id in ('tx-3', 'outside-1')", [])).rows;
  assert.deepEqual(ids, [{ id: 'outside-1' }]);
});
