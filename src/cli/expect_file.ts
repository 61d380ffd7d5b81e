/**
 * `log replay --expect FILE`: expected register values, either as replay writes them
 * (`{"<mr>":{"<alg>":"<hex>"}}`, or a whole `log replay --json` output) or as
 * `evidence verify --json` prints a verified quote, report, token or bundle — so that
 * `mrstack evidence verify Q --json | mrstack log replay LOG --expect -` works.
 *
 * From evidence, the registers are the ones it reports that a log can extend: TPM PCRs per quoted
 * bank (`claims.pcrs`), TDX RTMRs (SHA-384), CCA REMs (the bank their width names: the realm's hash algorithm); a bundle's
 * are those of the report inside it. MRTD, RIM and the other static values are left out: no log
 * extends them. Evidence reports every register, a log explains some, so replay then compares
 * only the registers (and banks) the logs extend — as `evidence verify --eventlog` does.
 *
 * @module
 */
import type { HashAlg } from '../crypto/hash_alg.js';
import { fieldErrors } from '../errors.js';
import { parseExpectedJson } from '../eventlog/expect.js';
import type { ExpectedValues } from '../eventlog/replay.js';
import { readText } from './input_files.js';

/** Expected values and, when they came from `evidence verify --json`, what it said. */
export interface ExpectFile {
  readonly values: ExpectedValues;
  /** Set when the file is an `evidence verify --json` document. */
  readonly evidence?: { readonly kind: string; readonly verified: boolean };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An `evidence verify --json` document: `verified` (boolean), `kind` and `claims`. */
function isEvidenceResult(doc: unknown): doc is Record<string, unknown> & {
  verified: boolean;
  kind: string;
  claims: Record<string, unknown>;
} {
  return (
    isObject(doc) &&
    typeof doc['verified'] === 'boolean' &&
    typeof doc['kind'] === 'string' &&
    isObject(doc['claims'])
  );
}

const RTMR = /^rtmr[0-3]$/;
const REM = /^rem[0-3]$/;

/** CCA REMs are as wide as the realm's hash (sha-256, sha-384 or sha-512): the bank by size. */
const REM_BANKS: Readonly<Record<number, HashAlg>> = { 64: 'sha256', 96: 'sha384', 128: 'sha512' };

/**
 * The extendable registers of evidence claims as `{"<mr>":{"<alg>":"<hex>"}}` (still text:
 * {@link parseExpectedJson} checks every value).
 */
function registersOfClaims(
  kind: string,
  claims: Record<string, unknown>,
): Record<string, Record<string, unknown>> {
  if (kind === 'bundle') {
    const inner = claims['report'];
    if (!isObject(inner)) throw bad('claims.report', 'the claims of the bundle report', 'none');
    // The report inside a bundle is TDX, SNP, TPM or CCA: find its registers the same way.
    return registersOfClaims('report', inner);
  }
  const out: Record<string, Record<string, unknown>> = {};
  const pcrs = claims['pcrs'];
  if (isObject(pcrs)) {
    for (const [alg, bank] of Object.entries(pcrs)) {
      if (!isObject(bank)) throw bad(`claims.pcrs.${alg}`, 'an object of PCR values', typeof bank);
      for (const [reg, v] of Object.entries(bank)) (out[reg] ??= {})[alg] = v;
    }
  }
  for (const [reg, v] of Object.entries(claims)) {
    if (RTMR.test(reg)) out[reg] = { sha384: v };
    else if (REM.test(reg) && typeof v === 'string' && REM_BANKS[v.length] !== undefined)
      out[reg] = { [REM_BANKS[v.length]!]: v };
  }
  return out;
}

const bad = fieldErrors({ code: 'ERR_BAD_JSON', format: 'json' });

/**
 * Reads `--expect FILE` (`-` for stdin).
 * @throws ParseError `ERR_BAD_JSON`, `ERR_BAD_HEX`, `ERR_UNKNOWN_ALGORITHM`; MrstackError from
 * the read
 */
export function readExpectFile(path: string): ExpectFile {
  const text = readText(path);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // not JSON: the plain parser reports it with its own message
    return { values: parseExpectedJson(text) };
  }
  if (!isEvidenceResult(doc)) return { values: parseExpectedJson(text) };
  const regs = registersOfClaims(doc.kind, doc.claims);
  if (Object.keys(regs).length === 0) {
    throw bad(
      'claims',
      'registers a log extends (TPM PCRs, TDX RTMRs, CCA REMs)',
      `none in this ${doc.kind} evidence`,
    );
  }
  return {
    values: parseExpectedJson(JSON.stringify(regs)),
    evidence: { kind: doc.kind, verified: doc.verified },
  };
}
