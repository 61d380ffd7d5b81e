/**
 * Test hooks of the agent (DESIGN §5), passed to the constructors only: nothing in `src/` reads
 * an environment variable to inject faults. The crash tests pass a hook that kills the process
 * at a chosen step of the append path, or pauses the service between `listen()` and a socket's
 * final mode; production code passes none and pays one `undefined` check per step.
 *
 * @module
 */

/** The steps of the append path, in order. */
export const AGENT_STEPS: readonly AgentStep[] = Object.freeze([
  'validated',
  'tenant-written',
  'tenant-synced',
  'vmr-written',
  'physical-synced',
  'extended',
  'acked',
] as const);

/** One step of the append path. */
export type AgentStep =
  | 'validated'
  | 'tenant-written'
  | 'tenant-synced'
  | 'vmr-written'
  | 'physical-synced'
  | 'extended'
  | 'acked';

/** Hooks a test may pass to {@link Agent.open} and `AgentServer.start`. */
export interface AgentHooks {
  /**
   * Called each time the append path reaches `step` (after the step's work). It may throw (the
   * batch fails as if the step had failed), never return, or kill the process.
   */
  readonly step?: (step: AgentStep) => void | Promise<void>;
  /**
   * Called once a socket is listening at `path` (inside the private bind directory) and before
   * its owner and mode are set and it is moved to its public name.
   */
  readonly socketBound?: (path: string, role: 'admin' | 'tenant') => void | Promise<void>;
}
