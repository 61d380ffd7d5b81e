/**
 * An EK trusted because a **verified SVSM report** lists it (DESIGN §6.1, docs/verifier.md): the
 * third route to trust an EK for attester registration, beside a certificate and the allowlist.
 *
 * Under an SVSM (AMD 58019, attestation protocol) the vTPM lives inside the SVSM at VMPL 0, and
 * the SVSM answers an attestation request with its services manifest — the vTPM's data being
 * the EK public area — and an SNP report made at VMPL 0 with REPORT_DATA = SHA-512(nonce ‖
 * manifest). When that report verifies to an AMD anchor (or the caller's emulated roots), was
 * made at VMPL 0 and binds the manifest with the session nonce the verifier issued, the
 * manifest's EK is the EK of a vTPM in that CVM. The EK cannot sign, so it proves nothing about
 * an AK by itself: the verifier then seals a MakeCredential challenge to that EK and name(AK),
 * and only a TPM holding both the EK and the AK recovers the secret (attester_registration.ts).
 *
 * What it does not prove: that the launch measurement, policy or TCB of that CVM are ones the
 * relying party wants (that is appraisal of later evidence), nor anything about an AK without the
 * activation step (`evidence verify` of a TPM quote beside an SVSM report keeps the AK
 * untrusted).
 *
 * @module
 */
import { VerifyError, type ErrorCode } from '../../errors.js';
import { TPMA_OBJECT } from '../../formats/tpm2/constants.js';
import { publicToKeyObject } from '../../formats/tpm2/public_key.js';
import { svsmVtpmEkPublic } from '../verify/binding_svsm.js';
import type { EvidenceResult } from '../verify/evidence_result.js';
import { spkiSha256Of } from '../verify/x509/certificate.js';
import { tpmtPublicOf, type TrustedEk } from './attester_registration.js';

/** The checks an SVSM report must pass (beside everything the SNP verifier requires). */
export const SVSM_REQUIRED_CHECKS = ['report_signature', 'svsm_vmpl', 'svsm_manifest'] as const;

/**
 * The EK a verified SVSM report vouches for.
 * @param result the SNP verification of the report, made with the session's nonce and the
 *   manifest (so `svsm_vmpl`, `svsm_manifest` and `nonce` were checked)
 * @param manifest the services manifest the report binds
 * @throws VerifyError with the report's first failure's code (`ERR_BINDING_MISMATCH` for a
 *   manifest the report does not bind, `ERR_VMPL_MISMATCH` for a report not made at VMPL 0, the
 *   X.509 core's codes for a chain to no configured anchor, `ERR_CHECK_SKIPPED` for a required
 *   check skipped and not relaxed), `details.check` naming the check; `ERR_BINDING_MISMATCH`
 *   when the manifest lists no vTPM or its EK is no restricted decryption key
 */
export function trustSvsmEk(result: EvidenceResult, manifest: Uint8Array): TrustedEk {
  if (result.kind !== 'snp') {
    throw new VerifyError(
      'ERR_BINDING_MISMATCH',
      `svsm_report: an SVSM report is an SNP report, not ${result.kind} evidence`,
      { details: { check: 'svsm_report' } },
    );
  }
  const missing = SVSM_REQUIRED_CHECKS.find((c) => result.checks[c] !== 'ok');
  if (!result.verified || missing !== undefined) {
    // The first real failure (a chain error before the signature it leaves unchecked), else
    // the first unwaived skip.
    const first =
      result.errors.find((e) => e.code !== 'ERR_CHECK_SKIPPED') ??
      result.errors[0] ??
      result.errors.find((e) => e['check'] === missing);
    const code: ErrorCode = first?.code ?? 'ERR_CHECK_SKIPPED';
    const check = typeof first?.['check'] === 'string' ? first['check'] : (missing ?? 'svsm');
    throw new VerifyError(
      code,
      `svsm_report: the SVSM report does not vouch for the vTPM EK (${check}): ${first?.message ?? `${check} was not checked`}`,
      {
        details: {
          check,
          checks: result.checks,
          errors: result.errors.map((e) => ({ code: e.code, check: e['check'] })),
        },
      },
    );
  }
  const { pub, bytes } = tpmtPublicOf(svsmVtpmEkPublic(manifest), 'svsm_manifest.vtpm');
  const a = pub.objectAttributes;
  if ((a & TPMA_OBJECT.restricted) === 0 || (a & TPMA_OBJECT.decrypt) === 0) {
    throw new VerifyError(
      'ERR_BINDING_MISMATCH',
      `svsm_report: the vTPM key the manifest lists is not a restricted decryption key (objectAttributes 0x${(a >>> 0).toString(16).padStart(8, '0')}): no credential can be sealed to it`,
      { details: { check: 'svsm_manifest', object_attributes: a >>> 0 } },
    );
  }
  return {
    public: pub,
    publicBytes: bytes,
    certificate: null,
    reason: 'svsm_report',
    ...(result.trust.anchor === undefined ? {} : { anchor: result.trust.anchor }),
    relaxed: [...result.relaxed],
    spkiSha256: spkiSha256Of(publicToKeyObject(pub)),
  };
}
