/**
 * The options every register command shares (`--provider`, `--tvm-state`, `--root`,
 * `--tpm-device`, `--swtpm`) and the small registry that opens a provider from them.
 *
 * `--provider` defaults to `emulated`. `auto` picks `linux` when the kernel's measurement files
 * exist under `--root`, else `emulated`, and is accepted only by read-only commands: nothing
 * extends a real register unless `--provider linux|tpm` was named (DESIGN §2).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { Provider, ProviderKind } from '../providers/provider.js';

/** What `--provider` accepts. */
export const PROVIDER_CHOICES: readonly string[] = Object.freeze([
  'emulated',
  'linux',
  'tpm',
  'auto',
]);

/** The parsed common options (commander's camelCase names). */
export interface ProviderCliOptions {
  readonly provider?: string;
  readonly tvmState?: string;
  readonly root?: string;
  readonly tpmDevice?: string;
  readonly swtpm?: string;
  readonly json?: boolean;
}

/** Opens one kind of provider from the common options. */
export type ProviderOpener = (opts: ProviderCliOptions) => Promise<Provider>;

/** How each provider kind is opened (one line per kind). */
export const PROVIDER_OPENERS: Record<ProviderKind, ProviderOpener> = {
  emulated: async (o) =>
    (await import('../providers/emulated/emulated_provider.js')).openEmulatedProvider(
      o.tvmState === undefined ? {} : { stateDir: o.tvmState },
    ),
  linux: async (o) =>
    (await import('../providers/linux/linux_provider.js')).openLinuxProvider(
      o.root === undefined ? {} : { root: o.root },
    ),
  tpm: async (o) =>
    (await import('../providers/tpm/tpm_provider.js')).openTpmProvider({
      ...(o.tpmDevice === undefined ? {} : { device: o.tpmDevice }),
      ...(o.swtpm === undefined ? {} : { swtpm: o.swtpm }),
    }),
};

/**
 * Kernel files whose presence under `--root` makes `--provider auto` choose `linux`: the TDX
 * tsm-mr directory, the configfs-tsm report directory, or a TPM's sysfs PCRs.
 */
export const LINUX_PROBE_PATHS: readonly string[] = Object.freeze([
  'sys/devices/virtual/misc/tdx_guest/measurements',
  'sys/kernel/config/tsm/report',
  'sys/class/tpm/tpm0',
]);

/** True when any of {@link LINUX_PROBE_PATHS} exists under `root`. */
export function linuxKernelFilesPresent(root: string): boolean {
  return LINUX_PROBE_PATHS.some((p) => existsSync(join(root, p)));
}

/** The provider kind the options name, resolving `auto` (read-only commands only). */
export function chooseProviderKind(opts: ProviderCliOptions, write: boolean): ProviderKind {
  const p = opts.provider ?? 'emulated';
  if (p === 'auto') {
    if (write) {
      throw new UsageError(
        'ERR_USAGE',
        '--provider auto is accepted only by read-only commands: name the provider to extend (--provider emulated|linux|tpm)',
      );
    }
    return linuxKernelFilesPresent(opts.root ?? '/') ? 'linux' : 'emulated';
  }
  if (p === 'emulated' || p === 'linux' || p === 'tpm') return p;
  throw new UsageError('ERR_USAGE', `--provider ${p}: expected emulated, linux, tpm or auto`);
}

/**
 * Opens the provider the options name.
 * @param write - true for commands that change registers (`auto` is refused).
 */
export function openProviderFromOptions(
  opts: ProviderCliOptions,
  { write }: { readonly write: boolean },
): Promise<Provider> {
  return Promise.resolve().then(() => PROVIDER_OPENERS[chooseProviderKind(opts, write)](opts));
}

/** Adds the common provider options to a command. */
export function addProviderOptions(cmd: Command, { write }: { readonly write: boolean }): Command {
  return cmd
    .addOption(
      new Option(
        '--provider <kind>',
        write
          ? 'which registers: emulated (a software TVM), linux (the kernel files) or tpm ("auto" is refused: extends name their provider)'
          : 'which registers: emulated (a software TVM), linux (the kernel files), tpm, or auto (linux when the kernel files exist under --root, else emulated)',
      )
        .choices([...PROVIDER_CHOICES])
        .default('emulated'),
    )
    .option(
      '--tvm-state <dir>',
      'emulated TVM state directory (default: $MRSTACK_TVM_STATE, else $XDG_STATE_HOME/mrstack/tvm or ~/.local/state/mrstack/tvm)',
    )
    .option('--root <dir>', 'linux provider: the file system root holding sys/ (default: /)')
    .addOption(
      new Option(
        '--tpm-device <path>',
        'tpm provider: the TPM character device (default: /dev/tpmrm0)',
      ).conflicts('swtpm'),
    )
    .option('--swtpm <host:port>', 'tpm provider: talk to swtpm over its TCP socket protocol');
}
