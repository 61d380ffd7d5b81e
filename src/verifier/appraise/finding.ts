/**
 * Findings: what appraisal says about each thing a policy judged (DESIGN §6.3).
 *
 * A finding is `{id, status, claim, expected, actual, where}`. Its `id` is stable (a relying
 * party, the EAR claim mapping and `docs/appraisal.md` key on it) and comes from
 * {@link FINDING_IDS}, the one table of ids with their default status. Ids name outcomes, not
 * rules: a rule that holds yields its affirming id (`tdx.mrtd.match`), one that does not its
 * problem id (`tdx.mrtd.mismatch`), and a rule whose input verify or replay did not prove yields
 * `claim.unproven` with status `none` — never an affirming one.
 *
 * @module
 */

/** The appraisal status of one finding, and of an appraisal (AR4SI tier names). */
export type FindingStatus = 'affirming' | 'warning' | 'contraindicated' | 'none';

/** Every status, best to worst as a relying party reads them ({@link worstStatus} ranks them). */
export const FINDING_STATUSES: readonly FindingStatus[] = Object.freeze([
  'affirming',
  'warning',
  'contraindicated',
  'none',
]);

/** The layer a finding points into. */
export type FindingLayer =
  | 'report'
  | 'collateral'
  | 'binding'
  | 'firmware-log'
  | 'physical'
  | 'vmr'
  | 'tenant'
  | 'ima'
  | 'policy';

/** Where a finding points: the layer, and for log findings the log, record and byte offset. */
export interface FindingWhere {
  readonly layer: FindingLayer;
  /** The log's name (a file path or the bundle part), for log findings. */
  readonly log?: string;
  /** The record's number in its log (0-based index for firmware/IMA logs, 1-based for mrlog). */
  readonly record?: number;
  /** Byte offset of the record in its log (for ascii IMA: its line number, as the log says). */
  readonly offset?: number;
}

/** One appraisal finding. */
export interface Finding {
  /** A stable id from {@link FINDING_IDS}. */
  readonly id: FindingId;
  readonly status: FindingStatus;
  /**
   * What was judged, by its DESIGN §7 name: a claim (`mrtd`, `td_attributes.debug`,
   * `tcb_status`), a replayed register (`rtmr1`, `pcr10:sha256`), a log entry's subject (an IMA
   * path, a tenant event line).
   */
  readonly claim: string;
  /** What the policy accepts (hex for bytes; a list when several values are accepted). */
  readonly expected?: unknown;
  /** What verify or replay proved (hex for bytes). */
  readonly actual?: unknown;
  readonly where: FindingWhere;
  /** A readable sentence (for tables and the HTML page; not for matching — use `id`). */
  readonly message?: string;
}

/** What an id speaks to: which part of the attester a finding is about. */
export type FindingSubject =
  'evidence' | 'freshness' | 'hardware' | 'configuration' | 'boot' | 'runtime' | 'files' | 'tenant';

/** One row of {@link FINDING_IDS}. */
export interface FindingIdInfo {
  /** The status a finding with this id has unless the policy says otherwise. */
  readonly status: FindingStatus;
  readonly subject: FindingSubject;
  /** What the id means, for `docs/appraisal.md` and `mrstack policy show`. */
  readonly description: string;
}

const row = (status: FindingStatus, subject: FindingSubject, description: string): FindingIdInfo =>
  Object.freeze({ status, subject, description });

/**
 * Every finding id with its default status. Register replay ids are per register
 * (`replay.rtmr1.mismatch`) and come from {@link replayFindingId}; they share the rows
 * `replay.<register>.*` here.
 */
/** A key of {@link FINDING_IDS} (replay rows keep the `<register>` placeholder). */
export type FindingIdKey =
  | 'evidence.unverified'
  | 'claim.unproven'
  | 'nonce.match'
  | 'nonce.mismatch'
  | 'tcb.up-to-date'
  | 'tdx.tcb.out-of-date'
  | 'tdx.tcb.configuration-needed'
  | 'tdx.tcb.revoked'
  | 'tdx.tcb.status-not-allowed'
  | 'tpm.tcb.revoked'
  | 'tpm.tcb.out-of-date'
  | 'cca.tcb.revoked'
  | 'cca.tcb.out-of-date'
  | 'tcb.advisory.not-allowed'
  | 'tdx.td.debug'
  | 'tdx.td.not-debug'
  | 'tdx.td.migratable'
  | 'tdx.td.attributes.mismatch'
  | 'tdx.mrtd.match'
  | 'tdx.mrtd.mismatch'
  | 'tdx.mrconfigid.match'
  | 'tdx.mrconfigid.mismatch'
  | 'tdx.mrowner.match'
  | 'tdx.mrowner.mismatch'
  | 'tdx.mrownerconfig.match'
  | 'tdx.mrownerconfig.mismatch'
  | 'tdx.mrseam.match'
  | 'tdx.mrseam.mismatch'
  | 'snp.measurement.match'
  | 'snp.measurement.mismatch'
  | 'snp.host-data.match'
  | 'snp.host-data.mismatch'
  | 'snp.id-key.match'
  | 'snp.id-key.mismatch'
  | 'snp.policy.match'
  | 'snp.policy.mismatch'
  | 'snp.policy.debug'
  | 'snp.tcb.match'
  | 'snp.tcb.below-minimum'
  | 'snp.vmpl.mismatch'
  | 'cca.rim.match'
  | 'cca.rim.mismatch'
  | 'cca.realm.claim.match'
  | 'cca.realm.claim.mismatch'
  | 'cca.platform.claim.match'
  | 'cca.platform.claim.mismatch'
  | 'cca.platform.debug'
  | 'tpm.pcr.match'
  | 'tpm.pcr.mismatch'
  | 'tpm.ak.unregistered'
  | 'platform.identity.mismatch'
  | 'replay.<register>.match'
  | 'replay.<register>.mismatch'
  | 'replay.<register>.inconsistent'
  | 'tenant.event.allowed'
  | 'tenant.event.not-allowed'
  | 'tenant.checkpoint.mismatch'
  | 'tenant.checkpoint.discontinuous'
  | 'ima.log.allowed'
  | 'ima.file.unknown'
  | 'ima.file.digest-mismatch'
  | 'ima.file.signature-invalid'
  | 'ima.buf.unknown'
  | 'ima.violation'
  | 'ima.agent.measured-first'
  | 'ima.agent.not-measured-first'
  | 'ima.log.unbound'
  | 'ima.checkpoint.mismatch'
  | 'ima.checkpoint.discontinuous';

/** The finding-id table: each stable id with its layer and default status. */
export const FINDING_IDS: Readonly<Record<FindingIdKey, FindingIdInfo>> = Object.freeze({
  // evidence as a whole
  'evidence.unverified': row(
    'none',
    'evidence',
    'The evidence did not verify (signature, chain or binding failed): nothing it claims is judged.',
  ),
  'claim.unproven': row(
    'none',
    'evidence',
    'A rule could not be judged: its input was skipped or relaxed by verify (no collateral, no nonce …) or absent from the evidence.',
  ),
  // freshness
  'nonce.match': row('affirming', 'freshness', "The evidence is bound to the caller's nonce."),
  'nonce.mismatch': row(
    'contraindicated',
    'freshness',
    "The evidence is not bound to the caller's nonce (stale or replayed evidence).",
  ),
  // TCB (TDX, SNP collateral status)
  'tcb.up-to-date': row('affirming', 'hardware', 'The platform TCB is up to date.'),
  'tdx.tcb.out-of-date': row(
    'warning',
    'hardware',
    'The TDX TCB level is OutOfDate (or OutOfDateConfigurationNeeded).',
  ),
  'tdx.tcb.configuration-needed': row(
    'warning',
    'hardware',
    'The TDX TCB level needs configuration (ConfigurationNeeded, SWHardeningNeeded …).',
  ),
  'tdx.tcb.revoked': row('contraindicated', 'hardware', 'The TDX TCB level is Revoked.'),
  'tdx.tcb.status-not-allowed': row(
    'contraindicated',
    'hardware',
    'The TCB status is not among the policy’s accepted statuses.',
  ),
  // TPM and CCA: no vendor publishes a TCB status for them; revocation of the platform's
  // attestation key (AK / CPAK certificate) by its CA's CRL, and signed versions against the
  // policy's minimum, are what stand for it (docs/appraisal.md)
  'tpm.tcb.revoked': row(
    'contraindicated',
    'hardware',
    'The TPM AK certificate is revoked by its CA’s CRL: the TPM is no longer vouched for, and nothing else its quote says is judged.',
  ),
  'tpm.tcb.out-of-date': row(
    'warning',
    'hardware',
    'The quote’s signed TPM firmware version is below the policy’s `tpm.minimum_firmware`.',
  ),
  'cca.tcb.revoked': row(
    'contraindicated',
    'hardware',
    'The CCA platform attestation key (CPAK) certificate is revoked by its CA’s CRL: the platform is no longer vouched for, and nothing else its token says is judged.',
  ),
  'cca.tcb.out-of-date': row(
    'warning',
    'hardware',
    'A platform software component’s signed version is below the policy’s `cca.platform.minimum_versions`.',
  ),
  'tcb.advisory.not-allowed': row(
    'warning',
    'hardware',
    'The TCB level carries an advisory the policy does not accept.',
  ),
  // TDX attributes and static MRs
  'tdx.td.debug': row(
    'contraindicated',
    'configuration',
    'The TD runs with the DEBUG attribute: the host can read its memory.',
  ),
  'tdx.td.not-debug': row('affirming', 'configuration', 'The TD is not a debug TD.'),
  'tdx.td.migratable': row(
    'warning',
    'configuration',
    'The TD is migratable and the policy does not allow it.',
  ),
  'tdx.td.attributes.mismatch': row(
    'contraindicated',
    'configuration',
    'TD attributes or XFAM differ from the policy.',
  ),
  'tdx.mrtd.match': row('affirming', 'boot', 'MRTD equals a reference value.'),
  'tdx.mrtd.mismatch': row('contraindicated', 'boot', 'MRTD equals no reference value.'),
  'tdx.mrconfigid.match': row('affirming', 'configuration', 'MRCONFIGID equals a reference value.'),
  'tdx.mrconfigid.mismatch': row(
    'contraindicated',
    'configuration',
    'MRCONFIGID equals no reference value.',
  ),
  'tdx.mrowner.match': row('affirming', 'configuration', 'MROWNER equals a reference value.'),
  'tdx.mrowner.mismatch': row(
    'contraindicated',
    'configuration',
    'MROWNER equals no reference value.',
  ),
  'tdx.mrownerconfig.match': row(
    'affirming',
    'configuration',
    'MROWNERCONFIG equals a reference value.',
  ),
  'tdx.mrownerconfig.mismatch': row(
    'contraindicated',
    'configuration',
    'MROWNERCONFIG equals no reference value.',
  ),
  'tdx.mrseam.match': row('affirming', 'hardware', 'MRSEAM equals a reference value.'),
  'tdx.mrseam.mismatch': row('contraindicated', 'hardware', 'MRSEAM equals no reference value.'),
  // SNP
  'snp.measurement.match': row('affirming', 'boot', 'MEASUREMENT equals a reference value.'),
  'snp.measurement.mismatch': row(
    'contraindicated',
    'boot',
    'MEASUREMENT equals no reference value.',
  ),
  'snp.host-data.match': row('affirming', 'configuration', 'HOST_DATA equals a reference value.'),
  'snp.host-data.mismatch': row(
    'contraindicated',
    'configuration',
    'HOST_DATA equals no reference value.',
  ),
  'snp.id-key.match': row(
    'affirming',
    'configuration',
    'ID_KEY_DIGEST / AUTHOR_KEY_DIGEST equal reference values.',
  ),
  'snp.id-key.mismatch': row(
    'contraindicated',
    'configuration',
    'ID_KEY_DIGEST or AUTHOR_KEY_DIGEST equals no reference value.',
  ),
  'snp.policy.match': row('affirming', 'configuration', 'The guest policy bits are as required.'),
  'snp.policy.mismatch': row(
    'contraindicated',
    'configuration',
    'A guest policy bit differs from the policy (debug allowed, migration agent, SMT …).',
  ),
  'snp.policy.debug': row(
    'contraindicated',
    'configuration',
    'The guest policy allows debugging: the host can read guest memory.',
  ),
  'snp.tcb.match': row('affirming', 'hardware', 'REPORTED_TCB is at or above the minimum.'),
  'snp.tcb.below-minimum': row(
    'contraindicated',
    'hardware',
    'A REPORTED_TCB component is below the policy’s minimum.',
  ),
  'snp.vmpl.mismatch': row('contraindicated', 'configuration', 'VMPL is not an accepted one.'),
  // CCA
  'cca.rim.match': row(
    'affirming',
    'boot',
    'The realm initial measurement equals a reference value.',
  ),
  'cca.rim.mismatch': row('contraindicated', 'boot', 'RIM equals no reference value.'),
  'cca.realm.claim.match': row('affirming', 'configuration', 'The realm claims are as required.'),
  'cca.realm.claim.mismatch': row(
    'contraindicated',
    'configuration',
    'A realm claim (personalization value, hash algorithm …) differs from the policy.',
  ),
  'cca.platform.claim.match': row('affirming', 'hardware', 'The platform claims are as required.'),
  'cca.platform.claim.mismatch': row(
    'contraindicated',
    'hardware',
    'A platform claim (implementation id, lifecycle, software component …) differs from the policy.',
  ),
  'cca.platform.debug': row(
    'contraindicated',
    'hardware',
    'The CCA platform lifecycle is not a secured state (debug or decommissioned).',
  ),
  // TPM static PCRs (quoted values the policy pins)
  'tpm.pcr.match': row('affirming', 'boot', 'A quoted PCR equals a reference value.'),
  'tpm.pcr.mismatch': row('contraindicated', 'boot', 'A quoted PCR equals no reference value.'),
  'platform.identity.mismatch': row(
    'contraindicated',
    'evidence',
    'The evidence comes from another platform than the one the attester registered with the verifier service (SNP chip id, TDX PPID, CCA instance id).',
  ),
  'tpm.ak.unregistered': row(
    'contraindicated',
    'evidence',
    'The TPM quote was signed by an AK the verifier service did not register to this attester by credential activation (and no trusted AK certificate vouches for it).',
  ),
  // replay (ids per register: replay.<register>.*)
  'replay.<register>.match': row(
    'affirming',
    'boot',
    'The register replayed from its log to the reported value, and that value is an expected one.',
  ),
  'replay.<register>.mismatch': row(
    'contraindicated',
    'boot',
    'The register replayed consistently but to a value the policy does not expect.',
  ),
  'replay.<register>.inconsistent': row(
    'contraindicated',
    'boot',
    'The log does not replay to the reported value (a record was changed, added or dropped).',
  ),
  // tenant events (agent bundles)
  'tenant.event.allowed': row(
    'affirming',
    'tenant',
    'Every verified tenant event is allowed for its vMR and domain.',
  ),
  'tenant.event.not-allowed': row(
    'contraindicated',
    'tenant',
    'A verified tenant event matches no rule of its vMR.',
  ),
  'tenant.checkpoint.mismatch': row(
    'contraindicated',
    'tenant',
    'The tenant records sent after the trusted tenant checkpoint do not fold from its vMR value to the values the physical log committed to (a record changed, inserted or removed).',
  ),
  'tenant.checkpoint.discontinuous': row(
    'contraindicated',
    'tenant',
    'The tenant log is sent since a position that is not the trusted tenant checkpoint: no event of it is judged.',
  ),
  // IMA
  'ima.log.allowed': row(
    'affirming',
    'files',
    'Every IMA entry is allowed (digest, signature, exclude or ima-buf rule).',
  ),
  'ima.file.unknown': row(
    'contraindicated',
    'files',
    'An IMA entry’s path is in no allowlist and no exclude, and no signature vouches for it.',
  ),
  'ima.file.digest-mismatch': row(
    'contraindicated',
    'files',
    'An IMA entry’s path is in the allowlist with other digests.',
  ),
  'ima.file.signature-invalid': row(
    'contraindicated',
    'files',
    'An ima-sig signature does not verify with any trusted key (and no digest rule allows the file).',
  ),
  'ima.buf.unknown': row(
    'contraindicated',
    'files',
    'An ima-buf entry (keyring key, kexec cmdline …) is not allowed by the policy.',
  ),
  'ima.violation': row(
    'warning',
    'files',
    'The list records a measurement violation (a file opened for write while measured).',
  ),
  'ima.agent.measured-first': row(
    'affirming',
    'files',
    'Every agent file the policy names was measured before the first mr_ima token (before the agent mirrored anything).',
  ),
  'ima.agent.not-measured-first': row(
    'contraindicated',
    'files',
    'An agent file the policy names has no entry before the first mr_ima token: code measured later could have stopped or replaced the agent.',
  ),
  'ima.log.unbound': row(
    'none',
    'files',
    'No quote vouches for this log: its entries were judged, the log itself is unproven.',
  ),
  'ima.checkpoint.mismatch': row(
    'contraindicated',
    'files',
    'An IMA entry below the trusted IMA checkpoint (an earlier attestation) was changed or removed.',
  ),
  'ima.checkpoint.discontinuous': row(
    'contraindicated',
    'files',
    'The IMA list sent does not continue from the trusted IMA checkpoint’s running value: no entry of it is judged.',
  ),
});

/** A finding id: a key of {@link FINDING_IDS}, with `<register>` filled in for replay ids. */
export type FindingId =
  | Exclude<FindingIdKey, `replay.<register>.${string}`>
  | `replay.${string}.${'match' | 'mismatch' | 'inconsistent'}`;

/** The id of a replay finding for one register (`replay.rtmr1.mismatch`). */
export function replayFindingId(
  register: string,
  outcome: 'match' | 'mismatch' | 'inconsistent',
): FindingId {
  return `replay.${register}.${outcome}`;
}

/** The table row of an id (replay ids map to their `replay.<register>.*` row). */
export function findingIdInfo(id: FindingId): FindingIdInfo {
  const m = /^replay\.[^.]+\.(match|mismatch|inconsistent)$/.exec(id);
  const key = (m === null ? id : `replay.<register>.${m[1]}`) as FindingIdKey;
  return FINDING_IDS[key];
}

const RANK: Readonly<Record<FindingStatus, number>> = {
  affirming: 0,
  none: 1,
  warning: 2,
  contraindicated: 3,
};

/**
 * The verdict of a set of findings: the worst of them, where an unproven (`none`) finding ranks
 * below warning but above affirming — what verify did not prove is never judged affirming, so
 * evidence with a relaxed or skipped check appraises `none` at best. An empty set is `none`.
 * (An EAR's per-claim vector is coarser: there a 0 claim does not pull the others down; the
 * EAR status is then this verdict, which is never better than the worst claim.)
 */
export function appraisalStatus(statuses: Iterable<FindingStatus>): FindingStatus {
  let worst: FindingStatus | undefined;
  for (const s of statuses) if (worst === undefined || RANK[s] > RANK[worst]) worst = s;
  return worst ?? 'none';
}
