/**
 * mrstack's root entry, kept for compatibility: it re-exports every layer's entry. Prefer the
 * subpaths (`mrstack/verifier`, `mrstack/eventlog`, `mrstack/formats`, `mrstack/providers`,
 * `mrstack/agent`, `mrstack/emulate`): the root loads every layer, including the agent's HTTP
 * server and the FUSE mount.
 *
 * @module
 */

export * from './formats/index.js';
export * from './eventlog/index.js';
export * from './verifier/index.js';
export * from './providers/index.js';
export * from './emulate/index.js';
export * from './agent/index.js';
