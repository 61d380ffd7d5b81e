/**
 * The store's schema, as numbered migrations applied in order. Every statement is PostgreSQL
 * that PGlite runs too, so both adapters share one schema. A migration is never edited once it
 * has landed: changes are new entries.
 *
 * @module
 */

/** One schema step. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Every migration, oldest first. */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'sessions, attesters, registrations, results, checkpoints, policies, signing keys',
    sql: `
create table sessions (
  id text primary key,
  nonce bytea not null,
  attester_id text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  consumed_at timestamptz,
  result_id text
);
create index sessions_expires on sessions (expires_at);

create table attesters (
  id text primary key,
  kind text not null check (kind in ('tpm', 'cvm')),
  ek_cert bytea,
  ek_public bytea,
  platform_id text,
  relaxed jsonb not null default '[]'::jsonb,
  created_at timestamptz not null default now()
);

create table attester_keys (
  attester_id text not null references attesters (id) on delete cascade,
  ak_name bytea not null,
  ak_public bytea not null,
  created_at timestamptz not null default now(),
  primary key (attester_id, ak_name)
);
create index attester_keys_name on attester_keys (ak_name);

create table registrations (
  id text primary key,
  attester_id text not null,
  secret_digest bytea not null,
  ek_cert bytea,
  ek_public bytea not null,
  ak_public bytea not null,
  ak_name bytea not null,
  relaxed jsonb not null default '[]'::jsonb,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  consumed_at timestamptz
);

create table results (
  id text primary key,
  session_id text,
  attester_id text,
  created_at timestamptz not null default now(),
  status text not null check (status in ('affirming', 'warning', 'contraindicated', 'none')),
  passed boolean not null,
  relaxed jsonb not null default '[]'::jsonb,
  policy_id text,
  ear text,
  findings jsonb not null
);
create index results_attester on results (attester_id, created_at desc);
create index results_created on results (created_at desc);

create table checkpoints (
  attester_id text not null,
  register text not null,
  policy_digest text not null,
  version bigint not null,
  boot_id text,
  value jsonb not null,
  result_id text not null,
  updated_at timestamptz not null default now(),
  primary key (attester_id, register, policy_digest)
);

create table policies (
  id text not null,
  digest text not null,
  body jsonb not null,
  created_at timestamptz not null default now(),
  primary key (id, digest)
);

create table signing_keys (
  kid text primary key,
  alg text not null,
  public_jwk jsonb not null,
  sealed_private bytea not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz
);
`,
  },
  {
    version: 2,
    name: 'results.findings as text',
    // Nothing queries into a result's findings: they are written once per session and read
    // whole. As jsonb, every insert parsed ~14 KB into the binary form (1.0-1.2 ms of a
    // session's CPU on PGlite against 0.7 as text: bench/verifier/RESULTS.md, session 5).
    sql: 'alter table results alter column findings type text using findings::text;',
  },
  {
    version: 3,
    name: 'attesters.ek_trust, registrations.ek_trust',
    // Why a TPM attester's EK was trusted: an SVSM report is a third reason beside a certificate
    // and the allowlist, and results name it. Rows from before are certificate or allowlist,
    // which the certificate column tells apart.
    sql: `
alter table attesters add column ek_trust text
  check (ek_trust in ('certificate', 'allowlist', 'svsm_report'));
alter table registrations add column ek_trust text
  check (ek_trust in ('certificate', 'allowlist', 'svsm_report'));
update attesters set ek_trust = case when ek_cert is not null then 'certificate' else 'allowlist' end
  where kind = 'tpm';
update registrations set ek_trust = case when ek_cert is not null then 'certificate' else 'allowlist' end;
`,
  },
]);

/** The newest schema version this build knows. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;
