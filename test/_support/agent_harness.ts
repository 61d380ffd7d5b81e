/**
 * Shared set-up of the agent tests: an emulated TDX in a temp folder (in-process agents), and the
 * built CLI's `agent start` as a child process with its tenants (end-to-end tests), plus the
 * `event append` and `evidence verify` invocations those tests repeat.
 */
import * as fs from 'node:fs';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { initEmulatedTvm } from '../../src/providers/emulated/tvm_state.js';
import { openEmulatedProvider } from '../../src/providers/emulated/emulated_provider.js';
import type { Provider } from '../../src/providers/provider.js';
import { Agent, type AgentOptions } from '../../src/agent/agent.js';
import { runCli, runCliJson, verifyEvidenceJson, type CliResult } from './cli.js';
import { tempDir } from './tmp.js';
import { CLI_PATH, REPO_ROOT } from './paths.js';

/** The test-only entry of `agent start` with the agent's hooks (`agent_entry.ts`). */
export const AGENT_ENTRY: string = join(REPO_ROOT, 'dist', 'test', '_support', 'agent_entry.js');

/** Initializes an emulated TDX in `dir` and opens it. */
export async function emulatedTdx(dir: string): Promise<Provider> {
  await initEmulatedTvm({ stateDir: dir, profile: 'tdx' });
  return openEmulatedProvider({ stateDir: dir });
}

/** A temp folder (removed after the test) with an emulated TDX in `tvm/`; logs go to `log/`. */
export async function agentFixture(
  t: TestContext,
  tag: string,
): Promise<{ dir: string; tvm: string; provider: Provider; logDir: string }> {
  const dir = tempDir(t, `mrstack-${tag}-`);
  const tvm = join(dir, 'tvm');
  const provider = await emulatedTdx(tvm);
  return { dir, tvm, provider, logDir: join(dir, 'log') };
}

/** An in-process agent owning `rtmr3`, boot id `b` unless `more` says otherwise. */
export function openAgent(
  provider: Provider,
  logDir: string,
  more: Partial<AgentOptions> = {},
): Promise<Agent> {
  return Agent.open({ provider, register: 'rtmr3', logDir, bootId: 'b', ...more });
}

/** How a spawned agent ended. */
export interface AgentExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** `mrstack agent start` running as a child process. */
export interface SpawnedAgent {
  readonly child: ChildProcess;
  /** Settles when the process has exited, with its exit code or signal. */
  readonly exited: Promise<AgentExit>;
  /** What it wrote so far. */
  readonly output: { stdout: string; stderr: string };
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Options of {@link spawnAgent}. */
export interface SpawnOptions {
  /** Run the test-only entry with hooks (`agent_entry.ts`) instead of the CLI's main. */
  readonly withHooks?: boolean;
  /** Resolve as soon as stdout contains this (default `"ready":true`). */
  readonly until?: string;
}

/** Starts `mrstack agent start ARGS --json` and resolves once it printed `"ready":true`. */
export function spawnAgent(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  opts: SpawnOptions = {},
): Promise<SpawnedAgent> {
  const child = startAgentProcess(args, env, opts);
  const until = opts.until ?? '"ready":true';
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (child.output.stdout.includes(until)) resolve(child);
    };
    child.child.stdout!.on('data', check);
    void child.exited.then((x) =>
      reject(
        new Error(
          `agent exited (${x.code ?? x.signal}) before ready: ${child.output.stdout} ${child.output.stderr}`,
        ),
      ),
    );
  });
}

/** Starts `agent start ARGS --json` without waiting for anything. */
export function startAgentProcess(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  opts: SpawnOptions = {},
): SpawnedAgent {
  const entry = opts.withHooks === true ? AGENT_ENTRY : CLI_PATH;
  const child = spawn(process.execPath, [entry, 'agent', 'start', ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (b: Buffer) => (output.stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output.stderr += b.toString()));
  const exited = new Promise<AgentExit>((r) =>
    child.once('close', (code, signal) => r({ code, signal })),
  );
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
  };
  return { child, exited, output, stop };
}

/** An agent started through the CLI over a fresh emulated TDX, with its tenants. */
export interface CliAgent {
  readonly dir: string;
  readonly tvm: string;
  /** The run directory (sockets; logs under `log/`). */
  readonly run: string;
  readonly agent: SpawnedAgent;
  /** A tenant's socket. */
  readonly sock: (tenant: string) => string;
}

/** Where an emulated TVM and its agent live. */
export interface AgentPaths {
  /** The TVM's state directory. */
  readonly tvm: string;
  /** The agent's run directory (sockets; logs under `log/`). */
  readonly run: string;
  /** The tenants file written for it. */
  readonly tenantsFile: string;
}

/** What {@link initTvmWithAgent} runs. */
export interface TvmAgentOptions {
  readonly profile?: 'tdx' | 'tpm' | 'cca';
  /** One vMR per tenant, named after it. */
  readonly tenants: readonly string[];
  /** Extra `emulate init` arguments (`--debug`, `--tcb-status …`). */
  readonly initArgs?: readonly string[];
  /** Extra `agent start` arguments. */
  readonly agentArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * `emulate init --profile PROFILE INITARGS`, a tenants file and `agent start AGENTARGS` on it
 * (the agent owns the profile's default register); the agent is stopped after the test.
 */
export async function initTvmWithAgent(
  t: TestContext,
  paths: AgentPaths,
  opts: TvmAgentOptions,
): Promise<SpawnedAgent> {
  const init = await runCli([
    'emulate',
    'init',
    '--profile',
    opts.profile ?? 'tdx',
    '--tvm-state',
    paths.tvm,
    ...(opts.initArgs ?? []),
  ]);
  assert.equal(init.code, 0, init.stderr);
  fs.writeFileSync(
    paths.tenantsFile,
    JSON.stringify({ tenants: opts.tenants.map((name) => ({ name, vmr: name })) }),
  );
  const agent = await spawnAgent(
    [
      '--tvm-state',
      paths.tvm,
      '--run-dir',
      paths.run,
      '--tenants',
      paths.tenantsFile,
      '--log-level',
      'warn',
      ...(opts.agentArgs ?? []),
    ],
    opts.env ?? {},
  );
  t.after(() => agent.stop());
  return agent;
}

/**
 * {@link initTvmWithAgent} in a fresh temporary directory (removed after the test), with
 * `extraArgs` for `agent start`.
 */
export async function startCliAgent(
  t: TestContext,
  tag: string,
  tenants: readonly string[],
  extraArgs: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
  profile: 'tdx' | 'tpm' | 'cca' = 'tdx',
): Promise<CliAgent> {
  const dir = tempDir(t, `mrstack-${tag}-`);
  const paths = {
    tvm: join(dir, 'tvm'),
    run: join(dir, 'run'),
    tenantsFile: join(dir, 'tenants.json'),
  };
  const agent = await initTvmWithAgent(t, paths, { profile, tenants, agentArgs: extraArgs, env });
  const { tvm, run } = paths;
  return { dir, tvm, run, agent, sock: (n) => join(run, 'tenants', `${n}.sock`) };
}

/** One application event as `event append` takes it. */
export interface CliEvent {
  readonly domain: string;
  readonly operation: string;
  readonly content: string;
  readonly id?: string;
}

function appendArgs(socket: string, ev: CliEvent): string[] {
  return [
    'event',
    'append',
    '--socket',
    socket,
    '--domain',
    ev.domain,
    '--operation',
    ev.operation,
    '--content',
    ev.content,
    ...(ev.id === undefined ? [] : ['--id', ev.id]),
  ];
}

/** `mrstack event append` (readable output). */
export function cliAppend(socket: string, ev: CliEvent): Promise<CliResult> {
  return runCli(appendArgs(socket, ev));
}

/** `mrstack event append --json`, parsed. */
export function cliAppendJson(
  socket: string,
  ev: CliEvent,
): Promise<{ result: CliResult; json: unknown }> {
  return runCliJson([...appendArgs(socket, ev), '--json']);
}

/** `mrstack evidence get --socket S --nonce N --out FILE [extra]`; returns the exit code. */
export async function cliEvidence(
  socket: string,
  nonce: string,
  out: string,
  ...extra: string[]
): Promise<number | null> {
  const r = await runCli([
    'evidence',
    'get',
    '--socket',
    socket,
    '--nonce',
    nonce,
    '--out',
    out,
    ...extra,
  ]);
  return r.code;
}

/**
 * `mrstack evidence verify FILE --nonce N --trust-emulated --tvm-state TVM [--trusted-checkpoint
 * C] --json` — the README's bundle line, with no relaxation: the TVM's PKI issues the TDX
 * collateral. Exit codes other than 0 (verified) and 1 (not verified) fail the test.
 */
export async function cliVerify(
  file: string,
  nonce: string,
  tvm: string,
  trustedCheckpoint?: string,
): Promise<{ code: number | null; json: unknown }> {
  const { result, json } = await verifyEvidenceJson(file, {
    nonce,
    trustEmulated: true,
    tvmState: tvm,
    ...(trustedCheckpoint === undefined ? {} : { trustedCheckpoint }),
  });
  assert.ok(result.code === 0 || result.code === 1, result.stderr);
  return { code: result.code, json };
}

/** Appends an `example.com/app` `step` event with `content` to `socket`; fails unless it exits 0. */
export async function appendStep(socket: string, content: string): Promise<void> {
  const r = await cliAppend(socket, { domain: 'example.com/app', operation: 'step', content });
  assert.equal(r.code, 0, r.stderr);
}

/**
 * `mrstack agent attest --verifier URL --socket S --attester ID --bundle-out FILE`: the whole
 * loop for the tenant at `socket`, parsed (the caller asserts the exit code it expects).
 */
export function cliAttest(
  url: string,
  socket: string,
  attester: string,
  bundleOut: string,
): Promise<{ result: CliResult; json: unknown }> {
  return runCliJson([
    'agent', 'attest', '--verifier', url, '--socket', socket, '--attester', attester,
    '--bundle-out', bundleOut,
  ]); // prettier-ignore
}
