// Test-only entry of `mrstack agent start`: the same command tree as `dist/src/cli/main.js`
// (buildProgram + the same error reporting), with the agent's test hooks, which production code
// never reads from the environment:
//   MRSTACK_TEST_FAULT=STEP:N[:throw]  at the N-th time the append path reaches STEP, write
//     `fault STEP:N` to stderr and SIGKILL this process (or throw instead);
//   MRSTACK_TEST_PAUSE_SOCKETS=1  after each socket's listen() and before its owner/mode are set,
//     print `{"paused":PATH,"role":ROLE}` on stdout and wait for SIGUSR2.
import * as fs from 'node:fs';
import { CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { reportError } from '../../src/cli/output.js';
import { AgentError } from '../../src/errors.js';
import type { AgentHooks, AgentStep } from '../../src/agent/hooks.js';

function faultHook(spec: string): (s: AgentStep) => void {
  const [step, n, mode] = spec.split(':');
  const at = Math.max(1, Number(n ?? 1));
  let seen = 0;
  return (s: AgentStep) => {
    if (s !== step) return;
    seen++;
    if (seen !== at) return;
    fs.writeSync(2, `fault ${s}:${seen}\n`);
    if (mode === 'throw') throw new AgentError('ERR_INTERNAL', `injected fault at ${s}`);
    process.kill(process.pid, 'SIGKILL');
  };
}

function pauseHook(): (path: string, role: string) => Promise<void> {
  return (path, role) =>
    new Promise<void>((resolve) => {
      process.once('SIGUSR2', () => resolve());
      fs.writeSync(1, `${JSON.stringify({ paused: path, role })}\n`);
    });
}

const fault = process.env['MRSTACK_TEST_FAULT'];
const hooks: AgentHooks = {
  ...(fault === undefined || fault === '' ? {} : { step: faultHook(fault) }),
  ...(process.env['MRSTACK_TEST_PAUSE_SOCKETS'] === '1' ? { socketBound: pauseHook() } : {}),
};

const program = buildProgram({ agentHooks: hooks });
const json = process.argv.includes('--json');
try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.exitCode = e instanceof CommanderError && e.exitCode === 0 ? 0 : reportError(e, json);
}
