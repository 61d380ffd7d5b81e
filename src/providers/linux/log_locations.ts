/**
 * The event logs a Linux guest exposes, as paths under the root and byte streams for the
 * event-log layer (which parses them; this module only finds them).
 *
 * @module
 */
import type { ReadStream } from 'node:fs';
import { LOG_PATHS } from './kernel_paths.js';
import type { TsmFs } from './tsm_fs.js';

/** What kind of log a location holds. */
export type KernelLogKind = 'ccel' | 'ccel-table' | 'tcg2' | 'ima-ascii' | 'ima-binary';

/** One log that exists under the root. */
export interface KernelLog {
  readonly kind: KernelLogKind;
  /** Path relative to the root. */
  readonly path: string;
  /** Absolute path. */
  readonly absolutePath: string;
  /** For IMA logs of a non-default bank (`…_runtime_measurements_sha256`): that bank. */
  readonly imaBank?: string;
}

/** Every kernel log location that exists under the root. */
export async function findKernelLogs(fs: TsmFs): Promise<readonly KernelLog[]> {
  const out: KernelLog[] = [];
  const add = async (kind: KernelLogKind, path: string, imaBank?: string): Promise<void> => {
    const st = await fs.stat(path);
    if (st === undefined || st.isDirectory) return;
    out.push({
      kind,
      path,
      absolutePath: fs.resolve(path),
      ...(imaBank === undefined ? {} : { imaBank }),
    });
  };
  await add('ccel-table', LOG_PATHS.ccelTable);
  await add('ccel', LOG_PATHS.ccelData);
  await add('tcg2', LOG_PATHS.tpmBiosLog);
  if ((await fs.stat(LOG_PATHS.imaDir))?.isDirectory === true) {
    for (const name of await fs.list(LOG_PATHS.imaDir)) {
      const m = /^(ascii|binary)_runtime_measurements(?:_([a-z0-9_]+))?$/.exec(name);
      if (m === null) continue;
      await add(m[1] === 'ascii' ? 'ima-ascii' : 'ima-binary', `${LOG_PATHS.imaDir}/${name}`, m[2]);
    }
  }
  return out;
}

/** A byte stream of one log. */
export function openKernelLog(fs: TsmFs, log: KernelLog): ReadStream {
  return fs.openStream(log.path);
}
