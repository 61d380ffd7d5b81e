// Schema migrations on data written by an older build: a database left at schema version 1
// (results.findings as jsonb) is opened by this build on both adapters; migration 2 turns the
// column into text, and the results written before it read back with the same findings;
// migration 3 gives the attesters written before it their EK trust reason.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { MIGRATIONS } from '../../../src/verifier/store/migrations.js';
import { openEmbeddedStore } from '../../../src/verifier/store/embedded.js';
import { openPostgresStore } from '../../../src/verifier/store/postgres.js';
import type { VerifierStore } from '../../../src/verifier/store/store.js';
import { startPostgres, type PgServer } from '../../_support/postgres.js';

const root = mkdtempSync(join(tmpdir(), 'mrstack-migr-'));
let server: PgServer | undefined;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

const V1_FINDINGS = {
  appraisal: { status: 'affirming', findings: [{ id: 'tdx.tcb.up-to-date', status: 'ok' }] },
  verify: { verified: true, claims: { mrtd: 'ab'.repeat(48), nested: [1, 2, { x: null }] } },
};

/** Schema version 1 exactly as it shipped, plus one result row, written with plain SQL. */
const V1_SQL =
  'create table mrstack_schema (version integer primary key, name text not null, ' +
  'applied_at timestamptz not null default now());' +
  MIGRATIONS[0]!.sql +
  `insert into mrstack_schema (version, name) values (1, 'v1');`;
/** Attesters written at schema 1: one registered by EK certificate, one by an allowlisted EK. */
const V1_ATTESTERS =
  'insert into attesters (id, kind, ek_cert, ek_public, relaxed) values ' +
  "('by-cert', 'tpm', '\\x3082'::bytea, '\\x0001'::bytea, '[]'::jsonb), " +
  "('by-list', 'tpm', null, '\\x0001'::bytea, '[\"unverified-ek\"]'::jsonb), " +
  "('cvm', 'cvm', null, null, '[]'::jsonb)";
const V1_ROW =
  "insert into results (id, session_id, attester_id, status, passed, relaxed, policy_id, ear, findings) values ('old-1', null, 'att', 'affirming', true, '[]'::jsonb, 'default@sha256:00', 'e.y.j', $1::jsonb)";

async function checkMigrated(store: VerifierStore): Promise<void> {
  // Migration 3: the EK trust reason, told apart by the certificate column; none for a CVM.
  assert.equal((await store.getAttester('by-cert'))?.ekTrust, 'certificate');
  assert.equal((await store.getAttester('by-list'))?.ekTrust, 'allowlist');
  assert.equal((await store.getAttester('cvm'))?.ekTrust, null);
  const old = await store.getResult('old-1');
  assert.ok(old !== null, 'the result written at schema version 1 is still there');
  assert.deepEqual(old.findings, V1_FINDINGS);
  assert.equal(old.ear, 'e.y.j');
  // New results go into the text column and read back the same.
  await store.putResult({
    id: 'new-1',
    sessionId: null,
    attesterId: 'att',
    status: 'warning',
    passed: false,
    relaxed: ['collateral'],
    policyId: null,
    ear: null,
    findings: { bytes: new Uint8Array([1, 2, 255]), n: 3n },
  });
  assert.deepEqual((await store.getResult('new-1'))!.findings, { bytes: '0102ff', n: '3' });
  const latest = await store.latestResults();
  assert.deepEqual(
    latest.map((r) => r.id),
    ['new-1'],
  );
}

test('embedded: a schema-1 store migrates to text findings and keeps its results', async () => {
  const dir = join(root, 'embedded');
  mkdirSync(dir);
  const db = await PGlite.create(join(dir, 'pgdata'));
  await db.exec(V1_SQL);
  await db.query(V1_ROW, [JSON.stringify(V1_FINDINGS)]);
  await db.exec(V1_ATTESTERS);
  const type = await db.query<{ t: string }>(
    "select data_type as t from information_schema.columns where table_name = 'results' and column_name = 'findings'",
  );
  assert.equal(type.rows[0]!.t, 'jsonb');
  await db.close();
  const store = await openEmbeddedStore(dir);
  try {
    await checkMigrated(store);
  } finally {
    await store.close();
  }
  const after = await PGlite.create(join(dir, 'pgdata'));
  const t2 = await after.query<{ t: string; v: number }>(
    "select (select data_type from information_schema.columns where table_name = 'results' and column_name = 'findings') as t, (select max(version) from mrstack_schema) as v",
  );
  assert.deepEqual(t2.rows[0], { t: 'text', v: MIGRATIONS.length });
  await after.close();
});

test('PostgreSQL: a schema-1 database migrates to text findings and keeps its results', async () => {
  const url = server!.createDatabase('migr');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(V1_SQL);
  await c.query(V1_ROW, [JSON.stringify(V1_FINDINGS)]);
  await c.query(V1_ATTESTERS);
  await c.end();
  const store = await openPostgresStore(url);
  try {
    await checkMigrated(store);
  } finally {
    await store.close();
  }
  const c2 = new pg.Client({ connectionString: url });
  await c2.connect();
  const t2 = await c2.query<{ t: string }>(
    "select data_type as t from information_schema.columns where table_name = 'results' and column_name = 'findings'",
  );
  assert.equal(t2.rows[0]!.t, 'text');
  await c2.end();
});
