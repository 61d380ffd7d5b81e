/**
 * `mrstack agent attest --verifier URL --socket TENANT_SOCK`: the whole attestation loop from
 * the attester's side — open a session at the verifier, get an evidence bundle from the agent
 * bound to the session's nonce (only the physical log since the checkpoint the session names,
 * when the verifier holds a trusted one for `--attester`), submit it, print the result (the EAR
 * and the appraisal). Exit 0 when the verifier passed it, 1 otherwise. Added under the `agent`
 * command group.
 *
 * Without `--socket`, the attester is a TPM host (`--provider tpm`, or an emulated TVM) and the
 * evidence is a quote with the IMA list after it: `agent_attest_quote.ts`.
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fromErrno, MrstackError, UsageError } from '../../errors.js';
import type { SessionJson } from '../../verifier/service/client.js';
import { action, printJson } from '../output.js';
import { addProviderOptions } from '../provider_options.js';
import type { ImaSent, QuoteFlags } from './agent_attest_quote.js';

interface AttestFlags extends QuoteFlags {
  readonly verifier: string;
  readonly socket?: string;
  readonly ca?: string;
  readonly attester?: string;
  readonly tenant?: string;
  readonly bundleOut?: string;
}

/** The agent route: a bundle from the tenant socket, since the session's checkpoints. */
async function agentEvidence(
  socket: string,
  session: SessionJson,
  nonce: Uint8Array,
  tenant: string | undefined,
): Promise<Uint8Array> {
  const { TenantClient } = await import('../../agent/client.js');
  const client = new TenantClient(socket);
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
  return new TextEncoder().encode(JSON.stringify(bundle));
}

/** Adds `attest` to the `agent` group (creating the group when it is not there yet). */
export function registerAgentAttest(program: Command): Command {
  const agent =
    program.commands.find((c) => c.name() === 'agent') ??
    program.command('agent').description('the measurement agent');
  const cmd = agent
    .command('attest')
    .description('attest to a verifier service: session → evidence from the agent → EAR')
    .requiredOption('--verifier <url>', 'http(s)://HOST:PORT or unix:PATH')
    .option(
      '--socket <path>',
      'your tenant socket (RUN/tenants/<name>.sock); without it, a quote from --provider is sent',
    )
    .option('--ca <file>', 'CA certificate for https')
    .option(
      '--attester <id>',
      'the attester id the session is for (the verifier then names the checkpoint to send since)',
    )
    .option(
      '--tenant <name>',
      'your tenant name (default: the socket file name without .sock): the verifier then names where your log continues',
    )
    .option('--bundle-out <file>', 'also write the bundle (or envelope) that was sent')
    .option(
      '--ima-log <file>',
      "without --socket: the kernel's binary IMA list, read after the quote and sent from the session's ima_since",
    )
    .option('--ak <file|handle>', 'without --socket, tpm provider: quote with this AK')
    .option(
      '--pcr-list <selection>',
      'without --socket, tpm provider: the PCRs to quote (sha256:10+sha1:10; default: every sha256 PCR)',
    )
    .option('--json', 'print JSON (the default)');
  addProviderOptions(cmd, { write: false });
  cmd.action(
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
      const ep = { url: o.verifier, ...(ca === undefined ? {} : { ca }) };
      const fromAgent = o.socket !== undefined;
      if (!fromAgent && cmd.getOptionValueSource('provider') === 'default')
        throw new UsageError(
          'ERR_USAGE',
          "give --socket (an agent's tenant socket) or --provider tpm|emulated (a quote)",
        );
      if (fromAgent && (o.imaLog !== undefined || o.ak !== undefined || o.pcrList !== undefined))
        throw new UsageError('ERR_USAGE', '--ima-log, --ak and --pcr-list go without --socket');
      // RUN/tenants/<name>.sock is the agent's layout
      const tenant =
        o.tenant ??
        (o.attester === undefined || o.socket === undefined
          ? undefined
          : /([^/]+)\.sock$/.exec(o.socket)?.[1]);
      const session = await openSession(ep, o.attester, tenant);
      const nonce = new Uint8Array(Buffer.from(session.nonce, 'hex'));
      let bytes: Uint8Array;
      let imaSent: ImaSent | undefined;
      if (o.socket !== undefined) bytes = await agentEvidence(o.socket, session, nonce, tenant);
      else {
        const { quoteEvidence } = await import('./agent_attest_quote.js');
        const q = await quoteEvidence(o, session, nonce);
        bytes = q.bytes;
        imaSent = q.ima;
      }
      if (o.bundleOut !== undefined) {
        try {
          writeFileSync(o.bundleOut, bytes);
        } catch (e) {
          throw fromErrno(e, o.bundleOut);
        }
      }
      const r = await submitEvidence(ep, session.id, bytes);
      printJson({
        session: session.id,
        ...(imaSent === undefined ? {} : { ima_sent: imaSent }),
        ...r,
      });
      return r['passed'] === true ? 0 : 1;
    }),
  );
  return agent;
}
