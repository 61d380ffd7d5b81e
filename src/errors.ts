/**
 * Every error mrstack throws, and the one registry of their stable codes.
 *
 * Codes are stable strings (`ERR_*`) documented in `docs/errors.md`; a meta-test keeps the
 * registry below and that file in step. Each code carries the CLI exit code it maps to
 * (DESIGN §7: 1 verification or replay failure, 2 usage or bad input, 3 operational failure).
 *
 * @module
 */

/** CLI exit codes (DESIGN §7). */
export type ExitCode = 1 | 2 | 3;

/** Every stable error code (keep in step with ERROR_CODES and docs/errors.md). */
export type ErrorCode =
  | 'ERR_TRUNCATED'
  | 'ERR_LENGTH_LIMIT'
  | 'ERR_TRAILING_BYTES'
  | 'ERR_BAD_MAGIC'
  | 'ERR_UNSUPPORTED_VERSION'
  | 'ERR_RESERVED_NONZERO'
  | 'ERR_UNKNOWN_ALGORITHM'
  | 'ERR_BAD_ENCODING'
  | 'ERR_BAD_VALUE'
  | 'ERR_BAD_HEX'
  | 'ERR_BAD_JSON'
  | 'ERR_UNKNOWN_FORMAT'
  | 'ERR_TRACE_CORRUPT'
  | 'ERR_USAGE'
  | 'ERR_NOT_FOUND'
  | 'ERR_UNSUPPORTED'
  | 'ERR_UNKNOWN_MR'
  | 'ERR_DIGEST_SIZE'
  | 'ERR_NOT_EXTENDABLE'
  | 'ERR_EVENT_DATA_REQUIRED'
  | 'ERR_LOSSY_CONVERSION'
  | 'ERR_BAD_EVENT'
  | 'ERR_RECORD_TOO_LARGE'
  | 'ERR_REPLAY_MISMATCH'
  | 'ERR_LOG_GAP'
  | 'ERR_IMA_LIST_CHANGED'
  | 'ERR_IMA_CHECKPOINT_MISMATCH'
  | 'ERR_IMA_DISCONTINUOUS'
  | 'ERR_TENANT_DISCONTINUOUS'
  | 'ERR_TENANT_CONTINUATION_MISMATCH'
  | 'ERR_EVENT_DIGEST_MISMATCH'
  | 'ERR_SIGNATURE_INVALID'
  | 'ERR_CHAIN_INVALID'
  | 'ERR_CERT_EXPIRED'
  | 'ERR_CERT_NOT_YET_VALID'
  | 'ERR_CERT_REVOKED'
  | 'ERR_CERT_PROFILE'
  | 'ERR_CRL_INVALID'
  | 'ERR_UNTRUSTED_ROOT'
  | 'ERR_CHECK_SKIPPED'
  | 'ERR_NONCE_MISMATCH'
  | 'ERR_BINDING_MISMATCH'
  | 'ERR_VMPL_MISMATCH'
  | 'ERR_TCB_MISMATCH'
  | 'ERR_COLLATERAL_MISSING'
  | 'ERR_POLICY_VIOLATION'
  | 'ERR_POLICY_INVALID'
  | 'ERR_REGEX_UNSUPPORTED'
  | 'ERR_UNTRUSTED_KEY'
  | 'ERR_AK_ATTRIBUTES'
  | 'ERR_JWS_ALG_REFUSED'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_EAR_PROFILE'
  | 'ERR_EAR_CLAIMS'
  | 'ERR_DEVICE'
  | 'ERR_DEVICE_BUSY'
  | 'ERR_DEVICE_IO'
  | 'ERR_DEVICE_INTERRUPTED'
  | 'ERR_DEVICE_INVALID'
  | 'ERR_DEVICE_TOO_BIG'
  | 'ERR_NO_DEVICE'
  | 'ERR_PERMISSION'
  | 'ERR_REPORT_GENERATION_CHANGED'
  | 'ERR_TPM_RC'
  | 'ERR_TPM_TRANSPORT'
  | 'ERR_AGENT_UNREACHABLE'
  | 'ERR_AGENT_STOPPED'
  | 'ERR_AGENT_RUNNING'
  | 'ERR_FORBIDDEN'
  | 'ERR_RATE_LIMITED'
  | 'ERR_CONFLICT'
  | 'ERR_NONCE_UNKNOWN'
  | 'ERR_NONCE_REUSED'
  | 'ERR_NONCE_EXPIRED'
  | 'ERR_CREDENTIAL_MISMATCH'
  | 'ERR_AK_UNREGISTERED'
  | 'ERR_PLATFORM_MISMATCH'
  | 'ERR_STORE'
  | 'ERR_MOUNT_FAILED'
  | 'ERR_TIMEOUT'
  | 'ERR_IO'
  | 'ERR_INTERNAL';

/** What the registry says of a code. */
export interface CodeInfo {
  readonly exit: ExitCode;
  readonly summary: string;
}

/**
 * The registry: code → exit code and a one-line summary. Adding a code means adding it here and
 * to `docs/errors.md` (the meta-test fails otherwise).
 */
export const ERROR_CODES: Readonly<Record<ErrorCode, CodeInfo>> = {
  // --- bad input: structure (ParseError) ---
  ERR_TRUNCATED: { exit: 2, summary: 'input ended inside a field or record' },
  ERR_LENGTH_LIMIT: { exit: 2, summary: 'a length or count field exceeds a named limit' },
  ERR_TRAILING_BYTES: { exit: 2, summary: 'bytes remain after a complete structure' },
  ERR_BAD_MAGIC: { exit: 2, summary: 'a signature, tag or magic value is wrong' },
  ERR_UNSUPPORTED_VERSION: { exit: 2, summary: 'a format version this code does not read' },
  ERR_RESERVED_NONZERO: { exit: 2, summary: 'a reserved or must-be-zero range is not zero' },
  ERR_UNKNOWN_ALGORITHM: { exit: 2, summary: 'a hash or signature algorithm is not known' },
  ERR_BAD_ENCODING: { exit: 2, summary: 'text or an encoding inside the input is malformed' },
  ERR_BAD_VALUE: { exit: 2, summary: 'a field holds a value the format does not allow' },
  ERR_BAD_HEX: { exit: 2, summary: 'hex input is malformed (odd length or a non-hex digit)' },
  ERR_BAD_JSON: { exit: 2, summary: 'input that must be JSON is not, or has the wrong shape' },
  ERR_UNKNOWN_FORMAT: { exit: 2, summary: 'the input format could not be detected' },
  ERR_TRACE_CORRUPT: { exit: 2, summary: "the emulated TVM's trace file is corrupt" },
  // --- bad input: usage ---
  ERR_USAGE: { exit: 2, summary: 'a command or argument is used wrongly' },
  ERR_NOT_FOUND: { exit: 2, summary: 'a named file, state directory or object does not exist' },
  ERR_UNSUPPORTED: { exit: 2, summary: 'the provider or format lacks this capability' },
  ERR_UNKNOWN_MR: { exit: 2, summary: 'no measurement register has this name' },
  ERR_DIGEST_SIZE: { exit: 2, summary: 'an extend digest has the wrong size for the register' },
  ERR_NOT_EXTENDABLE: { exit: 2, summary: 'the register is static and cannot be extended' },
  ERR_EVENT_DATA_REQUIRED: {
    exit: 2,
    summary: 'a multi-bank register needs event data, or NAME:ALG for one bank',
  },
  ERR_LOSSY_CONVERSION: { exit: 2, summary: 'the requested conversion would lose information' },
  ERR_BAD_EVENT: { exit: 2, summary: 'an application event breaks the log grammar' },
  ERR_RECORD_TOO_LARGE: { exit: 2, summary: 'a record exceeds the configured size limit' },
  // --- replay and verification failures ---
  ERR_REPLAY_MISMATCH: { exit: 1, summary: 'a replayed register differs from the expected value' },
  ERR_LOG_GAP: { exit: 1, summary: 'the register moved off-log (a SYNC differs from replay)' },
  ERR_IMA_LIST_CHANGED: {
    exit: 1,
    summary: 'the IMA list shrank or changed below the count already mirrored into mr_ima',
  },
  ERR_IMA_CHECKPOINT_MISMATCH: {
    exit: 1,
    summary: "an IMA entry below the verifier's trusted IMA checkpoint was changed or removed",
  },
  ERR_IMA_DISCONTINUOUS: {
    exit: 1,
    summary: "the IMA list sent does not continue from the verifier's trusted running value",
  },
  ERR_TENANT_DISCONTINUOUS: {
    exit: 1,
    summary:
      "a tenant log sent since a position does not start at the verifier's trusted tenant checkpoint",
  },
  ERR_TENANT_CONTINUATION_MISMATCH: {
    exit: 1,
    summary:
      "the tenant records after the trusted tenant checkpoint do not fold from its vMR value to the physical log's VMR values",
  },
  ERR_EVENT_DIGEST_MISMATCH: { exit: 1, summary: 'an event digest is not the hash of its data' },
  ERR_SIGNATURE_INVALID: { exit: 1, summary: 'a signature does not verify' },
  ERR_CHAIN_INVALID: { exit: 1, summary: 'a certificate chain does not lead to a trusted root' },
  ERR_CERT_EXPIRED: { exit: 1, summary: 'a certificate or collateral has expired at the time' },
  ERR_CERT_NOT_YET_VALID: { exit: 1, summary: 'a certificate or collateral is not yet valid' },
  ERR_CERT_REVOKED: { exit: 1, summary: 'a certificate is on a revocation list' },
  ERR_CERT_PROFILE: {
    exit: 1,
    summary: 'a certificate breaks the rules of its place in the chain (role, CA, usage, key)',
  },
  ERR_CRL_INVALID: {
    exit: 1,
    summary: 'a revocation list is not from the expected issuer or has no nextUpdate',
  },
  ERR_UNTRUSTED_ROOT: { exit: 1, summary: 'the evidence chains to a root that is not trusted' },
  ERR_CHECK_SKIPPED: {
    exit: 1,
    summary: 'a check the trust policy requires was skipped and the caller did not relax it',
  },
  ERR_NONCE_MISMATCH: { exit: 1, summary: 'the evidence is not bound to the expected nonce' },
  ERR_BINDING_MISMATCH: { exit: 1, summary: 'a binding between layers or fields does not hold' },
  ERR_VMPL_MISMATCH: {
    exit: 1,
    summary: 'an SNP report that should come from the SVSM (VMPL 0) was made at another VMPL',
  },
  ERR_TCB_MISMATCH: {
    exit: 1,
    summary: 'reported TCB does not match the certificate or collateral',
  },
  ERR_COLLATERAL_MISSING: { exit: 2, summary: 'verification needs collateral that was not given' },
  ERR_POLICY_VIOLATION: { exit: 1, summary: 'appraisal against reference values failed' },
  ERR_POLICY_INVALID: {
    exit: 2,
    summary: 'a policy file breaks the policy schema or its importer format',
  },
  ERR_REGEX_UNSUPPORTED: {
    exit: 2,
    summary: 'a policy regex uses syntax outside the supported subset or is too costly',
  },
  ERR_UNTRUSTED_KEY: {
    exit: 1,
    summary: 'a signing key is neither pinned by the caller nor chained to a trust anchor',
  },
  ERR_AK_ATTRIBUTES: {
    exit: 1,
    summary: 'a TPM attestation key is not a restricted signing key (restricted, sign; no decrypt)',
  },
  ERR_JWS_ALG_REFUSED: {
    exit: 1,
    summary: 'a token names a refused algorithm (none, HMAC, or one outside the allowlist)',
  },
  ERR_TOKEN_EXPIRED: { exit: 1, summary: 'a signed token has expired at the verification time' },
  ERR_TOKEN_NOT_YET_VALID: {
    exit: 1,
    summary: 'a signed token is not yet valid at the verification time (nbf or iat ahead)',
  },
  ERR_EAR_PROFILE: {
    exit: 2,
    summary: 'a token is not an EAR of a profile mrstack reads (or a retired one)',
  },
  ERR_EAR_CLAIMS: { exit: 2, summary: 'an EAR claim is missing or has the wrong type or value' },
  // --- operational failures (devices, TPM, agent, mounts) ---
  ERR_DEVICE: { exit: 3, summary: 'the device or kernel interface failed' },
  ERR_DEVICE_BUSY: { exit: 3, summary: 'the device is busy (EBUSY)' },
  ERR_DEVICE_IO: { exit: 3, summary: 'the device reported an I/O failure (EIO)' },
  ERR_DEVICE_INTERRUPTED: { exit: 3, summary: 'the operation was interrupted (EINTR)' },
  ERR_DEVICE_INVALID: { exit: 3, summary: 'the kernel rejected the request (EINVAL, ENXIO)' },
  ERR_NO_DEVICE: {
    exit: 3,
    summary: 'no measurement registers on this machine (no tsm-mr group, no TPM PCRs)',
  },
  ERR_DEVICE_TOO_BIG: {
    exit: 3,
    summary: 'the kernel rejected a write past the file size (EFBIG)',
  },
  ERR_PERMISSION: { exit: 3, summary: 'permission denied (EACCES, EPERM)' },
  ERR_REPORT_GENERATION_CHANGED: {
    exit: 3,
    summary: 'a configfs-tsm report raced another writer (generation moved)',
  },
  ERR_TPM_RC: { exit: 3, summary: 'the TPM returned an error response code' },
  ERR_TPM_TRANSPORT: { exit: 3, summary: 'the TPM transport failed' },
  ERR_AGENT_UNREACHABLE: { exit: 3, summary: 'the agent socket cannot be reached' },
  ERR_AGENT_STOPPED: { exit: 3, summary: 'an agent queue stopped after an extend error' },
  ERR_AGENT_RUNNING: {
    exit: 3,
    summary: 'another live agent owns this log directory, register or socket directory',
  },
  ERR_FORBIDDEN: { exit: 3, summary: 'the caller may not perform this operation' },
  ERR_RATE_LIMITED: { exit: 3, summary: 'a per-tenant rate limit was exceeded' },
  ERR_CONFLICT: { exit: 2, summary: 'the object exists already or the name was used before' },
  ERR_NONCE_UNKNOWN: { exit: 1, summary: 'no challenge session or nonce with that id exists' },
  ERR_NONCE_REUSED: { exit: 1, summary: 'the nonce was consumed already by earlier evidence' },
  ERR_NONCE_EXPIRED: { exit: 1, summary: 'the nonce expired before evidence used it' },
  ERR_CREDENTIAL_MISMATCH: {
    exit: 1,
    summary: 'the secret returned for a credential-activation challenge is not the one sealed',
  },
  ERR_AK_UNREGISTERED: {
    exit: 1,
    summary: 'a TPM quote was signed by an AK that is not registered to the attester',
  },
  ERR_PLATFORM_MISMATCH: {
    exit: 1,
    summary: 'evidence comes from another platform than the one the attester registered',
  },
  ERR_STORE: { exit: 3, summary: 'the verifier store (database) failed or is incompatible' },
  ERR_MOUNT_FAILED: { exit: 3, summary: 'a FUSE mount could not be made or served' },
  ERR_TIMEOUT: { exit: 3, summary: 'an operation did not finish in time' },
  ERR_IO: { exit: 3, summary: 'a file system operation failed' },
  ERR_INTERNAL: { exit: 3, summary: 'an unexpected internal failure (a bug: please report it)' },
};

/** Codes a {@link ParseError} may carry. */
export type ParseErrorCode =
  | 'ERR_TRUNCATED'
  | 'ERR_LENGTH_LIMIT'
  | 'ERR_TRAILING_BYTES'
  | 'ERR_BAD_MAGIC'
  | 'ERR_UNSUPPORTED_VERSION'
  | 'ERR_RESERVED_NONZERO'
  | 'ERR_UNKNOWN_ALGORITHM'
  | 'ERR_BAD_ENCODING'
  | 'ERR_BAD_VALUE'
  | 'ERR_BAD_HEX'
  | 'ERR_BAD_JSON'
  | 'ERR_UNKNOWN_FORMAT'
  | 'ERR_TRACE_CORRUPT'
  | 'ERR_LOSSY_CONVERSION'
  | 'ERR_BAD_EVENT'
  | 'ERR_RECORD_TOO_LARGE';

/**
 * Identifies the format a parse error was found in; it opens every parse message.
 * Extend this union when a new format arrives.
 */
export type FormatId =
  | 'hex'
  | 'json'
  | 'trace'
  | 'tcg2'
  | 'ccel'
  | 'ccel-acpi'
  | 'ima-binary'
  | 'ima-ascii'
  | 'cel-tlv'
  | 'cel-json'
  | 'cel-cbor'
  | 'aael'
  | 'aael-v2'
  | 'mrlog'
  | 'tdx-quote'
  | 'tdx-report'
  | 'tdx-collateral'
  | 'snp-report'
  | 'snp-cert-table'
  | 'tpm2'
  | 'cca-token'
  | 'hcl-report'
  | 'svsm-manifest'
  | 'bundle'
  | 'evidence'
  | 'tenants'
  | 'x509'
  | 'policy'
  | 'keylime-policy'
  | 'pcrlock'
  | 'rvps'
  | 'corim'
  | 'jws'
  | 'ear'
  | 'jwk';

/** Options every mrstack error accepts. */
export interface MrstackErrorOptions {
  /** The lower-level error this one wraps. */
  readonly cause?: unknown;
  /** Context printed with `--json` (hex for bytes); keys in snake_case or camelCase. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Base class of every error mrstack throws on purpose. */
export class MrstackError extends Error {
  /** Stable code; see `docs/errors.md`. */
  readonly code: ErrorCode;
  /** Structured context, serialized by {@link MrstackError.toJSON}. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, opts: MrstackErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = opts.details ?? {};
  }

  /** The CLI exit code this error maps to. */
  get exitCode(): ExitCode {
    return ERROR_CODES[this.code].exit;
  }

  /** The `{"error":{…}}` body the CLI prints with `--json`. */
  toJSON(): { code: ErrorCode; message: string } & Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** Where and what a parse error found; becomes the error's fields and message. */
export interface ParseErrorInit {
  readonly code: ParseErrorCode;
  readonly format: FormatId;
  /** Absolute byte offset in the whole input (line number for line formats, see `unit`). */
  readonly offset: number;
  /** Path of the field: `event[41].eventSize`, `header.version`. */
  readonly field: string;
  readonly expected?: string;
  readonly actual?: string;
  /** Record number (0-based) when the format has records. */
  readonly record?: number;
  /** `line` when offset counts lines (1-based) rather than bytes. */
  readonly unit?: 'byte' | 'line';
  /** True when the input simply ended: more bytes could complete it (truncation, not corruption). */
  readonly incomplete?: boolean;
  /** For truncation: how many complete records preceded the cut. */
  readonly completeRecords?: number;
  readonly cause?: unknown;
}

/**
 * Malformed input: names the format, the absolute offset, the field, and what was expected.
 * Message shape: `tcg2 @0x1a4 event[41].eventSize: expected <= 16777216, found 3183452093`.
 */
export class ParseError extends MrstackError {
  declare readonly code: ParseErrorCode;
  readonly format: FormatId;
  readonly offset: number;
  readonly field: string;
  readonly expected: string | undefined;
  readonly actual: string | undefined;
  readonly record: number | undefined;
  readonly incomplete: boolean;
  readonly completeRecords: number | undefined;

  constructor(init: ParseErrorInit) {
    const where = init.unit === 'line' ? `line ${init.offset}` : `@0x${init.offset.toString(16)}`;
    const what = [
      init.expected === undefined ? undefined : `expected ${init.expected}`,
      init.actual === undefined ? undefined : `found ${init.actual}`,
    ]
      .filter((s) => s !== undefined)
      .join(', ');
    const message = `${init.format} ${where} ${init.field}: ${what === '' ? describeCode(init.code) : what}`;
    super(init.code, message, {
      cause: init.cause,
      details: {
        format: init.format,
        offset: init.offset,
        field: init.field,
        ...(init.unit === 'line' ? { unit: 'line' } : {}),
        ...(init.record === undefined ? {} : { record: init.record }),
        ...(init.expected === undefined ? {} : { expected: init.expected }),
        ...(init.actual === undefined ? {} : { actual: init.actual }),
        ...(init.incomplete === true ? { incomplete: true } : {}),
        ...(init.completeRecords === undefined ? {} : { complete_records: init.completeRecords }),
      },
    });
    this.format = init.format;
    this.offset = init.offset;
    this.field = init.field;
    this.expected = init.expected;
    this.actual = init.actual;
    this.record = init.record;
    this.incomplete = init.incomplete ?? false;
    this.completeRecords = init.completeRecords;
  }
}

/** Builds the error for one member of an already decoded document; see {@link fieldErrors}. */
export type FieldErrorFactory = (
  field: string,
  expected: string,
  actual?: string,
  cause?: unknown,
) => ParseError;

/**
 * The error factory of one structured input (a JSON request body, an envelope, a collateral
 * document …): the whole document has been decoded, so a wrong member has no byte offset (0) and
 * is named by its path, with `prefix` (e.g. `attestation.`) in front. One home for what eight
 * modules each wrote as a local `bad(field, expected, actual)`.
 */
export function fieldErrors(init: {
  readonly code: ParseErrorCode;
  readonly format: FormatId;
  readonly prefix?: string;
}): FieldErrorFactory {
  const prefix = init.prefix ?? '';
  return (field, expected, actual, cause) =>
    new ParseError({
      code: init.code,
      format: init.format,
      offset: 0,
      field: `${prefix}${field}`,
      expected,
      ...(actual === undefined ? {} : { actual }),
      ...(cause === undefined ? {} : { cause }),
    });
}

/** A bad command line or argument (exit 2). */
export class UsageError extends MrstackError {}

/** A provider could not read, extend or report (device errors, unknown MRs, bad digests). */
export class ProviderError extends MrstackError {}

/** Replay did not reach the expected value, or a log moved off its register. */
export class ReplayError extends MrstackError {}

/** A signature, chain, binding or validity check failed. */
export class VerifyError extends MrstackError {}

/** Appraisal against reference values or policy failed. */
export class PolicyError extends MrstackError {}

/** The agent or its client failed operationally. */
export class AgentError extends MrstackError {}

/** True for any error mrstack throws on purpose. */
export function isMrstackError(e: unknown): e is MrstackError {
  return e instanceof MrstackError;
}

/** The registry's one-line summary of a code. */
export function describeCode(code: ErrorCode): string {
  return ERROR_CODES[code].summary;
}

/**
 * Maps a Node system error from a kernel-ABI file operation to a typed error.
 * `where` names the file or operation for the message.
 */
export function fromErrno(e: unknown, where: string): MrstackError {
  const errno = (e as { code?: unknown } | null)?.code;
  const name = typeof errno === 'string' ? errno : 'UNKNOWN';
  const code: ErrorCode =
    name === 'EBUSY' || name === 'EAGAIN'
      ? 'ERR_DEVICE_BUSY'
      : name === 'EIO'
        ? 'ERR_DEVICE_IO'
        : name === 'EINTR'
          ? 'ERR_DEVICE_INTERRUPTED'
          : name === 'EINVAL' || name === 'ENXIO'
            ? 'ERR_DEVICE_INVALID'
            : name === 'EFBIG'
              ? 'ERR_DEVICE_TOO_BIG'
              : name === 'EACCES' || name === 'EPERM'
                ? 'ERR_PERMISSION'
                : name === 'ENOENT'
                  ? 'ERR_NOT_FOUND'
                  : name === 'ETIMEDOUT'
                    ? 'ERR_TIMEOUT'
                    : 'ERR_IO';
  const raw = e instanceof Error ? e.message : String(e);
  // Node's own messages already start with the errno name ("ENOENT: no such file …").
  const msg = raw.startsWith(`${name}: `) ? raw.slice(name.length + 2) : raw;
  return new ProviderError(code, `${where}: ${name}: ${msg}`, {
    cause: e,
    details: { errno: name, path: where },
  });
}
