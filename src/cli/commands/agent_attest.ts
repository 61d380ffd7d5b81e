/**
 * `mrstack agent attest --verifier URL --socket TENANT_SOCK`: the whole attestation loop from
 * the attester's side — open a session at the verifier, get an evidence bundle from the agent
 * bound to the session's nonce (only the physical log since the checkpoint the session names,
 * when the verifier holds a trusted one for `--attester`), submit it, print the result (the EAR
 * and the appraisal). Exit 0 when the verifier passed it, 1 otherwise. Added under the `agent`
 * command group.
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fromErrno, MrstackError } from '../../errors.js';
import { action, printJson } from '../output.js';

interface AttestFlags {
  readonly verifier: string;
  readonly socket: string;
  readonly ca?: string;
  readonly attester?: string;
  readonly tenant?: string;
  readonly bundleOut?: string;
  readonly json?: boolean;
}

/** Adds `attest` to the `agent` group (creating the group when it is not there yet). */
export function registerAgentAttest(program: Command): Command {
  const agent =
    program.commands.find((c) => c.name() === 'agent') ??
    program.command('agent').description('the measurement agent');
  agent
    .command('attest')
    .description('attest to a verifier service: session → evidence from the agent → EAR')
    .requiredOption('--verifier <url>', 'http(s)://HOST:PORT or unix:PATH')
    .requiredOption('--socket <path>', 'your tenant socket (RUN/tenants/<name>.sock)')
    .option('--ca <file>', 'CA certificate for https')
    .option(
      '--attester <id>',
      'the attester id the session is for (the verifier then names the checkpoint to send since)',
    )
    .option(
      '--tenant <name>',
      'your tenant name (default: the socket file name without .sock): the verifier then names where your log continues',
    )
    .option('--bundle-out <file>', 'also write the bundle that was sent')
    .option('--json', 'print JSON (the default)')
    .action(
      action(async (o: AttestFlags) => {
        let ca: Uint8Array | undefined;
        if (o.ca !== undefined) {
          try {
            ca = new Uint8Array(readFileSync(o.ca));
          } catch (e) {
            throw fromErrno(e, o.ca);
          }
        }
        const { openSession, submitEvidence } = await import('../../verifier/service/client.js');
        const { TenantClient } = await import('../../agent/client.js');
        const ep = { url: o.verifier, ...(ca === undefined ? {} : { ca }) };
        // RUN/tenants/<name>.sock is the agent's layout
        const tenant =
          o.tenant ?? (o.attester === undefined ? undefined : /([^/]+)\.sock$/.exec(o.socket)?.[1]);
        const session = await openSession(ep, o.attester, tenant);
        const client = new TenantClient(o.socket);
        const nonce = new Uint8Array(Buffer.from(session.nonce, 'hex'));
        let bundle: unknown;
        try {
          // Only the records after the verifier's trusted checkpoint, when it named one; an
          // agent that no longer has that checkpoint (a new boot) sends its whole log.
          const since = session.since?.seq;
          // the ima tenant's list from the verifier's trusted IMA checkpoint (other tenants'
          // sockets ignore it)
          const imaSince =
            session.ima_since?.register === 'mr_ima' ? session.ima_since.offset : undefined;
          const imaBoot = imaSince === undefined ? undefined : session.ima_since?.boot_id;
          // the tenant log only after the verifier's trusted tenant checkpoint
          const ts = session.tenant_since;
          const tenantSince =
            ts === undefined || ts.tenant !== tenant
              ? undefined
              : { record: ts.record, boot: ts.boot_id };
          try {
            bundle = await client.evidence(nonce, undefined, since, imaSince, imaBoot, tenantSince);
          } catch (e) {
            if (
              (since === undefined && imaSince === undefined && tenantSince === undefined) ||
              !(e instanceof MrstackError)
            )
              throw e;
            bundle = await client.evidence(nonce);
          }
        } finally {
          client.close();
        }
        const bytes = new TextEncoder().encode(JSON.stringify(bundle));
        if (o.bundleOut !== undefined) {
          try {
            writeFileSync(o.bundleOut, bytes);
          } catch (e) {
            throw fromErrno(e, o.bundleOut);
          }
        }
        const r = await submitEvidence(ep, session.id, bytes);
        printJson({ session: session.id, ...r });
        return r['passed'] === true ? 0 : 1;
      }),
    );
  return agent;
}
