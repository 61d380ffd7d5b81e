/**
 * `mrstack/agent`: the measurement agent, its HTTP server, clients and tenant configuration.
 * Named re-exports only, no logic; the package's `exports` map blocks deep imports, so this file
 * is the layer's public surface.
 *
 * @module
 */

// errors and limits, shared by every layer
export * from '../errors.js';
export * from '../limits.js';

export { compressLogFile, compressArchivedLogs, readLogFile } from './physical_log.js';
export { Agent, MAX_BATCH_EVENTS } from './agent.js';
export type {
  AgentOptions,
  BatchEvent,
  RejectedEvent,
  AgentLogger,
  AppendResult,
  EventStatus,
  OffLogEvent,
  CheckpointPolicy,
} from './agent.js';
export { AgentServer, httpStatusOf, appendResultToJson, batchResultToJson } from './server.js';
export type { AgentServerOptions } from './server.js';
export { TenantClient, AdminClient } from './client.js';
export type {
  AgentClientOptions,
  AppendResponse,
  BatchItemResponse,
  BatchEventInput,
  AppendManyOptions,
} from './client.js';
export { DURABILITIES } from './append_file.js';
export type { Durability } from './append_file.js';
export {
  DEFAULT_TENANT_LIMITS,
  readTenantsFile,
  parseTenantConfig,
  checkTenantConfig,
} from './tenant_config.js';
export type { TenantConfig, TenantLimits } from './tenant_config.js';
export { OwnerLock } from './owner_lock.js';
export type { LockOwner } from './owner_lock.js';
export type { AgentHooks, AgentStep } from './hooks.js';
export { planRecovery } from './recovery.js';
export type { RecoveryAction, RecoveryPlan, PhysicalTail, TenantTail } from './recovery.js';
