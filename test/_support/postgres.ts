/**
 * A real PostgreSQL server for one test file: Debian's `initdb` and `postgres` (they refuse to
 * run as root, so they run as the `postgres` user through `setpriv`), data in a temp dir,
 * listening only on a unix socket in that dir, stopped when the tests end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's PostgreSQL 15 server binaries live (package `postgresql`). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A running test server. */
export interface PgServer {
  /** A `postgresql://` URL for the `postgres` superuser over the unix socket. */
  readonly url: string;
  /** The postmaster's pid (its backends are its children). */
  readonly pid: number;
  /** A URL for another database on the same server (created with {@link createDatabase}). */
  urlFor(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): string;
  /** Runs one SQL statement with psql and returns its unaligned output. */
  psql(sql: string, database?: string): string;
  stop(): Promise<void>;
}

function idOf(user: string): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

function asPostgres(cmd: string, args: readonly string[]): string[] {
  // setpriv execs the command in place (runuser forks and keeps the pid), so the signal that
  // stops the server reaches postgres itself.
  return process.getuid?.() === 0
    ? ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--', cmd, ...args]
    : [cmd, ...args];
}

/** Starts a fresh server; throws when the binaries are missing (scripts/test.sh installs them). */
export async function startPostgres(): Promise<PgServer> {
  if (!existsSync(join(PG_BIN, 'postgres'))) {
    throw new Error(
      `PostgreSQL server binaries not found in ${PG_BIN} (apt-get install postgresql)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-pg-'));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  if (process.getuid?.() === 0) {
    const { uid, gid } = idOf('postgres');
    chownSync(dir, uid, gid);
    chownSync(sock, uid, gid);
  }
  const initArgv = asPostgres(join(PG_BIN, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '--no-sync',
  ]);
  const init = spawnSync(initArgv[0]!, initArgv.slice(1), { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const argv = asPostgres(join(PG_BIN, 'postgres'), [
    '-D',
    data,
    '-k',
    sock,
    '-p',
    String(port),
    '-c',
    'listen_addresses=',
    '-c',
    'max_connections=200',
  ]);
  const proc: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const url = (db: string): string =>
    `postgresql://postgres@/${db}?host=${encodeURIComponent(sock)}&port=${port}`;
  const psql = (sql: string, database = 'postgres'): string => {
    const r = spawnSync(
      join(PG_BIN, 'psql'),
      ['-h', sock, '-p', String(port), '-U', 'postgres', '-d', database, '-At', '-c', sql],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  const deadline = Date.now() + 120_000; // generous: the machine may be loaded
  for (;;) {
    const r = spawnSync(join(PG_BIN, 'pg_isready'), ['-h', sock, '-p', String(port)]);
    if (r.status === 0) break;
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`postgres did not start: ${log}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    url: url('postgres'),
    pid: proc.pid!,
    urlFor: url,
    createDatabase(name: string): string {
      psql(`create database "${name}"`);
      return url(name);
    },
    psql,
    async stop(): Promise<void> {
      if (proc.exitCode === null) {
        const exited = new Promise((res) => proc.once('exit', res));
        proc.kill('SIGINT'); // fast shutdown
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
