/** Runs the built `mrstack` CLI as a child process and captures its output. */
import { spawn } from 'node:child_process';
import { CLI_PATH } from './paths.js';

/** What a CLI run printed and how it exited. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@link runCli}. */
export interface RunCliOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string | Uint8Array;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/** Runs `mrstack ...args` and resolves when it exits. */
export function runCli(args: readonly string[], opts: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 60_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Runs the CLI and parses its stdout as JSON. */
export async function runCliJson(
  args: readonly string[],
  opts: RunCliOptions = {},
): Promise<{ result: CliResult; json: unknown }> {
  const result = await runCli(args, opts);
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    throw new Error(
      `mrstack ${args.join(' ')}: stdout is not JSON (exit ${String(result.code)}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return { result, json };
}
