/**
 * Serving an emulated TVM over FUSE from a child process, for tests. The serving process must
 * never touch its own mount (FUSE callbacks run on its JavaScript thread), so the test process
 * is the one that reads and writes the files.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_PATH } from '../../_support/paths.js';
import { initEmulatedTvm } from '../../../src/providers/emulated/tvm_state.js';
import type { Profile } from '../../../src/providers/provider.js';
import type { EmulatedKernelOptions } from '../../../src/emulate/tsm_report_dir.js';

/** A mount served by a child process. */
export interface ServedMount {
  /** The mount point (the guest's `/`). */
  readonly root: string;
  readonly stateDir: string;
  readonly child: ChildProcess;
  /** What the child printed when ready. */
  readonly ready: Record<string, unknown>;
  /** The child's exit (code, signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the child wrote to stderr so far (for assertion messages). */
  stderr(): string;
  /** Unmounts with fusermount -u, kills the child if it lingers, removes the temp dir. */
  stop(): Promise<void>;
}

/** Options of {@link serveMount}. */
export interface ServeOptions {
  readonly profile: Profile;
  /** `cli`: `mrstack emulate mount`; `stub`: the stub server (report = a known expansion). */
  readonly server?: 'cli' | 'stub';
  /** Emulated kernel facts (stub server only). */
  readonly kernel?: EmulatedKernelOptions;
  /** SNP: a TVM made with `emulate init --svsm` (the guest runs under an SVSM). */
  readonly svsm?: boolean;
}

/** True when `dir` is a mount point (from /proc/self/mountinfo). */
export function isMountPoint(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === dir);
}

/** Inits a TVM in a fresh temp dir and serves it at `<tmp>/guest` from a child process. */
export async function serveMount(opts: ServeOptions): Promise<ServedMount> {
  if (opts.kernel !== undefined && opts.server !== 'stub') {
    throw new Error('kernel options need the stub server');
  }
  const tmp = mkdtempSync(join(tmpdir(), 'mrstack-fuse-'));
  const stateDir = join(tmp, 'tvm');
  const root = join(tmp, 'guest');
  await initEmulatedTvm({
    stateDir,
    profile: opts.profile,
    ...(opts.svsm === true ? { svsm: true } : {}),
  });
  const args =
    opts.server === 'stub'
      ? [
          fileURLToPath(new URL('./stub_server.js', import.meta.url)),
          root,
          opts.profile,
          stateDir,
          JSON.stringify(opts.kernel ?? {}),
        ]
      : [
          CLI_PATH,
          'emulate',
          'mount',
          root,
          '--profile',
          opts.profile,
          '--tvm-state',
          stateDir,
          '--json',
        ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    // generous: a node start and a FUSE mount took seconds at load 15
    const timer = setTimeout(
      () => reject(new Error(`mount not ready after 120 s: ${out}${err}`)),
      120_000,
    );
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      // The CLI prints one line; the stub server an indented document: the first prefix ending
      // at a newline that parses is the ready message.
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n', nl + 1)) {
        let doc: Record<string, unknown>;
        try {
          doc = JSON.parse(out.slice(0, nl)) as Record<string, unknown>;
        } catch {
          continue;
        }
        clearTimeout(timer);
        resolve(doc);
        return;
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`mount server exited (${String(code)}) before ready: ${out}${err}`));
    });
  });
  let stopped = false;
  return {
    root,
    stateDir,
    child,
    ready,
    exited,
    stderr: () => err,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (isMountPoint(root)) spawnSync('fusermount', ['-u', root]);
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 5000))),
      ]);
      clearTimeout(timer);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
        if (isMountPoint(root)) spawnSync('fusermount', ['-uz', root]);
      }
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Paths of the TDX guest files below a mount's root. */
export function tdxPaths(root: string): {
  readonly mr: (f: string) => string;
  readonly report: string;
} {
  return {
    mr: (f) => join(root, 'sys/devices/virtual/misc/tdx_guest/measurements', f),
    report: join(root, 'sys/kernel/config/tsm/report'),
  };
}
