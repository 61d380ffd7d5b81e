/**
 * The Azure HCL binding: the hardware report (SNP or TDX) vouches for the runtime claims of the
 * HCL report because REPORT_DATA starts with H(variable data); the runtime claims publish the
 * vTPM attestation key (`HCLAkPub`), which in turn signs TPM quotes. Failures are
 * `ERR_BINDING_MISMATCH`.
 *
 * @module
 */
import { createPublicKey, type KeyObject, type JsonWebKey } from 'node:crypto';
import { VerifyError } from '../../errors.js';
import { hash } from '../../crypto/hash.js';
import { hclRuntimeKey, type HclReport } from '../../formats/azure/hcl_report.js';
import type { ResultBuilder } from './evidence_result.js';

/**
 * Checks REPORT_DATA against the variable data; records `hcl_report_data` and `hcl_ak` checks.
 */
export function checkHclBinding(b: ResultBuilder, hcl: HclReport, reportData: Uint8Array): void {
  const digest = hash(hcl.hash_alg, hcl.variable_data);
  if (Buffer.compare(reportData.subarray(0, digest.length), digest) === 0) {
    b.ok('hcl_report_data');
  } else {
    b.fail(
      'hcl_report_data',
      'ERR_BINDING_MISMATCH',
      `HCL variable data ${hcl.hash_alg} does not match the report data`,
      {
        expected: Buffer.from(digest).toString('hex'),
        actual: Buffer.from(reportData.subarray(0, digest.length)).toString('hex'),
      },
    );
  }
  try {
    const ak = hclAkPublicKey(hcl);
    b.claims['hcl_ak_pub'] = ak.export({ format: 'jwk' });
    b.ok('hcl_ak');
  } catch (e) {
    if (e instanceof VerifyError) b.failWith('hcl_ak', e);
    else throw e;
  }
}

/** The key members of a JWK (node rejects unknown members such as `kid` and `key_ops`). */
function publicJwk(j: Record<string, unknown>): JsonWebKey {
  const out: Record<string, unknown> = {};
  for (const k of ['kty', 'n', 'e', 'crv', 'x', 'y']) if (j[k] !== undefined) out[k] = j[k];
  return out;
}

/**
 * The vTPM attestation key published in the HCL runtime claims.
 * @throws VerifyError `ERR_BINDING_MISMATCH` when it is absent or not a usable public key
 */
export function hclAkPublicKey(hcl: HclReport, kid = 'HCLAkPub'): KeyObject {
  try {
    const jwk = hclRuntimeKey(hcl, kid);
    return createPublicKey({ key: publicJwk(jwk), format: 'jwk' });
  } catch (e) {
    throw new VerifyError(
      'ERR_BINDING_MISMATCH',
      `no usable ${kid} in the HCL runtime claims${e instanceof Error ? `: ${e.message}` : ''}`,
      { cause: e },
    );
  }
}

/**
 * Checks that a TPM attestation key equals the one the HCL report publishes.
 * @throws VerifyError `ERR_BINDING_MISMATCH`
 */
export function checkHclAkMatches(hcl: HclReport, ak: KeyObject): void {
  const published = hclAkPublicKey(hcl);
  const a = published.export({ format: 'der', type: 'spki' });
  const k = ak.export({ format: 'der', type: 'spki' });
  if (Buffer.compare(a, k) !== 0) {
    throw new VerifyError(
      'ERR_BINDING_MISMATCH',
      'the TPM attestation key is not the HCLAkPub the hardware report vouches for',
    );
  }
}
