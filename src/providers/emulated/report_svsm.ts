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
import { ParseError, UsageError } from '../../errors.js';
import { encodeSvsmManifest, SVSM_GUIDS } from '../../formats/svsm/services_manifest.js';
import { TPMA_OBJECT } from '../../formats/tpm2/constants.js';
import { encodePublic, readPublicArea } from '../../formats/tpm2/marshal/public.js';
import { publicFromKeyObject, publicToPem } from '../../formats/tpm2/public_key.js';
import { ekTemplate } from '../../formats/tpm2/templates.js';
import { loadOrCreateKeyDir } from './key_dir.js';

/** The null GUID: attest every service. */
export const NULL_GUID = '00000000-0000-0000-0000-000000000000';

/** What the SVSM request asks for, from the configfs-tsm attributes. */
export interface SvsmRequest {
  readonly serviceGuid?: string;
  readonly serviceManifestVersion?: number;
}

/** The folder under `<state>/keys/` that holds the SVSM vTPM's EK public area. */
export const SVSM_VTPM_KEYS = 'svsm-vtpm';

/**
 * Reads the EK public area a caller gives for the SVSM's vTPM (`emulate init --svsm-ek`): a
 * TPMT_PUBLIC or TPM2B_PUBLIC of a restricted decryption key, the only kind MakeCredential can
 * seal a credential to (TPM 2.0 Part 1 §24).
 * @throws UsageError `ERR_USAGE` for a key that is not a restricted decryption key, or bytes
 *   that are no public area
 */
export function vtpmEkPublicArea(bytes: Uint8Array): Uint8Array {
  let area;
  try {
    area = readPublicArea(bytes, 'svsm_ek');
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    throw new UsageError(
      'ERR_USAGE',
      `--svsm-ek: not a TPMT_PUBLIC or TPM2B_PUBLIC (as tpm2_createek -u writes): ${e.message}`,
      { cause: e },
    );
  }
  const a = area.public.objectAttributes;
  const ekLike =
    (a & TPMA_OBJECT.restricted) !== 0 &&
    (a & TPMA_OBJECT.decrypt) !== 0 &&
    (a & TPMA_OBJECT.sign) === 0;
  if (!ekLike)
    throw new UsageError(
      'ERR_USAGE',
      `--svsm-ek: objectAttributes 0x${(a >>> 0).toString(16).padStart(8, '0')} are not an EK's (restricted, decrypt, not sign)`,
    );
  return area.bytes;
}

/** Writes the vTPM EK public area where {@link emulatedVtpmEkPublic} reads it. */
export function installVtpmEkPublic(dir: string, tpmtPublic: Uint8Array): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pem = publicToPem(readPublicArea(tpmtPublic, 'svsm_ek').public);
  fs.writeFileSync(path.join(dir, 'ek.pem'), pem, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'ek.tpmt_public'), tpmtPublic, { mode: 0o600 });
}

/**
 * The emulated vTPM's EK public area: the one `emulate init --svsm-ek` installed (a swtpm's), or
 * else an RSA 2048 key under the TCG default EK template whose private key is dropped (no TPM
 * holds it: credential activation against it cannot succeed), made on first use in `dir`
 * (`<state>/keys/svsm-vtpm/`, beside the SNP key set) and kept, as a vTPM keeps its EK across
 * boots.
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
