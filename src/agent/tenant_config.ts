/**
 * Tenant declarations: the tenants file (`--tenants FILE`) and the agent's persisted state
 * (`<log-dir>/state.json`), which also remembers tenants added over the admin socket, the vMR
 * names used in this boot (never reused), and the last checkpoint.
 *
 * @module
 */
import * as fs from 'node:fs';
import { ParseError, UsageError, fieldErrors } from '../errors.js';
import { IMA_TENANT, MR_IMA_VMR, NAME_RE } from '../formats/mrlog/record.js';
import { writeFileAtomic, type Durability } from './append_file.js';

/** Per-tenant limits. */
export interface TenantLimits {
  /** Largest event line in UTF-8 bytes. */
  readonly maxRecordBytes: number;
  /** Sustained events per second (0: unlimited); bursts up to one second's worth. */
  readonly ratePerSecond: number;
}

/** The defaults: 4 KiB records, no rate limit. */
export const DEFAULT_TENANT_LIMITS: TenantLimits = Object.freeze({
  maxRecordBytes: 4096,
  ratePerSecond: 0,
});

/** One tenant as configured. */
export interface TenantConfig {
  readonly name: string;
  readonly vmr: string;
  /** Owner of the tenant socket (uid, or uid:gid). */
  readonly owner?: string;
  /** Mode of the tenant socket (octal string such as `0600`). */
  readonly mode?: string;
  readonly limits?: Partial<TenantLimits>;
}

/** The persisted agent state. */
export interface AgentState {
  readonly bootId: string;
  readonly tenants: readonly TenantConfig[];
  /** vMR names used in this boot (removed tenants' names stay here). */
  readonly usedVmrs: readonly string[];
  readonly lastCheckpoint: { readonly seq: number; readonly at: string } | undefined;
}

const badField = fieldErrors({ code: 'ERR_BAD_JSON', format: 'tenants' });
/** A wrong tenants-file member; a string value is quoted, any other value named by its type. */
const bad = (field: string, expected: string, actual: unknown): ParseError =>
  badField(field, expected, typeof actual === 'string' ? JSON.stringify(actual) : typeof actual);

/**
 * Checks one tenant declaration (JSON keys: `name`, `vmr`, `owner`, `mode`,
 * `max_record_bytes`, `rate`).
 * @throws ParseError `ERR_BAD_JSON`
 */
export function parseTenantConfig(v: unknown, where = 'tenant'): TenantConfig {
  if (typeof v !== 'object' || v === null) throw bad(where, 'an object', v);
  const o = v as Record<string, unknown>;
  const name = o['name'];
  if (typeof name !== 'string' || !NAME_RE.test(name))
    throw bad(`${where}.name`, 'a name matching [a-z0-9][a-z0-9_-]{0,63}', name);
  const vmr = o['vmr'] ?? name;
  if (typeof vmr !== 'string' || !NAME_RE.test(vmr))
    throw bad(`${where}.vmr`, 'a vMR name matching [a-z0-9][a-z0-9_-]{0,63}', vmr);
  if (name === IMA_TENANT || name === MR_IMA_VMR)
    throw bad(
      `${where}.name`,
      `a name other than the reserved ${IMA_TENANT} and ${MR_IMA_VMR}`,
      name,
    );
  if (vmr === MR_IMA_VMR || vmr === IMA_TENANT)
    throw bad(`${where}.vmr`, `a vMR other than the reserved ${MR_IMA_VMR} and ${IMA_TENANT}`, vmr);
  const owner = o['owner'];
  if (owner !== undefined && (typeof owner !== 'string' || !/^[0-9]+(:[0-9]+)?$/.test(owner)))
    throw bad(`${where}.owner`, 'UID or UID:GID', owner);
  const mode = o['mode'];
  if (mode !== undefined && (typeof mode !== 'string' || !/^0?[0-7]{3}$/.test(mode)))
    throw bad(`${where}.mode`, 'an octal mode such as 0660', mode);
  const mrb = o['max_record_bytes'];
  if (mrb !== undefined && (typeof mrb !== 'number' || !Number.isSafeInteger(mrb) || mrb < 16))
    throw bad(`${where}.max_record_bytes`, 'an integer >= 16', mrb);
  const rate = o['rate'];
  if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0)))
    throw bad(`${where}.rate`, 'events per second >= 0', rate);
  const limits: Partial<TenantLimits> = {
    ...(mrb === undefined ? {} : { maxRecordBytes: mrb }),
    ...(rate === undefined ? {} : { ratePerSecond: rate }),
  };
  return {
    name,
    vmr,
    ...(owner === undefined ? {} : { owner: owner }),
    ...(mode === undefined ? {} : { mode: mode }),
    ...(Object.keys(limits).length === 0 ? {} : { limits }),
  };
}

/**
 * Checks a tenant declaration given through the library API (the tenants file and the admin
 * socket go through {@link parseTenantConfig}): names that would leave the log directory, a bad
 * owner or mode, or limits out of range are refused before anything touches the disk.
 * @throws UsageError `ERR_USAGE` naming the field
 */
export function checkTenantConfig(cfg: TenantConfig, where = 'tenant'): TenantConfig {
  const fail = (field: string, expected: string, actual: unknown): never => {
    throw new UsageError(
      'ERR_USAGE',
      `${where}.${field}: expected ${expected}, found ${typeof actual === 'string' ? JSON.stringify(actual) : typeof actual}`,
      { details: { field: `${where}.${field}` } },
    );
  };
  const raw = cfg as unknown;
  if (typeof raw !== 'object' || raw === null) fail('', 'an object', raw);
  if (typeof cfg.name !== 'string' || !NAME_RE.test(cfg.name))
    fail('name', 'a name matching [a-z0-9][a-z0-9_-]{0,63}', cfg.name);
  if (typeof cfg.vmr !== 'string' || !NAME_RE.test(cfg.vmr))
    fail('vmr', 'a vMR name matching [a-z0-9][a-z0-9_-]{0,63}', cfg.vmr);
  // `ima` / `mr_ima` belong to the agent's IMA bridge (`--ima`), never to a declared tenant
  if (cfg.name === IMA_TENANT || cfg.name === MR_IMA_VMR)
    fail('name', `a name other than the reserved ${IMA_TENANT} and ${MR_IMA_VMR}`, cfg.name);
  if (cfg.vmr === MR_IMA_VMR || cfg.vmr === IMA_TENANT)
    fail('vmr', `a vMR other than the reserved ${MR_IMA_VMR} and ${IMA_TENANT}`, cfg.vmr);
  if (
    cfg.owner !== undefined &&
    (typeof cfg.owner !== 'string' || !/^[0-9]+(:[0-9]+)?$/.test(cfg.owner))
  )
    fail('owner', 'UID or UID:GID', cfg.owner);
  if (cfg.mode !== undefined && (typeof cfg.mode !== 'string' || !/^0?[0-7]{3}$/.test(cfg.mode)))
    fail('mode', 'an octal mode such as 0660', cfg.mode);
  const l = cfg.limits;
  if (
    l?.maxRecordBytes !== undefined &&
    !(Number.isSafeInteger(l.maxRecordBytes) && l.maxRecordBytes >= 16)
  )
    fail('limits.maxRecordBytes', 'an integer >= 16', l.maxRecordBytes);
  if (
    l?.ratePerSecond !== undefined &&
    !(typeof l.ratePerSecond === 'number' && l.ratePerSecond >= 0)
  )
    fail('limits.ratePerSecond', 'events per second >= 0', l.ratePerSecond);
  return cfg;
}

/** The JSON form of a tenant declaration. */
export function tenantConfigToJson(t: TenantConfig): Record<string, unknown> {
  return {
    name: t.name,
    vmr: t.vmr,
    ...(t.owner === undefined ? {} : { owner: t.owner }),
    ...(t.mode === undefined ? {} : { mode: t.mode }),
    ...(t.limits?.maxRecordBytes === undefined
      ? {}
      : { max_record_bytes: t.limits.maxRecordBytes }),
    ...(t.limits?.ratePerSecond === undefined ? {} : { rate: t.limits.ratePerSecond }),
  };
}

/**
 * Reads a tenants file: `{"tenants":[{"name":"alice","vmr":"alice","mode":"0660"}, …]}`.
 * @throws ParseError `ERR_BAD_JSON`, also for a missing file (expected: an existing tenants file)
 */
export function readTenantsFile(path: string): TenantConfig[] {
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'ENOENT') {
      throw new ParseError({
        code: 'ERR_BAD_JSON',
        format: 'tenants',
        offset: 0,
        field: path,
        expected: 'an existing tenants file',
        cause,
      });
    }
    throw new ParseError({
      code: 'ERR_BAD_JSON',
      format: 'tenants',
      offset: 0,
      field: path,
      expected: 'JSON',
      cause,
    });
  }
  const list = (j as { tenants?: unknown } | null)?.tenants;
  if (!Array.isArray(list)) throw bad('tenants', 'an array', list);
  const out = list.map((t, i) => parseTenantConfig(t, `tenants[${i}]`));
  const names = new Set<string>();
  const vmrs = new Set<string>();
  for (const t of out) {
    if (names.has(t.name)) throw bad('tenants', 'unique names', t.name);
    if (vmrs.has(t.vmr)) throw bad('tenants', 'unique vMR names', t.vmr);
    names.add(t.name);
    vmrs.add(t.vmr);
  }
  return out;
}

/** Reads `state.json`, or undefined when there is none. */
export function readAgentState(path: string): AgentState | undefined {
  if (!fs.existsSync(path)) return undefined;
  const j = JSON.parse(fs.readFileSync(path, 'utf8')) as Record<string, unknown>;
  const tenants = Array.isArray(j['tenants'])
    ? j['tenants'].map((t, i) => parseTenantConfig(t, `state.tenants[${i}]`))
    : [];
  const used = Array.isArray(j['used_vmrs'])
    ? j['used_vmrs'].filter((x): x is string => typeof x === 'string')
    : [];
  const cp = j['last_checkpoint'] as { seq?: unknown; at?: unknown } | null | undefined;
  return {
    bootId: typeof j['boot_id'] === 'string' ? j['boot_id'] : '',
    tenants,
    usedVmrs: used,
    lastCheckpoint:
      typeof cp?.seq === 'number' && typeof cp.at === 'string'
        ? { seq: cp.seq, at: cp.at }
        : undefined,
  };
}

/** Writes `state.json` atomically, as durable as the agent's appends (`durability`). */
export function writeAgentState(path: string, s: AgentState, durability: Durability = 'os'): void {
  writeFileAtomic(
    path,
    `${JSON.stringify(
      {
        format: 'mrstack-agent-state',
        version: 1,
        boot_id: s.bootId,
        tenants: s.tenants.map(tenantConfigToJson),
        used_vmrs: s.usedVmrs,
        last_checkpoint: s.lastCheckpoint ?? null,
      },
      null,
      2,
    )}\n`,
    durability,
  );
}
