/**
 * trustee RVPS reference values → policy v1 (DESIGN §6.3).
 *
 * Accepted shapes: the `sample` provenance (`{"<id>": [values…]}`), an RVPS message wrapping it
 * (`{"version","type":"sample","payload":<base64>}`), and stored reference values
 * (`{"version","name","expiration","value"}`, one object or a list; `expiration` becomes the
 * reference value's expiry — an expired value is never accepted). Ids are mapped to policy
 * fields by the names trustee's default policy queries (`mr_td`, `rtmr_1`,
 * `snp_launch_measurement` …, optionally under an `rvps:///…/` URI); values that are not hex
 * digests, and ids no field maps, are reported back as unmapped rather than guessed.
 *
 * @module
 */
import { MrstackError } from '../../errors.js';
import type { PolicyV1, RefValue } from './policy.js';

/** trustee reference-value id → policy field path. */
export const RVPS_FIELDS: Readonly<Record<string, readonly [string, string]>> = Object.freeze({
  mr_td: ['tdx', 'mrtd'],
  mr_config_id: ['tdx', 'mrconfigid'],
  mr_owner: ['tdx', 'mrowner'],
  mr_owner_config: ['tdx', 'mrownerconfig'],
  mr_seam: ['tdx', 'mrseam'],
  xfam: ['tdx', 'xfam'],
  rtmr_0: ['registers', 'rtmr0'],
  rtmr_1: ['registers', 'rtmr1'],
  rtmr_2: ['registers', 'rtmr2'],
  rtmr_3: ['registers', 'rtmr3'],
  snp_launch_measurement: ['snp', 'measurement'],
  snp_host_data: ['snp', 'host_data'],
  tpm_pcr11: ['registers', 'pcr11:sha256'],
  cca_rim: ['cca', 'rim'],
});

/** The import result: the policy and the ids/values it could not map. */
export interface RvpsImport {
  readonly policy: PolicyV1;
  readonly unmapped: readonly string[];
}

function invalid(message: string): MrstackError {
  return new MrstackError('ERR_POLICY_INVALID', `rvps: ${message}`);
}

/** The RVPS reference values of a file, as id → values with expiry. */
function entriesOf(obj: unknown): [string, unknown[], string | undefined][] {
  if (Array.isArray(obj)) return obj.flatMap(entriesOf);
  if (typeof obj !== 'object' || obj === null) throw invalid('not a JSON object');
  const o = obj as Record<string, unknown>;
  if (typeof o['payload'] === 'string' && typeof o['type'] === 'string') {
    if (o['type'] !== 'sample')
      throw invalid(`message type ${JSON.stringify(o['type'])} is not supported (sample is)`);
    let inner: unknown;
    try {
      inner = JSON.parse(Buffer.from(o['payload'], 'base64').toString('utf8'));
    } catch {
      throw invalid('the message payload is not base64 JSON');
    }
    return entriesOf(inner);
  }
  if (typeof o['name'] === 'string' && 'value' in o && 'version' in o) {
    const exp = typeof o['expiration'] === 'string' ? o['expiration'] : undefined;
    const v = o['value'];
    return [[o['name'], Array.isArray(v) ? v : [v], exp]];
  }
  return Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v : [v], undefined]);
}

/** Converts RVPS reference values to a policy. */
export function importRvps(
  objs: readonly unknown[],
  opts: { readonly name: string; readonly files: readonly string[] },
): RvpsImport {
  const p: Record<string, Record<string, RefValue[]>> = {};
  const unmapped: string[] = [];
  for (const obj of objs) {
    for (const [rawId, values, exp] of entriesOf(obj)) {
      const id = rawId.replace(/^rvps:\/\/\/(?:.*\/)?/, '').replace(/:[^/]*$/, '');
      const field = RVPS_FIELDS[id];
      if (field === undefined) {
        unmapped.push(rawId);
        continue;
      }
      for (const v of values) {
        if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(v)) {
          unmapped.push(`${rawId}=${JSON.stringify(v)}`);
          continue;
        }
        const ref: RefValue =
          exp === undefined
            ? v.toLowerCase()
            : { value: v.toLowerCase(), expires: exp, source: `rvps:${rawId}` };
        ((p[field[0]] ??= {})[field[1]] ??= []).push(ref);
      }
    }
  }
  return {
    policy: {
      version: 1,
      name: opts.name,
      description: 'imported from trustee RVPS reference values',
      source: { importer: 'rvps', files: [...opts.files] },
      ...(p as Partial<PolicyV1>),
    },
    unmapped,
  };
}
