/** Runs the built `mrstack` CLI as a child process and captures its output. */
import assert from 'node:assert/strict';
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
      // generous: a CLI run that takes seconds alone took 10x as long at load 15; a hang is
      // still caught here and by the tests' own timeouts
      timeout: opts.timeoutMs ?? 300_000,
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

/** The `error` object a failed `--json` run prints: its code and the error's context fields. */
export type CliErrorJson = { readonly code: string } & Readonly<Record<string, unknown>>;

/** The `error` of a `--json` run's output; fails the test when the output is not an error. */
export function cliError(json: unknown): CliErrorJson {
  const error = (json as { error?: unknown } | null)?.error;
  assert.ok(
    typeof error === 'object' && error !== null && typeof (error as CliErrorJson).code === 'string',
    `expected {"error": {"code": …}}, got ${JSON.stringify(json)}`,
  );
  return error as CliErrorJson;
}

/** The flags of `mrstack evidence verify` the tests use, named after their options. */
export interface EvidenceVerifyFlags {
  /** `--collateral <path>`; `false` is `--no-collateral`. */
  readonly collateral?: string | false;
  readonly cert?: string;
  readonly trustAnchor?: string;
  readonly trustEmulated?: boolean;
  readonly nonce?: string;
  readonly userData?: string;
  readonly at?: string;
  /** `--trusted-checkpoint <spec|file>` (agent bundles). */
  readonly trustedCheckpoint?: string;
  /** `--relax a,b`: relaxations named by the test (each then appears in `relaxed`). */
  readonly relax?: readonly string[];
  /** `--tvm-state DIR`: whose emulated roots `--trust-emulated` trusts. */
  readonly tvmState?: string;
  /** `--ima-events all|unverified` (ima bundles: which entries `claims.events` lists). */
  readonly imaEvents?: 'all' | 'unverified';
}

/** What `evidence verify --json` prints (the fields the tests read). */
export interface EvidenceVerifyJson {
  readonly verified: boolean;
  readonly kind: string;
  readonly tcbStatus?: string;
  readonly advisories?: string[];
  readonly claims: Record<string, unknown>;
  readonly checks: Record<string, string>;
  readonly errors: { code: string; message: string; check?: string }[];
  readonly warnings: string[];
  readonly trust: {
    root: string | null;
    emulated: boolean;
    anchor?: { sha256: string; subject: string };
  };
  readonly skipped: Record<string, string>;
  readonly relaxed: string[];
}

/** The arguments of `mrstack evidence verify <file>` with `flags` (no `--json`). */
export function evidenceVerifyArgs(file: string, flags: EvidenceVerifyFlags = {}): string[] {
  const args = ['evidence', 'verify', file];
  if (flags.collateral === false) args.push('--no-collateral');
  else if (flags.collateral !== undefined) args.push('--collateral', flags.collateral);
  if (flags.cert !== undefined) args.push('--cert', flags.cert);
  if (flags.trustAnchor !== undefined) args.push('--trust-anchor', flags.trustAnchor);
  if (flags.trustEmulated === true) args.push('--trust-emulated');
  if (flags.nonce !== undefined) args.push('--nonce', flags.nonce);
  if (flags.userData !== undefined) args.push('--user-data', flags.userData);
  if (flags.at !== undefined) args.push('--at', flags.at);
  if (flags.trustedCheckpoint !== undefined) {
    args.push('--trusted-checkpoint', flags.trustedCheckpoint);
  }
  if (flags.relax !== undefined && flags.relax.length > 0) {
    args.push('--relax', flags.relax.join(','));
  }
  if (flags.tvmState !== undefined) args.push('--tvm-state', flags.tvmState);
  if (flags.imaEvents !== undefined) args.push('--ima-events', flags.imaEvents);
  return args;
}

/**
 * Runs `mrstack evidence verify <file> … --json`. `json` is typed as the verify result; a run
 * that fails before verifying prints `{ error }` instead (read it with {@link cliError}).
 */
export async function verifyEvidenceJson(
  file: string,
  flags: EvidenceVerifyFlags = {},
): Promise<{ result: CliResult; json: EvidenceVerifyJson }> {
  const { result, json } = await runCliJson([...evidenceVerifyArgs(file, flags), '--json']);
  return { result, json: json as EvidenceVerifyJson };
}
