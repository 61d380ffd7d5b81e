/**
 * `appraise(claims, replay, policy, {at}) → appraisal` (DESIGN §6.3): judges what verify and
 * replay proved against a compiled policy and returns findings, failures first.
 *
 * Only proven input is judged. Evidence whose signature did not verify yields one
 * `evidence.unverified` finding and nothing else; a rule whose input verify skipped or the
 * caller relaxed (no collateral → no TCB status; no nonce) yields `claim.unproven` (status
 * `none`) — so such evidence appraises `none` at best, never `affirming`.
 *
 * @module
 */
import { toHex } from '../../bytes/hex.js';
import type {
  Appraisal,
  AppraiseOptions,
  ImaCounts,
  ImaInput,
  ImaPathWatch,
  ProvenClaims,
  ReplayedEvidence,
} from './appraisal_input.js';
import {
  appraisalStatus,
  findingIdInfo,
  replayFindingId,
  type Finding,
  type FindingId,
  type FindingLayer,
  type FindingStatus,
} from './finding.js';
import { imaKeysOf, judgeImaList } from './ima_rules.js';
import { RefSet, type CompiledPolicy } from './policy.js';

const ORDER: Readonly<Record<FindingStatus, number>> = {
  contraindicated: 0,
  warning: 1,
  none: 2,
  affirming: 3,
};

const hexOf = (v: unknown): string | undefined =>
  v instanceof Uint8Array ? toHex(v) : typeof v === 'string' ? v.toLowerCase() : undefined;

/** Collects findings with the policy's status overrides applied. */
class Findings {
  readonly list: Finding[] = [];
  private readonly policy: CompiledPolicy;
  constructor(policy: CompiledPolicy) {
    this.policy = policy;
  }

  add(
    id: FindingId,
    claim: string,
    f: {
      expected?: unknown;
      actual?: unknown;
      layer?: FindingLayer;
      log?: string;
      record?: number;
      offset?: number;
      message?: string;
      status?: FindingStatus;
    } = {},
  ): void {
    const status = this.policy.status(id, f.status ?? findingIdInfo(id).status);
    this.list.push({
      id,
      status,
      claim,
      ...(f.expected === undefined ? {} : { expected: f.expected }),
      ...(f.actual === undefined ? {} : { actual: f.actual }),
      where: {
        layer: f.layer ?? 'report',
        ...(f.log === undefined ? {} : { log: f.log }),
        ...(f.record === undefined ? {} : { record: f.record }),
        ...(f.offset === undefined ? {} : { offset: f.offset }),
      },
      ...(f.message === undefined ? {} : { message: f.message }),
    });
  }

  unproven(claim: string, why: string, layer: FindingLayer = 'report'): void {
    this.add('claim.unproven', claim, { layer, message: why });
  }
}

/** Compares one static claim against reference values: match, mismatch, or nothing to judge. */
function refRule(
  out: Findings,
  at: Date,
  refs: RefSet,
  claim: string,
  value: unknown,
  ids: { match: FindingId; mismatch: FindingId },
): void {
  if (refs.size === 0) return;
  const actual = hexOf(value);
  if (actual === undefined) {
    out.unproven(claim, `the evidence carries no ${claim}`);
    return;
  }
  if (refs.has(actual, at)) out.add(ids.match, claim, { actual });
  else
    out.add(ids.mismatch, claim, {
      expected: refs.list(at),
      actual,
      message: `${claim} ${actual} is not a reference value`,
    });
}

function bitAt(bytes: unknown, n: number): boolean | undefined {
  if (!(bytes instanceof Uint8Array)) return undefined;
  return (((bytes[n >> 3] ?? 0) >> (n & 7)) & 1) === 1;
}

/** Dotted version numbers compared numerically (`0.10.0` > `0.9.1`); undefined if not numeric. */
function compareVersions(a: string, b: string): number | undefined {
  const re = /^[0-9]+(\.[0-9]+)*$/;
  if (!re.test(a) || !re.test(b)) return undefined;
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * TPM / CCA signed versions below the policy's minimum: what "out of date" means for them (no
 * vendor publishes a TCB status). Undefined when the policy sets no minimum.
 */
function belowMinimum(
  c: ProvenClaims,
  p: CompiledPolicy,
): { claim: string; expected: string; actual: unknown }[] | undefined {
  if (c.kind === 'tpm') {
    const min = p.policy.tpm?.minimum_firmware;
    if (min === undefined) return undefined;
    const fw = c.values['firmware_version'];
    const want = BigInt(min.startsWith('0x') ? min : `0x${min}`);
    const got = typeof fw === 'string' && /^0x[0-9a-f]+$/i.test(fw) ? BigInt(fw) : undefined;
    return got !== undefined && got >= want
      ? []
      : [{ claim: 'firmware_version', expected: `>= ${min}`, actual: fw ?? null }];
  }
  const mins = p.policy.cca?.platform?.minimum_versions;
  if (mins === undefined) return undefined;
  const plat = (c.values['platform'] ?? {}) as Record<string, unknown>;
  const comps = Array.isArray(plat['sw_components'])
    ? (plat['sw_components'] as Record<string, unknown>[])
    : [];
  const bad: { claim: string; expected: string; actual: unknown }[] = [];
  for (const [type, min] of Object.entries(mins)) {
    const mine = comps.filter((x) => x['measurement_type'] === type);
    // a component type the policy names must be reported, each at or above the minimum
    if (mine.length === 0)
      bad.push({
        claim: `platform.sw_components.${type}.version`,
        expected: `>= ${min}`,
        actual: null,
      });
    for (const comp of mine) {
      const v = comp['version'];
      const d = typeof v === 'string' ? compareVersions(v, min) : undefined;
      if (d === undefined || d < 0)
        bad.push({
          claim: `platform.sw_components.${type}.version`,
          expected: `>= ${min}`,
          actual: v ?? null,
        });
    }
  }
  return bad;
}

/**
 * TPM and CCA "TCB status" (docs/appraisal.md): `Revoked` when the CRL of the AK / CPAK
 * certificate's CA lists it — then nothing else the evidence says is judged (returns true);
 * `OutOfDate` when a signed version is below the policy's minimum; else `UpToDate` (not revoked).
 * Called twice: `revoked` before anything is judged, `status` in the TCB rule's place.
 */
function appraiseKeyTcb(
  out: Findings,
  c: ProvenClaims,
  p: CompiledPolicy,
  step: 'revoked' | 'status',
): boolean {
  const kind = c.kind as 'tpm' | 'cca';
  const layer: FindingLayer = 'collateral';
  const accept = p.policy.tcb?.accept ?? ['UpToDate'];
  const warn = p.policy.tcb?.warn ?? [];
  const key = kind === 'tpm' ? 'the AK certificate' : 'the CPAK certificate';
  const revoked = c.tcb === 'ok' && c.tcbStatus === 'Revoked';
  if (step === 'revoked' || revoked) {
    if (!revoked) return false;
    out.add(`${kind}.tcb.revoked`, 'tcb_status', {
      actual: 'Revoked',
      expected: accept,
      layer,
      message: `${key} is revoked by its CA's CRL: nothing else this evidence says is judged`,
    });
    return true;
  }
  const low = belowMinimum(c, p);
  // `at` names the claim judged: tcb_status, or the signed version below its minimum
  const judge = (
    s: string,
    message: string,
    at: { claim: string; actual: unknown; expected: unknown } = {
      claim: 'tcb_status',
      actual: s,
      expected: accept,
    },
  ): void => {
    const f = { actual: at.actual, expected: at.expected, layer, message };
    if (accept.includes(s)) out.add('tcb.up-to-date', at.claim, f);
    else if (warn.includes(s)) out.add(`${kind}.tcb.out-of-date`, at.claim, f);
    else out.add('tdx.tcb.status-not-allowed', at.claim, f);
  };
  for (const b of low ?? [])
    judge(
      'OutOfDate',
      `${b.claim} ${String(b.actual)} is below the policy's minimum (${b.expected})`,
      b,
    );
  if (p.policy.tcb === undefined) return false;
  if (c.tcb !== 'ok') {
    out.unproven(
      'revocation',
      c.tcb === 'relaxed'
        ? `the revocation check of ${key} was relaxed by the caller`
        : `the revocation of ${key} was not checked (no CRL of its CA given)`,
      'collateral',
    );
    return false;
  }
  if (low === undefined || low.length === 0)
    judge(
      'UpToDate',
      `${key} is not revoked${low === undefined ? '' : '; signed versions at or above the policy minimum'}`,
    );
  return false;
}

function appraiseTcb(out: Findings, c: ProvenClaims, p: CompiledPolicy): void {
  const tcb = p.policy.tcb;
  if (tcb === undefined || (c.kind !== 'tdx' && c.kind !== 'snp')) return;
  // SNP collateral (VCEK chain and CRL) carries no TCB status: its TCB is judged by
  // `snp.minimum_tcb` against REPORTED_TCB instead
  if (c.kind === 'snp' && c.tcbStatus === undefined) return;
  if (c.tcbUnmatched === true) {
    // the collateral verified and speaks: this platform's TCB is at none of its levels
    out.add('tdx.tcb.status-not-allowed', 'tcb_status', {
      actual: 'no matching TCB level',
      expected: tcb.accept ?? ['UpToDate'],
      layer: 'collateral',
      message:
        'no TCB level of the verified TCB info matches the platform (TCB level not supported)',
    });
    return;
  }
  if (c.tcb !== 'ok' || c.tcbStatus === undefined) {
    out.unproven(
      'tcb_status',
      c.tcb === 'relaxed'
        ? 'collateral was relaxed by the caller: the TCB status is unknown'
        : c.tcb === 'failed'
          ? 'the collateral did not verify: the TCB status is unknown'
          : 'the TCB status was not evaluated (no collateral)',
      'collateral',
    );
    return;
  }
  const s = c.tcbStatus;
  const accept = tcb.accept ?? ['UpToDate'];
  const warn = tcb.warn ?? [];
  const layer: FindingLayer = 'collateral';
  if (accept.includes(s))
    out.add('tcb.up-to-date', 'tcb_status', { actual: s, expected: accept, layer });
  else if (s === 'Revoked')
    out.add('tdx.tcb.revoked', 'tcb_status', { actual: s, expected: accept, layer });
  else if (warn.includes(s))
    out.add(
      s.includes('OutOfDate') ? 'tdx.tcb.out-of-date' : 'tdx.tcb.configuration-needed',
      'tcb_status',
      {
        actual: s,
        expected: accept,
        layer,
      },
    );
  else
    out.add('tdx.tcb.status-not-allowed', 'tcb_status', {
      actual: s,
      expected: [...accept, ...warn],
      layer,
    });
  const adv = tcb.advisories;
  if (adv !== undefined) {
    for (const a of c.advisories ?? []) {
      if (adv.deny?.includes(a) === true)
        out.add('tcb.advisory.not-allowed', 'advisories', {
          actual: a,
          layer,
          status: 'contraindicated',
        });
      else if (adv.allow !== undefined && !adv.allow.includes(a))
        out.add('tcb.advisory.not-allowed', 'advisories', {
          actual: a,
          expected: adv.allow,
          layer,
        });
    }
  }
}

function appraiseTdx(out: Findings, c: ProvenClaims, p: CompiledPolicy, at: Date): void {
  const t = p.policy.tdx;
  if (t === undefined) return;
  const v = c.values;
  const attrs = v['td_attributes'];
  const debug = bitAt(attrs, 0);
  if (debug === undefined)
    out.unproven('td_attributes.debug', 'the evidence carries no TD attributes');
  else if (debug && t.debug !== true)
    out.add('tdx.td.debug', 'td_attributes.debug', {
      expected: false,
      actual: true,
      message: 'the TD is a debug TD',
    });
  else if (!debug)
    out.add('tdx.td.not-debug', 'td_attributes.debug', { expected: false, actual: false });
  // TDATTRIBUTES bit 29: MIGRATABLE (TDX module ABI)
  if (t.migratable === false && bitAt(attrs, 29) === true)
    out.add('tdx.td.migratable', 'td_attributes.migratable', { expected: false, actual: true });
  for (const f of ['mrtd', 'mrconfigid', 'mrowner', 'mrownerconfig', 'mrseam'] as const)
    refRule(out, at, p.ref('tdx', f), f, v[f], {
      match: `tdx.${f}.match` as FindingId,
      mismatch: `tdx.${f}.mismatch` as FindingId,
    });
  for (const f of ['td_attributes', 'xfam'] as const) {
    const refs = p.ref('tdx', f);
    const actual = hexOf(v[f]);
    if (refs.size > 0 && actual !== undefined && !refs.has(actual, at))
      out.add('tdx.td.attributes.mismatch', f, { expected: refs.list(at), actual });
  }
}

function appraiseSnp(out: Findings, c: ProvenClaims, p: CompiledPolicy, at: Date): void {
  const s = p.policy.snp;
  if (s === undefined) return;
  const v = c.values;
  refRule(out, at, p.ref('snp', 'measurement'), 'measurement', v['measurement'], {
    match: 'snp.measurement.match',
    mismatch: 'snp.measurement.mismatch',
  });
  refRule(out, at, p.ref('snp', 'host_data'), 'host_data', v['host_data'], {
    match: 'snp.host-data.match',
    mismatch: 'snp.host-data.mismatch',
  });
  for (const f of ['id_key_digest', 'author_key_digest'] as const)
    refRule(out, at, p.ref('snp', f), f, v[f], {
      match: 'snp.id-key.match',
      mismatch: 'snp.id-key.mismatch',
    });
  const pol = v['policy'] as Record<string, unknown> | undefined;
  if (s.policy !== undefined) {
    if (pol === undefined) out.unproven('policy', 'the report carries no guest policy');
    else {
      let bad = false;
      for (const [k, want] of Object.entries(s.policy)) {
        const got = pol[k];
        if (got === want) continue;
        bad = true;
        out.add(
          k === 'debug' && got === true ? 'snp.policy.debug' : 'snp.policy.mismatch',
          `policy.${k}`,
          {
            expected: want,
            actual: got,
          },
        );
      }
      if (!bad) out.add('snp.policy.match', 'policy', { expected: s.policy, actual: pol['raw'] });
    }
  }
  if (s.minimum_tcb !== undefined) {
    const rep = v['reported_tcb'] as Record<string, unknown> | undefined;
    if (rep === undefined) out.unproven('reported_tcb', 'the report carries no REPORTED_TCB');
    else {
      let bad = false;
      for (const [k, min] of Object.entries(s.minimum_tcb)) {
        const got = rep[k];
        if (typeof got === 'number' && got >= min) continue;
        bad = true;
        out.add('snp.tcb.below-minimum', `reported_tcb.${k}`, {
          expected: `>= ${min}`,
          actual: got ?? null,
        });
      }
      if (!bad)
        out.add('snp.tcb.match', 'reported_tcb', { expected: s.minimum_tcb, actual: rep['raw'] });
    }
  }
  if (s.vmpl !== undefined && typeof v['vmpl'] === 'number' && !s.vmpl.includes(v['vmpl']))
    out.add('snp.vmpl.mismatch', 'vmpl', { expected: s.vmpl, actual: v['vmpl'] });
}

function appraiseCca(out: Findings, c: ProvenClaims, p: CompiledPolicy, at: Date): void {
  const s = p.policy.cca;
  if (s === undefined) return;
  const v = c.values;
  refRule(out, at, p.ref('cca', 'rim'), 'rim', v['rim'], {
    match: 'cca.rim.match',
    mismatch: 'cca.rim.mismatch',
  });
  const realm = (v['realm'] ?? {}) as Record<string, unknown>;
  if (s.realm !== undefined) {
    let bad = false;
    for (const [k, allowed] of Object.entries(s.realm)) {
      const got = realm[k];
      const g = hexOf(got) ?? got;
      const ok = allowed.some((a) => (typeof a === 'string' ? a.toLowerCase() === g : a === g));
      if (!ok) {
        bad = true;
        out.add('cca.realm.claim.mismatch', `realm.${k}`, { expected: allowed, actual: g ?? null });
      }
    }
    if (!bad) out.add('cca.realm.claim.match', 'realm', { expected: s.realm });
  }
  const plat = (v['platform'] ?? {}) as Record<string, unknown>;
  // PSA lifecycle 0x3000–0x30ff is "secured"; any other state (debug, decommissioned) lets the
  // platform's debug interfaces reach realm memory
  const lc = plat['lifecycle'];
  const debugLc = typeof lc === 'number' && (lc & 0xff00) !== 0x3000;
  if (debugLc && s.debug !== true)
    out.add('cca.platform.debug', 'platform.lifecycle', {
      expected: '0x3000-0x30ff (secured)',
      actual: lc,
      message: `the platform lifecycle 0x${lc.toString(16)} is not a secured state`,
    });
  const sp = s.platform;
  if (sp !== undefined) {
    let bad = false;
    const impl = p.ref('cca', 'implementation_id');
    const implV = hexOf(plat['implementation_id']);
    if (impl.size > 0 && (implV === undefined || !impl.has(implV, at))) {
      bad = true;
      out.add('cca.platform.claim.mismatch', 'platform.implementation_id', {
        expected: impl.list(at),
        actual: implV ?? null,
      });
    }
    if (sp.lifecycle !== undefined && (typeof lc !== 'number' || !sp.lifecycle.includes(lc))) {
      bad = true;
      // a debug state not allowed is reported once, above
      if (!(debugLc && s.debug !== true))
        out.add('cca.platform.claim.mismatch', 'platform.lifecycle', {
          expected: sp.lifecycle,
          actual: lc ?? null,
        });
    }
    if (sp.sw_components !== undefined) {
      const allowed = new Set(sp.sw_components.map((x) => x.measurement.toLowerCase()));
      const comps = Array.isArray(plat['sw_components'])
        ? (plat['sw_components'] as Record<string, unknown>[])
        : [];
      for (const comp of comps) {
        const m = hexOf(comp['measurement_value'] ?? comp['measurement']);
        if (m === undefined || !allowed.has(m)) {
          bad = true;
          out.add(
            'cca.platform.claim.mismatch',
            `platform.sw_components.${typeof comp['measurement_type'] === 'string' ? comp['measurement_type'] : '?'}`,
            {
              expected: [...allowed],
              actual: m ?? null,
            },
          );
        }
      }
    }
    if (!bad) out.add('cca.platform.claim.match', 'platform');
  }
}

function appraiseTpm(out: Findings, c: ProvenClaims, p: CompiledPolicy, at: Date): void {
  const pcrs = p.policy.tpm?.pcrs;
  if (pcrs === undefined) return;
  const quoted = c.values['pcrs'] as Record<string, Record<string, unknown>> | undefined;
  for (const [bank, regs] of Object.entries(pcrs)) {
    for (const [pcr, refs] of Object.entries(regs)) {
      const set = new RefSet(refs);
      const claim = `${pcr}:${bank}`;
      const v = hexOf(quoted?.[bank]?.[pcr]);
      if (v === undefined) {
        out.unproven(claim, `the quote carries no ${claim} value matching its PCR digest`);
        continue;
      }
      if (set.has(v, at)) out.add('tpm.pcr.match', claim, { actual: v });
      else out.add('tpm.pcr.mismatch', claim, { expected: set.list(at), actual: v });
    }
  }
}

/** The static register a report carries for a register name (TDX rtmrN, CCA remN, TPM pcrN). */
function reportedRegister(
  c: ProvenClaims,
  name: string,
  alg: string | undefined,
): string | undefined {
  const direct = c.values[name];
  if (direct instanceof Uint8Array) return toHex(direct);
  const pcrs = c.values['pcrs'] as Record<string, Record<string, unknown>> | undefined;
  if (pcrs !== undefined) return hexOf(pcrs[alg ?? 'sha256']?.[name]);
  return undefined;
}

function appraiseReplay(
  out: Findings,
  claims: ProvenClaims | undefined,
  replay: ReplayedEvidence,
  p: CompiledPolicy,
  at: Date,
): void {
  const seen = new Set<string>();
  for (const r of replay.registers) {
    const key = `${r.name}:${r.alg}`;
    seen.add(key);
    seen.add(r.name);
    const refs = p.registers.get(key) ?? p.registers.get(r.name);
    const actual = toHex(r.value);
    const where = {
      layer: r.layer,
      ...(r.log === undefined ? {} : { log: r.log }),
      ...(r.divergence === undefined
        ? {}
        : { record: r.divergence.record, offset: r.divergence.offset }),
    };
    if (r.proof === 'failed') {
      out.add(replayFindingId(r.name, 'inconsistent'), r.name, {
        ...where,
        expected: r.reported === undefined ? undefined : toHex(r.reported),
        actual,
        message: `the log does not replay to the reported ${r.name}`,
      });
      continue;
    }
    if (r.proof !== 'ok') {
      if (refs !== undefined)
        out.unproven(r.name, `no verified value vouches for ${r.name}`, r.layer);
      continue;
    }
    if (refs === undefined || refs.size === 0)
      out.add(replayFindingId(r.name, 'match'), r.name, { ...where, actual });
    else if (refs.has(actual, at))
      out.add(replayFindingId(r.name, 'match'), r.name, {
        ...where,
        actual,
        expected: refs.list(at),
      });
    else
      out.add(replayFindingId(r.name, 'mismatch'), r.name, {
        ...where,
        expected: refs.list(at),
        actual,
        message: `${r.name} replays to a value the policy does not expect`,
      });
  }
  // registers the policy names but no log replayed: the report's own (signed) value
  for (const [key, refs] of p.registers) {
    const [name, alg] = key.split(':') as [string, string | undefined];
    if (seen.has(key) || seen.has(name)) continue;
    const v = claims === undefined ? undefined : reportedRegister(claims, name, alg);
    if (v === undefined) {
      out.unproven(name, `neither a replayed log nor the report gives ${key}`);
      continue;
    }
    if (refs.has(v, at))
      out.add(replayFindingId(name, 'match'), name, { actual: v, expected: refs.list(at) });
    else
      out.add(replayFindingId(name, 'mismatch'), name, {
        expected: refs.list(at),
        actual: v,
        message: `${name} is not an expected value`,
      });
  }
}

function appraiseTenants(out: Findings, replay: ReplayedEvidence, p: CompiledPolicy): void {
  if (p.policy.tenant_events === undefined) return;
  const any = p.tenant.get('*') ?? [];
  let judged = 0;
  let bad = 0;
  for (const e of replay.tenantEvents) {
    if (e.state !== 'verified') continue;
    judged++;
    const line = `${e.domain} ${e.operation} ${e.content}`;
    const rules = p.tenant.get(e.vmr) ?? [];
    if (rules.some((m) => m(line)) || any.some((m) => m(line))) continue;
    bad++;
    out.add('tenant.event.not-allowed', line, {
      layer: 'tenant',
      log: e.log,
      record: e.record,
      actual: line,
      message: `event ${e.record} of ${e.vmr} matches no rule`,
    });
  }
  if (judged > 0 && bad === 0)
    out.add('tenant.event.allowed', 'tenant_events', { layer: 'tenant', actual: judged });
}

/**
 * The agent-files rule of an `mr_ima` list (issue 16, docs/mr-ima.md): each path the policy's
 * `ima.agent_files` names must have an entry whose index is below the first `mr_ima` token's
 * count — measured before the agent mirrored anything, so nothing measured later could have
 * stopped or replaced it unseen. The entries are watched as the IMA rules read them (one pass).
 */
function agentFilesRule(
  list: ImaInput,
  paths: readonly string[],
): { input: ImaInput; judge(out: Findings): void } {
  const first = new Map<string, number>();
  const wanted = new Set(paths);
  const watch: ImaPathWatch = {
    paths: wanted,
    seen(path, record) {
      if (!first.has(path)) first.set(path, record);
    },
  };
  return {
    input: { ...list, watch },
    judge(out: Findings): void {
      const limit = list.firstMirrored;
      if (limit === undefined) return;
      if (limit === null) {
        out.unproven(
          'ima.agent_files',
          'the physical log starts at a checkpoint: the first mr_ima token is not in this bundle',
          'ima',
        );
        return;
      }
      let bad = 0;
      for (const p of wanted) {
        const at = first.get(p);
        if (at !== undefined && at < limit) continue;
        bad++;
        out.add('ima.agent.not-measured-first', p, {
          layer: 'ima',
          log: list.log,
          ...(at === undefined ? {} : { record: at }),
          expected: `an entry below ${limit}`,
          actual: at ?? null,
          message:
            at === undefined
              ? `${p} is not in the verified list`
              : `${p} was first measured at entry ${at}, after the agent started mirroring (first token: ${limit} entries)`,
        });
      }
      if (bad === 0)
        out.add('ima.agent.measured-first', 'ima.agent_files', {
          layer: 'ima',
          log: list.log,
          expected: `entries below ${limit}`,
          actual: Object.fromEntries(first),
        });
    },
  };
}

/**
 * Appraises proven claims and replayed logs against a compiled policy.
 * @param claims what verify proved; undefined for log-only appraisal (an IMA list alone)
 */
export function appraise(
  claims: ProvenClaims | undefined,
  replay: ReplayedEvidence,
  policy: CompiledPolicy,
  opts: AppraiseOptions,
): Appraisal {
  const out = new Findings(policy);
  const at = opts.at;
  let ima: ImaCounts | undefined;
  const done = (): Appraisal => {
    const findings = out.list
      .map((f, i) => ({ f, i }))
      .sort((a, b) => ORDER[a.f.status] - ORDER[b.f.status] || a.i - b.i)
      .map((x) => x.f);
    return {
      status: appraisalStatus(findings.map((f) => f.status)),
      findings,
      policyId: policy.id,
      kind: claims?.kind ?? 'ima-log',
      at: at.toISOString(),
      ...(ima === undefined ? {} : { ima }),
    };
  };
  if (claims !== undefined) {
    if (claims.signature !== 'ok') {
      out.add('evidence.unverified', 'evidence', {
        message: 'the evidence did not verify; no claim is judged',
        actual: claims.signature,
      });
      return done();
    }
    // a revoked platform key (TPM AK, CCA CPAK): nothing else it signed is judged, freshness
    // included
    const keyed = claims.kind === 'tpm' || claims.kind === 'cca';
    if (keyed && appraiseKeyTcb(out, claims, policy, 'revoked')) return done();
    if (claims.nonce === 'ok') out.add('nonce.match', 'nonce', { layer: 'binding' });
    else if (claims.nonce === 'failed') out.add('nonce.mismatch', 'nonce', { layer: 'binding' });
    else if (policy.policy.require?.nonce !== false)
      out.unproven(
        'nonce',
        claims.nonce === 'relaxed'
          ? 'the nonce check was relaxed'
          : 'no nonce was given: freshness is unproven',
        'binding',
      );
    if (keyed) appraiseKeyTcb(out, claims, policy, 'status');
    else appraiseTcb(out, claims, policy);
    if (claims.kind === 'tdx') appraiseTdx(out, claims, policy, at);
    else if (claims.kind === 'snp') appraiseSnp(out, claims, policy, at);
    else if (claims.kind === 'cca') appraiseCca(out, claims, policy, at);
    else appraiseTpm(out, claims, policy, at);
  }
  appraiseReplay(out, claims, replay, policy, at);
  // one finding per log that broke its trusted checkpoint (`add` leaves out an undefined field)
  for (const b of replay.imaCheckpoint ?? []) {
    const id = b.kind === 'mismatch' ? 'ima.checkpoint.mismatch' : 'ima.checkpoint.discontinuous';
    out.add(id, b.register, {
      layer: 'ima',
      log: b.log,
      message: b.message,
      expected: b.checkpoint,
    });
  }
  for (const b of replay.tenantCheckpoint ?? []) {
    const id =
      b.kind === 'mismatch' ? 'tenant.checkpoint.mismatch' : 'tenant.checkpoint.discontinuous';
    out.add(id, b.vmr, { layer: 'vmr', log: b.log, message: b.message, actual: b.since });
  }
  appraiseTenants(out, replay, policy);
  if (replay.ima !== undefined && replay.ima.length > 0) {
    const extra = (opts.imaKeys ?? []).flatMap((k, i) => imaKeysOf(k, `--ima-key ${i + 1}`));
    // keys learned from keyring entries below the trusted IMA checkpoint, for a list sent from
    // it (those entries are not sent again)
    const learned: typeof extra = [];
    for (const [i, k] of (opts.imaLearnedKeys ?? []).entries()) {
      try {
        learned.push(...imaKeysOf(k, `checkpoint keyring key ${i + 1}`));
      } catch {
        // kept as logged: material this runtime reads no key from vouched for nothing then
      }
    }
    const sum = {
      entries: 0,
      matched: 0,
      signed: 0,
      excluded: 0,
      unknown: 0,
      mismatched: 0,
      violations: 0,
    };
    const agentFiles = policy.policy.ima?.agent_files ?? [];
    for (const list of replay.ima) {
      const rule =
        agentFiles.length > 0 && list.firstMirrored !== undefined
          ? agentFilesRule(list, agentFiles)
          : undefined;
      const keys = (list.since ?? 0) > 0 && learned.length > 0 ? [...extra, ...learned] : extra;
      const j = judgeImaList(rule?.input ?? list, policy, keys, opts.onImaKeyLearned);
      if (rule !== undefined) rule.judge(out);
      for (const k of Object.keys(sum) as (keyof ImaCounts)[]) sum[k] += j.counts[k];
      out.list.push(...j.failures);
      if (list.proof !== 'ok')
        out.add('ima.log.unbound', list.log, {
          layer: 'ima',
          log: list.log,
          message: 'no quote vouches for this log',
        });
      else if (j.failures.length === 0)
        out.add('ima.log.allowed', list.log, {
          layer: 'ima',
          log: list.log,
          actual: j.counts.entries,
        });
    }
    ima = sum;
  }
  return done();
}
