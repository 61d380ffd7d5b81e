/**
 * `mrstack mr list|read|extend`: measurement registers through any provider.
 *
 * JSON (DESIGN §7, with `--json`):
 * - `mr list`    → `{"provider","profile","registers":[{"name","alg","size","kind","extendable","value"}]}`
 *   (one row per bank; `alg` is null for no-hash registers such as `mrconfigid`).
 * - `mr read`    → `{"provider","name","alg","value"}`; a multi-bank register named without
 *   `:ALG` → `{"provider","name","values":{"<alg>":"<hex>"}}`.
 * - `mr extend`  → `{"provider","name","alg","old","new"}`; several banks at once (a bare TPM
 *   PCR with event data) → `{"provider","name","banks":[{"alg","old","new"}]}`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fromHex, toHex } from '../../bytes/hex.js';
import { fromErrno, UsageError } from '../../errors.js';
import {
  formatMrSelector,
  parseMrSelector,
  type ExtendInput,
  type MrInfo,
  type Provider,
} from '../../providers/provider.js';
import { action, printFields, printJson, printTable } from '../output.js';
import {
  addProviderOptions,
  openProviderFromOptions,
  type ProviderCliOptions,
} from '../provider_options.js';

interface ExtendCliOptions extends ProviderCliOptions {
  readonly event?: string;
  readonly text?: string;
}

async function withProvider<T>(
  opts: ProviderCliOptions,
  write: boolean,
  fn: (p: Provider) => Promise<T>,
): Promise<T> {
  const p = await openProviderFromOptions(opts, { write });
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

/** Every bank of every register with its value, in describe() order. */
async function listRegisters(p: Provider): Promise<(MrInfo & { readonly value: Uint8Array })[]> {
  const infos = await p.describe();
  const values = new Map<string, Uint8Array>();
  for (const name of new Set(infos.map((m) => m.name))) {
    for (const v of await p.read({ name })) values.set(`${v.name}:${v.alg ?? ''}`, v.value);
  }
  return infos.map((m) => ({ ...m, value: values.get(`${m.name}:${m.alg ?? ''}`)! }));
}

function extendInputOf(hex: string | undefined, opts: ExtendCliOptions): ExtendInput {
  const given = [hex !== undefined, opts.event !== undefined, opts.text !== undefined].filter(
    Boolean,
  ).length;
  if (given !== 1) {
    throw new UsageError(
      'ERR_USAGE',
      given === 0
        ? 'mr extend needs a hex digest, --event FILE or --text STR'
        : 'give only one of a hex digest, --event FILE and --text STR',
    );
  }
  if (hex !== undefined) return { kind: 'digest', digest: fromHex(hex, 'digest') };
  if (opts.text !== undefined) return { kind: 'event', data: new TextEncoder().encode(opts.text) };
  try {
    return { kind: 'event', data: new Uint8Array(readFileSync(opts.event!)) };
  } catch (e) {
    throw fromErrno(e, opts.event!);
  }
}

/** Registers `mrstack mr …`. */
export function registerMr(program: Command): Command {
  const mr = program
    .command('mr')
    .description(
      'list, read and extend measurement registers (MRTD/RTMR, SNP, CCA RIM/REM, TPM PCRs)',
    );

  addProviderOptions(
    mr
      .command('list')
      .description('list every register (one row per bank) with its algorithm, kind and value')
      .option('--json', 'print JSON: {"provider","profile","registers":[…]}'),
    { write: false },
  )
    .addHelpText(
      'after',
      '\nExamples:\n  mrstack mr list\n  mrstack mr list --tvm-state /tmp/tvm --json\n',
    )
    .action(
      action(async (opts: ProviderCliOptions) =>
        withProvider(opts, false, async (p) => {
          const regs = await listRegisters(p);
          if (opts.json === true) {
            printJson({
              provider: p.kind,
              ...(p.profile === undefined ? {} : { profile: p.profile }),
              registers: regs.map((r) => ({
                name: r.name,
                alg: r.alg ?? null,
                size: r.size,
                kind: r.kind,
                extendable: r.extendable,
                value: toHex(r.value),
              })),
            });
          } else {
            process.stdout.write(
              `provider: ${p.kind}${p.profile === undefined ? '' : `, profile: ${p.profile}`}\n`,
            );
            printTable(
              ['register', 'alg', 'kind', 'value'],
              regs.map((r) => [
                r.name,
                r.alg ?? '-',
                r.extendable ? 'runtime' : r.kind === 'runtime' ? 'runtime (read-only)' : 'static',
                toHex(r.value),
              ]),
            );
          }
          return 0;
        }),
      ),
    );

  addProviderOptions(
    mr
      .command('read')
      .description(
        'print the value of one register (every bank of a multi-bank PCR unless NAME:ALG)',
      )
      .argument('<mr>', 'register name, or NAME:ALG for one bank (rtmr2, pcr7:sha256, mrconfigid)')
      .option(
        '--json',
        'print JSON: {"provider","name","alg","value"} or {"provider","name","values":{…}}',
      ),
    { write: false },
  )
    .addHelpText(
      'after',
      '\nExamples:\n  mrstack mr read rtmr2 --json\n  mrstack mr read pcr7:sha256\n',
    )
    .action(
      action(async (mrText: string, opts: ProviderCliOptions) => {
        const sel = parseMrSelector(mrText);
        return withProvider(opts, false, async (p) => {
          const vals = await p.read(sel);
          if (opts.json === true) {
            if (vals.length === 1) {
              const v = vals[0]!;
              printJson({
                provider: p.kind,
                name: v.name,
                alg: v.alg ?? null,
                value: toHex(v.value),
              });
            } else {
              printJson({
                provider: p.kind,
                name: sel.name,
                values: Object.fromEntries(vals.map((v) => [v.alg ?? 'none', toHex(v.value)])),
              });
            }
          } else {
            printFields(
              vals.map((v) => [
                formatMrSelector({ name: v.name, ...(v.alg === undefined ? {} : { alg: v.alg }) }),
                toHex(v.value),
              ]),
            );
          }
          return 0;
        });
      }),
    );

  addProviderOptions(
    mr
      .command('extend')
      .description('extend a register: new = H(old ‖ digest), or with event data, H(old ‖ H(data))')
      .argument('<mr>', 'register name or NAME:ALG (rtmr2, rem0, pcr14:sha256, pcr14)')
      .argument('[hex]', 'the digest (or CCA REM data) in hex')
      .option('--event <file>', 'event data: extend every selected bank with H_bank(file contents)')
      .option('--text <str>', 'event data given as text (UTF-8), hashed like --event')
      .option(
        '--json',
        'print JSON: {"provider","name","alg","old","new"} (several banks: "banks":[…])',
      ),
    { write: true },
  )
    .addHelpText(
      'after',
      '\nWhat an extend takes: a TDX RTMR a 48-byte SHA-384 digest; a CCA REM 1..64 bytes of data;\n' +
        "a TPM PCR bank (pcrN:ALG) a digest of that bank's size. --event/--text hash the data in each\n" +
        "selected bank's algorithm and extend every bank (a bare pcrN needs them: it has several banks).\n" +
        'Extends never use --provider auto: name the provider whose registers change.\n' +
        '\nExamples:\n' +
        '  mrstack mr extend rtmr2 $(openssl rand -hex 48)\n' +
        '  mrstack mr extend pcr14:sha256 $(printf hello | sha256sum | cut -c1-64)\n' +
        '  mrstack mr extend pcr14 --text "boot stage 2" --json\n',
    )
    .action(
      action(async (mrText: string, hex: string | undefined, opts: ExtendCliOptions) => {
        const sel = parseMrSelector(mrText);
        const input = extendInputOf(hex, opts);
        return withProvider(opts, true, async (p) => {
          const res = await p.extend(sel, input);
          if (opts.json === true) {
            if (res.length === 1) {
              const r = res[0]!;
              printJson({
                provider: p.kind,
                name: r.name,
                alg: r.alg ?? null,
                old: toHex(r.old),
                new: toHex(r.new),
              });
            } else {
              printJson({
                provider: p.kind,
                name: sel.name,
                banks: res.map((r) => ({
                  alg: r.alg ?? null,
                  old: toHex(r.old),
                  new: toHex(r.new),
                })),
              });
            }
          } else {
            printFields(
              res.flatMap((r) => {
                const n = formatMrSelector({
                  name: r.name,
                  ...(r.alg === undefined ? {} : { alg: r.alg }),
                });
                return [
                  [`${n} old`, toHex(r.old)],
                  [`${n} new`, toHex(r.new)],
                ] as const;
              }),
            );
          }
          return 0;
        });
      }),
    );
  return mr;
}
