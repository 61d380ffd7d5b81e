/**
 * Builds the `mrstack` command tree. Each command group lives in its own module under
 * `commands/` and registers itself here (one line each); modules import heavy or native library
 * code lazily inside their actions.
 *
 * @module
 */
import { Command } from 'commander';
import { registerLog } from './commands/log.js';
import { registerEmulate } from './commands/emulate.js';
import { registerEmulateMount } from './commands/emulate_mount.js';
import { registerMr } from './commands/mr.js';
import { registerEvidence } from './commands/evidence.js';
import { registerReport } from './commands/report.js';
import { registerAgent } from './commands/agent.js';
import { registerTenant } from './commands/tenant.js';
import { registerEvent } from './commands/event.js';
import { registerEvidenceGet } from './commands/evidence_get.js';
import { registerCollateral } from './commands/collateral.js';
import { registerTpm } from './commands/tpm.js';
import { registerPolicy } from './commands/policy.js';
import { registerAppraise } from './commands/appraise.js';
import { registerEar } from './commands/ear.js';
import { registerVerifier } from './commands/verifier.js';
import { registerAgentAttest } from './commands/agent_attest.js';

/** The version printed by `--version`. */
export const VERSION = '0.1.0';

/** Options of {@link buildProgram}. */
export interface ProgramOptions {
  /** Test hooks handed to `agent start` (the test-only entry script passes them). */
  readonly agentHooks?: import('../agent/hooks.js').AgentHooks;
}

/** A fresh command tree. Errors surface as CommanderError (see main.ts), never process.exit. */
export function buildProgram(opts: ProgramOptions = {}): Command {
  const program = new Command('mrstack')
    .description(
      'Measurement registers, event logs, a multi-tenant measurement agent and an offline ' +
        'verifier for confidential VMs (Intel TDX, AMD SEV-SNP, Arm CCA) and TPMs.',
    )
    .version(VERSION)
    .exitOverride()
    // main.ts prints usage errors itself (one line, or JSON with --json).
    .configureOutput({ outputError: () => undefined });
  // Command groups (keep one line each):
  registerEmulateMount(registerEmulate(program));
  registerMr(program);
  registerLog(program);
  registerEvidence(program);
  registerReport(program);
  registerAgent(program, opts.agentHooks);
  registerTenant(program);
  registerEvent(program);
  registerEvidenceGet(program);
  registerCollateral(program);
  registerTpm(program);
  registerPolicy(program);
  registerAppraise(program);
  registerEar(program);
  registerVerifier(program);
  registerAgentAttest(program);
  return program;
}
