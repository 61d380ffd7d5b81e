/**
 * The TPM identity steps: the EK from the EK Credential Profile template (and its certificate
 * from NV), the SRK, and an AK created under the SRK that a verifier binds to the EK with
 * MakeCredential/ActivateCredential.
 *
 * @module
 */
import { EK_CERT_NV_INDEX, TPM_RH } from '../../formats/tpm2/constants.js';
import { readPublic } from '../../formats/tpm2/marshal/public.js';
import { readTpm2b, writeTpm2b } from '../../formats/tpm2/marshal/tpm2b.js';
import { akTemplate, ekTemplate, srkTemplate, type KeyAlg } from '../../formats/tpm2/templates.js';
import { ByteReader } from '../../bytes/reader.js';
import { ByteWriter } from '../../bytes/writer.js';
import { TpmRcError } from '../../formats/tpm2/rc.js';
import { ProviderError } from '../../errors.js';
import type { LoadedKey, Tpm } from './tpm.js';

/** Creates (derives) the EK in the endorsement hierarchy; the caller flushes the handle. */
export async function createEk(tpm: Tpm, alg: KeyAlg = 'rsa'): Promise<LoadedKey> {
  const r = await tpm.createPrimary(TPM_RH.ENDORSEMENT, ekTemplate(alg));
  return { handle: r.handle, public: r.outPublic, name: r.name };
}

/** Creates the SRK in the owner hierarchy; the caller flushes the handle. */
export async function createSrk(tpm: Tpm, alg: KeyAlg = 'rsa'): Promise<LoadedKey> {
  const r = await tpm.createPrimary(TPM_RH.OWNER, srkTemplate(alg));
  return { handle: r.handle, public: r.outPublic, name: r.name };
}

/**
 * Reads the EK certificate (DER) from its NV index (RSA 0x01C00002, ECC 0x01C0000A).
 * @throws ProviderError `ERR_NOT_FOUND` when the index is not defined (the TPM was provisioned
 * with no certificate for that EK, as the development swtpm is for ECC); TpmRcError otherwise
 */
export async function readEkCertificate(tpm: Tpm, alg: KeyAlg = 'rsa'): Promise<Uint8Array> {
  const index = alg === 'rsa' ? EK_CERT_NV_INDEX.rsa2048 : EK_CERT_NV_INDEX.ecc256;
  try {
    return await tpm.nvReadAll(index);
  } catch (e) {
    // NV_ReadPublic on an undefined index answers TPM_RC_HANDLE.
    if (e instanceof TpmRcError && e.rcInfo.name === 'TPM_RC_HANDLE') {
      throw new ProviderError(
        'ERR_NOT_FOUND',
        `this TPM holds no ${alg.toUpperCase()} EK certificate: NV index 0x${index.toString(16).toUpperCase()} is not defined (its manufacturer, or swtpm_setup, provisioned none)`,
        { details: { nv_index: `0x${index.toString(16)}`, ek_alg: alg, tpm_rc: 'TPM_RC_HANDLE' } },
      );
    }
    throw e;
  }
}

/** A created AK, as kept between runs: the wrapped private part and the public part. */
export interface AkBlob {
  /** TPM2B_PRIVATE body, wrapped by the SRK. */
  readonly private: Uint8Array;
  /** TPMT_PUBLIC bytes exactly as the TPM produced them. */
  readonly public: Uint8Array;
  /** The SRK algorithm it was created under. */
  readonly parentAlg: KeyAlg;
}

/** Creates an AK under a fresh SRK (flushed again); returns the blob to load later. */
export async function createAk(
  tpm: Tpm,
  alg: KeyAlg = 'ecc',
  parentAlg: KeyAlg = 'ecc',
): Promise<AkBlob> {
  const srk = await createSrk(tpm, parentAlg);
  try {
    const c = await tpm.create(srk.handle, akTemplate(alg));
    return { private: c.outPrivate, public: c.outPublic.bytes, parentAlg };
  } finally {
    await tpm.flush(srk.handle);
  }
}

/** Loads an AK blob under the SRK (re-derived, then flushed); the caller flushes the AK. */
export async function loadAk(tpm: Tpm, blob: AkBlob): Promise<LoadedKey> {
  const srk = await createSrk(tpm, blob.parentAlg);
  try {
    const l = await tpm.load(srk.handle, blob.private, blob.public);
    const rp = await tpm.readPublic(l.handle);
    return { handle: l.handle, public: rp.outPublic, name: l.name };
  } finally {
    await tpm.flush(srk.handle);
  }
}

/** Serializes an AK blob: u8 parent (0 rsa, 1 ecc) ‖ TPM2B private ‖ TPM2B public. */
export function encodeAkBlob(b: AkBlob): Uint8Array {
  const w = new ByteWriter(b.private.length + b.public.length + 8);
  w.u8(b.parentAlg === 'rsa' ? 0 : 1);
  writeTpm2b(w, b.private);
  writeTpm2b(w, b.public);
  return w.finish();
}

/** Parses an AK blob file. */
export function decodeAkBlob(bytes: Uint8Array): AkBlob {
  const r = new ByteReader(bytes, { format: 'tpm2' });
  const p = r.u8('akBlob.parent');
  const priv = readTpm2b(r, 'akBlob.private', 4096);
  const pubAt = r.offset + 2;
  const pub = readTpm2b(r, 'akBlob.public', 1024);
  r.expectEnd('akBlob');
  // The public part must parse as a TPMT_PUBLIC.
  const pr = new ByteReader(pub, { format: 'tpm2', origin: pubAt });
  readPublic(pr, 'akBlob.public');
  pr.expectEnd('akBlob.public');
  return { private: priv, public: pub, parentAlg: p === 0 ? 'rsa' : 'ecc' };
}

/** What the attester side of a registration reads from its TPM. */
export interface TpmIdentity {
  /** The EK's TPMT_PUBLIC. */
  readonly ekPublic: Uint8Array;
  /** The EK certificate from NV, when the TPM has one. */
  readonly ekCertificate?: Uint8Array;
  /** The AK's TPMT_PUBLIC. */
  readonly akPublic: Uint8Array;
  readonly akName: Uint8Array;
}

/** Reads the EK (and its certificate, if any) and the AK's public area and name. */
export async function readTpmIdentity(
  tpm: Tpm,
  ak: AkBlob,
  ekAlg: KeyAlg = 'rsa',
): Promise<TpmIdentity> {
  const ek = await createEk(tpm, ekAlg);
  await tpm.flush(ek.handle);
  let cert: Uint8Array | undefined;
  try {
    cert = await readEkCertificate(tpm, ekAlg);
  } catch (e) {
    if (!(e instanceof TpmRcError)) throw e; // no certificate in NV
  }
  const loaded = await loadAk(tpm, ak);
  await tpm.flush(loaded.handle);
  return {
    ekPublic: ek.public.bytes,
    ...(cert === undefined ? {} : { ekCertificate: cert }),
    akPublic: loaded.public.bytes,
    akName: loaded.name,
  };
}

/**
 * ActivateCredential with the AK blob and the EK: recovers the secret a verifier sealed to
 * (EK, name(AK)) — what `tpm2_activatecredential` does. Loads and flushes both keys.
 */
export async function activateWithAk(
  tpm: Tpm,
  ak: AkBlob,
  ekAlg: KeyAlg,
  credentialBlob: Uint8Array,
  secret: Uint8Array,
): Promise<Uint8Array> {
  const akKey = await loadAk(tpm, ak);
  try {
    const ek = await createEk(tpm, ekAlg);
    try {
      return await tpm.activateCredential(akKey.handle, ek.handle, credentialBlob, secret);
    } finally {
      await tpm.flush(ek.handle).catch(() => undefined);
    }
  } finally {
    await tpm.flush(akKey.handle).catch(() => undefined);
  }
}
