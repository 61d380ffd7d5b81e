/**
 * `mrstack policy generate --from-evidence`: a policy that accepts exactly what one piece of
 * verified evidence shows — its static MRs, attributes, TCB status, register values and (for a
 * bundle) its verified tenant events — for a user to review and edit. Only verified evidence is
 * a source: generating from evidence that did not verify is refused.
 *
 * @module
 */
import { MrstackError } from '../../errors.js';
import type { EvidenceResult } from '../verify/evidence_result.js';
import type { ProvenClaims, ReplayedEvidence } from './appraisal_input.js';
import type { PolicyV1 } from './policy.js';
import { bundleReplayOf, claimHex, provenClaimsOf } from './proven_claims.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

function one(v: unknown): string[] | undefined {
  const h = claimHex(v);
  return h === undefined ? undefined : [h];
}

function put(o: object, k: string, v: unknown): void {
  if (v !== undefined) (o as Record<string, unknown>)[k] = v;
}

function kindSection(c: ProvenClaims, p: Mutable<PolicyV1>): void {
  const v = c.values;
  if (c.kind === 'tdx') {
    const tdx: Record<string, unknown> = {};
    for (const f of [
      'mrtd',
      'mrconfigid',
      'mrowner',
      'mrownerconfig',
      'mrseam',
      'td_attributes',
      'xfam',
    ])
      put(tdx, f, one(v[f]));
    const attrs = v['td_attributes'];
    tdx['debug'] = attrs instanceof Uint8Array && (attrs[0]! & 1) === 1;
    p.tdx = tdx;
    const regs: Record<string, string[]> = {};
    for (const r of ['rtmr0', 'rtmr1', 'rtmr2', 'rtmr3']) put(regs, r, one(v[r]));
    p.registers = { ...p.registers, ...regs };
  } else if (c.kind === 'snp') {
    const snp: Record<string, unknown> = {};
    for (const f of ['measurement', 'host_data', 'id_key_digest', 'author_key_digest'])
      put(snp, f, one(v[f]));
    const pol = v['policy'] as Record<string, unknown> | undefined;
    if (pol !== undefined) {
      const bits: Record<string, boolean | number> = {};
      for (const k of ['debug', 'migrate_ma', 'smt', 'single_socket', 'abi_major', 'abi_minor']) {
        const x = pol[k];
        if (typeof x === 'boolean' || typeof x === 'number') bits[k] = x;
      }
      snp['policy'] = bits;
    }
    const tcb = v['reported_tcb'] as Record<string, unknown> | undefined;
    if (tcb !== undefined) {
      const min: Record<string, number> = {};
      for (const k of ['bootloader', 'tee', 'snp', 'microcode', 'fmc']) {
        const x = tcb[k];
        if (typeof x === 'number') min[k] = x;
      }
      snp['minimum_tcb'] = min;
    }
    if (typeof v['vmpl'] === 'number') snp['vmpl'] = [v['vmpl']];
    p.snp = snp;
  } else if (c.kind === 'cca') {
    const realm = (v['realm'] ?? {}) as Record<string, unknown>;
    const plat = (v['platform'] ?? {}) as Record<string, unknown>;
    const cca: Record<string, unknown> = {};
    put(cca, 'rim', one(v['rim']));
    const realmRules: Record<string, (string | number)[]> = {};
    const pv = claimHex(realm['personalization_value']);
    if (pv !== undefined) realmRules['personalization_value'] = [pv];
    if (typeof realm['hash_algo_id'] === 'string')
      realmRules['hash_algo_id'] = [realm['hash_algo_id']];
    cca['realm'] = realmRules;
    const platform: Record<string, unknown> = {};
    put(platform, 'implementation_id', one(plat['implementation_id']));
    if (typeof plat['lifecycle'] === 'number') {
      platform['lifecycle'] = [plat['lifecycle']];
      // accept exactly what was shown: a debug lifecycle only when the evidence has one
      cca['debug'] = (plat['lifecycle'] & 0xff00) !== 0x3000;
    }
    const comps = Array.isArray(plat['sw_components'])
      ? (plat['sw_components'] as Record<string, unknown>[])
      : [];
    const sw = comps
      .map((x) => claimHex(x['measurement_value'] ?? x['measurement']))
      .filter((m): m is string => m !== undefined)
      .map((measurement) => ({ measurement }));
    if (sw.length > 0) platform['sw_components'] = sw;
    // each component type's signed version as its minimum (cca.tcb.out-of-date below it)
    const mins: Record<string, string> = {};
    for (const x of comps)
      if (
        typeof x['measurement_type'] === 'string' &&
        typeof x['version'] === 'string' &&
        /^[0-9]+(\.[0-9]+)*$/.test(x['version'])
      )
        mins[x['measurement_type']] = x['version'];
    if (Object.keys(mins).length > 0) platform['minimum_versions'] = mins;
    cca['platform'] = platform;
    p.cca = cca;
    const regs: Record<string, string[]> = {};
    for (const r of ['rem0', 'rem1', 'rem2', 'rem3']) put(regs, r, one(v[r]));
    p.registers = { ...p.registers, ...regs };
  } else {
    const pcrs = v['pcrs'] as Record<string, Record<string, unknown>> | undefined;
    if (pcrs !== undefined) {
      const out: Record<string, Record<string, string[]>> = {};
      for (const [bank, regs] of Object.entries(pcrs)) {
        out[bank] = {};
        for (const [pcr, val] of Object.entries(regs)) put(out[bank], pcr, one(val));
      }
      p.tpm = { pcrs: out };
    } else p.tpm = {};
    // the quote's signed firmware version as the minimum (tpm.tcb.out-of-date below it)
    const fw = v['firmware_version'];
    if (typeof fw === 'string' && /^0x[0-9a-f]{16}$/i.test(fw))
      p.tpm = { ...p.tpm, minimum_firmware: fw.toLowerCase() };
  }
}

/**
 * The policy that accepts exactly this verified evidence.
 * @throws MrstackError `ERR_POLICY_VIOLATION` when the evidence did not verify
 */
export function generatePolicy(
  r: EvidenceResult,
  name: string,
  replay?: ReplayedEvidence,
): PolicyV1 {
  const c = provenClaimsOf(r, { nonceGiven: true });
  if (c.signature !== 'ok')
    throw new MrstackError(
      'ERR_POLICY_VIOLATION',
      'the evidence did not verify: a policy is generated only from verified evidence',
      { details: { errors: r.errors.map((e) => e.code) } },
    );
  const p: Mutable<PolicyV1> = {
    version: 1,
    name,
    description: `accepts exactly the ${c.kind} evidence verified at ${r.at}`,
    source: { importer: 'evidence' },
    require: { nonce: true },
  };
  if (c.tcbStatus !== undefined) p.tcb = { accept: [c.tcbStatus] };
  kindSection(c, p);
  const rep = replay ?? bundleReplayOf(r);
  // A register replayed in several banks (a TPM PCR: sha1, sha256, sha384) gets one entry per
  // bank (`pcr14:sha256`); a bare name would hold one bank's value and fail the others.
  const banks = new Map<string, number>();
  for (const reg of rep.registers)
    if (reg.proof === 'ok') banks.set(reg.name, (banks.get(reg.name) ?? 0) + 1);
  for (const reg of rep.registers) {
    if (reg.proof !== 'ok') continue;
    const key = (banks.get(reg.name) ?? 0) > 1 ? `${reg.name}:${reg.alg}` : reg.name;
    const { [reg.name]: _bare, ...others } = p.registers ?? {}; // eslint-disable-line @typescript-eslint/no-unused-vars
    p.registers = {
      ...(key === reg.name ? p.registers : others),
      [key]: [Buffer.from(reg.value).toString('hex')],
    };
  }
  const events = rep.tenantEvents.filter((e) => e.state === 'verified');
  if (r.kind === 'bundle') {
    const te: Record<string, { exact: string }[]> = {};
    for (const e of events)
      (te[e.vmr] ??= []).push({ exact: `${e.domain} ${e.operation} ${e.content}` });
    p.tenant_events = te;
  }
  return p;
}
