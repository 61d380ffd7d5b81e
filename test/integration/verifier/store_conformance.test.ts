// The store conformance suite on both adapters: the embedded PGlite store on a data directory,
// and a real PostgreSQL server started by this file (Debian's postgresql, as the postgres user).
import { after, before } from 'node:test';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeConformance } from '../../_support/store_conformance.js';
import { startPostgres, type PgServer } from '../../_support/postgres.js';
import { openEmbeddedStore } from '../../../src/verifier/store/embedded.js';
import { openPostgresStore } from '../../../src/verifier/store/postgres.js';

const root = mkdtempSync(join(tmpdir(), 'mrstack-store-'));
let template = '';
let pg: PgServer | undefined;
let n = 0;

before(async () => {
  // initdb inside PGlite takes seconds; every test copies one migrated data directory instead.
  template = join(root, 'template');
  await (await openEmbeddedStore(template)).close();
  pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
  rmSync(root, { recursive: true, force: true });
});

storeConformance('embedded (PGlite)', () => async () => {
  const dir = join(root, `t${n++}`);
  cpSync(template, dir, { recursive: true });
  return openEmbeddedStore(dir);
});

storeConformance(
  'PostgreSQL 15',
  () => async () => openPostgresStore(pg!.createDatabase(`t${n++}`)),
);
