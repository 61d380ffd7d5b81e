/**
 * The adapter from verify's result to appraisal's input: which claims are proven, and what the
 * layered replay of a bundle proved. Appraisal reads nothing else of the verify result, so when
 * the result schema grows (tri-state checks, `relaxed`, `skipped`, `trust.anchor`) only this
 * module changes.
 *
 * @module
 */
import { toHex } from '../../bytes/hex.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import { imaEntryListOf, type ImaEventView } from '../replay/ima_layer.js';
import type { EvidenceResult } from '../verify/evidence_result.js';
import type {
  AppraisedKind,
  ImaCheckpointBreak,
  TenantCheckpointBreak,
  ImaInput,
  ImaRecord,
  ImaRecordSource,
  ProofState,
  ProvenClaims,
  ReplayedEvidence,
  ReplayedRegister,
  ReplayedTenantEvent,
} from './appraisal_input.js';

/** Checks that are not about the evidence's signatures and chains. */
const NOT_SIGNATURE = new Set(['nonce', 'tcb', 'binding', 'physical', 'vmr', 'tenant', 'ima']);

/** The optional fields of verify result schema v2 (DESIGN §6.1), read when present. */
interface ResultV2Fields {
  readonly relaxed?: readonly string[];
  readonly skipped?: Readonly<Record<string, string>>;
}

function proofOf(
  check: string,
  checks: Readonly<Record<string, string>>,
  relaxed: readonly string[],
  relaxName: string,
): ProofState {
  const c = checks[check];
  if (c === 'failed') return 'failed';
  if (c === 'ok') return 'ok';
  return relaxed.includes(relaxName) ? 'relaxed' : 'skipped';
}

/** Options of {@link provenClaimsOf}. */
export interface ProvenClaimsOptions {
  /** Whether the caller gave a nonce (a result without a `nonce` check then means skipped). */
  readonly nonceGiven: boolean;
}

/**
 * The proven claims of a verify result (for a bundle: of the report inside it).
 */
export function provenClaimsOf(r: EvidenceResult, opts: ProvenClaimsOptions): ProvenClaims {
  const v2 = r as EvidenceResult & ResultV2Fields;
  const relaxed = v2.relaxed;
  const skipped = v2.skipped;
  const bundle = r.kind === 'bundle';
  const layers = (r.claims['layers'] ?? {}) as Record<string, Record<string, unknown>>;
  const kind = (bundle ? layers['report']?.['kind'] : r.kind) as AppraisedKind;
  const values = (bundle ? r.claims['report'] : r.claims) as Record<string, unknown>;
  // A bundle whose report could not be read has no report layer: no inner check passed.
  const innerChecks = ((bundle ? layers['report']?.['checks'] : r.checks) ?? {}) as Record<
    string,
    string
  >;
  // TPM and CCA: a CRL that lists the AK / CPAK certificate is their "Revoked" TCB status
  // (docs/appraisal.md) — judged as such, not as a broken signature.
  const keyRevoked =
    (kind === 'tpm' || kind === 'cca') &&
    r.errors.some(
      (e) => e.code === 'ERR_CERT_REVOKED' && (e['check'] === 'crl' || e['check'] === 'report.crl'),
    );
  // signature: every check about signatures, chains and revocation (not freshness, not TCB)
  let signature: ProofState = 'ok';
  for (const [name, outcome] of Object.entries(r.checks)) {
    const base = bundle ? name.replace(/^report\./, '') : name;
    if (NOT_SIGNATURE.has(base) || base === 'tcb_info' || base === 'qe_identity') continue;
    if (keyRevoked && base === 'crl') continue;
    // a bundle whose report failed only by that revocation: its `report` check is not a signature
    if (keyRevoked && bundle && base === 'report') continue;
    if (outcome === 'failed') signature = 'failed';
    // A required check that was skipped (ERR_CHECK_SKIPPED: e.g. no CRL, so revocation is
    // unknown) leaves the signature unproven: verify said `verified: false`, so appraisal must
    // not affirm. (A check the caller relaxed is listed in `relaxed` and judged as before.)
    else if (
      outcome !== 'ok' &&
      signature !== 'failed' &&
      r.errors.some(
        (e) => e.code === 'ERR_CHECK_SKIPPED' && (e['check'] === name || e['check'] === base),
      )
    )
      signature = 'skipped';
  }
  if (relaxed.includes('unverified-anchor') && signature === 'ok') signature = 'relaxed';
  // nonce: direct evidence has a `nonce` check; a bundle binds it through `binding`
  let nonce: ProofState;
  if (!opts.nonceGiven) nonce = relaxed.includes('nonce') ? 'relaxed' : 'skipped';
  else if (bundle) {
    // A bundle for another nonce fails its `nonce` check (the binding to its own nonce may
    // still hold): either failure is a failed nonce.
    const bindErr = r.errors.some(
      (e) =>
        (e['check'] === 'binding' || e['check'] === 'nonce') && e.code === 'ERR_NONCE_MISMATCH',
    );
    nonce =
      bindErr || r.checks['nonce'] === 'failed'
        ? 'failed'
        : r.checks['binding'] === 'ok'
          ? 'ok'
          : 'failed';
  } else nonce = proofOf('nonce', r.checks, relaxed, 'nonce');
  // TCB: the status is proven when the collateral that carries it verified
  let tcb: ProofState;
  let tcbStatus = r.tcbStatus;
  if (kind === 'tpm' || kind === 'cca') {
    // their collateral is the CRL of the platform key's CA: checked, it gives the status
    if (keyRevoked) tcbStatus = 'Revoked';
    else if (innerChecks['crl'] === 'ok') tcbStatus = 'UpToDate';
    tcb =
      tcbStatus !== undefined
        ? 'ok'
        : relaxed.includes('crl') || relaxed.includes('collateral')
          ? 'relaxed'
          : 'skipped';
  } else if (
    innerChecks['tcb_info'] === 'failed' ||
    innerChecks['qe_identity'] === 'failed' ||
    innerChecks['tcb'] === 'failed'
  )
    tcb = 'failed';
  else if (r.tcbStatus !== undefined) tcb = 'ok';
  else tcb = relaxed.includes('collateral') ? 'relaxed' : 'skipped';
  return {
    kind,
    signature,
    values,
    nonce,
    tcb,
    ...(tcbStatus === undefined ? {} : { tcbStatus }),
    ...(r.advisories === undefined ? {} : { advisories: r.advisories }),
    ...(tcb === 'failed' &&
    innerChecks['tcb_info'] === 'ok' &&
    r.errors.some(
      (e) => e.code === 'ERR_TCB_MISMATCH' && (e['check'] === 'tcb' || e['check'] === 'report.tcb'),
    )
      ? { tcbUnmatched: true }
      : {}),
    relaxed,
    skipped,
    emulated: r.trust.emulated,
  };
}

/**
 * What a bundle's layered replay proved: the physical register (proven when the physical log
 * replayed to the reported value), the vMR, and the tenant events with their state.
 */
export function bundleReplayOf(r: EvidenceResult): ReplayedEvidence {
  if (r.kind !== 'bundle') return { registers: [], tenantEvents: [] };
  const layers = (r.claims['layers'] ?? {}) as Record<string, Record<string, unknown>>;
  const report = (r.claims['report'] ?? {}) as Record<string, unknown>;
  const phys = layers['physical'] ?? {};
  const vmr = layers['vmr'] ?? {};
  const failed = (layer: string): Record<string, unknown> | undefined =>
    r.errors.find((e) => e['check'] === layer);
  const registers: ReplayedRegister[] = [];
  const name = typeof phys['register'] === 'string' ? phys['register'] : '';
  const algs = (phys['algs'] ?? []) as HashAlg[];
  for (const alg of algs) {
    const pcrs = report['pcrs'] as Record<string, Record<string, unknown>> | undefined;
    const reported = report[name] ?? pcrs?.[alg]?.[name];
    if (!(reported instanceof Uint8Array)) continue;
    const err = failed('physical');
    registers.push({
      name,
      alg,
      value: reported,
      proof: err === undefined ? 'ok' : 'failed',
      log: 'physical-log',
      layer: 'physical',
      ...(err !== undefined && typeof err['record'] === 'number'
        ? { divergence: { record: err['record'], offset: 0 } }
        : {}),
    });
  }
  if (typeof vmr['name'] === 'string') {
    const err = failed('vmr');
    const value = typeof vmr['value'] === 'string' ? Buffer.from(vmr['value'], 'hex') : undefined;
    // a vMR that did not replay is reported even without a value: that is the finding
    if (err !== undefined || value !== undefined)
      registers.push({
        name: vmr['name'],
        alg: vmr['alg'] as HashAlg,
        value: value ?? new Uint8Array(0),
        proof: err === undefined ? 'ok' : 'failed',
        log: 'tenant-log',
        layer: 'vmr',
      });
  }
  if (isImaLayer(layers['ima'])) {
    const ima = imaLayerOf(r, layers['ima'], failed('ima'));
    registers.push(ima.register);
    // a list that broke the trusted IMA checkpoint is a finding of its own
    const breaks: ImaCheckpointBreak[] = r.errors
      .filter(
        (e) =>
          e['check'] === 'ima' &&
          (e.code === 'ERR_IMA_CHECKPOINT_MISMATCH' || e.code === 'ERR_IMA_DISCONTINUOUS'),
      )
      .map((e) => ({
        log: 'ima-log',
        register: layers['ima']!['vmr'] as string,
        kind: e.code === 'ERR_IMA_CHECKPOINT_MISMATCH' ? 'mismatch' : 'discontinuous',
        message: e.message,
        ...(typeof e['checkpoint'] === 'number' ? { checkpoint: e['checkpoint'] } : {}),
      }));
    return {
      registers,
      tenantEvents: [],
      ...(ima.input === undefined ? {} : { ima: [ima.input] }),
      ...(breaks.length === 0 ? {} : { imaCheckpoint: breaks }),
    };
  }
  const vmrName = typeof vmr['name'] === 'string' ? vmr['name'] : '';
  const events = (r.claims['events'] ?? []) as {
    record: number;
    domain: string;
    operation: string;
    content: string;
    state: 'verified' | 'pending';
  }[];
  const tenantOk = failed('tenant') === undefined && failed('vmr') === undefined;
  const tenantEvents: ReplayedTenantEvent[] = events.map((e) => ({
    vmr: vmrName,
    domain: e.domain,
    operation: e.operation,
    content: e.content,
    record: e.record,
    // events are proven only when the vMR they fold into is
    state: tenantOk ? e.state : 'pending',
    log: 'tenant-log',
  }));
  const tenantBreaks: TenantCheckpointBreak[] = r.errors
    .filter(
      (e) =>
        e['check'] === 'vmr' &&
        (e.code === 'ERR_TENANT_CONTINUATION_MISMATCH' || e.code === 'ERR_TENANT_DISCONTINUOUS'),
    )
    .map((e) => ({
      log: 'tenant-log',
      vmr: vmrName,
      kind: e.code === 'ERR_TENANT_CONTINUATION_MISMATCH' ? 'mismatch' : 'discontinuous',
      message: e.message,
      ...(typeof vmr['since'] === 'number' ? { since: vmr['since'] } : {}),
    }));
  return {
    registers,
    tenantEvents,
    ...(tenantBreaks.length === 0 ? {} : { tenantCheckpoint: tenantBreaks }),
  };
}

interface ImaLayerClaims {
  readonly vmr: string;
  readonly alg: HashAlg;
  readonly banks: Readonly<Record<string, string>>;
  readonly verified: number;
  readonly tokens?: readonly { readonly record: number; readonly count: number }[];
  /** Entries left out below the trusted IMA checkpoint. */
  readonly since?: number;
}

function isImaLayer(v: unknown): v is ImaLayerClaims {
  return typeof v === 'object' && v !== null && typeof (v as { vmr?: unknown }).vmr === 'string';
}

/**
 * The `mr_ima` register and the verified IMA entries of an ima bundle: entries reach the IMA
 * rules only when the ima layer replayed (a failed layer gives the register's `inconsistent`
 * finding and no entry is judged).
 */
function imaLayerOf(
  r: EvidenceResult,
  ima: ImaLayerClaims,
  err: Record<string, unknown> | undefined,
): { register: ReplayedRegister; input?: ImaInput } {
  const value = ima.banks[ima.alg];
  const register: ReplayedRegister = {
    name: ima.vmr,
    alg: ima.alg,
    value: value === undefined ? new Uint8Array(0) : new Uint8Array(Buffer.from(value, 'hex')),
    proof: err === undefined ? 'ok' : 'failed',
    log: 'ima-log',
    layer: 'vmr',
    ...(err !== undefined && typeof err['first_entry'] === 'number'
      ? { divergence: { record: err['first_entry'], offset: 0 } }
      : {}),
  };
  if (err !== undefined) return { register };
  // The first mr_ima token of this boot is in the bundle only when its physical log starts at
  // BOOT (`since` 0); served from a checkpoint, the agent-files rule cannot be judged.
  // Entries left out below a trusted IMA checkpoint (`since`) are not here to judge either.
  const firstMirrored =
    r.claims['since'] === 0 && (ima.since ?? 0) === 0 ? (ima.tokens?.[0]?.count ?? null) : null;
  // The verified entries, read from the list as the rules iterate (a result that kept its
  // ImaEntryList); a result without one (rebuilt from JSON) gives its listed events.
  const list = imaEntryListOf(r);
  const events: Iterable<ImaEventView> =
    list === undefined
      ? ((r.claims['events'] ?? []) as ImaEventView[])
      : { [Symbol.iterator]: () => list.views(0, list.verified) };
  const entries: Iterable<ImaRecord> = {
    *[Symbol.iterator]() {
      for (const e of events) if (e.state === 'verified') yield imaRecordOfEvent(e);
    },
  };
  // the same verified entries from the list's bytes, for the rules' in-place reading
  const records: ImaRecordSource | undefined =
    list === undefined
      ? undefined
      : {
          each: (visit) => list.scan(visit, 0, list.verified),
          record: (v) => imaRecordOfEvent(list.decode(v)),
          first: list.base,
          end: list.verified,
        };
  return {
    register,
    input: {
      log: 'ima-log',
      proof: 'ok',
      register: ima.vmr,
      firstMirrored,
      entries,
      ...((ima.since ?? 0) > 0 ? { since: ima.since, end: ima.verified } : {}),
      ...(records === undefined ? {} : { records }),
    },
  };
}

/** The appraisal record of an ima layer's entry. */
function imaRecordOfEvent(e: ImaEventView): ImaRecord {
  return {
    record: e.index,
    offset: e.offset,
    template: e.template,
    path: e.path,
    digestAlg: e.digest_alg,
    digest: e.digest,
    ...(e.signature === undefined
      ? {}
      : { signature: new Uint8Array(Buffer.from(e.signature, 'hex')) }),
    ...(e.buf === undefined ? {} : { buf: new Uint8Array(Buffer.from(e.buf, 'hex')) }),
    violation: e.violation === true,
  };
}

/** Hex of a claim (bytes or hex text); for generating policies and printing. */
export function claimHex(v: unknown): string | undefined {
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === 'string' && /^[0-9a-f]*$/i.test(v)) return v.toLowerCase();
  return undefined;
}
