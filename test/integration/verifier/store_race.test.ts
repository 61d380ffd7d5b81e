// Races and crashes against the real stores, in separate processes (DESIGN §6.5): two processes
// racing for the same 1,000 nonces on PostgreSQL (exactly one wins each, no table-level lock in
// pg_locks while they race); processes SIGKILLed while they consume nonces and advance a shared
// checkpoint, on PostgreSQL and on the embedded store: no consumed nonce becomes usable again
// and the checkpoint never advances twice from one version.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { REPO_ROOT } from '../../_support/paths.js';
import { startPostgres, type PgServer } from '../../_support/postgres.js';
import { openStore } from '../../../src/verifier/store/open_store.js';

const WORKER = join(REPO_ROOT, 'dist', 'test', '_support', 'store_worker.js');
const root = mkdtempSync(join(tmpdir(), 'mrstack-race-'));
let server: PgServer | undefined;

before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

interface Worker {
  proc: ChildProcess;
  lines: string[];
  ready: Promise<void>;
  exited: Promise<number | null>;
  onLine(fn: (line: string) => void): void;
}

function worker(args: string[]): Worker {
  const proc = spawn(process.execPath, [WORKER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners: ((l: string) => void)[] = [];
  let buf = '';
  let err = '';
  let readyFn: () => void = () => undefined;
  const ready = new Promise<void>((r) => (readyFn = r));
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) {
      if (l === 'ready') readyFn();
      lines.push(l);
      for (const fn of listeners) fn(l);
    }
  });
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) =>
    proc.on('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`store_worker ${args[0]}: ${err}\n`);
      r(code);
    }),
  );
  return { proc, lines, ready, exited, onLine: (fn) => listeners.push(fn) };
}

describe('PostgreSQL: two processes race for 1,000 nonces', () => {
  for (const mode of ['race', 'race-finish'] as const) {
    test(`${mode === 'race' ? 'consumeSession' : 'finishSession (consume + result)'}: exactly one process wins each nonce, and no table-level lock is taken`, async () => {
      const url = server!.createDatabase(mode);
      const store = await openStore(url);
      const N = 1000;
      for (let i = 0; i < N; i++) {
        await store.createSession({ id: `race-${i}`, nonce: randomBytes(32), ttlSeconds: 600 });
      }
      const a = worker([mode, url]);
      const b = worker([mode, url]);
      await Promise.all([a.ready, b.ready]);

      // Sample pg_locks on the sessions table from a third connection while the race runs.
      const mon = new pg.Client({ connectionString: url });
      await mon.connect();
      const modes = new Map<string, number>();
      let racing = true;
      const sampler = (async () => {
        while (racing) {
          const r = await mon.query(
            "select l.locktype, l.mode from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'sessions' and l.pid <> pg_backend_pid()",
          );
          for (const row of r.rows as { locktype: string; mode: string }[]) {
            const k = `${row.locktype}:${row.mode}`;
            modes.set(k, (modes.get(k) ?? 0) + 1);
          }
        }
      })();
      // Lockstep: both racers get index i together (the first to be told alternates), and the
      // next index goes out only when both have answered.
      const answered = (w: Worker, n: number): Promise<void> =>
        new Promise((res) => {
          const check = (): void => {
            if (w.lines.length >= n) res();
            else setTimeout(check, 0);
          };
          check();
        });
      for (let i = 0; i < N; i++) {
        const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
        first.proc.stdin!.write(`${i}\n`);
        second.proc.stdin!.write(`${i}\n`);
        // +1: the "ready" line.
        await Promise.all([answered(a, i + 2), answered(b, i + 2)]);
      }
      a.proc.stdin!.write('end\n');
      b.proc.stdin!.write('end\n');
      assert.equal(await a.exited, 0);
      assert.equal(await b.exited, 0);
      racing = false;
      await sampler;
      await mon.end();

      const winsA = a.lines.filter((l) => l.startsWith('W ')).map((l) => l.slice(2));
      const winsB = b.lines.filter((l) => l.startsWith('W ')).map((l) => l.slice(2));
      const setA = new Set(winsA);
      assert.equal(winsA.length + winsB.length, N, 'every nonce won once in total');
      assert.deepEqual(
        winsB.filter((id) => setA.has(id)),
        [],
        'no nonce won twice',
      );
      assert.equal(new Set([...winsA, ...winsB]).size, N);
      // Every answer was a win or a loss to the other racer, never another refusal.
      assert.deepEqual(
        [...a.lines, ...b.lines].filter((l) => l.startsWith('X ')),
        [],
      );
      // Both processes were really racing (each won some).
      assert.ok(winsA.length > 0 && winsB.length > 0, `wins ${winsA.length}/${winsB.length}`);
      // The sampler saw the writers' intent lock on the table (RowExclusiveLock, which conflicts
      // with no other writer) and nothing stronger at the table level. Waits show up as tuple
      // locks: row-level, on the one contested row.
      const sampled = [...modes.keys()].join(',');
      assert.ok((modes.get('relation:RowExclusiveLock') ?? 0) > 0, `sampled: ${sampled}`);
      const tableLocks = [
        'ShareLock',
        'ShareRowExclusiveLock',
        'ExclusiveLock',
        'AccessExclusiveLock',
      ];
      assert.deepEqual(
        [...modes.keys()].filter((m) => tableLocks.some((t) => m === `relation:${t}`)),
        [],
        `sampled: ${sampled}`,
      );
      // And the database agrees: all consumed.
      const left = await store.consumeSession('race-0');
      assert.deepEqual(left, { ok: false, reason: 'reused' });
      if (mode === 'race-finish') {
        // One result per nonce, the winner's.
        const results = await store.listResults({ attesterId: 'race', limit: 1000 });
        assert.equal(results.length, N);
        assert.equal(new Set(results.map((r) => r.sessionId)).size, N);
      }
      await store.close();
    });
  }
});

async function churnWithKills(
  spec: string,
  total: number,
  kills: number,
  parallel: number,
): Promise<void> {
  const consumed: string[] = [];
  const advances: number[] = [];
  // A kill round's workers get the whole count each, so they are still working when the kill
  // comes however far past its threshold the lines were read (a test process descheduled for a
  // moment reads a pipe full of them at once): with only the remaining count, a late read could
  // let a round finish before its kill. Each kill round must end by the kill; the last round
  // does what is left.
  for (let round = 0; round <= kills; round++) {
    const kill = round < kills;
    const left = total - consumed.length;
    if (!kill && left <= 0) break;
    const killAt = kill ? consumed.length + Math.ceil(total / (kills + 1)) : Infinity;
    const ws = Array.from({ length: parallel }, (_, i) =>
      worker(['churn', spec, String(kill ? total : Math.ceil(left / parallel)), `r${round}p${i}`]),
    );
    for (const w of ws) {
      w.onLine((l) => {
        if (l.startsWith('C ')) consumed.push(l.slice(2));
        else if (l.startsWith('A ')) advances.push(Number(l.slice(2)));
        if (consumed.length >= killAt) for (const x of ws) x.proc.kill('SIGKILL');
      });
    }
    const codes = await Promise.all(ws.map((w) => w.exited));
    if (kill)
      assert.deepEqual(
        codes,
        ws.map(() => null),
        `round ${round}: every worker was killed`,
      );
    else
      assert.deepEqual(
        codes,
        ws.map(() => 0),
        `round ${round}: every worker finished`,
      );
  }
  assert.ok(consumed.length >= total);

  const store = await openStore(spec);
  try {
    // No consumed nonce is usable again, whichever process was killed when.
    for (const id of consumed) {
      assert.deepEqual(await store.consumeSession(id), { ok: false, reason: 'reused' }, id);
      // Consumed and recorded together: the session names its result and the result exists.
      assert.equal((await store.getSession(id))!.resultId, `res-${id}`, id);
      assert.equal((await store.getResult(`res-${id}`))?.sessionId, id, id);
    }
    // Each advance moved the version by one and the carried counter by one: a double advance
    // from one read would leave count < version.
    const cp = await store.getCheckpoint({
      attesterId: 'churn',
      register: 'pcr10',
      policyDigest: 'sha256:churn',
    });
    assert.ok(cp !== null);
    assert.equal((cp.value as { count: number }).count, cp.version);
    assert.equal(new Set(advances).size, advances.length, 'no version was reported twice');
    assert.ok(cp.version >= advances.length);
  } finally {
    await store.close();
  }
}

describe('SIGKILL mid-request', () => {
  test('PostgreSQL: 3 processes killed 3 times over 600 sessions lose no consumed nonce or checkpoint', async () => {
    await churnWithKills(server!.createDatabase('churn'), 600, 3, 3);
  });

  test('embedded: the service killed 3 times during 1,000 sessions; reopened, no consumed nonce is reusable', async () => {
    await churnWithKills(`embedded:${join(root, 'embedded')}`, 1000, 3, 1);
  });
});
