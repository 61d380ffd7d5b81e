/**
 * `mrstack event append|status|log`: a tenant's side of the agent, over its own socket.
 *
 * JSON (with `--json`): `event append` → the acknowledgement
 * `{"status":"acknowledged","tenant","vmr","id"?,"record","value","register","physical_record"?,"duplicate"}`
 * (exit 0 only once acknowledged); `event status` → `{"id","status","record"?,"value"?}`;
 * `event log` → `{"lines":[…]}`.
 *
 * @module
 */
import type { Command } from 'commander';
import { action, printFields, printJson } from '../output.js';

async function withTenant<T>(
  socket: string,
  fn: (c: import('../../agent/client.js').TenantClient) => Promise<T>,
): Promise<T> {
  const { TenantClient } = await import('../../agent/client.js');
  const c = new TenantClient(socket);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

interface AppendOptions {
  readonly socket: string;
  readonly domain: string;
  readonly operation: string;
  readonly content: string;
  readonly id?: string;
  readonly json?: boolean;
}

/** Registers `mrstack event …`. */
export function registerEvent(program: Command): Command {
  const event = program.command('event').description('append events to your vMR through the agent');
  event
    .command('append')
    .description(
      'append one event; exits 0 only once the agent acknowledged it (logged and extended)',
    )
    .requiredOption('--socket <path>', 'your tenant socket (RUN/tenants/<name>.sock)')
    .requiredOption('--domain <domain>', 'event domain (contains "." or "/")')
    .requiredOption('--operation <op>', 'operation ([A-Za-z0-9_.-]+)')
    .requiredOption('--content <text>', 'content (printable text)')
    .option('--id <id>', 'request id: a retry with the same id returns the first result')
    .option('--json', 'print JSON')
    .action(
      action((opts: AppendOptions) =>
        withTenant(opts.socket, async (c) => {
          const r = await c.append(
            { domain: opts.domain, operation: opts.operation, content: opts.content },
            opts.id,
          );
          if (opts.json === true) printJson(r);
          else {
            printFields([
              ['tenant', r.tenant],
              ['vmr', r.vmr],
              ['record', String(r.record)],
              ['value', r.value],
              ['register', r.register],
              ...(r.duplicate
                ? [['duplicate', 'yes (first result of this id)'] as [string, string]]
                : []),
            ]);
          }
          return 0;
        }),
      ),
    );
  event
    .command('status')
    .description('what became of a request id')
    .requiredOption('--socket <path>', 'your tenant socket')
    .requiredOption('--id <id>', 'the request id')
    .option('--json', 'print JSON')
    .action(
      action((opts: { socket: string; id: string; json?: boolean }) =>
        withTenant(opts.socket, async (c) => {
          const r = await c.eventStatus(opts.id);
          if (opts.json === true) printJson(r);
          else printFields(Object.entries(r).map(([k, v]) => [k, String(v)]));
          return 0;
        }),
      ),
    );
  event
    .command('log')
    .description('print your vMR log')
    .requiredOption('--socket <path>', 'your tenant socket')
    .option('--json', 'print JSON')
    .action(
      action((opts: { socket: string; json?: boolean }) =>
        withTenant(opts.socket, async (c) => {
          const lines = await c.log();
          if (opts.json === true) printJson({ lines });
          else process.stdout.write(lines.map((l) => `${l}\n`).join(''));
          return 0;
        }),
      ),
    );
  return event;
}
