/**
 * mrstack's public API: named re-exports only, no logic. Every public symbol is exported from
 * here and nowhere else (the package's `exports` map blocks deep imports).
 *
 * @module
 */

// errors and limits
export {
  ERROR_CODES,
  MrstackError,
  ParseError,
  UsageError,
  ProviderError,
  ReplayError,
  VerifyError,
  PolicyError,
  AgentError,
  isMrstackError,
  describeCode,
  fromErrno,
} from './errors.js';
export type {
  ErrorCode,
  ExitCode,
  CodeInfo,
  ParseErrorCode,
  ParseErrorInit,
  FormatId,
  MrstackErrorOptions,
} from './errors.js';
export { DEFAULT_LIMITS, withLimits } from './limits.js';
export type { Limits } from './limits.js';

// bytes
export { ByteReader } from './bytes/reader.js';
export type { ByteReaderOptions, ErrorDetail } from './bytes/reader.js';
export { ByteWriter } from './bytes/writer.js';
export { toHex, fromHex, bytesEqual, concatBytes } from './bytes/hex.js';

// crypto
export {
  HASH_ALGS,
  hashInfo,
  digestSize,
  lookupHashAlg,
  parseHashAlg,
  hashAlgFromId,
  hashAlgId,
} from './crypto/hash_alg.js';
export type { HashAlg, HashAlgInfo } from './crypto/hash_alg.js';
export { hash, hashParts, extend } from './crypto/hash.js';

// providers
export { parseMrSelector, formatMrSelector, selectMrs } from './providers/provider.js';
export type {
  Provider,
  ProviderKind,
  Profile,
  MrInfo,
  MrSelector,
  MrValue,
  ExtendInput,
  ExtendResult,
  ReportRequest,
  ReportFormat,
  RawReport,
  IoOptions,
} from './providers/provider.js';
