/**
 * `mrstack evidence get`: a tenant asks the agent for an evidence bundle bound to a nonce
 * (docs/bundle.md). Added under the `evidence` command group.
 *
 * Writes the bundle JSON to `--out FILE` (or stdout); with `--json` and `--out`, prints
 * `{"out","tenant","tree_size","physical_records","tenant_records"}`.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fromHex } from '../../bytes/hex.js';
import { UsageError } from '../../errors.js';
import { action, printJson } from '../output.js';

interface GetOptions {
  readonly socket: string;
  readonly nonce: string;
  readonly userData?: string;
  readonly since?: string;
  readonly imaSince?: string;
  readonly tenantSince?: string;
  readonly out?: string;
  readonly json?: boolean;
}

/** Adds `get` to the `evidence` group (creating the group when it is not there yet). */
export function registerEvidenceGet(program: Command): Command {
  const evidence =
    program.commands.find((c) => c.name() === 'evidence') ??
    program.command('evidence').description('evidence');
  evidence
    .command('get')
    .description('get an evidence bundle for your tenant from the agent, bound to a fresh nonce')
    .requiredOption('--socket <path>', 'your tenant socket (RUN/tenants/<name>.sock)')
    .requiredOption('--nonce <hex>', "the verifier's nonce")
    .option('--user-data <hex>', 'user data bound into the report data beside the nonce')
    .option('--since <checkpoint>', 'serve the physical log only from this checkpoint on')
    .option(
      '--ima-since <entry>',
      "the ima tenant: the IMA list only from this entry on (the verifier's IMA checkpoint)",
    )
    .option(
      '--tenant-since <record>',
      "your tenant log only after this extended record (the verifier's tenant checkpoint)",
    )
    .option('--out <file>', 'write the bundle here (default: stdout)')
    .option('--json', 'with --out: print a JSON summary')
    .action(
      action(async (opts: GetOptions) => {
        const nonce = fromHex(opts.nonce, '--nonce');
        const ud = opts.userData === undefined ? undefined : fromHex(opts.userData, '--user-data');
        const since = opts.since === undefined ? undefined : Number(opts.since);
        if (since !== undefined && (!Number.isSafeInteger(since) || since < 0)) {
          throw new UsageError('ERR_USAGE', '--since: expected a checkpoint number');
        }
        const imaSince = opts.imaSince === undefined ? undefined : Number(opts.imaSince);
        if (imaSince !== undefined && (!Number.isSafeInteger(imaSince) || imaSince < 0)) {
          throw new UsageError('ERR_USAGE', '--ima-since: expected an IMA entry number');
        }
        const tenantSince = opts.tenantSince === undefined ? undefined : Number(opts.tenantSince);
        if (tenantSince !== undefined && (!Number.isSafeInteger(tenantSince) || tenantSince < 2)) {
          throw new UsageError(
            'ERR_USAGE',
            '--tenant-since: expected a tenant record number (at least 2: SALT and TENANT)',
          );
        }
        const { TenantClient } = await import('../../agent/client.js');
        const c = new TenantClient(opts.socket);
        try {
          const b = await c.evidence(
            nonce,
            ud,
            since,
            imaSince,
            undefined,
            tenantSince === undefined ? undefined : { record: tenantSince },
          );
          const text = `${JSON.stringify(b, null, 2)}\n`;
          if (opts.out === undefined) {
            process.stdout.write(text);
            return 0;
          }
          writeFileSync(opts.out, text);
          const binding = b['binding'] as Record<string, unknown>;
          const pl = b['physical_log'] as { lines: unknown[] };
          // the system tenant ima's bundle carries the IMA list instead of a tenant log
          const tl = b['tenant_log'] as { lines: unknown[]; since?: unknown } | undefined;
          const ima = b['ima_log'] as { count: number } | undefined;
          const summary = {
            out: opts.out,
            tenant: binding['tenant'],
            tree_size: binding['tree_size'],
            physical_records: pl.lines.length,
            ...(tl === undefined ? {} : { tenant_records: tl.lines.length }),
            ...(typeof tl?.since === 'number' ? { tenant_since: tl.since } : {}),
            ...(ima === undefined ? {} : { ima_entries: ima.count }),
          };
          if (opts.json === true) printJson(summary);
          else
            process.stdout.write(
              `bundle for ${String(binding['tenant'])} written to ${opts.out}\n`,
            );
          return 0;
        } finally {
          c.close();
        }
      }),
    );
  return evidence;
}
