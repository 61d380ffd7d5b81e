/**
 * The SVSM binding: an SNP report requested through the SVSM attestation protocol carries
 * REPORT_DATA = SHA-512(nonce ‖ services manifest), the nonce being the 64-byte configfs-tsm
 * inblob, so the report vouches for the manifest and for the vTPM EK public area it lists. Failures are `ERR_BINDING_MISMATCH`.
 *
 * Only a report made at **VMPL 0** is the SVSM's: a guest kernel at VMPL 1 or above can ask the
 * firmware for a report over any REPORT_DATA, SHA-512(nonce ‖ a manifest it wrote) included, so a
 * manifest bound by a report at another VMPL proves nothing (`svsm_vmpl`, `ERR_VMPL_MISMATCH`).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { VerifyError } from '../../errors.js';
import { parseSvsmManifest } from '../../formats/svsm/services_manifest.js';
import type { ResultBuilder } from './evidence_result.js';

/** SHA-512(nonce ‖ manifest): the report data an SVSM attestation carries. */
export function svsmReportData(nonce: Uint8Array, manifest: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha512').update(nonce).update(manifest).digest());
}

/**
 * Checks that the report was made at VMPL 0 (`svsm_vmpl`): the only level the SVSM runs at.
 * Recorded whenever a manifest comes with the report, nonce or not.
 */
export function checkSvsmVmpl(b: ResultBuilder, vmpl: number): void {
  if (vmpl === 0) b.ok('svsm_vmpl');
  else
    b.fail(
      'svsm_vmpl',
      'ERR_VMPL_MISMATCH',
      `the report was made at VMPL ${vmpl}: a services manifest is the SVSM's only in a VMPL 0 report (a guest at VMPL ${vmpl} can bind any manifest it writes)`,
      { expected: 0, actual: vmpl },
    );
}

/**
 * Checks the report data against nonce and manifest, records `svsm_manifest`, and adds the
 * manifest's services (and the vTPM EK public area) to the claims.
 */
export function checkSvsmBinding(
  b: ResultBuilder,
  reportData: Uint8Array,
  nonce: Uint8Array,
  manifest: Uint8Array,
): void {
  const m = parseSvsmManifest(manifest);
  b.claims['svsm_services'] = m.services.map((s) => ({
    guid: s.guid,
    ...(s.name === undefined ? {} : { name: s.name }),
    size: s.data.length,
  }));
  const ek = m.services.find((s) => s.name === 'vtpm');
  if (ek !== undefined) b.claims['vtpm_ek_public'] = ek.data;
  // The SVSM hashes the 64-byte inblob (the kernel takes exactly 64; mrstack report zero-pads a
  // shorter nonce), so a shorter nonce is compared zero-padded, as the report-data rule has it.
  const inblob = new Uint8Array(Math.max(64, nonce.length));
  inblob.set(nonce);
  const want = svsmReportData(inblob, manifest);
  if (Buffer.compare(want, reportData) === 0) b.ok('svsm_manifest');
  else {
    b.fail(
      'svsm_manifest',
      'ERR_BINDING_MISMATCH',
      'report data is not SHA-512(nonce ‖ services manifest)',
      {
        expected: Buffer.from(want).toString('hex'),
        actual: Buffer.from(reportData).toString('hex'),
      },
    );
  }
}

/**
 * The vTPM EK public area (TPMT_PUBLIC bytes) listed in a manifest.
 * @throws VerifyError `ERR_BINDING_MISMATCH` when the manifest lists no vTPM
 */
export function svsmVtpmEkPublic(manifest: Uint8Array): Uint8Array {
  const ek = parseSvsmManifest(manifest).services.find((s) => s.name === 'vtpm');
  if (ek === undefined)
    throw new VerifyError('ERR_BINDING_MISMATCH', 'the SVSM manifest lists no vTPM service');
  return ek.data;
}
