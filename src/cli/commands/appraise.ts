/**
 * `mrstack appraise EVIDENCE|BUNDLE [--policy FILE] …`: verify → replay → appraise in one command
 * (docs/appraisal.md). Exit 0 when the verdict is affirming, 1 for warning, contraindicated or
 * none, 2 for bad input. Without `--policy` the default policy applies.
 *
 * Log-only mode — `mrstack appraise --eventlog FILE [--policy FILE] [--ima-key FILE]…` with no
 * evidence — judges IMA lists by keylime's rules; no quote vouches for the log (the output says
 * so), exit 0 when no entry fails.
 *
 * @module
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { Appraisal } from '../../verifier/appraise/appraisal_input.js';
import { action, printFields, printJson, printTable } from '../output.js';
import { readInput as readBytes, writeText } from '../input_files.js';
import {
  addEventlogOption,
  addEvidenceOptions,
  addTrustOptions,
  containerEventlogs,
  parseAtFlag,
  verifyOptionsFromFlags,
  withPeerContainer,
  type VerifyFlags,
} from '../verify_flags.js';

interface AppraiseFlags extends VerifyFlags {
  readonly policy?: string;
  readonly earOut?: string;
  readonly earKey?: string;
  readonly earLifetime?: string;
  readonly html?: string;
  readonly eventlog?: readonly string[];
  readonly imaKey?: readonly string[];
  readonly json?: boolean;
}

const collect = (v: string, prev: readonly string[] = []): string[] => [...prev, v];

function short(v: unknown): string {
  if (v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function whereText(w: Appraisal['findings'][number]['where']): string {
  const parts: string[] = [w.layer];
  if (w.log !== undefined) parts.push(w.log);
  if (w.record !== undefined) parts.push(`record ${w.record}`);
  if (w.offset !== undefined) parts.push(`@${w.offset}`);
  return parts.join(' ');
}

function printAppraisal(a: Appraisal, extra: [string, string][]): void {
  printFields([
    ['status', a.status],
    ['policy', a.policyId],
    ['kind', a.kind],
    ['at', a.at],
    ...extra,
    ...(a.ima === undefined
      ? []
      : ([
          [
            'ima',
            `${a.ima.entries} entries: ${a.ima.matched} matched, ${a.ima.signed} signed, ${a.ima.excluded} excluded, ${a.ima.unknown} unknown, ${a.ima.mismatched} digest mismatches`,
          ],
        ] as [string, string][])),
  ]);
  const rows = a.findings.map((f) => [
    f.status,
    f.id,
    short(f.claim),
    whereText(f.where),
    short(f.expected),
    short(f.actual),
  ]);
  if (rows.length > 0)
    printTable(['status', 'finding', 'claim', 'where', 'expected', 'actual'], rows);
}

/** The JSON document of an appraisal (stable; docs/appraisal.md). */
export function appraisalJson(
  a: Appraisal,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    status: a.status,
    policy_id: a.policyId,
    kind: a.kind,
    at: a.at,
    ...extra,
    ...(a.ima === undefined ? {} : { ima: a.ima }),
    findings: a.findings,
  };
}

/** Registers `mrstack appraise`. */
export function registerAppraise(program: Command): void {
  const cmd = program
    .command('appraise')
    .description(
      'verify, replay and appraise evidence against a policy (default policy without --policy)',
    )
    .argument(
      '[evidence]',
      'evidence or an agent bundle; omit for a log-only IMA check with --eventlog',
    )
    .option('--policy <file>', 'policy file, JSON or YAML (docs/policy.schema.json)')
    .option(
      '--ima-key <file>',
      'a public key whose ima-sig signatures are accepted (repeatable)',
      collect,
    );
  addEventlogOption(cmd, 'an event log beside the evidence (repeatable): TCG, CCEL, IMA …');
  addEvidenceOptions(addTrustOptions(cmd))
    .option('--ear-out <file>', 'write a signed EAR (veraison 2023 profile; docs/ear.md) here')
    .option('--ear-key <file>', 'the EAR signing key (PEM or JWK private key; ES256 default)')
    .option('--ear-lifetime <seconds>', 'EAR exp - iat (default 300)')
    .option('--html <file>', 'write a self-contained HTML result page here')
    .option('--json', 'print JSON: {"status","policy_id","kind","at","findings",…}')
    .action(
      action(async (file: string | undefined, opts: AppraiseFlags) => {
        const lib = await import('../../verifier/appraise/policy.js');
        const { loadPolicyFile } = await import('../../verifier/appraise/policy_cache.js');
        const { appraiseEvidence, appraiseLogs } =
          await import('../../verifier/appraise/appraise_evidence.js');
        // A policy file is read (and, cached or not, validated) while the evidence is verified;
        // its error, if any, is the command's once the verification is done.
        const policyFile = opts.policy;
        const pending = (async () =>
          lib.compilePolicy(
            policyFile === undefined
              ? await lib.defaultPolicy()
              : await loadPolicyFile(policyFile, { async: true, thread: true }),
          ))();
        pending.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
        const imaKeys = (opts.imaKey ?? []).map(readBytes);
        if (file === undefined) {
          const policy = await pending;
          if (opts.eventlog === undefined || opts.eventlog.length === 0)
            throw new UsageError('ERR_USAGE', 'give evidence, or --eventlog for a log-only check');
          const at = parseAtFlag(opts.at) ?? new Date();
          const a = await appraiseLogs(opts.eventlog, policy, { at, imaKeys });
          const failed = a.findings.filter(
            (f) => f.status === 'contraindicated' || f.status === 'warning',
          );
          const note =
            'no quote vouches for this log: entries are judged, the log itself is unproven';
          if (opts.json === true)
            printJson(appraisalJson(a, { log_only: true, note, failures: failed.length }));
          else {
            process.stderr.write(`note: ${note}\n`);
            printAppraisal(a, [['failures', String(failed.length)]]);
          }
          return failed.length === 0 ? 0 : 1;
        }
        const bytes = readBytes(file);
        // an ima bundle's fold workers start while the verifiers' modules load
        (await import('../../verifier/replay/ima_layer_fold.js')).prewarmImaFoldWorkersFor(bytes);
        const { decodeEvidenceInput } = await import('../../verifier/verify/evidence_input.js');
        const input = decodeEvidenceInput(bytes);
        const kind = input.envelope?.kind ?? input.peer?.kind;
        // A peer's container (trustee, Azure vTPM) brings parts, certificates and event logs,
        // used as `evidence verify` uses them.
        const verify = withPeerContainer(
          await verifyOptionsFromFlags(opts, {
            ...(input.envelope === undefined ? {} : { envelope: input.envelope }),
            ...(kind === undefined ? {} : { kind }),
          }),
          input,
        );
        const eventlogs = [...(opts.eventlog ?? []), ...containerEventlogs(input, file)];
        const r = await appraiseEvidence(input.data, pending, {
          verify,
          ...(eventlogs.length === 0 ? {} : { eventlogs }),
          imaKeys,
        });
        let ear: { claims: Readonly<Record<string, unknown>>; token: string } | undefined;
        if (opts.earOut !== undefined) {
          if (opts.earKey === undefined)
            throw new UsageError('ERR_USAGE', '--ear-out needs --ear-key (the signing key)');
          const { loadSigningKey } = await import('../../verifier/result/ear_keys.js');
          const { issueEar } = await import('../../verifier/result/ear_issue.js');
          const key = await loadSigningKey(readBytes(opts.earKey));
          const lifetime = opts.earLifetime === undefined ? undefined : Number(opts.earLifetime);
          const issued = await issueEar([{ appraisal: r.appraisal, proven: r.claims }], key, {
            at: new Date(r.appraisal.at),
            ...(lifetime === undefined ? {} : { lifetimeSeconds: lifetime }),
            ...(verify.nonce === undefined ? {} : { nonce: verify.nonce }),
          });
          writeText(opts.earOut, issued.token);
          ear = { claims: issued.claims, token: issued.token };
        }
        if (opts.html !== undefined) {
          const { renderResultHtml } = await import('../../verifier/result/result_html.js');
          writeText(
            opts.html,
            renderResultHtml({
              appraisal: r.appraisal,
              verify: r.verify,
              replay: r.replay,
              support: r.claims,
              ...(ear === undefined ? {} : { ear }),
            }),
          );
        }
        const extra = {
          verified: r.verify.verified,
          trust_root: r.verify.trust.root ?? null,
          emulated: r.verify.trust.emulated,
          ...(opts.earOut === undefined ? {} : { ear_out: opts.earOut }),
          ...(opts.html === undefined ? {} : { html: opts.html }),
        };
        if (opts.json === true) printJson(appraisalJson(r.appraisal, extra));
        else
          printAppraisal(r.appraisal, [
            ['verified', String(r.verify.verified)],
            [
              'trust root',
              `${r.verify.trust.root ?? '-'}${r.verify.trust.emulated ? ' (EMULATED)' : ''}`,
            ],
          ]);
        return r.appraisal.status === 'affirming' ? 0 : 1;
      }),
    );
}
