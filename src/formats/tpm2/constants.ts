/**
 * TPM 2.0 constants used by mrstack's marshalling (TPM 2.0 Library Part 2, TCG Algorithm
 * Registry). Plain `as const` objects; values are the specification's.
 *
 * @module
 */

/** TPM_ST: structure tags. */
export const TPM_ST = {
  RSP_COMMAND: 0x00c4,
  NULL: 0x8000,
  NO_SESSIONS: 0x8001,
  SESSIONS: 0x8002,
  ATTEST_NV: 0x8014,
  ATTEST_COMMAND_AUDIT: 0x8015,
  ATTEST_SESSION_AUDIT: 0x8016,
  ATTEST_CERTIFY: 0x8017,
  ATTEST_QUOTE: 0x8018,
  ATTEST_TIME: 0x8019,
  ATTEST_CREATION: 0x801a,
  ATTEST_NV_DIGEST: 0x801c,
  CREATION: 0x8021,
  VERIFIED: 0x8022,
  AUTH_SECRET: 0x8023,
  HASHCHECK: 0x8024,
  AUTH_SIGNED: 0x8025,
} as const;

/** TPM_CC: the command codes mrstack sends. */
export const TPM_CC = {
  EvictControl: 0x0120,
  CreatePrimary: 0x0131,
  PCR_Event: 0x013c,
  PCR_Reset: 0x013d,
  Startup: 0x0144,
  Shutdown: 0x0145,
  ActivateCredential: 0x0147,
  NV_Read: 0x014e,
  PolicySecret: 0x0151,
  Create: 0x0153,
  Load: 0x0157,
  Quote: 0x0158,
  ContextLoad: 0x0161,
  ContextSave: 0x0162,
  FlushContext: 0x0165,
  MakeCredential: 0x0168,
  NV_ReadPublic: 0x0169,
  ReadPublic: 0x0173,
  StartAuthSession: 0x0176,
  GetCapability: 0x017a,
  GetRandom: 0x017b,
  PCR_Read: 0x017e,
  PCR_Extend: 0x0182,
} as const;

/** TPM_ALG_ID values mrstack reads or writes. */
export const TPM_ALG = {
  ERROR: 0x0000,
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  XOR: 0x000a,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  SM3_256: 0x0012,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECDH: 0x0019,
  ECDAA: 0x001a,
  SM2: 0x001b,
  ECSCHNORR: 0x001c,
  KDF1_SP800_56A: 0x0020,
  KDF2: 0x0021,
  KDF1_SP800_108: 0x0022,
  ECC: 0x0023,
  SYMCIPHER: 0x0025,
  CTR: 0x0040,
  OFB: 0x0041,
  CBC: 0x0042,
  CFB: 0x0043,
  ECB: 0x0044,
} as const;

/** TPM_ECC_CURVE values. */
export const TPM_ECC = {
  NONE: 0x0000,
  NIST_P192: 0x0001,
  NIST_P224: 0x0002,
  NIST_P256: 0x0003,
  NIST_P384: 0x0004,
  NIST_P521: 0x0005,
} as const;

/** Permanent handles (TPM_RH) and the password session (TPM_RS_PW). */
export const TPM_RH = {
  OWNER: 0x40000001,
  NULL: 0x40000007,
  PW: 0x40000009,
  LOCKOUT: 0x4000000a,
  ENDORSEMENT: 0x4000000b,
  PLATFORM: 0x4000000c,
} as const;

/** TPM_SU: Startup/Shutdown types. */
export const TPM_SU = { CLEAR: 0x0000, STATE: 0x0001 } as const;

/** TPM_SE: session types. */
export const TPM_SE = { HMAC: 0x00, POLICY: 0x01, TRIAL: 0x03 } as const;

/** TPM_CAP: capability groups. */
export const TPM_CAP = {
  ALGS: 0x00000000,
  HANDLES: 0x00000001,
  COMMANDS: 0x00000002,
  PP_COMMANDS: 0x00000003,
  AUDIT_COMMANDS: 0x00000004,
  PCRS: 0x00000005,
  TPM_PROPERTIES: 0x00000006,
  PCR_PROPERTIES: 0x00000007,
  ECC_CURVES: 0x00000008,
} as const;

/** TPM_PT: a few fixed properties (PT_FIXED = 0x100). */
export const TPM_PT = {
  FAMILY_INDICATOR: 0x100,
  LEVEL: 0x101,
  REVISION: 0x102,
  DAY_OF_YEAR: 0x103,
  YEAR: 0x104,
  MANUFACTURER: 0x105,
  VENDOR_STRING_1: 0x106,
  VENDOR_STRING_2: 0x107,
  VENDOR_STRING_3: 0x108,
  VENDOR_STRING_4: 0x109,
  FIRMWARE_VERSION_1: 0x10b,
  FIRMWARE_VERSION_2: 0x10c,
  INPUT_BUFFER: 0x10d,
  PCR_COUNT: 0x112,
  PCR_SELECT_MIN: 0x113,
  MAX_COMMAND_SIZE: 0x11e,
  MAX_RESPONSE_SIZE: 0x11f,
  MAX_DIGEST: 0x120,
  NV_BUFFER_MAX: 0x12c,
} as const;

/** TPMA_OBJECT bits (Part 2, 8.3). */
export const TPMA_OBJECT = {
  fixedTPM: 0x2,
  stClear: 0x4,
  fixedParent: 0x10,
  sensitiveDataOrigin: 0x20,
  userWithAuth: 0x40,
  adminWithPolicy: 0x80,
  noDA: 0x400,
  encryptedDuplication: 0x800,
  restricted: 0x10000,
  decrypt: 0x20000,
  sign: 0x40000,
} as const;

/** TPMA_SESSION bits. */
export const TPMA_SESSION = {
  continueSession: 0x01,
  auditExclusive: 0x02,
  auditReset: 0x04,
  decrypt: 0x20,
  encrypt: 0x40,
  audit: 0x80,
} as const;

/** TPM_GENERATED_VALUE: the magic that opens every TPMS_ATTEST the TPM signs. */
export const TPM_GENERATED_VALUE = 0xff544347;

/** Handle types (the top byte of a TPM_HANDLE). */
export const TPM_HT = {
  PCR: 0x00,
  NV_INDEX: 0x01,
  HMAC_SESSION: 0x02,
  POLICY_SESSION: 0x03,
  PERMANENT: 0x40,
  TRANSIENT: 0x80,
  PERSISTENT: 0x81,
} as const;

/** NV indexes of the TCG EK Credential Profile (EK certificates). */
export const EK_CERT_NV_INDEX = {
  rsa2048: 0x01c00002,
  ecc256: 0x01c0000a,
} as const;

/** Size limits from Part 2 / the reference implementation's defaults, for bounds checks. */
export const TPM2_LIMITS = {
  /** Largest command or response (the reference TPM's MAX_COMMAND/RESPONSE_SIZE is 4096). */
  maxMessage: 1048576,
  /** sizeof(TPMU_HA): largest digest (SHA-512). */
  maxDigest: 64,
  /** TPM2B_NAME: TPMU_NAME, a TPMT_HA or a handle. */
  maxName: 66,
  /** TPM2B_DATA: sizeof(TPMT_HA). */
  maxData: 66,
  /** TPM2B_PUBLIC_KEY_RSA: MAX_RSA_KEY_BYTES (RSA 4096 keys at most). */
  maxRsaKeyBytes: 512,
  /** TPM2B_ECC_PARAMETER: MAX_ECC_KEY_BYTES. */
  maxEccKeyBytes: 128,
  /** TPML_DIGEST count (Part 2: 8). */
  maxDigestList: 8,
  /** TPML_DIGEST_VALUES / TPML_PCR_SELECTION count: HASH_COUNT (5 hashes known here; cap 16). */
  maxHashCount: 16,
  /** PCR_SELECT_MAX: bitmap bytes in one TPMS_PCR_SELECTION. */
  maxPcrSelect: 4,
  /** TPM2B_EVENT: 1024 bytes. */
  maxEvent: 1024,
  /** TPM2B_MAX_NV_BUFFER / TPM2B_MAX_BUFFER (generous cap). */
  maxBuffer: 4096,
  /** TPM2B_ATTEST body. */
  maxAttest: 2048,
  /** TPM2B_CONTEXT_DATA body (reference: 5120 at most in common builds). */
  maxContext: 8192,
  /** Count of capability entries in one response. */
  maxCapabilityCount: 1024,
  /** A policy digest or HMAC. */
  maxAuth: 64,
  /** TPM2B_ENCRYPTED_SECRET. */
  maxEncryptedSecret: 512,
  /** TPM2B_ID_OBJECT. */
  maxIdObject: 132,
  /** TPM2B_PRIVATE (wrapped sensitive area). */
  maxPrivate: 2048,
  /** TPM2B_PUBLIC body. */
  maxPublic: 1024,
  /** TPM2B_CREATION_DATA body. */
  maxCreationData: 1024,
} as const;
