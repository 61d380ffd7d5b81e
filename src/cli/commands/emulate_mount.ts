/**
 * `mrstack emulate mount DIR --profile tdx|snp|cca [--tvm-state DIR]` and
 * `mrstack emulate unmount DIR`: the emulated TVM served at the kernel ABI over FUSE
 * (`docs/emulate-mount.md`).
 *
 * `mount` stays in the foreground serving the mount until SIGTERM/SIGINT (then unmounts
 * cleanly) or until the mount is removed by `emulate unmount` / `fusermount -u`. Once the mount
 * is ready it prints one line — with `--json`, `{"mountpoint","profile","state_dir","pid"}` — so
 * scripts can wait for it. `unmount --json` prints `{"mountpoint","unmounted":true}`.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { MrstackError, UsageError } from '../../errors.js';
import type { Profile } from '../../providers/provider.js';
import { action, toJsonText } from '../output.js';

interface MountCliOptions {
  readonly profile?: Profile;
  readonly tvmState?: string;
  readonly json?: boolean;
  readonly privlevelFloor?: number;
  readonly generationBits?: number;
  readonly quoteDelayMs?: number;
  readonly quoteTimeoutMs?: number;
}

/** A non-negative integer option value, else a usage error naming the option. */
function intOption(flag: string): (v: string) => number {
  return (v) => {
    if (!/^\d{1,10}$/.test(v)) {
      throw new UsageError('ERR_USAGE', `${flag} ${v}: expected a non-negative integer`);
    }
    return Number(v);
  };
}

/** Adds `mount` and `unmount` to the `emulate` command. */
export function registerEmulateMount(emulate: Command): Command {
  emulate
    .command('mount')
    .description(
      "serve the emulated TVM at DIR as the guest kernel's files (tsm-mr registers, configfs-tsm reports) over FUSE; runs until SIGTERM/SIGINT or unmount",
    )
    .argument('<dir>', 'mount point (created if missing)')
    .addOption(
      new Option(
        '--profile <profile>',
        "the guest to present (default: the TVM's profile)",
      ).choices(['tdx', 'snp', 'cca']),
    )
    .option(
      '--tvm-state <dir>',
      'emulated TVM state directory (default: $MRSTACK_TVM_STATE, else $XDG_STATE_HOME/mrstack/tvm or ~/.local/state/mrstack/tvm)',
    )
    .option('--json', 'print JSON when ready: {"mountpoint","profile","state_dir","pid"}')
    .option(
      '--privlevel-floor <n>',
      'what privlevel_floor shows and the least privlevel accepted (0-3; default 0)',
      intOption('--privlevel-floor'),
    )
    .option(
      '--generation-bits <n>',
      "width of the report generation counters (1-64; default 64, the kernel's unsigned long)",
      intOption('--generation-bits'),
    )
    .option(
      '--quote-delay-ms <ms>',
      'TDX: how long the emulated host takes to answer a quote (default 0)',
      intOption('--quote-delay-ms'),
    )
    .option(
      '--quote-timeout-ms <ms>',
      'TDX: how long the guest driver waits for the host (getquote_timeout; default 30000)',
      intOption('--quote-timeout-ms'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  mrstack emulate init --profile tdx --tvm-state /tmp/tvm\n' +
        '  mrstack emulate mount /tmp/guest --profile tdx --tvm-state /tmp/tvm &\n' +
        '  xxd /tmp/guest/sys/devices/virtual/misc/tdx_guest/measurements/rtmr3:sha384\n' +
        '  mrstack mr list --provider linux --root /tmp/guest\n' +
        '  mrstack emulate unmount /tmp/guest\n',
    )
    .action(
      action(async (dir: string, opts: MountCliOptions) => {
        const { openEmulatedProvider } =
          await import('../../providers/emulated/emulated_provider.js');
        const { resolveTvmStateDir } = await import('../../providers/emulated/tvm_state.js');
        const { mountEmulatedTvm } = await import('../../emulate/fuse_mount.js');
        const stateDir = resolveTvmStateDir(opts.tvmState);
        const provider = await openEmulatedProvider({ stateDir });
        const profile = opts.profile ?? provider.profile;
        if (provider.profile !== profile) {
          throw new UsageError(
            'ERR_USAGE',
            `--profile ${profile}: the TVM in ${stateDir} is a ${provider.profile} TVM`,
          );
        }
        // Listen before mounting: a signal that arrives while the mount is being made still
        // ends in a clean unmount.
        let signalled: NodeJS.Signals | undefined;
        let wake: () => void = () => undefined;
        const onSignal = (sig: NodeJS.Signals): void => {
          signalled = sig;
          wake();
        };
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
        const kernel = {
          ...(opts.privlevelFloor === undefined ? {} : { privlevelFloor: opts.privlevelFloor }),
          ...(opts.generationBits === undefined ? {} : { generationBits: opts.generationBits }),
          ...(opts.quoteDelayMs === undefined ? {} : { quoteDelayMs: opts.quoteDelayMs }),
          ...(opts.quoteTimeoutMs === undefined ? {} : { quoteTimeoutMs: opts.quoteTimeoutMs }),
          // An SNP TVM made with --svsm runs under an SVSM: its driver shows the SVSM attributes.
          ...(provider.config.svsm === true ? { svsm: true } : {}),
        };
        const mount = await mountEmulatedTvm(resolve(dir), { provider, profile, kernel });
        if (opts.json === true) {
          // One line, so that a script can wait for it with `read` or `head -1`.
          const ready = {
            mountpoint: mount.mountpoint,
            profile,
            state_dir: stateDir,
            pid: process.pid,
          };
          process.stdout.write(`${toJsonText(ready, 0)}\n`);
        } else {
          process.stdout.write(
            `serving the emulated ${profile} TVM at ${mount.mountpoint} (pid ${process.pid}); stop with Ctrl-C or mrstack emulate unmount ${mount.mountpoint}\n`,
          );
        }
        if (signalled === undefined) {
          await new Promise<void>((done) => {
            wake = done;
            void mount.gone.then(done);
          });
        }
        try {
          if (signalled !== undefined) await mount.unmount();
          await provider.close();
        } finally {
          // The FUSE binding keeps a handle on the event loop after unmounting, and an unmount
          // that fails (the mount was already removed) must not keep the process alive either:
          // leave explicitly, after action() has printed the error and set the exit code.
          setImmediate(() => process.exit(process.exitCode ?? 0));
        }
        return 0;
      }),
    );

  emulate
    .command('unmount')
    .description('remove a mount made by emulate mount (its serving process then exits)')
    .argument('<dir>', 'mount point')
    .option('--json', 'print one JSON line: {"mountpoint","unmounted":true}')
    .action(
      action(async (dir: string, opts: { readonly json?: boolean }) => {
        const mnt = resolve(dir);
        await new Promise<void>((done, fail) => {
          execFile('fusermount', ['-u', mnt], (err, _stdout, stderr) => {
            if (err === null) done();
            else
              fail(
                new MrstackError(
                  'ERR_MOUNT_FAILED',
                  `fusermount -u ${mnt} failed: ${stderr.trim() || err.message}`,
                  { cause: err, details: { mountpoint: mnt } },
                ),
              );
          });
        });
        // One line, as mount's ready line: scripts read it with a line-oriented reader.
        if (opts.json === true)
          process.stdout.write(`${toJsonText({ mountpoint: mnt, unmounted: true }, 0)}\n`);
        else process.stdout.write(`unmounted ${mnt}\n`);
        return 0;
      }),
    );
  return emulate;
}
