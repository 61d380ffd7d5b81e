/**
 * {@link VerifierStore} over SQL that PostgreSQL and PGlite both run. The adapters differ only
 * in how they connect; every rule that must hold across a fleet is one statement here:
 *
 * - a nonce is consumed by a single conditional `UPDATE … RETURNING` (a row lock, never a table
 *   lock), so of any number of racing processes exactly one sees its row come back;
 * - a checkpoint advances by compare-and-set on its version, and the same statement checks that
 *   the result it cites passed with nothing relaxed;
 * - every timestamp is the database's `now()`, so a fleet has one clock.
 *
 * @module
 */
import { MrstackError } from '../../errors.js';
import { MIGRATIONS } from './migrations.js';
import type { SqlClient, SqlRunner } from './sql_client.js';
import { SoleWriterMemo } from './sole_writer_memo.js';
import type {
  AdvanceOutcome,
  AttesterKeyRecord,
  AttesterRecord,
  EkTrustReason,
  CheckpointKey,
  CheckpointMove,
  CheckpointRecord,
  FinishOutcome,
  PeekOutcome,
  ConsumeOutcome,
  NewResult,
  NonceRefusal,
  PolicyRecord,
  RegistrationOutcome,
  RegistrationRecord,
  ResultRecord,
  ResultStatus,
  SessionRecord,
  SigningKeyRecord,
  VerifierStore,
} from './store.js';

// Any constant works; it names the advisory lock that serialises migrations across a fleet.
const MIGRATION_LOCK = 0x6d727374;

type Row = Record<string, unknown>;

function bytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
  throw new MrstackError('ERR_STORE', `store: expected a bytea column, got ${typeof v}`);
}
function bytesOrNull(v: unknown): Uint8Array | null {
  return v === null || v === undefined ? null : bytes(v);
}
function date(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'string' || typeof v === 'number') return new Date(v);
  throw new MrstackError('ERR_STORE', `store: expected a timestamp column, got ${typeof v}`);
}
function dateOrNull(v: unknown): Date | null {
  return v === null || v === undefined ? null : date(v);
}
function str(v: unknown): string {
  if (typeof v === 'string') return v;
  throw new MrstackError('ERR_STORE', `store: expected a text column, got ${typeof v}`);
}
function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : str(v);
}
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(str) : [];
}
// node-postgres returns bigint columns as strings; PGlite as numbers.
function int(v: unknown): number {
  return Number(v);
}

/** The columns of `r` that start with `prefix`, without it (a joined table's row). */
function prefixed(r: Row, prefix: string): Row {
  const out: Row = {};
  for (const k in r) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = r[k];
  return out;
}

function sessionOf(r: Row): SessionRecord {
  return {
    id: str(r['id']),
    nonce: bytes(r['nonce']),
    attesterId: strOrNull(r['attester_id']),
    createdAt: date(r['created_at']),
    expiresAt: date(r['expires_at']),
    consumedAt: dateOrNull(r['consumed_at']),
    resultId: strOrNull(r['result_id']),
  };
}
function attesterOf(r: Row): AttesterRecord {
  return {
    id: str(r['id']),
    kind: str(r['kind']) as AttesterRecord['kind'],
    ekCert: bytesOrNull(r['ek_cert']),
    ekPublic: bytesOrNull(r['ek_public']),
    platformId: strOrNull(r['platform_id']),
    relaxed: strings(r['relaxed']),
    ekTrust: strOrNull(r['ek_trust']) as EkTrustReason | null,
    createdAt: date(r['created_at']),
  };
}
function keyOf(r: Row): AttesterKeyRecord {
  return {
    attesterId: str(r['attester_id']),
    akName: bytes(r['ak_name']),
    akPublic: bytes(r['ak_public']),
    createdAt: date(r['created_at']),
  };
}
function registrationOf(r: Row): RegistrationRecord {
  return {
    id: str(r['id']),
    attesterId: str(r['attester_id']),
    secretDigest: bytes(r['secret_digest']),
    ekCert: bytesOrNull(r['ek_cert']),
    ekPublic: bytes(r['ek_public']),
    akPublic: bytes(r['ak_public']),
    akName: bytes(r['ak_name']),
    relaxed: strings(r['relaxed']),
    ekTrust: strOrNull(r['ek_trust']) as EkTrustReason | null,
    expiresAt: date(r['expires_at']),
    consumedAt: dateOrNull(r['consumed_at']),
  };
}
function resultOf(r: Row): ResultRecord {
  return {
    id: str(r['id']),
    sessionId: strOrNull(r['session_id']),
    attesterId: strOrNull(r['attester_id']),
    createdAt: date(r['created_at']),
    status: str(r['status']) as ResultStatus,
    passed: r['passed'] === true,
    relaxed: strings(r['relaxed']),
    policyId: strOrNull(r['policy_id']),
    ear: strOrNull(r['ear']),
    // Stored as JSON text (migration 2); read whole.
    findings: typeof r['findings'] === 'string' ? (JSON.parse(r['findings']) as unknown) : null,
  };
}
function checkpointOf(r: Row): CheckpointRecord {
  return {
    attesterId: str(r['attester_id']),
    register: str(r['register']),
    policyDigest: str(r['policy_digest']),
    version: int(r['version']),
    bootId: strOrNull(r['boot_id']),
    value: r['value'],
    resultId: str(r['result_id']),
    updatedAt: date(r['updated_at']),
  };
}
function policyOf(r: Row): PolicyRecord {
  return {
    id: str(r['id']),
    digest: str(r['digest']),
    body: r['body'],
    createdAt: date(r['created_at']),
  };
}
function signingKeyOf(r: Row): SigningKeyRecord {
  return {
    kid: str(r['kid']),
    alg: str(r['alg']),
    publicJwk: r['public_jwk'] as Record<string, unknown>,
    sealedPrivate: bytes(r['sealed_private']),
    createdAt: date(r['created_at']),
    retiredAt: dateOrNull(r['retired_at']),
  };
}

// PostgreSQL's unique_violation.
function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === '23505';
}

/** Applies the migrations this build knows that the database lacks; safe to race. */
export async function migrate(db: SqlClient): Promise<number> {
  return db.transaction(async (tx) => {
    // One migrator at a time across the fleet; the lock ends with the transaction.
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec(
      'create table if not exists mrstack_schema (version integer primary key, name text not null, ' +
        'applied_at timestamptz not null default now())',
    );
    const cur = await tx.query('select coalesce(max(version), 0) as v from mrstack_schema');
    const have = int(cur.rows[0]!['v']);
    for (const m of MIGRATIONS) {
      if (m.version <= have) continue;
      await tx.exec(m.sql);
      await tx.query('insert into mrstack_schema (version, name) values ($1, $2)', [
        m.version,
        m.name,
      ]);
    }
    const after = await tx.query('select max(version) as v from mrstack_schema');
    const v = int(after.rows[0]!['v']);
    const newest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (v > newest) {
      throw new MrstackError(
        'ERR_STORE',
        `store: the database has schema version ${v}, newer than this build's ${newest}`,
        { details: { schema_version: v, known_version: newest } },
      );
    }
    return v;
  });
}

/**
 * The findings as stored JSON: bytes as lowercase hex and bigints as decimal strings (the CLI's
 * JSON conventions). Plain JSON.stringify wrote each Uint8Array as an object of numbered
 * members — several times the size, all of it parsed into jsonb on every result.
 */
function findingsJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_k, v: unknown): unknown => {
    if (v instanceof Uint8Array)
      return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Map) return Object.fromEntries(v as Map<unknown, unknown>);
    return v;
  });
}

/**
 * The checkpoint compare-and-set. The trust rule is part of the statement, so no caller can
 * advance from a failed or relaxed result whatever it passes in.
 */
async function casCheckpoint(
  db: SqlRunner,
  key: CheckpointKey,
  expectedVersion: number | null,
  next: { bootId: string | null; value: unknown; resultId: string },
): Promise<AdvanceOutcome> {
  const trusted =
    'exists (select 1 from results r where r.id = $6 and r.attester_id = $1 and r.passed ' +
    "and r.relaxed = '[]'::jsonb)";
  const params = [
    key.attesterId,
    key.register,
    key.policyDigest,
    next.bootId,
    JSON.stringify(next.value ?? null),
    next.resultId,
  ];
  const rows = (
    expectedVersion === null
      ? await db.query(
          'insert into checkpoints (attester_id, register, policy_digest, version, boot_id, value, ' +
            `result_id) select $1, $2, $3, 1, $4, $5::jsonb, $6 where ${trusted} ` +
            'on conflict do nothing returning version',
          params,
        )
      : await db.query(
          'update checkpoints set version = version + 1, boot_id = $4, value = $5::jsonb, ' +
            'result_id = $6, updated_at = now() where attester_id = $1 and register = $2 and ' +
            `policy_digest = $3 and version = $7 and ${trusted} returning version`,
          [...params, expectedVersion],
        )
  ).rows;
  if (rows.length === 1) return { ok: true, version: int(rows[0]!['version']) };
  const ok = await db.query(
    'select exists (select 1 from results r where r.id = $2 and r.attester_id = $1 and ' +
      "r.passed and r.relaxed = '[]'::jsonb) as trusted",
    [key.attesterId, next.resultId],
  );
  return { ok: false, reason: ok.rows[0]!['trusted'] === true ? 'stale' : 'not-trusted' };
}

/** The SQL store; build it with an adapter's `open…` function, which migrates first. */
export class SqlStore implements VerifierStore {
  readonly kind: 'embedded' | 'postgres';
  private readonly db: SqlClient;
  /** Set when this store is its database's only writer (the embedded store): reads it saves. */
  private readonly memo: SoleWriterMemo | undefined;

  /**
   * @param opts.soleWriter - no other process or client writes the database (the embedded
   *   store's lock file ensures it): sessions created here and rows read here are remembered
   *   and the evidence read is answered from them (sole_writer_memo.ts)
   */
  constructor(
    kind: 'embedded' | 'postgres',
    db: SqlClient,
    opts: { readonly soleWriter?: boolean } = {},
  ) {
    this.kind = kind;
    this.db = db;
    this.memo = opts.soleWriter === true ? new SoleWriterMemo() : undefined;
  }

  private async q(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    return (await this.db.query(text, params)).rows;
  }

  async now(): Promise<Date> {
    return date((await this.q('select now() as now'))[0]!['now']);
  }

  async ping(): Promise<boolean> {
    try {
      await this.q('select 1');
      return true;
    } catch {
      return false;
    }
  }

  async createSession(input: {
    id: string;
    nonce: Uint8Array;
    attesterId?: string | null;
    ttlSeconds: number;
    checkpointsUnder?: string;
  }): Promise<SessionRecord & { readonly checkpoints?: readonly CheckpointRecord[] }> {
    const insert =
      'insert into sessions (id, nonce, attester_id, expires_at) ' +
      'values ($1, $2, $3, now() + make_interval(secs => $4::double precision)) returning *';
    if (input.checkpointsUnder === undefined || input.attesterId == null) {
      const rows = await this.q(insert, [
        input.id,
        input.nonce,
        input.attesterId ?? null,
        input.ttlSeconds,
      ]);
      const s = sessionOf(rows[0]!);
      this.memo?.sessionCreated(s);
      return s;
    }
    // The attester's checkpoints under the digest, when this store knows them all: a plain
    // insert (the read of them was ~0.1 ms of the statement's ~0.4 on PGlite).
    const known = this.memo?.checkpointsUnder(input.attesterId, input.checkpointsUnder);
    if (known !== undefined) {
      const rows = await this.q(insert, [
        input.id,
        input.nonce,
        input.attesterId,
        input.ttlSeconds,
      ]);
      const s = sessionOf(rows[0]!);
      this.memo!.sessionCreated(s);
      return { ...s, checkpoints: known };
    }
    // The attester's checkpoints come back with the new session: one statement, not two.
    const rows = await this.q(
      `with s as (${insert}) select s.*, (select coalesce(json_agg(row_to_json(c) ` +
        "order by c.updated_at desc, c.register, c.policy_digest), '[]'::json) from checkpoints c " +
        'where c.attester_id = s.attester_id and c.policy_digest = $5) as cps from s',
      [input.id, input.nonce, input.attesterId, input.ttlSeconds, input.checkpointsUnder],
    );
    const r = rows[0]!;
    const cps = ((typeof r['cps'] === 'string' ? JSON.parse(r['cps']) : r['cps']) as Row[]).map(
      checkpointOf,
    );
    const s = sessionOf(r);
    if (this.memo !== undefined) {
      this.memo.sessionCreated(s);
      this.memo.checkpointsRead(input.attesterId, input.checkpointsUnder, cps);
    }
    return { ...s, checkpoints: cps };
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const rows = await this.q('select * from sessions where id = $1', [id]);
    return rows.length === 0 ? null : sessionOf(rows[0]!);
  }

  async deleteSession(id: string): Promise<boolean> {
    this.memo?.sessionGone(id);
    return (await this.q('delete from sessions where id = $1 returning id', [id])).length === 1;
  }

  async consumeSession(id: string): Promise<ConsumeOutcome> {
    this.memo?.sessionGone(id);
    // The whole race is this one statement: the row lock serialises the writers and the
    // second one re-reads consumed_at as set, so its WHERE fails and it gets no row.
    const won = await this.q(
      'update sessions set consumed_at = now() ' +
        'where id = $1 and consumed_at is null and expires_at > now() returning *',
      [id],
    );
    if (won.length === 1) return { ok: true, session: sessionOf(won[0]!) };
    return { ok: false, reason: await this.refusal('sessions', id) };
  }

  async sessionForEvidence(
    id: string,
    checkpoint?: { readonly register: string; readonly policyDigest: string },
  ): Promise<PeekOutcome> {
    const m = this.memo;
    if (m !== undefined) {
      // A session created here and not consumed since, with its attester's record and
      // checkpoint as read since their last write: nothing to read. The clock is the one
      // PGlite's now() reads.
      const at = new Date();
      const s = m.openSession(id, at);
      if (s !== undefined) {
        const aid = s.attesterId;
        const attester = aid === null ? null : m.attester(aid);
        const cp =
          checkpoint === undefined || aid === null
            ? null
            : m.checkpoint(aid, checkpoint.register, checkpoint.policyDigest);
        if (attester !== undefined && cp !== undefined) {
          return { ok: true, session: s, at, attester, checkpoint: cp };
        }
      }
    }
    // One read for the session, its attester and its checkpoint (each a statement before).
    const rows = await this.q(
      'select s.*, now() as db_now, s.consumed_at is not null as consumed, ' +
        's.expires_at <= now() as expired, ' +
        'a.id as a_id, a.kind as a_kind, a.ek_cert as a_ek_cert, a.ek_public as a_ek_public, ' +
        'a.platform_id as a_platform_id, a.relaxed as a_relaxed, a.created_at as a_created_at, ' +
        'a.ek_trust as a_ek_trust, ' +
        'c.attester_id as c_attester_id, c.register as c_register, ' +
        'c.policy_digest as c_policy_digest, c.version as c_version, c.boot_id as c_boot_id, ' +
        'c.value as c_value, c.result_id as c_result_id, c.updated_at as c_updated_at ' +
        'from sessions s left join attesters a on a.id = s.attester_id ' +
        'left join checkpoints c on c.attester_id = s.attester_id and c.register = $2 ' +
        'and c.policy_digest = $3 where s.id = $1',
      [id, checkpoint?.register ?? null, checkpoint?.policyDigest ?? null],
    );
    const r = rows[0];
    if (r === undefined) return { ok: false, reason: 'unknown' };
    if (r['consumed'] === true) return { ok: false, reason: 'reused' };
    if (r['expired'] === true) return { ok: false, reason: 'expired' };
    const session = sessionOf(r);
    const attester = r['a_id'] === null ? null : attesterOf(prefixed(r, 'a_'));
    if (session.attesterId !== null) this.memo?.attesterRead(session.attesterId, attester);
    return {
      ok: true,
      session,
      at: date(r['db_now']),
      attester,
      checkpoint: r['c_attester_id'] === null ? null : checkpointOf(prefixed(r, 'c_')),
    };
  }

  async finishSession(id: string, r: NewResult, move?: CheckpointMove): Promise<FinishOutcome> {
    const m = this.memo;
    if (m === undefined) return this.finishSessionUnmemo(id, r, move);
    // Forgotten before the statement: nothing may take the session from the memo meanwhile.
    m.sessionGone(id);
    let out: FinishOutcome | undefined;
    try {
      out = await this.finishSessionUnmemo(id, r, move);
      return out;
    } finally {
      if (move !== undefined) {
        if (out?.ok === true && out.checkpoint?.ok === true) {
          // the row as the statement wrote it: updated_at is its now(), the result's created_at
          m.checkpointMoved({
            ...move.key,
            version: out.checkpoint.version,
            bootId: move.bootId,
            value: JSON.parse(JSON.stringify(move.value ?? null)) as unknown,
            resultId: r.id,
            updatedAt: out.result.createdAt,
          });
        } else {
          m.checkpointWritten(move.key.attesterId, move.key.policyDigest);
        }
      }
    }
  }

  private async finishSessionUnmemo(
    id: string,
    r: NewResult,
    move?: CheckpointMove,
  ): Promise<FinishOutcome> {
    // One statement, so one commit: consume the nonce (the same conditional update, and race,
    // as consumeSession's), record the result only if that update won, and move the checkpoint
    // by compare-and-set only from that result and only when it passed with nothing relaxed.
    // A refused nonce writes nothing at all.
    const params: unknown[] = [
      r.id,
      id,
      r.attesterId,
      r.status,
      r.passed,
      JSON.stringify(r.relaxed),
      r.policyId,
      r.ear,
      findingsJson(r.findings),
    ];
    const consume =
      'with c as (update sessions set consumed_at = now(), result_id = $1 where id = $2 and ' +
      'consumed_at is null and expires_at > now() returning id), ' +
      'r as (insert into results (id, session_id, attester_id, status, passed, relaxed, ' +
      'policy_id, ear, findings) select $1, c.id, $3, $4, $5, $6::jsonb, $7, $8, $9 from c ' +
      'returning id, created_at, attester_id, passed, relaxed)';
    let sql: string;
    if (move === undefined) {
      sql = `${consume} select created_at, null::bigint as moved from r`;
    } else {
      params.push(
        move.key.attesterId,
        move.key.register,
        move.key.policyDigest,
        move.bootId,
        JSON.stringify(move.value ?? null),
      );
      // The trust rule reads the result row this statement inserts (a scan of `results` would
      // not see it: every part of one statement reads the same snapshot).
      const trusted = "r.attester_id = $10 and r.passed and r.relaxed = '[]'::jsonb";
      const m =
        move.expectedVersion === null
          ? 'm as (insert into checkpoints (attester_id, register, policy_digest, version, ' +
            `boot_id, value, result_id) select $10, $11, $12, 1, $13, $14::jsonb, r.id from r where ${trusted} ` +
            'on conflict do nothing returning version)'
          : 'm as (update checkpoints set version = version + 1, boot_id = $13, ' +
            'value = $14::jsonb, result_id = r.id, updated_at = now() from r ' +
            'where checkpoints.attester_id = $10 and checkpoints.register = $11 and ' +
            `checkpoints.policy_digest = $12 and checkpoints.version = $15 and ${trusted} ` +
            'returning checkpoints.version)';
      if (move.expectedVersion !== null) params.push(move.expectedVersion);
      sql = `${consume}, ${m} select r.created_at, (select version from m) as moved from r`;
    }
    const rows = await this.q(sql, params);
    if (rows.length === 0) return { ok: false, reason: await this.refusal('sessions', id) };
    const result: ResultRecord = {
      ...r,
      sessionId: id,
      findings: r.findings ?? null,
      createdAt: date(rows[0]!['created_at']),
    };
    if (move === undefined) return { ok: true, result };
    const moved = rows[0]!['moved'];
    const trusted = r.attesterId === move.key.attesterId && r.passed && r.relaxed.length === 0;
    return {
      ok: true,
      result,
      checkpoint:
        moved !== null && moved !== undefined
          ? { ok: true, version: int(moved) }
          : { ok: false, reason: trusted ? 'stale' : 'not-trusted' },
    };
  }

  private async refusal(table: 'sessions' | 'registrations', id: string): Promise<NonceRefusal> {
    const rows = await this.q(
      `select consumed_at is not null as consumed, expires_at <= now() as expired from ${table} where id = $1`,
      [id],
    );
    if (rows.length === 0) return 'unknown';
    return rows[0]!['consumed'] === true ? 'reused' : 'expired';
  }

  async setSessionResult(id: string, resultId: string): Promise<void> {
    await this.q('update sessions set result_id = $2 where id = $1', [id, resultId]);
  }

  async putAttester(a: Omit<AttesterRecord, 'createdAt'>): Promise<AttesterRecord> {
    this.memo?.attesterChanged(a.id);
    try {
      return await this.insertAttester(a);
    } finally {
      this.memo?.attesterChanged(a.id);
    }
  }

  private async insertAttester(a: Omit<AttesterRecord, 'createdAt'>): Promise<AttesterRecord> {
    try {
      const rows = await this.q(
        'insert into attesters (id, kind, ek_cert, ek_public, platform_id, relaxed, ek_trust) ' +
          'values ($1, $2, $3, $4, $5, $6::jsonb, $7) returning *',
        [
          a.id,
          a.kind,
          a.ekCert,
          a.ekPublic,
          a.platformId,
          JSON.stringify(a.relaxed),
          a.ekTrust ?? null,
        ],
      );
      return attesterOf(rows[0]!);
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new MrstackError('ERR_CONFLICT', `store: attester ${a.id} exists already`, {
          details: { attester: a.id },
        });
      }
      throw e;
    }
  }

  async getAttester(id: string): Promise<AttesterRecord | null> {
    const rows = await this.q('select * from attesters where id = $1', [id]);
    return rows.length === 0 ? null : attesterOf(rows[0]!);
  }

  async listAttesters(): Promise<AttesterRecord[]> {
    return (await this.q('select * from attesters order by id')).map(attesterOf);
  }

  async deleteAttester(id: string): Promise<boolean> {
    this.memo?.attesterChanged(id);
    try {
      return await this.db.transaction(async (tx) => {
        await tx.query('delete from checkpoints where attester_id = $1', [id]);
        const r = await tx.query('delete from attesters where id = $1 returning id', [id]);
        return r.rows.length === 1;
      });
    } finally {
      this.memo?.attesterChanged(id);
    }
  }

  async addAttesterKey(k: Omit<AttesterKeyRecord, 'createdAt'>): Promise<void> {
    await this.q(
      'insert into attester_keys (attester_id, ak_name, ak_public) values ($1, $2, $3) ' +
        'on conflict do nothing',
      [k.attesterId, k.akName, k.akPublic],
    );
  }

  async listAttesterKeys(attesterId: string): Promise<AttesterKeyRecord[]> {
    return (
      await this.q('select * from attester_keys where attester_id = $1 order by created_at', [
        attesterId,
      ])
    ).map(keyOf);
  }

  async findAttesterKey(akName: Uint8Array): Promise<AttesterKeyRecord | null> {
    const rows = await this.q('select * from attester_keys where ak_name = $1 limit 1', [akName]);
    return rows.length === 0 ? null : keyOf(rows[0]!);
  }

  async createRegistration(
    r: Omit<RegistrationRecord, 'expiresAt' | 'consumedAt'> & { ttlSeconds: number },
  ): Promise<RegistrationRecord> {
    const rows = await this.q(
      'insert into registrations (id, attester_id, secret_digest, ek_cert, ek_public, ak_public, ' +
        'ak_name, relaxed, expires_at, ek_trust) values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, ' +
        'now() + make_interval(secs => $9::double precision), $10) returning *',
      [
        r.id,
        r.attesterId,
        r.secretDigest,
        r.ekCert,
        r.ekPublic,
        r.akPublic,
        r.akName,
        JSON.stringify(r.relaxed),
        r.ttlSeconds,
        r.ekTrust ?? null,
      ],
    );
    return registrationOf(rows[0]!);
  }

  async consumeRegistration(id: string): Promise<RegistrationOutcome> {
    const won = await this.q(
      'update registrations set consumed_at = now() ' +
        'where id = $1 and consumed_at is null and expires_at > now() returning *',
      [id],
    );
    if (won.length === 1) return { ok: true, registration: registrationOf(won[0]!) };
    return { ok: false, reason: await this.refusal('registrations', id) };
  }

  async pendingRegistration(attesterId: string): Promise<string | null> {
    const rows = await this.q(
      'select id from registrations where attester_id = $1 and consumed_at is null and ' +
        'expires_at > now() order by created_at desc, id limit 1',
      [attesterId],
    );
    return rows.length === 0 ? null : str(rows[0]!['id']);
  }

  async putResult(r: NewResult): Promise<ResultRecord> {
    // One statement records the result and links its session to it (one round trip, one
    // commit: on PGlite each statement is a commit of its own).
    const rows = await this.q(
      'with r as (insert into results (id, session_id, attester_id, status, passed, relaxed, ' +
        'policy_id, ear, findings) values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9) ' +
        'returning id, created_at), s as (update sessions set result_id = r.id from r ' +
        'where sessions.id = $2) select created_at from r',
      [
        r.id,
        r.sessionId,
        r.attesterId,
        r.status,
        r.passed,
        JSON.stringify(r.relaxed),
        r.policyId,
        r.ear,
        findingsJson(r.findings),
      ],
    );
    // Only the database's timestamp comes back: reading the findings JSON back was most of
    // the statement's cost.
    return { ...r, findings: r.findings ?? null, createdAt: date(rows[0]!['created_at']) };
  }

  async getResult(id: string): Promise<ResultRecord | null> {
    const rows = await this.q('select * from results where id = $1', [id]);
    return rows.length === 0 ? null : resultOf(rows[0]!);
  }

  async listResults(q: { attesterId?: string; limit: number }): Promise<ResultRecord[]> {
    const limit = Math.max(1, Math.min(1000, Math.trunc(q.limit)));
    const rows =
      q.attesterId === undefined
        ? await this.q('select * from results order by created_at desc, id limit $1', [limit])
        : await this.q(
            'select * from results where attester_id = $1 order by created_at desc, id limit $2',
            [q.attesterId, limit],
          );
    return rows.map(resultOf);
  }

  async latestResults(): Promise<ResultRecord[]> {
    const rows = await this.q(
      'select distinct on (attester_id) * from results where attester_id is not null ' +
        'order by attester_id, created_at desc, id',
    );
    return rows.map(resultOf);
  }

  async getCheckpoint(key: CheckpointKey): Promise<CheckpointRecord | null> {
    const rows = await this.q(
      'select * from checkpoints where attester_id = $1 and register = $2 and policy_digest = $3',
      [key.attesterId, key.register, key.policyDigest],
    );
    return rows.length === 0 ? null : checkpointOf(rows[0]!);
  }

  async listCheckpoints(attesterId: string): Promise<CheckpointRecord[]> {
    const rows = await this.q(
      'select * from checkpoints where attester_id = $1 order by updated_at desc, register, policy_digest',
      [attesterId],
    );
    return rows.map(checkpointOf);
  }

  async advanceCheckpoint(
    key: CheckpointKey,
    expectedVersion: number | null,
    next: { bootId: string | null; value: unknown; resultId: string },
  ): Promise<AdvanceOutcome> {
    this.memo?.checkpointWritten(key.attesterId, key.policyDigest);
    try {
      return await casCheckpoint(this.db, key, expectedVersion, next);
    } finally {
      this.memo?.checkpointWritten(key.attesterId, key.policyDigest);
    }
  }

  async putPolicy(p: Omit<PolicyRecord, 'createdAt'>): Promise<{ created: boolean }> {
    // A version is addressed by its digest: when it is stored, its body (a million-path IMA
    // allowlist is ~140 MB of JSON) is neither sent again nor read back — every `verifier
    // serve --policy` start puts its policies.
    const had = await this.q('select 1 from policies where id = $1 and digest = $2', [
      p.id,
      p.digest,
    ]);
    if (had.length > 0) return { created: false };
    const rows = await this.q(
      'insert into policies (id, digest, body) values ($1, $2, $3::jsonb) ' +
        'on conflict do nothing returning created_at',
      [p.id, p.digest, JSON.stringify(p.body)],
    );
    return { created: rows.length === 1 };
  }

  async getPolicy(id: string, digest?: string): Promise<PolicyRecord | null> {
    const rows =
      digest === undefined
        ? await this.q(
            'select * from policies where id = $1 order by created_at desc, digest limit 1',
            [id],
          )
        : await this.q('select * from policies where id = $1 and digest = $2', [id, digest]);
    return rows.length === 0 ? null : policyOf(rows[0]!);
  }

  async putSigningKey(
    k: Omit<SigningKeyRecord, 'createdAt' | 'retiredAt'>,
  ): Promise<SigningKeyRecord> {
    const rows = await this.q(
      'insert into signing_keys (kid, alg, public_jwk, sealed_private) values ($1, $2, $3::jsonb, $4) ' +
        'on conflict (kid) do update set kid = excluded.kid returning *',
      [k.kid, k.alg, JSON.stringify(k.publicJwk), k.sealedPrivate],
    );
    return signingKeyOf(rows[0]!);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return (await this.q('select * from signing_keys order by created_at desc, kid')).map(
      signingKeyOf,
    );
  }

  async retireSigningKeys(keepKid: string): Promise<number> {
    return (
      await this.q(
        'update signing_keys set retired_at = now() where retired_at is null and kid <> $1 returning kid',
        [keepKid],
      )
    ).length;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
