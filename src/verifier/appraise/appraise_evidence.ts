/**
 * verify → replay → appraise in one call: what `mrstack appraise` and the verifier service run.
 * Evidence is verified by the front door (`verifier/verify/evidence.ts`), a bundle's layers are
 * replayed there; logs given beside the evidence are replayed against the reported registers
 * here; then the compiled policy judges what was proven.
 *
 * @module
 */
import type { EvidenceResult, VerifyEvidenceOptions } from '../verify/evidence_result.js';
import type {
  Appraisal,
  ImaVerdictsAhead,
  ProvenClaims,
  ReplayedEvidence,
} from './appraisal_input.js';
import { appraise } from './appraise.js';
import type { CompiledPolicy } from './policy.js';
import { imaKeysOf, imaVerdictsAhead } from './ima_rules.js';
import { bundleReplayOf, provenClaimsOf } from './proven_claims.js';
import {
  replayEvidenceLogs,
  type EvidenceLogInput,
  type EvidenceLogsOptions,
} from './replayed_logs.js';

/**
 * Loads what checking the policy's and the caller's ima-sig keys needs (ECDSA curves), so the
 * synchronous IMA rules can check EC signatures.
 */
async function prepareImaKeys(
  policy: CompiledPolicy,
  imaKeys: readonly Uint8Array[] | undefined,
): Promise<void> {
  const material = [...policy.ima.keys, ...(imaKeys ?? [])];
  const { prepareImaSigningKeys, prepareEcdsaCurves } = await import('../verify/ima_signature.js');
  // a keyring entry of the list may bring an EC certificate (as an RSA one) that vouches for
  // later ima-sig signatures: its curve must be ready before the synchronous rules run
  if (policy.ima.keyrings.size > 0) await prepareEcdsaCurves();
  if (material.length === 0) return;
  await prepareImaSigningKeys(material.flatMap((k, i) => imaKeysOf(k, `key ${i + 1}`)));
}

/** Options of {@link appraiseEvidence}. */
export interface AppraiseEvidenceOptions {
  readonly verify: VerifyEvidenceOptions;
  /** Event logs beside the evidence (`--eventlog`, or bytes), replayed against its registers. */
  readonly eventlogs?: readonly EvidenceLogInput[];
  readonly imaKeys?: readonly Uint8Array[];
  /**
   * The IMA list among `eventlogs` sent from an entry (a TPM quote's list since the verifier's
   * trusted IMA checkpoint), and that checkpoint (`replayEvidenceLogs`).
   */
  readonly imaCheckpoint?: EvidenceLogsOptions['imaCheckpoint'];
  /** Keys learned below the trusted IMA checkpoint (`AppraiseOptions.imaLearnedKeys`). */
  readonly imaLearnedKeys?: readonly Uint8Array[];
  /** Called with each keyring entry's buffer the policy accepted. */
  readonly onImaKeyLearned?: (buf: Uint8Array) => void;
  /** Appraisal time (default: the verification time). */
  readonly at?: Date;
}

/** The appraisal and the verify result it judged (for EAR and HTML output). */
export interface EvidenceAppraisal {
  readonly appraisal: Appraisal;
  readonly verify: EvidenceResult;
  /** What verify proved, as appraisal read it (the EAR's claim support). */
  readonly claims: ProvenClaims;
  readonly replay: ReplayedEvidence;
}

/**
 * Verifies evidence, replays its logs and appraises it. The policy may still be loading (a
 * promise): it is awaited once the evidence is verified, so a large policy file is read while
 * the verification waits on its worker threads.
 * @throws ParseError / UsageError for bad input (exit 2); the policy's own error
 */
export async function appraiseEvidence(
  data: Uint8Array,
  policyGiven: CompiledPolicy | PromiseLike<CompiledPolicy>,
  opts: AppraiseEvidenceOptions,
): Promise<EvidenceAppraisal> {
  const { verifyEvidence } = await import('../verify/evidence_dispatch.js');
  // an ima bundle's verdicts are worked out while its list folds on worker threads (this thread
  // would wait); they are used only for the entries the verification then proves
  let ahead: Promise<ImaVerdictsAhead | undefined> | undefined;
  const verify = await verifyEvidence(data, {
    ...opts.verify,
    onImaListFolding: (list, base) => {
      ahead = Promise.resolve(policyGiven).then((p) => imaVerdictsAhead(p, list, base));
      ahead.catch(() => undefined); // the policy's error is the command's, below
    },
  });
  const policy = await policyGiven;
  const verdicts = await ahead;
  const claims = provenClaimsOf(verify, { nonceGiven: opts.verify.nonce !== undefined });
  const bundled = bundleReplayOf(verify);
  const logs =
    opts.eventlogs === undefined || opts.eventlogs.length === 0
      ? { registers: [], tenantEvents: [], ima: [] }
      : await replayEvidenceLogs(
          opts.eventlogs,
          claims,
          opts.imaCheckpoint === undefined ? {} : { imaCheckpoint: opts.imaCheckpoint },
        );
  const breaks = [...(bundled.imaCheckpoint ?? []), ...(logs.imaCheckpoint ?? [])];
  const replay: ReplayedEvidence = {
    registers: [...bundled.registers, ...logs.registers],
    tenantEvents: bundled.tenantEvents,
    ima: [
      ...(bundled.ima ?? []).map((l) => (verdicts === undefined ? l : { ...l, ahead: verdicts })),
      ...(logs.ima ?? []),
    ],
    ...(breaks.length === 0 ? {} : { imaCheckpoint: breaks }),
    ...(bundled.tenantCheckpoint === undefined
      ? {}
      : { tenantCheckpoint: bundled.tenantCheckpoint }),
  };
  const at = opts.at ?? new Date(verify.at);
  await prepareImaKeys(policy, opts.imaKeys);
  const appraisal = appraise(claims, replay, policy, {
    at,
    ...(opts.imaKeys === undefined ? {} : { imaKeys: opts.imaKeys }),
    ...(opts.imaLearnedKeys === undefined ? {} : { imaLearnedKeys: opts.imaLearnedKeys }),
    ...(opts.onImaKeyLearned === undefined ? {} : { onImaKeyLearned: opts.onImaKeyLearned }),
  });
  return { appraisal, verify, claims, replay };
}

/**
 * Log-only appraisal (`mrstack appraise --eventlog FILE` with no evidence): keylime's IMA rules
 * over the lists; nothing vouches for the logs (every finding says so).
 */
export async function appraiseLogs(
  eventlogs: readonly string[],
  policy: CompiledPolicy,
  opts: { readonly at: Date; readonly imaKeys?: readonly Uint8Array[] },
): Promise<Appraisal> {
  const replay = await replayEvidenceLogs(eventlogs, undefined);
  await prepareImaKeys(policy, opts.imaKeys);
  // register values of an unbound log prove nothing: judge only the IMA entries
  return appraise(
    undefined,
    { registers: [], tenantEvents: [], ima: replay.ima ?? [] },
    policy,
    opts,
  );
}
