/**
 * One owner per log directory and per register (DESIGN §5 "One owner"): the agent binds an
 * abstract unix socket per resource for its whole life — `\0mrstack/log/<sha256(realpath(dir))>`,
 * `\0mrstack/reg/<device>/<mr>` (and `\0mrstack/run/…` for the socket directory). Binding is
 * atomic, the kernel releases the name when the process dies (SIGKILL included), and nothing is
 * left on disk to go stale: no pid file, no flock (Node has none). A second agent finds the name
 * taken, connects to it and reads the owner's pid, which the owner answers every connection with
 * (Node cannot read SO_PEERCRED).
 *
 * @module
 */
import * as net from 'node:net';
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { AgentError } from '../errors.js';

/** What the owner answers on its lock socket (one JSON line). */
export interface LockOwner {
  readonly pid: number;
  readonly lock: string;
  readonly [k: string]: unknown;
}

const MAX_NAME = 100; // sun_path holds 108 bytes, the leading NUL included

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** The lock name of a log directory (created if missing, so that its real path exists). */
export function logDirLockName(logDir: string): string {
  // parents as any directory (the run directory above must stay traversable), the logs private
  fs.mkdirSync(dirname(logDir), { recursive: true, mode: 0o755 });
  fs.mkdirSync(logDir, { recursive: true, mode: 0o700 });
  return `mrstack/log/${sha256(fs.realpathSync(logDir))}`;
}

/** The lock name of a socket directory. */
export function runDirLockName(runDir: string): string {
  fs.mkdirSync(runDir, { recursive: true, mode: 0o755 });
  return `mrstack/run/${sha256(fs.realpathSync(runDir))}`;
}

/** The lock name of a register: `mrstack/reg/<device>/<mr>` (a long device id is hashed). */
export function registerLockName(device: string, register: string): string {
  const name = `mrstack/reg/${device}/${register}`;
  return name.length <= MAX_NAME ? name : `mrstack/reg/${sha256(device).slice(0, 32)}/${register}`;
}

function listen(server: net.Server, name: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const onError = (e: NodeJS.ErrnoException): void => resolve(e);
    server.once('error', onError);
    server.listen({ path: `\0${name}` }, () => {
      server.off('error', onError);
      resolve(undefined);
    });
  });
}

/** Asks the owner of `name` who it is; undefined when nobody answers (it just died). */
function askOwner(name: string, timeoutMs = 2000): Promise<LockOwner | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ path: `\0${name}` });
    let text = '';
    const done = (v: LockOwner | undefined): void => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(undefined));
    s.on('data', (b: Buffer) => {
      text += b.toString('utf8');
      if (text.length > 4096) done(undefined);
    });
    s.on('error', () => done(undefined));
    s.on('end', () => {
      try {
        const j = JSON.parse(text) as Partial<LockOwner>;
        done(typeof j.pid === 'number' ? ({ ...j, lock: name } as LockOwner) : undefined);
      } catch {
        done(undefined);
      }
    });
  });
}

/** One held lock; {@link release} it (or let the process die). */
export class OwnerLock {
  readonly name: string;
  readonly #server: net.Server;

  private constructor(name: string, server: net.Server) {
    this.name = name;
    this.#server = server;
  }

  /**
   * Takes the lock `name`, answering every connection with `{pid, lock, …info}`.
   * @param what names the resource in the error ("log directory /run/mrstack/log").
   * @throws AgentError `ERR_AGENT_RUNNING` (details: the owner's `pid`, `lock`) when a live
   *   process holds it
   */
  static async acquire(
    name: string,
    what: string,
    info: Readonly<Record<string, unknown>> = {},
  ): Promise<OwnerLock> {
    const answer = `${JSON.stringify({ ...info, pid: process.pid, lock: name })}\n`;
    for (let attempt = 0; ; attempt++) {
      const server = net.createServer((s) => {
        s.on('error', () => undefined);
        s.end(answer);
      });
      const err = await listen(server, name);
      if (err === undefined) {
        server.unref(); // the lock must not keep a process alive that is otherwise done
        return new OwnerLock(name, server);
      }
      if (err.code !== 'EADDRINUSE') {
        throw new AgentError('ERR_IO', `lock ${name}: ${err.message}`, { cause: err });
      }
      const owner = await askOwner(name);
      if (owner !== undefined) {
        throw new AgentError(
          'ERR_AGENT_RUNNING',
          `${what} is owned by a running agent (pid ${owner.pid}); stop it first`,
          { details: { pid: owner.pid, lock: name } },
        );
      }
      // the owner died between our bind and our question: its name is free now (or soon)
      if (attempt >= 20) {
        throw new AgentError(
          'ERR_AGENT_RUNNING',
          `${what} is locked (${name}) by a process that does not answer`,
          { details: { lock: name } },
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Releases the name. */
  release(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** Takes several locks in order; on failure releases those taken. */
export async function acquireAll(
  locks: readonly { name: string; what: string; info?: Readonly<Record<string, unknown>> }[],
): Promise<OwnerLock[]> {
  const held: OwnerLock[] = [];
  try {
    for (const l of locks) held.push(await OwnerLock.acquire(l.name, l.what, l.info));
    return held;
  } catch (e) {
    for (const h of held) await h.release();
    throw e;
  }
}
