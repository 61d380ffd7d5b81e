/**
 * The trusted-checkpoint SPEC a verifier passes to `mrstack evidence verify
 * --trusted-checkpoint` (`docs/bundle.md`): a checkpoint it already trusts from an earlier
 * attestation, as its number and the physical register's value just before its CHECKPOINT record.
 *
 * Text form: `<seq>:<alg>/<hex>[,<alg>/<hex>…]` (one value per bank), e.g.
 * `2:sha384/9f…`. JSON form: `{"seq":2,"values":{"sha384":"9f…"}}` — the shape of each entry of
 * `claims.layers.physical.checkpoints` in an earlier verification's output (its extra members
 * are ignored).
 *
 * @module
 */
import { fieldErrors } from '../../errors.js';
import { fromHex } from '../../bytes/hex.js';
import { NAME_RE } from '../mrlog/record.js';
import { digestSize, lookupHashAlg, parseHashAlg, type HashAlg } from '../../crypto/hash_alg.js';

/** A trusted checkpoint: number and register value just before it, per bank. */
export interface TrustedCheckpoint {
  readonly seq: number;
  readonly values: ReadonlyMap<HashAlg, Uint8Array>;
}

const bad = fieldErrors({
  code: 'ERR_BAD_VALUE',
  format: 'bundle',
  prefix: 'trusted-checkpoint.',
});

function value(alg: string, hex: string, values: Map<HashAlg, Uint8Array>): void {
  const a = parseHashAlg(alg, 'trusted-checkpoint.alg');
  const v = fromHex(hex, `trusted-checkpoint ${a} value`);
  if (v.length !== digestSize(a))
    throw bad(`values.${a}`, `${digestSize(a)} bytes`, `${v.length} bytes`);
  if (values.has(a)) throw bad(`values.${a}`, 'one value per bank', `${a} twice`);
  values.set(a, v);
}

function seqOf(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw bad('seq', 'a checkpoint number >= 0', JSON.stringify(v));
  return v;
}

/**
 * Parses a trusted checkpoint in its text or JSON form.
 * @throws ParseError `ERR_BAD_VALUE` (format `bundle`); `ERR_BAD_HEX` for bad hex
 */
export function parseTrustedCheckpoint(text: string): TrustedCheckpoint {
  const t = text.trim();
  const values = new Map<HashAlg, Uint8Array>();
  if (t.startsWith('{')) {
    let j: unknown;
    try {
      j = JSON.parse(t);
    } catch {
      throw bad('json', 'a JSON object {"seq","values"}', 'invalid JSON');
    }
    const o = j as { seq?: unknown; values?: unknown };
    const seq = seqOf(o.seq);
    if (typeof o.values !== 'object' || o.values === null)
      throw bad('values', 'an object {"<alg>":"<hex>"}', JSON.stringify(o.values));
    for (const [a, v] of Object.entries(o.values)) {
      if (typeof v !== 'string') throw bad(`values.${a}`, 'a hex string', JSON.stringify(v));
      value(a, v, values);
    }
    if (values.size === 0) throw bad('values', 'at least one bank', 'none');
    return { seq, values };
  }
  const m = /^([0-9]{1,15}):(.+)$/.exec(t);
  if (m === null) throw bad('spec', '<seq>:<alg>/<hex>[,<alg>/<hex>…]', JSON.stringify(t));
  for (const part of m[2]!.split(',')) {
    const p = /^([a-z0-9]+)\/([0-9a-fA-F]+)$/.exec(part);
    if (p === null) throw bad('spec', '<alg>/<hex>', JSON.stringify(part));
    value(p[1]!, p[2]!, values);
  }
  return { seq: seqOf(Number(m[1])), values };
}

/**
 * A tenant checkpoint a verifier trusts (`evidence verify --tenant-checkpoint`): tenant `tenant`'s
 * vMR `vmr`, chained in `alg`, after `record` extended records (`line` lines of its log), as the
 * physical log committed to it at physical checkpoint `seq` — the entry the verifier service
 * stores per tenant (`checkpoints.value.tenants[name]`), with the tenant named.
 */
export interface TrustedTenantCheckpointSpec {
  readonly tenant: string;
  readonly vmr: string;
  readonly alg: HashAlg;
  readonly line: number;
  readonly record: number;
  readonly value: Uint8Array;
  readonly seq: number;
}

const badTenant = fieldErrors({
  code: 'ERR_BAD_VALUE',
  format: 'bundle',
  prefix: 'tenant-checkpoint.',
});

function tenantEntry(
  o: unknown,
  tenant: string | undefined,
  at: string,
): TrustedTenantCheckpointSpec {
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw badTenant(at === '' ? 'json' : at.slice(0, -1), 'an object', JSON.stringify(o));
  const e = o as Record<string, unknown>;
  const str = (k: string): string => {
    const v = e[k];
    if (typeof v !== 'string') throw badTenant(`${at}${k}`, 'a string', JSON.stringify(v));
    return v;
  };
  const int = (k: string, min: number): number => {
    const v = e[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
      throw badTenant(`${at}${k}`, `an integer >= ${min}`, JSON.stringify(v));
    return v;
  };
  const name = tenant ?? str('tenant');
  if (!NAME_RE.test(name)) throw badTenant(`${at}tenant`, 'a tenant name', JSON.stringify(name));
  if (tenant !== undefined && e['tenant'] !== undefined && e['tenant'] !== tenant)
    throw badTenant(`${at}tenant`, JSON.stringify(tenant), JSON.stringify(e['tenant']));
  const vmr = str('vmr');
  if (!NAME_RE.test(vmr)) throw badTenant(`${at}vmr`, 'a vMR name', JSON.stringify(vmr));
  const alg = lookupHashAlg(str('alg'));
  if (alg === undefined)
    throw badTenant(`${at}alg`, 'one of sha1, sha256, sha384, sha512, sm3', str('alg'));
  // a position after SALT and TENANT (records are lines, so record <= line), as a bundle's since
  const record = int('record', 2);
  const line = int('line', record);
  const hex = str('value');
  if (!/^[0-9a-f]*$/.test(hex) || hex.length !== digestSize(alg) * 2)
    throw badTenant(
      `${at}value`,
      `${digestSize(alg) * 2} lowercase hex digits (${alg})`,
      JSON.stringify(hex.slice(0, 40)),
    );
  return {
    tenant: name,
    vmr,
    alg,
    line,
    record,
    value: fromHex(hex, `${at}value`),
    seq: int('seq', 0),
  };
}

/**
 * Parses trusted tenant checkpoints, by tenant name, from JSON: one entry
 * `{"tenant","vmr","alg","line","record","value","seq"}` (an entry of
 * `claims.layers.vmr.checkpoints` in an earlier verification's output), or a verifier service's
 * stored checkpoint value `{"seq","values","tenants":{"<name>":{"vmr","alg","line","record","value","seq"}}}`
 * (every tenant entry; its other members are ignored).
 * @throws ParseError `ERR_BAD_VALUE` (format `bundle`) naming the member
 */
export function parseTrustedTenantCheckpoints(
  text: string,
): ReadonlyMap<string, TrustedTenantCheckpointSpec> {
  let j: unknown;
  try {
    j = JSON.parse(text.trim());
  } catch {
    throw badTenant('json', 'a JSON object', 'invalid JSON');
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    throw badTenant('json', 'a JSON object', JSON.stringify(j).slice(0, 40));
  const o = j as Record<string, unknown>;
  const out = new Map<string, TrustedTenantCheckpointSpec>();
  if (o['tenants'] === undefined) {
    const e = tenantEntry(o, undefined, '');
    out.set(e.tenant, e);
    return out;
  }
  const ts = o['tenants'];
  if (typeof ts !== 'object' || ts === null || Array.isArray(ts))
    throw badTenant('tenants', 'an object {"<tenant>":{…}}', JSON.stringify(ts).slice(0, 40));
  for (const [name, e] of Object.entries(ts))
    out.set(name, tenantEntry(e, name, `tenants.${name}.`));
  if (out.size === 0) throw badTenant('tenants', 'at least one tenant', 'none');
  return out;
}
