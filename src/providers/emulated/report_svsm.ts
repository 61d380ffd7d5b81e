/**
 * The emulated SVSM of an SNP TVM made with `emulate init --profile snp --svsm`: the attestation
 * protocol a guest reaches through configfs-tsm with `service_provider` = `svsm` (kernel
 * `sev_svsm_report_new`; AMD "Secure VM Service Module for SEV-SNP Guests" 58019, attestation
 * protocol). The SVSM builds the **services manifest** — a GUID table (manifest GUID, total size,
 * count, then {service GUID, offset, size} and the data, little-endian) listing its one service,
 * the vTPM, whose data is the vTPM EK's public area (TPMT_PUBLIC, as coconut-svsm's
 * `vtpm_get_manifest` returns it) — and asks the firmware for a **VMPL 0** report with
 * REPORT_DATA = SHA-512(nonce ‖ manifest), nonce being the 64-byte inblob.
 *
 * - `service_guid` null (or not written): SVSM_ATTEST_SERVICES, every service;
 * - `service_guid` = the vTPM's: SVSM_ATTEST_SINGLE_SERVICE, a manifest of that one entry (the
 *   same bytes here, the vTPM being the only service); `service_manifest_version` 0 is the only
 *   version this SVSM has;
 * - another GUID or version is the SVSM's invalid-parameter answer, which the kernel turns into
 *   EINVAL (`ERR_USAGE` from the provider).
 *
 * No certificates come back (coconut-svsm returns none: the kernel then serves no auxblob); the
 * VCEK chain is the emulated PKI's collateral, as for any emulated SNP report.
 *
 * @module
 */
import { createHash, generateKeyPairSync, createPublicKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../errors.js';
import { encodeSvsmManifest, SVSM_GUIDS } from '../../formats/svsm/services_manifest.js';
import { encodePublic } from '../../formats/tpm2/marshal/public.js';
import { publicFromKeyObject } from '../../formats/tpm2/public_key.js';
import { ekTemplate } from '../../formats/tpm2/templates.js';
import { loadOrCreateKeyDir } from './key_dir.js';

/** The null GUID: attest every service. */
export const NULL_GUID = '00000000-0000-0000-0000-000000000000';

/** What the SVSM request asks for, from the configfs-tsm attributes. */
export interface SvsmRequest {
  readonly serviceGuid?: string;
  readonly serviceManifestVersion?: number;
}

/**
 * The emulated vTPM's EK public area (RSA 2048 under the TCG default EK template), made on
 * first use in `dir` (`<state>/keys/svsm-vtpm/`, beside the SNP key set) and kept, as a vTPM
 * keeps its EK across boots.
 */
export function emulatedVtpmEkPublic(dir: string): Uint8Array {
  return loadOrCreateKeyDir(
    dir,
    'ek.tpmt_public',
    (tmp) => {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pub = encodePublic(publicFromKeyObject(publicKey, ekTemplate('rsa')));
      fs.writeFileSync(path.join(tmp, 'ek.pem'), publicKey.export({ format: 'pem', type: 'spki' }));
      fs.writeFileSync(path.join(tmp, 'ek.tpmt_public'), pub);
    },
    (d) => {
      // The public area is what the manifest carries; the PEM is there for people.
      createPublicKey(fs.readFileSync(path.join(d, 'ek.pem')));
      return new Uint8Array(fs.readFileSync(path.join(d, 'ek.tpmt_public')));
    },
  );
}

/**
 * The services manifest for a request.
 * @throws UsageError `ERR_USAGE` for a service or manifest version this SVSM does not have
 */
export function svsmManifestFor(req: SvsmRequest, ekPublic: Uint8Array): Uint8Array {
  const guid = (req.serviceGuid ?? NULL_GUID).toLowerCase();
  if (guid !== NULL_GUID && guid !== SVSM_GUIDS.vtpm) {
    throw new UsageError(
      'ERR_USAGE',
      `the emulated SVSM has no service ${guid} (services: vtpm ${SVSM_GUIDS.vtpm})`,
    );
  }
  const version = req.serviceManifestVersion ?? 0;
  if (guid !== NULL_GUID && version !== 0) {
    throw new UsageError(
      'ERR_USAGE',
      `the emulated SVSM's vTPM has manifest version 0 only, not ${version}`,
    );
  }
  return encodeSvsmManifest([{ guid: SVSM_GUIDS.vtpm, data: ekPublic }]);
}

/** REPORT_DATA of an SVSM attestation: SHA-512(nonce ‖ manifest), the nonce being 64 bytes. */
export function svsmReportDataFor(inblob: Uint8Array, manifest: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(64);
  nonce.set(inblob.subarray(0, 64));
  return new Uint8Array(createHash('sha512').update(nonce).update(manifest).digest());
}
