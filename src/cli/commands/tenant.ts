/**
 * `mrstack tenant add|remove|list`: manage the agent's tenants over its admin socket.
 *
 * JSON (with `--json`): `tenant add` → `{"name","vmr","owner"?,"mode"?,"socket"}`;
 * `tenant remove` → `{"removed":"<name>"}`; `tenant list` → `{"tenants":[…]}`.
 *
 * @module
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { action, printJson, printTable } from '../output.js';

interface AddOptions {
  readonly runDir: string;
  readonly vmr?: string;
  readonly owner?: string;
  readonly mode?: string;
  readonly maxRecordBytes?: string;
  readonly rate?: string;
  readonly json?: boolean;
}

async function withAdmin<T>(
  runDir: string,
  fn: (c: import('../../agent/client.js').AdminClient) => Promise<T>,
): Promise<T> {
  const { AdminClient } = await import('../../agent/client.js');
  const c = new AdminClient(join(runDir, 'admin.sock'));
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Registers `mrstack tenant …`. */
export function registerTenant(program: Command): Command {
  const tenant = program.command('tenant').description('tenants of the measurement agent');
  tenant
    .command('add <name>')
    .description('add a tenant (persisted); its socket is RUN/tenants/<name>.sock')
    .requiredOption('--run-dir <dir>', "the agent's socket directory")
    .option('--vmr <vmr>', 'its virtual MR (default: the tenant name); never reused in a boot')
    .option('--owner <uid[:gid]>', 'owner of the tenant socket')
    .option('--mode <mode>', 'mode of the tenant socket (default 0600)')
    .option('--max-record-bytes <n>', 'largest event line')
    .option('--rate <n>', 'events per second (0: unlimited)')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: AddOptions) => {
        // a bad name or socket setting is the user's argument, not the agent's JSON
        const { checkTenantConfig } = await import('../../agent/tenant_config.js');
        checkTenantConfig(
          {
            name,
            vmr: opts.vmr ?? name,
            ...(opts.owner === undefined ? {} : { owner: opts.owner }),
            ...(opts.mode === undefined ? {} : { mode: opts.mode }),
          },
          'tenant add',
        );
        return withAdmin(opts.runDir, async (c) => {
          const r = await c.addTenant({
            name,
            vmr: opts.vmr ?? name,
            ...(opts.owner === undefined ? {} : { owner: opts.owner }),
            ...(opts.mode === undefined ? {} : { mode: opts.mode }),
            ...(opts.maxRecordBytes === undefined
              ? {}
              : { max_record_bytes: Number(opts.maxRecordBytes) }),
            ...(opts.rate === undefined ? {} : { rate: Number(opts.rate) }),
          });
          if (opts.json === true) printJson(r);
          else
            process.stdout.write(
              `tenant ${name} (vMR ${String(r['vmr'])}) on ${String(r['socket'])}\n`,
            );
          return 0;
        });
      }),
    );
  tenant
    .command('remove <name>')
    .description('remove a tenant: its log is archived and its vMR name never reused in this boot')
    .requiredOption('--run-dir <dir>', "the agent's socket directory")
    .option('--json', 'print JSON')
    .action(
      action((name: string, opts: { runDir: string; json?: boolean }) =>
        withAdmin(opts.runDir, async (c) => {
          const r = await c.removeTenant(name);
          if (opts.json === true) printJson(r);
          else process.stdout.write(`tenant ${name} removed\n`);
          return 0;
        }),
      ),
    );
  tenant
    .command('list')
    .description('list tenants')
    .requiredOption('--run-dir <dir>', "the agent's socket directory")
    .option('--json', 'print JSON')
    .action(
      action((opts: { runDir: string; json?: boolean }) =>
        withAdmin(opts.runDir, async (c) => {
          const r = await c.tenants();
          if (opts.json === true) printJson(r);
          else
            printTable(
              ['tenant', 'vmr', 'socket'],
              r.tenants.map((t) => [String(t['name']), String(t['vmr']), String(t['socket'])]),
            );
          return 0;
        }),
      ),
    );
  return tenant;
}
