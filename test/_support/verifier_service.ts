/**
 * Shared set-up of the verifier-service tests: `mrstack verifier serve` from the built CLI as a
 * child process (resolved once it printed its `{"listening": …}` line, stopped with SIGTERM), and
 * a small JSON/bytes HTTP helper for its API.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { SessionJson } from '../../src/verifier/service/client.js';
import { runCliJson } from './cli.js';
import { CLI_PATH } from './paths.js';

/** A running `mrstack verifier serve`. */
export interface ServedVerifier {
  readonly proc: ChildProcess;
  /** `http://127.0.0.1:PORT` (or what `--listen`/`--socket` made it). */
  readonly url: string;
  /** The EAR signing key's id. */
  readonly kid: string;
  /** What it wrote to stderr so far. */
  readonly stderr: () => string;
  /** SIGTERM, then waits for the exit (nothing when it exited already). */
  stop(): Promise<void>;
}

/** A fresh key-encryption key (`MRSTACK_VERIFIER_KEK`) and admin token for one test file. */
export function verifierEnv(): {
  readonly MRSTACK_VERIFIER_KEK: string;
  readonly MRSTACK_VERIFIER_ADMIN_TOKEN: string;
} {
  return {
    MRSTACK_VERIFIER_KEK: randomBytes(32).toString('hex'),
    MRSTACK_VERIFIER_ADMIN_TOKEN: randomBytes(16).toString('hex'),
  };
}

/**
 * `mrstack verifier serve --log-level warn ARGS` with `env` added to this process's environment.
 * Rejects when it exits before printing its listening line.
 */
export async function startVerifier(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Promise<ServedVerifier> {
  const proc = spawn(
    process.execPath,
    [CLI_PATH, 'verifier', 'serve', '--log-level', 'warn', ...args],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.on('exit', (code) => reject(new Error(`verifier serve exited ${String(code)}: ${err}`)));
  });
  const ready = JSON.parse(line) as { listening: string; kid: string };
  return {
    proc,
    url: ready.listening,
    kid: ready.kid,
    stderr: () => err,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * `mrstack verifier serve` on a free 127.0.0.1 port with an embedded store at `store`, trusting
 * the roots of the emulated TVM at `tvm` (whose PKI also issues the collateral its evidence
 * needs), `extra` options after (`--session-ttl`, `--policy` …).
 */
export function serveEmulatedTvm(
  tvm: string,
  store: string,
  env: Readonly<Record<string, string>>,
  extra: readonly string[] = [],
): Promise<ServedVerifier> {
  return startVerifier(
    ['--listen', '127.0.0.1:0', '--store', `embedded:${store}`, '--trust-emulated', '--tvm-state', tvm, ...extra], // prettier-ignore
    env,
  );
}

/**
 * `mrstack verifier challenge --verifier URL --attester ID [--tenant NAME]`: the session it
 * opened (with the positions to send since); fails unless it exits 0.
 */
export async function cliChallenge(
  url: string,
  attester: string,
  tenant?: string,
): Promise<SessionJson> {
  const c = await runCliJson([
    'verifier', 'challenge', '--verifier', url, '--attester', attester,
    ...(tenant === undefined ? [] : ['--tenant', tenant]),
  ]); // prettier-ignore
  assert.equal(c.result.code, 0, c.result.stderr);
  return c.json as SessionJson;
}

/**
 * One request to the service: a string body is sent as JSON, bytes as
 * `application/octet-stream`, an object is serialised; the answer is parsed as JSON (`{}` when
 * empty).
 */
export async function verifierHttp(
  url: string,
  method: string,
  path: string,
  body?: Uint8Array | string | Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  let payload: Buffer | string | undefined;
  let type: string | undefined;
  if (body instanceof Uint8Array) {
    payload = Buffer.from(body);
    type = 'application/octet-stream';
  } else if (typeof body === 'string') {
    payload = body;
    type = 'application/json';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    type = 'application/json';
  }
  const res = await fetch(new URL(path, url), {
    method,
    headers: { ...(type === undefined ? {} : { 'content-type': type }), ...headers },
    ...(payload === undefined ? {} : { body: payload }),
  });
  const text = await res.text();
  return {
    status: res.status,
    json: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
  };
}
