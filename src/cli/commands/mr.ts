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
import { fromErrno, ProviderError, UsageError } from '../../errors.js';
import { join } from 'node:path';
import {
  MEASUREMENTS_GROUP,
  MISC_DEVICES_DIR,
  TPM_PCR_DIR,
} from '../../providers/linux/kernel_paths.js';
import {
  formatMrSelector,
  parseMrSelector,
  type ExtendInput,
  type MrInfo,
  type Provider,
} from '../../providers/provider.js';
import { parsePcrList, type PcrBankSelection } from '../../formats/tpm2/pcr_list.js';
import { action, printFields, printJson, printTable } from '../output.js';
import {
  addProviderOptions,
  openProviderFromOptions,
  type ProviderCliOptions,
} from '../provider_options.js';

interface ListCliOptions extends ProviderCliOptions {
  readonly pcrList?: string;
  readonly wide?: boolean;
}

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

type Listed = MrInfo & { readonly value: Uint8Array };

/** A provider with no registers at all (a machine with no TEE and no TPM): the paths looked at. */
function noDevice(kind: string, root: string | undefined): ProviderError {
  const under = (p: string): string => join(root ?? '/', p);
  const looked =
    kind === 'linux'
      ? [`${under(MISC_DEVICES_DIR)}/*/${MEASUREMENTS_GROUP}`, `${under(TPM_PCR_DIR)}/pcr-*`]
      : [];
  return new ProviderError(
    'ERR_NO_DEVICE',
    `the ${kind} provider has no measurement registers${looked.length === 0 ? '' : `: no TEE (tsm-mr) and no TPM PCRs (looked at ${looked.join(', ')})`}`,
    { details: { paths: looked } },
  );
}

/** The registers a `--pcr-list` selection names (`pcrN` in bank ALG); none is a usage error. */
function selectPcrs(regs: readonly Listed[], text: string, provider: string): Listed[] {
  const sel: PcrBankSelection[] = parsePcrList(text);
  const out = regs.filter((r) =>
    sel.some((b) => b.alg === r.alg && b.pcrs.some((n) => r.name === `pcr${n}`)),
  );
  if (out.length === 0) {
    throw new UsageError(
      'ERR_USAGE',
      `--pcr-list ${text}: the ${provider} provider has none of these PCR banks`,
    );
  }
  return out;
}

const kindText = (r: MrInfo): string =>
  r.extendable ? 'runtime' : r.kind === 'runtime' ? 'runtime (read-only)' : 'static';

/**
 * `mr list` for people. Registers with several banks (TPM PCRs) take one row each, a column per
 * bank (values cut to 16 hex digits unless `wide`); others one row per register.
 */
function printRegisters(regs: readonly Listed[], wide: boolean): void {
  const names = [...new Set(regs.map((r) => r.name))];
  const multi = names.some((n) => regs.filter((r) => r.name === n).length > 1);
  if (!multi) {
    printTable(
      ['register', 'alg', 'kind', 'value'],
      regs.map((r) => [r.name, r.alg ?? '-', kindText(r), toHex(r.value)]),
      { wide },
    );
    return;
  }
  const algs = [...new Set(regs.map((r) => r.alg ?? '-'))];
  const cut = (hex: string): string => (wide || hex.length <= 16 ? hex : `${hex.slice(0, 16)}…`);
  printTable(
    ['register', ...algs, 'kind'],
    names.map((n) => {
      const banks = regs.filter((r) => r.name === n);
      return [
        n,
        ...algs.map((a) => {
          const b = banks.find((r) => (r.alg ?? '-') === a);
          return b === undefined ? '' : cut(toHex(b.value));
        }),
        kindText(banks[0]!),
      ];
    }),
    { wide },
  );
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
      .option(
        '--pcr-list <selection>',
        'TPM: only these PCR banks, as tpm2-tools writes them (sha256:0,1,7+sha1:10)',
      )
      .option('--wide', 'full values (no truncation)')
      .option('--json', 'print JSON: {"provider","profile","registers":[…]}'),
    { write: false },
  )
    .addHelpText(
      'after',
      '\nExamples:\n  mrstack mr list\n  mrstack mr list --tvm-state /tmp/tvm --json\n' +
        '  mrstack mr list --provider tpm --pcr-list sha256:0,1,7+sha1:10\n',
    )
    .action(
      action(async (opts: ListCliOptions) =>
        withProvider(opts, false, async (p) => {
          const all = await listRegisters(p);
          if (all.length === 0) throw noDevice(p.kind, opts.root);
          const regs = opts.pcrList === undefined ? all : selectPcrs(all, opts.pcrList, p.kind);
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
            printRegisters(regs, opts.wide === true);
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
      .argument('[mr]', 'register name, or NAME:ALG for one bank (rtmr2, pcr7:sha256, mrconfigid)')
      .option(
        '--pcr-list <selection>',
        'TPM: these PCR banks instead of one register, as tpm2-tools writes them (sha256:0,1,7+sha1:10)',
      )
      .option(
        '--json',
        'print JSON: {"provider","name","alg","value"} or {"provider","name","values":{…}}; ' +
          'with --pcr-list {"provider","pcrs":{"<alg>":{"<n>":"<hex>"}}}',
      ),
    { write: false },
  )
    .addHelpText(
      'after',
      '\nExamples:\n  mrstack mr read rtmr2 --json\n  mrstack mr read pcr7:sha256\n' +
        '  mrstack mr read --provider tpm --pcr-list sha256:0,1,7+sha1:10\n',
    )
    .action(
      action(async (mrText: string | undefined, opts: ListCliOptions) => {
        if ((mrText === undefined) === (opts.pcrList === undefined)) {
          throw new UsageError('ERR_USAGE', 'mr read needs a register name or --pcr-list (one)');
        }
        if (opts.pcrList !== undefined) {
          const banks = parsePcrList(opts.pcrList);
          return withProvider(opts, false, async (p) => {
            const pcrs: Record<string, Record<string, string>> = {};
            const fields: [string, string][] = [];
            for (const b of banks) {
              const bank: Record<string, string> = {};
              for (const n of b.pcrs) {
                const [v] = await p.read({ name: `pcr${n}`, alg: b.alg });
                bank[String(n)] = toHex(v!.value);
                fields.push([`pcr${n}:${b.alg}`, toHex(v!.value)]);
              }
              pcrs[b.alg] = bank;
            }
            if (opts.json === true) printJson({ provider: p.kind, pcrs });
            else printFields(fields);
            return 0;
          });
        }
        const sel = parseMrSelector(mrText!);
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
