/**
 * Key templates: the EK templates of the TCG EK Credential Profile (2.0, B.3.3 template L-1 RSA
 * 2048 and B.3.4 L-2 ECC NIST P-256), the SRK templates of the TCG Provisioning Guidance, and
 * restricted signing AK templates (RSA 2048 RSASSA-SHA256, ECC P-256 ECDSA-SHA256).
 *
 * @module
 */
import { TPM_ALG, TPM_ECC, TPMA_OBJECT } from './constants.js';
import type { TpmPublic } from './marshal/public.js';

/** PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256: the EK's authPolicy (EK profile B.3.2). */
export const EK_AUTH_POLICY_SHA256: Uint8Array = new Uint8Array(
  Buffer.from('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa', 'hex'),
);

const EK_ATTRIBUTES =
  TPMA_OBJECT.fixedTPM |
  TPMA_OBJECT.fixedParent |
  TPMA_OBJECT.sensitiveDataOrigin |
  TPMA_OBJECT.adminWithPolicy |
  TPMA_OBJECT.restricted |
  TPMA_OBJECT.decrypt;

const SRK_ATTRIBUTES =
  TPMA_OBJECT.fixedTPM |
  TPMA_OBJECT.fixedParent |
  TPMA_OBJECT.sensitiveDataOrigin |
  TPMA_OBJECT.userWithAuth |
  TPMA_OBJECT.noDA |
  TPMA_OBJECT.restricted |
  TPMA_OBJECT.decrypt;

const AK_ATTRIBUTES =
  TPMA_OBJECT.fixedTPM |
  TPMA_OBJECT.fixedParent |
  TPMA_OBJECT.sensitiveDataOrigin |
  TPMA_OBJECT.userWithAuth |
  TPMA_OBJECT.restricted |
  TPMA_OBJECT.sign;

const AES128_CFB = { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB } as const;
const NULL_SYM = { algorithm: TPM_ALG.NULL } as const;
const NULL_SCHEME = { scheme: TPM_ALG.NULL } as const;
const EMPTY = new Uint8Array(0);

/** Key algorithm of a template: `rsa` (2048) or `ecc` (NIST P-256). */
export type KeyAlg = 'rsa' | 'ecc';

function storageTemplate(alg: KeyAlg, attributes: number, authPolicy: Uint8Array): TpmPublic {
  if (alg === 'rsa') {
    return {
      type: 'rsa',
      nameAlg: TPM_ALG.SHA256,
      objectAttributes: attributes,
      authPolicy,
      symmetric: AES128_CFB,
      scheme: NULL_SCHEME,
      keyBits: 2048,
      exponent: 0,
      modulus: new Uint8Array(256),
    };
  }
  return {
    type: 'ecc',
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: attributes,
    authPolicy,
    symmetric: AES128_CFB,
    scheme: NULL_SCHEME,
    curveId: TPM_ECC.NIST_P256,
    kdf: NULL_SCHEME,
    x: new Uint8Array(32),
    y: new Uint8Array(32),
  };
}

/** The EK template (L-1 RSA 2048 or L-2 ECC P-256): what `tpm2_createek` uses. */
export function ekTemplate(alg: KeyAlg): TpmPublic {
  return storageTemplate(alg, EK_ATTRIBUTES, EK_AUTH_POLICY_SHA256);
}

/** The SRK template (Provisioning Guidance: RSA 2048 or ECC P-256, AES-128-CFB, noDA). */
export function srkTemplate(alg: KeyAlg): TpmPublic {
  return storageTemplate(alg, SRK_ATTRIBUTES, EMPTY);
}

/** A restricted signing AK: RSA 2048 RSASSA-SHA256 or ECC P-256 ECDSA-SHA256. */
export function akTemplate(alg: KeyAlg): TpmPublic {
  if (alg === 'rsa') {
    return {
      type: 'rsa',
      nameAlg: TPM_ALG.SHA256,
      objectAttributes: AK_ATTRIBUTES,
      authPolicy: EMPTY,
      symmetric: NULL_SYM,
      scheme: { scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 },
      keyBits: 2048,
      exponent: 0,
      modulus: EMPTY,
    };
  }
  return {
    type: 'ecc',
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: AK_ATTRIBUTES,
    authPolicy: EMPTY,
    symmetric: NULL_SYM,
    scheme: { scheme: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 },
    curveId: TPM_ECC.NIST_P256,
    kdf: NULL_SCHEME,
    x: EMPTY,
    y: EMPTY,
  };
}
