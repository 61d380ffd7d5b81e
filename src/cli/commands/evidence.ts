/**
 * `mrstack evidence show|verify`: decode or verify attestation evidence offline (DESIGN §7).
 *
 * FILE may be binary, hex or base64 text, an mrstack report envelope (`mrstack report`), trustee's
 * TDX or SNP evidence JSON, or `-` for stdin. `--json` prints the verifier's result:
 * `{"verified","kind","tcbStatus"?,"advisories"?,"claims","errors","warnings","trust","checks","at"}`.
 * With `--eventlog LOG…` it adds `"eventlog":{"registers":[{"log","register","alg","proof",
 * "replayed","reported"?,"last_record"?,"offset"?}],"listed":[…]}`: `listed` holds the records at a
 * register no replay extends (TDX MRTD), each as `log parse` prints an event plus `"log"` and
 * `"compared": false`. trustee's TDX evidence JSON brings its CCEL (`cc_eventlog`) and the
 * attestation agent's AAEL (`aa_eventlog`, RTMR3), replayed the same way after the `--eventlog`
 * logs (named `FILE#cc_eventlog`, `FILE#aa_eventlog`). Exit 0 verified, 1 not
 * verified, 2 bad input.
 *
 * An `ima` bundle's `claims.events` lists only the entries that are not verified, with
 * `"events_listed":"unverified"` beside it, unless `--ima-events all` asks for every entry: a
 * million-entry list is about 300 MB of JSON, which the text screen does not print either.
 *
 * {@link registerEvidence} returns the `evidence` command so other groups can add subcommands
 * (`evidence get` lives with the agent).
 *
 * @module
 */
import { Option, type Command } from 'commander';
import type { EvidenceKind, EvidenceResult } from '../../verifier/verify/evidence_result.js';
import { readInput } from '../input_files.js';
import { toHex } from '../../bytes/hex.js';
import { printable } from '../../bytes/printable.js';
import {
  addEventlogOption,
  addEvidenceOptions,
  addTrustOptions,
  containerEventlogs,
  verifyOptionsFromFlags,
  withPeerContainer,
  type VerifyFlags,
} from '../verify_flags.js';
import { action, printFields, printJson, terminalWidth, toJsonText } from '../output.js';

interface ShowOptions {
  readonly kind?: EvidenceKind;
  readonly json?: boolean;
}

interface VerifyOptions extends ShowOptions, VerifyFlags {
  readonly wide?: boolean;
  readonly eventlog?: readonly string[];
  readonly imaEvents?: 'all' | 'unverified';
}

/** The kinds `--kind` accepts (the verifier's EVIDENCE_KINDS; kept here so help loads nothing). */
const KINDS: readonly EvidenceKind[] = ['tdx', 'snp', 'tpm', 'cca', 'bundle'];

/** The verifier, loaded when a command runs. */
const verifier = (): Promise<typeof import('../../verifier/verify/evidence.js')> =>
  import('../../verifier/verify/evidence.js');

function kindOption(): Option {
  return new Option('--kind <kind>', 'evidence kind (detected when omitted)').choices([...KINDS]);
}

/**
 * The result as `--json` prints it: an ima bundle's `claims.events` cut to the entries that are
 * not verified (`events_listed: "unverified"`) unless every entry was asked for.
 */
async function printedResult(
  r: EvidenceResult,
  imaEvents: 'all' | 'unverified',
): Promise<EvidenceResult> {
  if (imaEvents === 'all' || r.kind !== 'bundle') return r;
  const { withUnverifiedImaEvents } = await import('../../verifier/replay/ima_layer.js');
  return withUnverifiedImaEvents(r);
}

function hex(v: unknown): string {
  return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v);
}

/** Readable `key: value` lines of the top-level claims (nested objects as compact JSON). */
function claimLines(claims: Readonly<Record<string, unknown>>): [string, string][] {
  return Object.entries(claims).map(([k, v]) => [
    k,
    v instanceof Uint8Array || typeof v !== 'object' || v === null ? hex(v) : toJsonText(v, 0),
  ]);
}

async function printResult(r: EvidenceResult, wide: boolean): Promise<void> {
  const { renderEvidenceResult } = await import('../../verifier/verify/render_result.js');
  const width = wide ? undefined : terminalWidth();
  for (const l of renderEvidenceResult(r, width === undefined ? {} : { width }))
    process.stdout.write(`${l}\n`);
  for (const h of hints(r)) process.stdout.write(`hint      ${h}\n`);
}

/** Checks that judge collateral (not the evidence's own certificates). */
const COLLATERAL_CHECKS = new Set(['tcb_info', 'qe_identity', 'pck_crl', 'root_ca_crl', 'crl']);

/** What a person can do about the failures, when that is clear from them. */
function hints(r: EvidenceResult): string[] {
  const out: string[] = [];
  const expired = r.errors.filter(
    (e) =>
      (e.code === 'ERR_CERT_EXPIRED' || e.code === 'ERR_CERT_NOT_YET_VALID') &&
      typeof e['check'] === 'string' &&
      COLLATERAL_CHECKS.has(e['check']),
  );
  if (expired.length > 0) {
    out.push(
      `collateral is not current at ${r.at} (${expired.map((e) => String(e['check'])).join(', ')}): fetch fresh collateral (mrstack collateral fetch --kind ${r.kind} …) or verify at a time it was valid (--at ISO-TIME, e.g. when the evidence was made)`,
    );
  }
  return out;
}

/** Why a register's records are listed but not compared with the evidence. */
function notComparedReason(register: string | undefined): string {
  return register === 'mrtd'
    ? 'MRTD is built by the TDX module from the TD pages, not by extends'
    : 'no replay extends this register';
}

/** Registers `evidence show|verify` and returns the `evidence` command. */
export function registerEvidence(program: Command): Command {
  const evidence = program
    .command('evidence')
    .description('decode and verify attestation evidence offline');

  evidence
    .command('show')
    .description('decode evidence without verifying it')
    .argument('<file>', 'evidence: binary, hex or base64 text, a report envelope, or - for stdin')
    .addOption(kindOption())
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, opts: ShowOptions) => {
        const { decodeEvidenceInput, showEvidence } = await verifier();
        const input = decodeEvidenceInput(readInput(file));
        const shown = showEvidence(
          input.data,
          opts.kind ?? input.envelope?.kind ?? input.peer?.kind,
        );
        // An Azure vTPM container's HCL report is decoded beside the quote (claims.cvm).
        const hcl = input.peer?.parts?.['hcl_report'];
        const r =
          hcl === undefined
            ? shown
            : {
                ...shown,
                claims: {
                  ...shown.claims,
                  container: input.peer!.container,
                  cvm: showEvidence(hcl).claims,
                },
              };
        if (opts.json === true) printJson({ kind: r.kind, claims: r.claims, warnings: r.warnings });
        else
          printFields([
            ['kind', r.kind],
            ...r.warnings.map((w): [string, string] => ['warning', w]),
            ...claimLines(r.claims),
          ]);
        return 0;
      }),
    );

  const verify = evidence
    .command('verify')
    .description(
      'verify evidence offline: signatures, chains, revocation, validity at --at; TCB status beside',
    )
    .argument('<file>', 'evidence: binary, hex or base64 text, a report envelope, or - for stdin')
    .addOption(kindOption());
  addEventlogOption(addEvidenceOptions(addTrustOptions(verify)))
    .option('--wide', 'full values (no truncation to the terminal width)')
    .addOption(
      new Option(
        '--ima-events <which>',
        'ima bundle, --json: list every entry in claims.events, or only those not verified',
      )
        .choices(['all', 'unverified'])
        .default('unverified'),
    )
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, opts: VerifyOptions) => {
        const bytes = readInput(file);
        // an ima bundle's fold workers start while the verifiers' modules load
        (await import('../../verifier/replay/ima_layer_fold.js')).prewarmImaFoldWorkersFor(bytes);
        // only the kind's verifier is loaded (evidence_dispatch.ts)
        const { decodeEvidenceInput } = await import('../../verifier/verify/evidence_input.js');
        const { verifyEvidence } = await import('../../verifier/verify/evidence_dispatch.js');
        const input = decodeEvidenceInput(bytes);
        const kind = opts.kind ?? input.envelope?.kind ?? input.peer?.kind;
        const flagOpts = await verifyOptionsFromFlags(opts, {
          ...(input.envelope === undefined ? {} : { envelope: input.envelope }),
          ...(kind === undefined ? {} : { kind }),
        });
        // A peer's container brings certificates and parts (flags win).
        const vopts = withPeerContainer(flagOpts, input);
        const r = await verifyEvidence(input.data, vopts);
        // Logs that came inside the container (trustee TDX: its CCEL and AAEL) are replayed
        // like --eventlog ones, after them.
        const eventlogs = [...(opts.eventlog ?? []), ...containerEventlogs(input, file)];
        const imaEvents = opts.imaEvents ?? 'unverified';
        if (eventlogs.length === 0) {
          if (opts.json === true) printJson(await printedResult(r, imaEvents));
          else await printResult(r, opts.wide === true);
          return r.verified ? 0 : 1;
        }
        // --eventlog: the logs replayed against the registers the verified evidence reports.
        const { provenClaimsOf } = await import('../../verifier/appraise/proven_claims.js');
        const { replayEvidenceLogs } = await import('../../verifier/appraise/replayed_logs.js');
        const { eventJson } = await import('./log.js');
        const { eventSummary } = await import('../event_text.js');
        const claims = provenClaimsOf(r, { nonceGiven: vopts.nonce !== undefined });
        // Records at a register no replay extends (TDX MRTD: the TDX module builds it) are
        // listed beside the comparison, never dropped silently and never compared.
        const listed: { json: Record<string, unknown>; line: string }[] = [];
        const replayed = await replayEvidenceLogs(eventlogs, claims, {
          onNotReplayed: (e, log) => {
            const summary = eventSummary(log.format.describe?.(e) ?? {});
            listed.push({
              json: { log: log.path, ...eventJson(e, log.format), compared: false },
              line: `eventlog  ${e.register ?? '?'}  record ${String(e.index)} ${log.format.typeName?.(e) ?? e.kind}${summary === '' ? '' : ` ${summary}`}  listed, not compared (${notComparedReason(e.register)})  ${log.path}`,
            });
          },
        });
        const registers = replayed.registers.map((g) => ({
          log: g.log,
          register: g.name,
          alg: g.alg,
          proof: g.proof,
          replayed: toHex(g.value),
          ...(g.reported === undefined ? {} : { reported: toHex(g.reported) }),
          ...(g.divergence === undefined
            ? {}
            : { last_record: g.divergence.record, offset: g.divergence.offset }),
        }));
        const failed = registers.filter((g) => g.proof === 'failed');
        const errors = failed.map((g) => ({
          code: 'ERR_REPLAY_MISMATCH',
          check: 'eventlog',
          message: `${g.log ?? '?'}: ${g.register} (${g.alg}) replays to ${g.replayed.slice(0, 16)}…, the evidence reports ${String(g.reported).slice(0, 16)}…; last record extended into it: ${g.last_record === undefined ? '?' : String(g.last_record)}`,
          register: g.register,
          ...(g.last_record === undefined ? {} : { record: g.last_record }),
        }));
        // A log that names no register the evidence reports proves nothing: that is a failure too.
        if (registers.length === 0) {
          errors.push({
            code: 'ERR_REPLAY_MISMATCH',
            check: 'eventlog',
            message: `no register of ${eventlogs.map((l) => (typeof l === 'string' ? l : l.name)).join(', ')} is one the evidence reports`,
            register: '',
          });
        }
        const out = {
          ...(await printedResult(r, imaEvents)),
          verified: r.verified && errors.length === 0,
          errors: [...r.errors, ...errors],
          eventlog: { registers, listed: listed.map((l) => l.json) },
        };
        if (opts.json === true) printJson(out);
        else {
          await printResult(r, opts.wide === true);
          for (const g of registers) {
            process.stdout.write(
              `eventlog  ${g.register}:${g.alg}  ${g.proof === 'ok' ? 'replays to the reported value' : `MISMATCH (last record ${String(g.last_record ?? '?')})`}  ${g.log ?? ''}\n`,
            );
          }
          for (const l of listed) process.stdout.write(`${printable(l.line)}\n`);
          for (const e of errors) process.stdout.write(`error: ${e.code}: ${e.message}\n`);
        }
        return out.verified ? 0 : 1;
      }),
    );
  return evidence;
}
