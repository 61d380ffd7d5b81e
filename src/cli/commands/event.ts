/**
 * `mrstack event append|status|log`: a tenant's side of the agent, over its own socket.
 *
 * JSON (with `--json`): `event append` → the acknowledgement
 * `{"status":"acknowledged","tenant","vmr","id"?,"record","value","register","physical_record"?,"duplicate"}`
 * (exit 0 only once acknowledged); `event append --stdin` reads NDJSON events
 * (`{"domain","operation","content","id"?}` per line) and prints one result line per event
 * (`{"index",…acknowledgement}` or `{"index","status":"rejected","error":{…}}`; with `--json`
 * NDJSON, else one readable line each) and a summary on stderr; exit 0 only when every event was
 * acknowledged; `event status` → `{"id","status","record"?,"value"?}`; `event log` →
 * `{"lines":[…]}`.
 *
 * @module
 */
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { ERROR_CODES, ParseError, UsageError, type ErrorCode } from '../../errors.js';
import type { BatchEventInput } from '../../agent/client.js';
import { action, printFields, printJson } from '../output.js';

/** NDJSON events from stdin, one per non-empty line; a line that is not an object is bad input. */
async function* stdinEvents(): AsyncGenerator<BatchEventInput> {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (line.trim() === '') continue;
    let j: unknown;
    try {
      j = JSON.parse(line);
    } catch (cause) {
      throw new ParseError({
        code: 'ERR_BAD_JSON',
        format: 'json',
        offset: 0,
        field: `stdin line ${n}`,
        expected: 'one JSON object per line',
        cause,
      });
    }
    if (typeof j !== 'object' || j === null || Array.isArray(j)) {
      throw new ParseError({
        code: 'ERR_BAD_JSON',
        format: 'json',
        offset: 0,
        field: `stdin line ${n}`,
        expected: 'a JSON object {"domain","operation","content","id"?}',
      });
    }
    yield j as BatchEventInput;
  }
}

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
  readonly domain?: string;
  readonly operation?: string;
  readonly content?: string;
  readonly id?: string;
  readonly stdin?: boolean;
  readonly batchSize?: string;
  readonly json?: boolean;
}

async function appendStdin(opts: AppendOptions): Promise<number> {
  const size = Number(opts.batchSize ?? 256);
  if (!Number.isSafeInteger(size) || size < 1 || size > 4096)
    throw new UsageError('ERR_USAGE', '--batch-size: expected 1-4096');
  return withTenant(opts.socket, async (c) => {
    let acked = 0;
    let rejected = 0;
    let worst = 0;
    for await (const r of c.appendMany(stdinEvents(), { batchSize: size })) {
      if (r.status === 'rejected') {
        rejected++;
        const code = r.error.code as ErrorCode;
        worst = Math.max(worst, code in ERROR_CODES ? ERROR_CODES[code].exit : 3);
      } else acked++;
      if (opts.json === true) process.stdout.write(`${JSON.stringify(r)}\n`);
      else if (r.status === 'rejected')
        process.stdout.write(`${r.index} rejected ${r.error.code}: ${r.error.message}\n`);
      else
        process.stdout.write(
          `${r.index} acknowledged record ${r.record}${r.duplicate ? ' (duplicate)' : ''}\n`,
        );
    }
    process.stderr.write(`event append: ${acked} acknowledged, ${rejected} rejected\n`);
    return worst;
  });
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
    .option('--domain <domain>', 'event domain (contains "." or "/")')
    .option('--operation <op>', 'operation ([A-Za-z0-9_.-]+)')
    .option('--content <text>', 'content (printable text)')
    .option('--id <id>', 'request id: a retry with the same id returns the first result')
    .option(
      '--stdin',
      'read NDJSON events from stdin ({"domain","operation","content","id"?} per line), sent in batches',
    )
    .option('--batch-size <n>', 'events per request with --stdin (default 256)')
    .option('--json', 'print JSON')
    .action(
      action((opts: AppendOptions) => {
        if (opts.stdin === true) {
          if (
            opts.domain !== undefined ||
            opts.operation !== undefined ||
            opts.content !== undefined ||
            opts.id !== undefined
          )
            throw new UsageError(
              'ERR_USAGE',
              '--stdin reads events from stdin: drop --domain/--operation/--content/--id',
            );
          return appendStdin(opts);
        }
        const { domain, operation, content } = opts;
        if (domain === undefined || operation === undefined || content === undefined)
          throw new UsageError(
            'ERR_USAGE',
            'event append: give --domain, --operation and --content, or --stdin',
          );
        return withTenant(opts.socket, async (c) => {
          const r = await c.append({ domain, operation, content }, opts.id);
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
        });
      }),
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
