/**
 * Appraisal policy v1 (DESIGN §6.3): the declarative file (`docs/policy.schema.json`, JSON or
 * YAML), its id, the documented default policy, and the compiled form `appraise` runs.
 *
 * - {@link parsePolicy} reads JSON or YAML text, validates it against the schema (ajv) and the
 *   rules a schema cannot say (regexes in the supported subset, expiry dates), and returns an
 *   immutable {@link LoadedPolicy} whose id is `<name>@sha256:<digest of its canonical JSON>` —
 *   the same policy gets the same id whichever syntax or key order it was written in.
 * - {@link compilePolicy} turns it into lookup sets and compiled regexes once; appraising many
 *   pieces of evidence reuses the compiled policy.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { MrstackError } from '../../errors.js';
import type { FindingStatus } from './finding.js';
import { POLICY_SCHEMA } from './policy_schema.js';
import { compileExcludes, translatePythonRegex } from './python_regex.js';

/** A reference value: hex, or hex with an expiry and its source. */
export type RefValue =
  string | { readonly value: string; readonly expires?: string; readonly source?: string };

/** One tenant-event rule, on the line `<domain> <operation> <content>`. */
export type TenantRule =
  { readonly exact: string } | { readonly prefix: string } | { readonly regex: string };

/** Policy file v1 (see `docs/policy.schema.json` for every field's meaning). */
export interface PolicyV1 {
  readonly $schema?: string;
  readonly version: 1;
  readonly name: string;
  readonly description?: string;
  readonly source?: {
    readonly importer?: string;
    readonly files?: readonly string[];
    readonly signed_by?: string;
  };
  readonly statuses?: Readonly<Record<string, FindingStatus>>;
  readonly require?: { readonly nonce?: boolean };
  readonly tcb?: {
    readonly accept?: readonly string[];
    readonly warn?: readonly string[];
    readonly advisories?: { readonly allow?: readonly string[]; readonly deny?: readonly string[] };
  };
  readonly tdx?: {
    readonly mrtd?: readonly RefValue[];
    readonly mrconfigid?: readonly RefValue[];
    readonly mrowner?: readonly RefValue[];
    readonly mrownerconfig?: readonly RefValue[];
    readonly mrseam?: readonly RefValue[];
    readonly td_attributes?: readonly RefValue[];
    readonly xfam?: readonly RefValue[];
    readonly debug?: boolean;
    readonly migratable?: boolean;
  };
  readonly snp?: {
    readonly measurement?: readonly RefValue[];
    readonly host_data?: readonly RefValue[];
    readonly id_key_digest?: readonly RefValue[];
    readonly author_key_digest?: readonly RefValue[];
    readonly policy?: Readonly<Record<string, boolean | number>>;
    readonly minimum_tcb?: Readonly<Record<string, number>>;
    readonly vmpl?: readonly number[];
  };
  readonly cca?: {
    /** Accept a platform whose lifecycle is not secured (debug); default false. */
    readonly debug?: boolean;
    readonly rim?: readonly RefValue[];
    readonly realm?: Readonly<Record<string, readonly (string | number)[]>>;
    readonly platform?: {
      readonly implementation_id?: readonly RefValue[];
      readonly lifecycle?: readonly number[];
      readonly sw_components?: readonly {
        readonly measurement: string;
        readonly signer_id?: string;
        readonly type?: string;
        readonly version?: string;
      }[];
      /**
       * Per software component type (its `measurement_type`, e.g. `RMM`): the lowest signed
       * `version` accepted (dotted numbers); a lower one is `cca.tcb.out-of-date`.
       */
      readonly minimum_versions?: Readonly<Record<string, string>>;
    };
  };
  readonly tpm?: {
    readonly pcrs?: Readonly<Record<string, Readonly<Record<string, readonly RefValue[]>>>>;
    /**
     * The lowest TPMS_ATTEST `firmwareVersion` accepted (16 hex digits, `0x` optional); a lower
     * one is `tpm.tcb.out-of-date`.
     */
    readonly minimum_firmware?: string;
  };
  readonly registers?: Readonly<Record<string, readonly RefValue[]>>;
  readonly tenant_events?: Readonly<Record<string, readonly TenantRule[]>>;
  readonly ima?: {
    readonly digests?: Readonly<Record<string, readonly string[]>>;
    readonly excludes?: readonly string[];
    readonly keyrings?: Readonly<Record<string, readonly string[]>>;
    readonly ignored_keyrings?: readonly string[];
    readonly ima_buf?: Readonly<Record<string, readonly string[]>>;
    readonly keys?: readonly string[];
    /**
     * `mr_ima` lists: paths (the agent's `node`, its entry script and files) that must be
     * measured before the first `mr_ima` token — in the list the agent found when it started
     * (docs/mr-ima.md "What it does not give").
     */
    readonly agent_files?: readonly string[];
  };
}

/** An IMA allowlist looked up in place: the allowed digests of a path (lower-case hex). */
export interface DigestLookup {
  get(path: string): readonly string[] | undefined;
  /**
   * Whether `digest` is allowed for `path` (undefined: the path is not listed) without building
   * the list — a table read in place answers it with no allocation.
   */
  allows?(path: string, digest: string): boolean | undefined;
  /**
   * {@link DigestLookup.allows} for a path and a digest given as bytes — the path's UTF-8 in
   * `b[pathAt, pathEnd)` with its {@link pathHash} `hash`, the digest in `b[digestAt,
   * digestEnd)` — without making a string (the IMA rules read a list's entries in place).
   */
  allowsBytes?(
    b: Uint8Array,
    pathAt: number,
    pathEnd: number,
    hash: number,
    digestAt: number,
    digestEnd: number,
  ): boolean | undefined;
  /**
   * Reads, for the paths whose {@link pathHash}es are `hashes[0, count)`, what their lookups
   * will read first (the table slots, then the entries they name), one path after another with
   * nothing waiting on each read: the cache misses of a batch then overlap, where each lookup
   * alone would wait for its own. Answers nothing; the lookups that follow give the verdicts.
   */
  prefetch?(hashes: Uint32Array, count: number): void;
}

/** 32-bit FNV-1a over `b[at, end)`: the hash of a path's UTF-8 bytes in the policy cache. */
export function pathHash(b: Uint8Array, at: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = at; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** A validated policy with its id. */
export interface LoadedPolicy {
  /** `<name>@sha256:<hex>`. */
  readonly id: string;
  readonly policy: PolicyV1;
  /**
   * `policy.ima.digests` as a table read in place (a policy from the policy cache,
   * `policy_cache.ts`); {@link compilePolicy} looks paths up there instead of in the record.
   */
  readonly imaDigests?: DigestLookup;
}

/**
 * The default policy (docs/appraisal.md): a TD or guest must not be debuggable, the TCB must be
 * up to date (out of date is a warning, anything else — Revoked — contraindicates), the
 * evidence must be bound to the caller's nonce, and every log must replay to its register
 * (always checked). It pins no reference value.
 */
export const DEFAULT_POLICY: PolicyV1 = Object.freeze({
  version: 1,
  name: 'default',
  description:
    'debug off, TCB not revoked (out of date is a warning), nonce bound, every log replays to its register',
  require: { nonce: true },
  tcb: {
    accept: ['UpToDate'],
    warn: [
      'OutOfDate',
      'OutOfDateConfigurationNeeded',
      'ConfigurationNeeded',
      'SWHardeningNeeded',
      'ConfigurationAndSWHardeningNeeded',
    ],
  },
  tdx: { debug: false },
  snp: { policy: { debug: false } },
  cca: { debug: false },
});

function invalid(message: string, details: Record<string, unknown> = {}): MrstackError {
  return new MrstackError('ERR_POLICY_INVALID', message, { details });
}

type Validator = ((data: unknown) => boolean) & {
  errors?: readonly { instancePath: string; message?: string; params?: unknown }[] | null;
};
let validator: Validator | undefined;

async function schemaValidator(): Promise<Validator> {
  if (validator !== undefined) return validator;
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const ajv = new Ajv2020({ allErrors: false, strict: true, allowUnionTypes: true });
  validator = ajv.compile(POLICY_SCHEMA) as Validator;
  return validator;
}

/** Canonical JSON: keys sorted at every level, no whitespace (undefined members dropped). */
export function canonicalJson(v: unknown): string {
  const parts: string[] = [];
  writeCanonical(v, { push: (...s: string[]) => void parts.push(...s) });
  return parts.join('');
}

/** Where canonical JSON is written to, a few strings at a time. */
interface TextSink {
  push(...s: string[]): void;
}

// Strings JSON.stringify leaves as they are between quotes (no quote, backslash, control
// character or surrogate to escape): a call saved per key and per digest.
// eslint-disable-next-line no-control-regex -- the control characters are what it looks for
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

// The same text as JSON.stringify with sorted keys, written directly: a runtime policy of a
// million paths made the replacer form call back three million times.
function writeCanonical(v: unknown, out: TextSink): void {
  if (v === null || typeof v !== 'object') {
    out.push(JSON.stringify(v));
    return;
  }
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    writeCanonical((v as { toJSON(): unknown }).toJSON(), out);
    return;
  }
  if (Array.isArray(v)) {
    // a list of strings and numbers (digests, statuses) is the same text from JSON.stringify
    if (v.every((x) => typeof x === 'string' && PLAIN.test(x))) {
      out.push(v.length === 0 ? '[]' : `["${v.join('","')}"]`);
      return;
    }
    out.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(',');
      const x: unknown = v[i];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') out.push('null');
      else writeCanonical(x, out);
    }
    out.push(']');
    return;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! < keys[i]!;
  if (!sorted) keys.sort();
  out.push('{');
  let first = true;
  for (const k of keys) {
    const x = o[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    out.push(first ? '' : ',', PLAIN.test(k) ? `"${k}"` : JSON.stringify(k), ':');
    first = false;
    writeCanonical(x, out);
  }
  out.push('}');
}

/**
 * The id of a policy: `<name>@sha256:<SHA-256 of its canonical JSON>`. The text is hashed as it
 * is written, a megabyte at a time: a million-path policy is never one 140 MB string.
 */
export function policyId(p: PolicyV1): string {
  const h = createHash('sha256');
  let parts: string[] = [];
  let size = 0;
  writeCanonical(p, {
    push(...s: string[]): void {
      for (const x of s) {
        parts.push(x);
        size += x.length;
      }
      if (size >= 1 << 20) {
        h.update(parts.join(''));
        parts = [];
        size = 0;
      }
    },
  });
  h.update(parts.join(''));
  return `${p.name}@sha256:${h.digest('hex')}`;
}

/** Freezes a parsed (acyclic, JSON-shaped) value and everything in it. */
function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return v;
  Object.freeze(v);
  if (Array.isArray(v)) {
    // a digest list is strings only: nothing inside to freeze, no Object.values copy per list
    for (const x of v as unknown[]) if (x !== null && typeof x === 'object') deepFreeze(x);
  } else {
    for (const k in v) {
      const x: unknown = (v as Record<string, unknown>)[k];
      if (x !== null && typeof x === 'object') deepFreeze(x);
    }
  }
  return v;
}

/**
 * Validates a policy object (already parsed from JSON/YAML): the schema, then the regexes and
 * dates. Returns it frozen with its id.
 * @throws MrstackError `ERR_POLICY_INVALID`, `ERR_REGEX_UNSUPPORTED`
 */
export async function validatePolicy(obj: unknown): Promise<LoadedPolicy> {
  return validateOwned(structuredClone(obj));
}

/**
 * {@link validatePolicy} of an object nobody else holds (freezes it in place, unless told that
 * the caller drops it).
 */
async function validateOwned(obj: unknown, freeze = true): Promise<LoadedPolicy> {
  const validate = await schemaValidator();
  if (!validate(obj)) {
    const e = validate.errors?.[0];
    const where = e?.instancePath === '' || e === undefined ? '(top level)' : e.instancePath;
    throw invalid(`policy ${where}: ${e?.message ?? 'does not match the schema'}`, {
      path: e?.instancePath ?? '',
      ...(e?.params === undefined ? {} : { params: e.params }),
    });
  }
  const p = obj as PolicyV1;
  for (const list of Object.values(p.tenant_events ?? {}))
    for (const r of list) if ('regex' in r) translatePythonRegex(r.regex);
  compileExcludes(p.ima?.excludes ?? []);
  for (const ref of allRefValues(p)) {
    if (
      typeof ref !== 'string' &&
      ref.expires !== undefined &&
      Number.isNaN(Date.parse(ref.expires))
    )
      throw invalid(`policy: reference value ${ref.value} has a bad expiry ${ref.expires}`);
  }
  const frozen = freeze ? deepFreeze(p) : p;
  return { id: policyId(frozen), policy: frozen };
}

function* allRefValues(p: PolicyV1): Iterable<RefValue> {
  const lists: (readonly RefValue[] | undefined)[] = [
    ...Object.values(p.tdx ?? {}).filter(Array.isArray),
    ...Object.values(p.snp ?? {}).filter(Array.isArray),
    p.cca?.rim,
    p.cca?.platform?.implementation_id,
    ...Object.values(p.registers ?? {}),
    ...Object.values(p.tpm?.pcrs ?? {}).flatMap((b) => Object.values(b)),
  ] as (readonly RefValue[] | undefined)[];
  for (const l of lists) for (const r of l ?? []) if (typeof r !== 'number') yield r;
}

/**
 * Parses policy text (JSON, or YAML when it is not JSON) and validates it.
 * @param opts.freeze - `false` for a caller that keeps nothing of the result but what it copies
 *   (the policy cache encodes it): a million-path policy is a million arrays to freeze
 * @throws MrstackError `ERR_POLICY_INVALID` (also for text that is neither), `ERR_REGEX_UNSUPPORTED`
 */
export async function parsePolicy(
  text: string,
  opts: { readonly freeze?: boolean } = {},
): Promise<LoadedPolicy> {
  let obj: unknown;
  const t = text.trimStart();
  if (t.startsWith('{')) {
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw invalid(`policy: not valid JSON (${(e as Error).message})`);
    }
  } else {
    const { parse } = await import('yaml');
    try {
      // YAML 1.2 core schema: no custom tags, unique keys.
      obj = parse(text, { schema: 'core', uniqueKeys: true, maxAliasCount: 100 });
    } catch (e) {
      throw invalid(`policy: not valid JSON or YAML (${(e as Error).message})`);
    }
  }
  return validateOwned(obj, opts.freeze !== false);
}

// ---------------------------------------------------------------------------------------------
// compiled form

/** Accepted hex values with their expiry (ms since epoch; Infinity when none). */
export class RefSet {
  private readonly values = new Map<string, number>();

  constructor(refs: readonly RefValue[] | undefined) {
    for (const r of refs ?? []) {
      const v = (typeof r === 'string' ? r : r.value).toLowerCase();
      const exp =
        typeof r === 'string' || r.expires === undefined ? Infinity : Date.parse(r.expires);
      this.values.set(v, Math.max(exp, this.values.get(v) ?? -Infinity));
    }
  }

  /** Number of values. */
  get size(): number {
    return this.values.size;
  }

  /** True when `hex` is accepted and not expired at `at`. */
  has(hex: string, at: Date): boolean {
    const exp = this.values.get(hex);
    return exp !== undefined && exp >= at.getTime();
  }

  /** The values not expired at `at` (for `expected` in findings). */
  list(at: Date): string[] {
    return [...this.values].filter(([, e]) => e >= at.getTime()).map(([v]) => v);
  }
}

/** A compiled tenant-event rule. */
export type TenantMatcher = (line: string) => boolean;

/** The compiled IMA rules. */
export interface CompiledIma {
  /**
   * The allowed digests of a path (lower-case hex, as the schema requires). Looked up in the
   * policy object itself: a runtime policy of a million paths is not copied into sets.
   */
  readonly digests: DigestLookup;
  readonly excluded: (path: string) => boolean;
  readonly keyrings: ReadonlyMap<string, ReadonlySet<string>>;
  readonly ignoredKeyrings: ReadonlySet<string>;
  readonly imaBuf: ReadonlyMap<string, ReadonlySet<string>>;
  /** Key material for ima-sig (PEM or base64 SPKI strings). */
  readonly keys: readonly string[];
  /** True when the policy has an allowlist (possibly empty) — i.e. an `ima` section. */
  readonly present: boolean;
}

/** A policy compiled once for many appraisals. */
export interface CompiledPolicy {
  readonly id: string;
  readonly policy: PolicyV1;
  readonly status: (id: string, fallback: FindingStatus) => FindingStatus;
  readonly ref: (section: string, field: string) => RefSet;
  readonly registers: ReadonlyMap<string, RefSet>;
  readonly tenant: ReadonlyMap<string, readonly TenantMatcher[]>;
  readonly ima: CompiledIma;
}

/** Lookup in a frozen record by own key only (`__proto__`, `constructor` are paths too). */
function ownLookup<T>(rec: Readonly<Record<string, T>> | undefined): {
  get(k: string): T | undefined;
} {
  if (rec === undefined) return { get: () => undefined };
  return { get: (k) => (Object.hasOwn(rec, k) ? rec[k] : undefined) };
}

function lowerSetMap(
  m: Readonly<Record<string, readonly string[]>> | undefined,
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [k, v] of Object.entries(m ?? {})) out.set(k, new Set(v.map((x) => x.toLowerCase())));
  return out;
}

function tenantMatcher(r: TenantRule): TenantMatcher {
  if ('exact' in r) return (l) => l === r.exact;
  if ('prefix' in r) return (l) => l.startsWith(r.prefix);
  const t = translatePythonRegex(r.regex);
  // the whole line must match (a rule names what is allowed, not a fragment of it)
  const re = new RegExp(`^(?:${t.source})$`, t.flags);
  return (l) => re.test(l);
}

/**
 * Compiles a loaded policy: reference values into sets, regexes into RegExps (once).
 * @throws MrstackError `ERR_REGEX_UNSUPPORTED`
 */
export function compilePolicy(loaded: LoadedPolicy): CompiledPolicy {
  const p = loaded.policy;
  const refCache = new Map<string, RefSet>();
  const ref = (section: string, field: string): RefSet => {
    const key = `${section}.${field}`;
    let s = refCache.get(key);
    if (s === undefined) {
      const sec = (p as unknown as Record<string, Record<string, unknown> | undefined>)[section];
      const v =
        section === 'cca' && field === 'implementation_id'
          ? p.cca?.platform?.implementation_id
          : sec?.[field];
      s = new RefSet(Array.isArray(v) ? (v as RefValue[]) : undefined);
      refCache.set(key, s);
    }
    return s;
  };
  const registers = new Map<string, RefSet>();
  for (const [k, v] of Object.entries(p.registers ?? {})) registers.set(k, new RefSet(v));
  const tenant = new Map<string, TenantMatcher[]>();
  for (const [vmr, rules] of Object.entries(p.tenant_events ?? {}))
    tenant.set(vmr, rules.map(tenantMatcher));
  const ima: CompiledIma = {
    digests: loaded.imaDigests ?? ownLookup(p.ima?.digests),
    excluded: compileExcludes(p.ima?.excludes ?? []),
    keyrings: lowerSetMap(p.ima?.keyrings),
    ignoredKeyrings: new Set(p.ima?.ignored_keyrings ?? []),
    imaBuf: lowerSetMap(p.ima?.ima_buf),
    keys: p.ima?.keys ?? [],
    present: p.ima !== undefined,
  };
  const statuses = p.statuses ?? {};
  return {
    id: loaded.id,
    policy: p,
    status: (id, fallback) => statuses[id] ?? fallback,
    ref,
    registers,
    tenant,
    ima,
  };
}

/** The default policy, loaded (its id is stable across releases that do not change it). */
export async function defaultPolicy(): Promise<LoadedPolicy> {
  return validatePolicy(DEFAULT_POLICY);
}
