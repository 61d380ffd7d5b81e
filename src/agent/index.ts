/**
 * `mrstack/agent`: the measurement agent, its HTTP server, clients and tenant configuration.
 * Named re-exports only, no logic; the package's `exports` map blocks deep imports, so this file
 * is the layer's public surface.
 *
 * @module
 */

// errors and limits, shared by every layer
export {
  ERROR_CODES,
  MrstackError,
  ParseError,
  UsageError,
  ProviderError,
  ReplayError,
  VerifyError,
  PolicyError,
  AgentError,
  isMrstackError,
  describeCode,
} from '../errors.js';
export type { ErrorCode, ExitCode, CodeInfo, ParseErrorCode, FormatId } from '../errors.js';
export { DEFAULT_LIMITS, withLimits } from '../limits.js';
export type { Limits } from '../limits.js';

export { compressLogFile, compressArchivedLogs, readLogFile } from './physical_log.js';
export { Agent } from './agent.js';
export type {
  AgentOptions,
  AgentLogger,
  AppendResult,
  EventStatus,
  OffLogEvent,
  CheckpointPolicy,
} from './agent.js';
export { AgentServer, httpStatusOf, appendResultToJson } from './server.js';
export type { AgentServerOptions } from './server.js';
export { TenantClient, AdminClient } from './client.js';
export type { AgentClientOptions, AppendResponse } from './client.js';
export { DURABILITIES } from './append_file.js';
export type { Durability } from './append_file.js';
export { DEFAULT_TENANT_LIMITS, readTenantsFile, parseTenantConfig } from './tenant_config.js';
export type { TenantConfig, TenantLimits } from './tenant_config.js';
