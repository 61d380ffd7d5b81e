/**
 * The SVSM binding: an SNP report requested through the SVSM attestation protocol carries
 * REPORT_DATA = SHA-512(nonce ‖ services manifest), the nonce being the 64-byte configfs-tsm
 * inblob, so the report vouches for the manifest and for the vTPM EK public area it lists. Failures are `ERR_BINDING_MISMATCH`.
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
