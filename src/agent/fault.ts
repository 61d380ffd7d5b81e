/**
 * Fault injection for crash tests (test hook, documented in `docs/agent.md`). The agent calls
 * {@link faultPoint} between the steps of its append path; when `MRSTACK_AGENT_FAULT` names that
 * step (`STEP` or `STEP:N` for the N-th time it is reached, 1-based), the process kills itself
 * with SIGKILL — or throws when `MRSTACK_AGENT_FAULT_MODE=throw`. Unset, it costs one lookup.
 *
 * @module
 */
import { AgentError } from '../errors.js';

/** The steps of the append path, in order. */
export const FAULT_STEPS: readonly string[] = Object.freeze([
  'validated',
  'tenant-written',
  'tenant-synced',
  'vmr-written',
  'physical-synced',
  'extended',
  'acked',
]);

interface FaultSpec {
  step: string;
  at: number;
  throwInstead: boolean;
}

function readSpec(): FaultSpec | undefined {
  const v = process.env['MRSTACK_AGENT_FAULT'];
  if (v === undefined || v === '') return undefined;
  const [step, n] = v.split(':');
  return {
    step: step ?? '',
    at: n === undefined ? 1 : Math.max(1, Number(n)),
    throwInstead: process.env['MRSTACK_AGENT_FAULT_MODE'] === 'throw',
  };
}

const spec = readSpec();
let seen = 0;

/** Marks that the append path reached `step`; may kill the process (see module doc). */
export function faultPoint(step: string): void {
  if (spec?.step !== step) return;
  seen++;
  if (seen !== spec.at) return;
  if (spec.throwInstead) throw new AgentError('ERR_INTERNAL', `injected fault at ${step}`);
  process.kill(process.pid, 'SIGKILL');
}
