/**
 * The platform identity a CVM attester registers with the verifier service instead of an AK
 * (DESIGN §6.5): `snp:<CHIP_ID hex>` (the report's CHIP_ID, 64 bytes), `tdx:<PPID hex>` (the
 * PCK certificate's PPID, 16 bytes), `cca:<instance id hex>` (the platform token's instance
 * id). Evidence in a session for such an attester must come from that platform: the identity is
 * read from what verify proved (the signed report, the validated PCK certificate), never from
 * anything the attester says beside it.
 *
 * @module
 */
import { MrstackError } from '../../errors.js';
import type { EvidenceResult } from '../verify/evidence_result.js';

const PLATFORM_ID = /^(snp|tdx|cca):((?:[0-9a-f]{2}){8,64})$/;

/**
 * A platform identity as given at registration, checked and lowercased.
 * @throws MrstackError `ERR_USAGE` when it is not `snp|tdx|cca:<hex>`
 */
export function parsePlatformId(v: unknown): string {
  const s = typeof v === 'string' ? v.toLowerCase() : '';
  if (!PLATFORM_ID.test(s)) {
    throw new MrstackError(
      'ERR_USAGE',
      'platform_id: expected snp:<CHIP_ID hex>, tdx:<PPID hex> or cca:<instance id hex>',
    );
  }
  return s;
}

function hexOf(v: unknown): string | undefined {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return typeof v === 'string' && /^[0-9a-fA-F]+$/.test(v) ? v.toLowerCase() : undefined;
}

/** The platform identity of verified evidence (a bundle's report included); undefined if none. */
export function platformIdOf(r: EvidenceResult): string | undefined {
  const bundle = r.kind === 'bundle';
  const layers = (r.claims['layers'] ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const kind = bundle ? layers['report']?.['kind'] : r.kind;
  const claims = (bundle ? r.claims['report'] : r.claims) as Record<string, unknown> | undefined;
  if (claims === undefined) return undefined;
  let id: string | undefined;
  if (kind === 'snp') id = hexOf(claims['chip_id']);
  else if (kind === 'tdx')
    id = hexOf((claims['pck'] as Record<string, unknown> | undefined)?.['ppid']);
  else if (kind === 'cca')
    id = hexOf((claims['platform'] as Record<string, unknown> | undefined)?.['instance_id']);
  return id === undefined || typeof kind !== 'string' ? undefined : `${kind}:${id}`;
}
