/**
 * `mrstack agent start|status|checkpoint`: the measurement agent (DESIGN §5, docs/agent.md).
 *
 * JSON (with `--json`):
 * - `agent start`      → one line `{"ready":true,"admin_socket","register","tenants":[…]}` once
 *   listening; runs until SIGTERM/SIGINT.
 * - `agent status`     → the agent's status object (register, values, log sizes, tenants, queue).
 * - `agent checkpoint` → `{"checkpoint":<seq>,"at":"<ISO time>"}`.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AgentHooks } from '../../agent/hooks.js';
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { action, printFields, printJson, printTable } from '../output.js';
import {
  addProviderOptions,
  openProviderFromOptions,
  type ProviderCliOptions,
} from '../provider_options.js';

interface StartOptions extends ProviderCliOptions {
  readonly runDir: string;
  readonly logDir?: string;
  readonly register?: string;
  readonly tenants?: string;
  readonly durability: string;
  readonly bootId?: string;
  readonly checkpointBytes?: string;
  readonly checkpointAge?: string;
  readonly compressArchives?: boolean;
  readonly vmrAlg?: 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'sm3';
  readonly logLevel: string;
  readonly adminMode: string;
  readonly ima?: boolean;
  readonly imaLog?: string;
  readonly imaPollMs?: string;
  readonly imaMode?: string;
}

interface RunDirOptions {
  readonly runDir: string;
  readonly json?: boolean;
}

/** The kernel's binary IMA list, relative to the root. */
const IMA_LIST_PATH = 'sys/kernel/security/ima/binary_runtime_measurements';

const DEFAULT_REGISTER: Record<string, string> = { tdx: 'rtmr3', tpm: 'pcr14', cca: 'rem3' };

function positiveInt(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UsageError('ERR_USAGE', `${what}: expected a non-negative integer`);
  return n;
}

/**
 * The platform's firmware log for bundles: the emulated TDX's CCEL (what firmware that measured
 * nothing leaves), or the kernel's CCEL (TDX) / TCG log (TPM) under the root; undefined if none.
 */
async function readFirmwareLog(
  kind: string,
  profile: string | undefined,
  root: string,
): Promise<{ format: string; data: Uint8Array } | undefined> {
  if (kind === 'emulated') {
    if (profile !== 'tdx') return undefined;
    const { emulatedTdxCcel } = await import('../../emulate/ccel_files.js');
    return { format: 'ccel', data: emulatedTdxCcel().data };
  }
  const { LOG_PATHS } = await import('../../providers/linux/kernel_paths.js');
  const [format, rel] =
    kind === 'tpm' || profile === 'tpm'
      ? ['tcg2', LOG_PATHS.tpmBiosLog]
      : ['ccel', LOG_PATHS.ccelData];
  try {
    return { format, data: new Uint8Array(await readFile(join(root, rel))) };
  } catch {
    return undefined;
  }
}

/**
 * The register's device identity for the one-owner lock: the tsm-mr device (with a hash of a
 * non-default `--root`), the TPM device or swtpm address; the emulated provider's own default
 * (its TVM state directory) otherwise.
 */
function registerDevice(
  opts: StartOptions,
  provider: { kind: string; device?: unknown },
): string | undefined {
  const h = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  if (provider.kind === 'linux') {
    const dev = typeof provider.device === 'string' ? provider.device : 'linux';
    const root = real(opts.root ?? '/');
    return root === '/' ? dev : `${dev}-${h(root)}`;
  }
  if (provider.kind === 'tpm') {
    return opts.swtpm !== undefined
      ? `swtpm-${h(opts.swtpm)}`
      : `tpm-${h(real(opts.tpmDevice ?? '/dev/tpmrm0'))}`;
  }
  return undefined;
}

async function start(opts: StartOptions, hooks: AgentHooks | undefined): Promise<number> {
  if (opts.durability !== 'process' && opts.durability !== 'os') {
    throw new UsageError('ERR_USAGE', '--durability: expected process or os');
  }
  const { default: pino } = await import('pino');
  const logger = pino({ name: 'mrstack-agent', level: opts.logLevel }, pino.destination(2));
  const { Agent } = await import('../../agent/agent.js');
  const { AgentServer } = await import('../../agent/server.js');
  const { readTenantsFile } = await import('../../agent/tenant_config.js');
  const provider = await openProviderFromOptions(opts, { write: true });
  const register = opts.register ?? DEFAULT_REGISTER[provider.profile ?? ''];
  if (register === undefined) {
    await provider.close();
    throw new UsageError(
      'ERR_USAGE',
      `--register: the ${provider.profile ?? provider.kind} platform has no default register the agent can own; name one`,
    );
  }
  const cpBytes = positiveInt(opts.checkpointBytes, '--checkpoint-bytes');
  const cpAge = positiveInt(opts.checkpointAge, '--checkpoint-age');
  const device = registerDevice(opts, provider);
  if (opts.ima !== true && (opts.imaLog !== undefined || opts.imaPollMs !== undefined)) {
    await provider.close();
    throw new UsageError('ERR_USAGE', '--ima-log and --ima-poll-ms need --ima');
  }
  const pollMs = positiveInt(opts.imaPollMs, '--ima-poll-ms');
  const ima =
    opts.ima === true
      ? {
          listPath: opts.imaLog ?? join(opts.root ?? '/', IMA_LIST_PATH),
          ...(pollMs === undefined ? {} : { pollMs: Math.max(1, pollMs) }),
        }
      : undefined;
  let agent;
  try {
    agent = await Agent.open({
      provider,
      register,
      ...(device === undefined ? {} : { registerDevice: device }),
      ...(hooks === undefined ? {} : { hooks }),
      logDir: opts.logDir ?? join(opts.runDir, 'log'),
      durability: opts.durability,
      ...(opts.bootId === undefined ? {} : { bootId: opts.bootId }),
      ...(opts.tenants === undefined ? {} : { tenants: readTenantsFile(opts.tenants) }),
      checkpoint: {
        ...(cpBytes === undefined ? {} : { maxBytes: cpBytes }),
        ...(cpAge === undefined ? {} : { maxAgeMs: cpAge * 1000 }),
      },
      logger,
      ...(ima === undefined ? {} : { ima }),
      ...(opts.compressArchives === true ? { compressArchives: true } : {}),
      ...(opts.vmrAlg === undefined ? {} : { vmrAlg: opts.vmrAlg }),
      firmwareLog: () => readFirmwareLog(provider.kind, provider.profile, opts.root ?? '/'),
      // test and demo hook (docs/agent.md): slow every report down, as a real TDX quote is
      reportDelayMs: Number(process.env['MRSTACK_AGENT_REPORT_DELAY_MS'] ?? 0) || 0,
    });
  } catch (e) {
    await provider.close();
    throw e;
  }
  let server;
  try {
    server = await AgentServer.start({
      agent,
      runDir: opts.runDir,
      adminMode: opts.adminMode,
      ...(opts.imaMode === undefined ? {} : { imaMode: opts.imaMode }),
      logger,
      ...(hooks === undefined ? {} : { hooks }),
    });
  } catch (e) {
    await agent.close();
    await provider.close();
    throw e;
  }
  const ready = {
    ready: true,
    admin_socket: server.adminSocket,
    register,
    pid: process.pid,
    tenants: agent
      .listTenants()
      .map((t) => ({ name: t.name, vmr: t.vmr, socket: server.tenantSocket(t.name) })),
    ...(agent.ima === undefined
      ? {}
      : {
          ima: {
            socket: server.tenantSocket('ima'),
            list: agent.ima.listPath,
            mirrored: agent.ima.mirrored,
            failed: agent.ima.failed?.code ?? null,
          },
        }),
  };
  // the handlers go in before the ready line: a supervisor may send SIGTERM as soon as it reads
  // it, and a signal without a handler would kill the agent mid-write (found by the soak); a
  // second signal during the shutdown is ignored rather than fatal
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  if (opts.json === true) process.stdout.write(`${JSON.stringify(ready)}\n`);
  else
    process.stderr.write(
      `mrstack agent: ${register} on ${server.adminSocket} (${ready.tenants.length} tenants)\n`,
    );
  await stopped;
  await server.close();
  await agent.close();
  await provider.close();
  logger.info({}, 'agent stopped');
  return 0;
}

async function admin(runDir: string): Promise<import('../../agent/client.js').AdminClient> {
  const { AdminClient } = await import('../../agent/client.js');
  return new AdminClient(join(runDir, 'admin.sock'));
}

async function status(opts: RunDirOptions): Promise<number> {
  const c = await admin(opts.runDir);
  try {
    const s = await c.status();
    if (opts.json === true) {
      printJson(s);
      return 0;
    }
    const pl = s['physical_log'] as Record<string, unknown>;
    const value = s['value'] as Record<string, string>;
    printFields([
      ['register', String(s['register'])],
      ...Object.entries(value).map(([a, v]): [string, string] => [`value (${a})`, v]),
      ['boot id', String(s['boot_id'])],
      ['durability', String(s['durability'])],
      ['records', `${String(pl['records'])} (${String(pl['extended'])} extended)`],
      ['segments', `${(pl['segments'] as number[]).join(', ')} (${String(pl['bytes'])} bytes)`],
      ['last checkpoint', JSON.stringify(s['last_checkpoint'])],
      ['queue depth', String(s['queue_depth'])],
      ['stopped', s['stopped'] === null ? 'no' : JSON.stringify(s['stopped'])],
      ['off-log moves', String((s['off_log'] as unknown[]).length)],
      ...imaStatusFields(s['ima']),
    ]);
    const ts = s['tenants'] as Record<string, unknown>[];
    printTable(
      ['tenant', 'vmr', 'records', 'pending', 'value'],
      ts.map((t) => [
        String(t['name']),
        String(t['vmr']),
        String(t['records']),
        String(t['pending']),
        String(t['value']).slice(0, 16) + '…',
      ]),
    );
    return 0;
  } finally {
    c.close();
  }
}

/** The IMA bridge's lines of `agent status` (none without `--ima`). */
function imaStatusFields(v: unknown): [string, string][] {
  if (typeof v !== 'object' || v === null) return [];
  const i = v as Record<string, unknown>;
  const failed = i['failed'] as { code: string } | null;
  return [
    ['ima list', String(i['list'])],
    ['ima mirrored', `${String(i['mirrored'])} of ${String(i['folded'])} read`],
    ['ima stopped', failed === null ? 'no' : failed.code],
  ];
}

async function checkpoint(opts: RunDirOptions): Promise<number> {
  const c = await admin(opts.runDir);
  try {
    const r = await c.checkpoint();
    if (opts.json === true) printJson(r);
    else process.stdout.write(`checkpoint ${r.checkpoint} at ${r.at}\n`);
    return 0;
  } finally {
    c.close();
  }
}

/** Registers `mrstack agent …`. */
export function registerAgent(program: Command, hooks?: AgentHooks): Command {
  const agent = program.command('agent').description('the multi-tenant measurement agent');
  addProviderOptions(
    agent
      .command('start')
      .description(
        'run the agent: own one register, serve tenants over unix sockets (until SIGTERM)',
      )
      .requiredOption('--run-dir <dir>', 'socket directory: admin.sock and tenants/<name>.sock')
      .option('--log-dir <dir>', 'log directory (default: RUN/log)')
      .option(
        '--register <mr>',
        'the physical register to own (default: rtmr3 on TDX, pcr14 on a TPM)',
      )
      .option(
        '--tenants <file>',
        'tenants file (JSON: {"tenants":[{"name","vmr","owner","mode","max_record_bytes","rate"}]})',
      )
      .addOption(
        new Option('--durability <mode>', 'process: write(2) survives the agent; os: fdatasync too')
          .choices(['process', 'os'])
          .default('process'),
      )
      .option('--boot-id <id>', "this boot's id (default: /proc/sys/kernel/random/boot_id)")
      .option(
        '--checkpoint-bytes <n>',
        'start a new segment when the current one reaches N bytes (0: never)',
      )
      .option(
        '--checkpoint-age <seconds>',
        'start a new segment when the current one is this old (0: never)',
      )
      .option(
        '--compress-archives',
        'gzip log segments once a checkpoint closes them, and the logs of earlier boots',
      )
      .addOption(
        new Option(
          '--vmr-alg <alg>',
          "the bank of new vMR chains, tenants' and --ima's mr_ima (default: the register's strongest, e.g. sha384 on a TPM); existing chains keep theirs",
        ).choices(['sha1', 'sha256', 'sha384', 'sha512', 'sm3']),
      )
      .option('--admin-mode <mode>', 'mode of admin.sock', '0600')
      .option(
        '--ima',
        "mirror the kernel's IMA list into the vMR mr_ima of the system tenant ima (tenants/ima.sock)",
      )
      .option(
        '--ima-log <path>',
        'the binary IMA list to follow (default: ROOT/sys/kernel/security/ima/binary_runtime_measurements)',
      )
      .option('--ima-poll-ms <ms>', 'how often to look for new IMA entries when idle (default 50)')
      .option('--ima-mode <mode>', 'mode of tenants/ima.sock (default 0600)')
      .option('--log-level <level>', 'pino log level', 'info')
      .option('--json', 'print a JSON ready line'),
    { write: true },
  ).action(action((opts: StartOptions) => start(opts, hooks)));
  agent
    .command('status')
    .description('registers, vMRs, tenants, log sizes, last checkpoint, queue depth')
    .requiredOption('--run-dir <dir>', "the agent's socket directory")
    .option('--json', 'print JSON')
    .action(action((opts: RunDirOptions) => status(opts)));
  agent
    .command('checkpoint')
    .description('close the current segment and start a new one (CHECKPOINT + SYNC)')
    .requiredOption('--run-dir <dir>', "the agent's socket directory")
    .option('--json', 'print JSON')
    .action(action((opts: RunDirOptions) => checkpoint(opts)));
  return agent;
}
