/**
 * `mrstack/emulate`: the FUSE mount serving an emulated TVM at the kernel ABI.
 * Named re-exports only, no logic; the package's `exports` map blocks deep imports, so this file
 * is the layer's public surface.
 *
 * @module
 */

export { mountEmulatedTvm } from './fuse_mount.js';
export type { EmulatedMount, MountOptions } from './fuse_mount.js';
export type { EmulatedKernelOptions } from './tsm_report_dir.js';
