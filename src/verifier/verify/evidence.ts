/**
 * The verification front door: one entry point for every kind of evidence (TDX quote, SNP
 * report, TPM quote, CCA token, agent bundle), one result type, and a dispatch table with one
 * line per kind.
 *
 * - {@link decodeEvidenceInput} turns what a user hands over (binary, hex or base64 text, or an
 *   mrstack report envelope) into bytes;
 * - {@link detectEvidenceKind} recognises the kind from the bytes;
 * - {@link showEvidence} decodes without verifying; {@link verifyEvidence} verifies.
 *
 * Verification failures (a bad signature, an expired certificate, a wrong nonce) are collected
 * in {@link EvidenceResult.errors} with `verified: false`; malformed input and missing inputs
 * throw typed errors (exit 2). Time is an input: every check uses `options.at`.
 *
 * Adding a verifier: implement {@link EvidenceVerifier} in `verifier/verify/<kind>*.ts` and
 * replace that kind's line in {@link EVIDENCE_VERIFIERS}.
 *
 * @module
 */
import { MrstackError, ParseError, UsageError } from '../../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import { fromHex } from '../../bytes/hex.js';
import { TDX_VERIFIER } from './tdx_verifier.js';
import { looksLikeHclTdx, showHclTdx, verifyHclTdx } from './hcl_tdx.js';
import { SNP_VERIFIER } from './snp.js';
import { BUNDLE_VERIFIER } from './bundle.js';
import { CCA_VERIFIER } from './cca.js';
import { TPM_EVIDENCE_VERIFIER } from './tpm_attestation.js';
import {
  EVIDENCE_KINDS,
  type EvidenceKind,
  type EvidenceShowResult,
  type EvidenceResult,
  type EvidenceVerifier,
  type ResolvedVerifyOptions,
  type VerifyEvidenceOptions,
} from './evidence_result.js';
import { parseJsonText } from '../../formats/json/json_text.js';
import { PEER_CONTAINERS, peerEvidenceOf, type PeerEvidence } from './peer_evidence.js';
import {
  checkTdReportHashes,
  parseTdReport,
  tdReportClaims,
  TDREPORT_SIZE,
} from '../../formats/tdx/tdreport.js';
import {
  parseReportEnvelope,
  splitFramedEnvelope,
  type ReportEnvelope,
} from '../../formats/envelope/report_envelope.js';
import { resolveTrustPolicy } from './trust_policy.js';

const u32be = (d: Uint8Array, o: number): number =>
  d.length >= o + 4 ? new DataView(d.buffer, d.byteOffset + o, 4).getUint32(0, false) : -1;
const u32le = (d: Uint8Array, o: number): number =>
  d.length >= o + 4 ? new DataView(d.buffer, d.byteOffset + o, 4).getUint32(0, true) : -1;

/** SNP report: version 2..5 at 0, signature algorithm 1 (ECDSA P-384) at 0x34, 1184 bytes. */
function looksSnp(d: Uint8Array): boolean {
  const v = u32le(d, 0);
  return d.length >= 1184 && v >= 2 && v <= 5 && u32le(d, 0x34) === 1;
}
/** TPMS_ATTEST: TPM_GENERATED magic. */
function looksTpm(d: Uint8Array): boolean {
  return u32be(d, 0) === 0xff544347;
}
/** CCA: CBOR tag 399 (`d9 01 8f`) or 907 (`d9 03 8b`). */
function looksCca(d: Uint8Array): boolean {
  return d[0] === 0xd9 && ((d[1] === 0x01 && d[2] === 0x8f) || (d[1] === 0x03 && d[2] === 0x8b));
}
/** Bundle: a JSON object. */
function looksBundle(d: Uint8Array): boolean {
  let i = 0;
  while (i < d.length && (d[i] === 0x20 || d[i] === 0x0a || d[i] === 0x0d || d[i] === 0x09)) i++;
  return d[i] === 0x7b;
}

/**
 * The dispatch table: one line per kind (a kind's verifier, with the cheap byte-level detection).
 */
export const EVIDENCE_VERIFIERS: Readonly<Record<EvidenceKind, EvidenceVerifier>> = {
  // An Azure TDX HCL report is TDX evidence, verified through its TD quote (hcl_tdx.ts).
  tdx: {
    detect: (d) => TDX_VERIFIER.detect(d) || looksLikeHclTdx(d),
    show: (d, limits) => (looksLikeHclTdx(d) ? showHclTdx(d) : TDX_VERIFIER.show(d, limits)),
    verify: (d, o) => (looksLikeHclTdx(d) ? verifyHclTdx(d, o) : TDX_VERIFIER.verify(d, o)),
  },
  snp: { ...SNP_VERIFIER, detect: (d) => looksSnp(d) || SNP_VERIFIER.detect(d) },
  tpm: { ...TPM_EVIDENCE_VERIFIER, detect: (d) => looksTpm(d) || TPM_EVIDENCE_VERIFIER.detect(d) },
  cca: { ...CCA_VERIFIER, detect: looksCca },
  bundle: { ...BUNDLE_VERIFIER, detect: looksBundle },
};

/** Every binary format detection tries, in its order, for the message when none matches. */
const TRIED_FORMATS: readonly string[] = [
  'TDX quote v4/v5 (TEE type 0x81 at offset 4)',
  'SNP report (1184 bytes, version 2-5, signature algorithm 1)',
  'Azure HCL report (SNP, or TDX with its TD quote)',
  'TPM quote (TPMS_ATTEST, TPM_GENERATED)',
  'go-tpm-tools attestation',
  'CCA token (CBOR tag 399/907)',
  'JSON: mrstack report envelope or evidence bundle, trustee TDX/SNP evidence',
  'hex or base64 text of any of these',
];

/** A raw TDREPORT: 1024 bytes whose REPORTTYPE is TDX (0x81). */
function looksTdReport(d: Uint8Array): boolean {
  return d.length === TDREPORT_SIZE && d[0] === 0x81;
}

/**
 * Detects the kind of evidence from its bytes.
 * @throws ParseError `ERR_UNKNOWN_FORMAT`
 */
export function detectEvidenceKind(data: Uint8Array): EvidenceKind {
  for (const kind of EVIDENCE_KINDS) {
    if (EVIDENCE_VERIFIERS[kind].detect(data)) return kind;
  }
  if (looksTdReport(data)) {
    throw new MrstackError(
      'ERR_UNSUPPORTED',
      'this is a TDREPORT (TDG.MR.REPORT): it is MACed with a key only the CPU that made it holds, so it cannot be verified elsewhere; ask the quoting service for a TD quote of it (mrstack report --provider linux does), or decode it with mrstack evidence show',
      { details: { format: 'tdreport', size: data.length } },
    );
  }
  throw new ParseError({
    code: 'ERR_UNKNOWN_FORMAT',
    format: 'evidence',
    offset: 0,
    field: 'evidence',
    expected: `one of the formats tried: ${TRIED_FORMATS.join('; ')}`,
    actual: `${data.length} bytes starting ${Buffer.from(data.subarray(0, 8)).toString('hex')}`,
  });
}

/** The mrstack report envelope (one home: `formats/envelope/report_envelope.ts`). */
export type { ReportEnvelope };

/** Evidence decoded from what the user gave: the bytes and, from an envelope, its extras. */
export interface DecodedEvidenceInput {
  readonly data: Uint8Array;
  /** How the input was encoded. */
  readonly encoding: 'binary' | 'hex' | 'base64' | 'envelope' | 'peer';
  readonly envelope?: ReportEnvelope;
  /** Set when the input was a peer's container (trustee evidence JSON): what came with it. */
  readonly peer?: PeerEvidence;
}

const HEX_TEXT = /^(?:0x)?[0-9a-fA-F\s]+$/;
const B64_TEXT = /^[A-Za-z0-9+/_\-\s]+={0,2}\s*$/;

/** `{` first (after white space) and the bundle's format name in the first 4 KiB. */
function looksLikeBundle(d: Uint8Array): boolean {
  let i = 0;
  while (i < d.length && (d[i] === 0x20 || d[i] === 0x0a || d[i] === 0x0d || d[i] === 0x09)) i++;
  if (d[i] !== 0x7b) return false;
  return Buffer.from(d.buffer, d.byteOffset + i, Math.min(4096, d.length - i))
    .toString('latin1')
    .includes('"mrstack-evidence-bundle"');
}

function isText(d: Uint8Array): boolean {
  for (const b of d) {
    if (b === 0x09 || b === 0x0a || b === 0x0d) continue;
    if (b < 0x20 || b > 0x7e) return false;
  }
  return true;
}

/**
 * Turns the user's input into evidence bytes: binary as is; hex or base64 text decoded; an
 * mrstack report envelope (JSON, `"format": "mrstack-report-v1"`) unpacked. Other JSON is
 * returned as binary (a bundle).
 * @throws ParseError `ERR_LENGTH_LIMIT`, `ERR_BAD_ENCODING`, `ERR_BAD_JSON`
 */
export function decodeEvidenceInput(
  input: Uint8Array,
  limits: Limits = DEFAULT_LIMITS,
): DecodedEvidenceInput {
  // An agent bundle is JSON read once, by the bundle verifier: no text scan, no second parse. An
  // ima bundle carries the IMA list (a million entries are ~150 MB), so it may be a whole file.
  if (looksLikeBundle(input)) {
    if (input.length > limits.maxWholeFile) {
      throw new ParseError({
        code: 'ERR_LENGTH_LIMIT',
        format: 'bundle',
        offset: 0,
        field: 'evidence',
        expected: `<= ${limits.maxWholeFile} bytes`,
        actual: `${input.length} bytes`,
      });
    }
    return { data: input, encoding: 'binary' };
  }
  // A report envelope with its IMA list as bytes after the JSON text (a NUL between): the JSON
  // is bounded as any evidence, the list as a whole file.
  const framed =
    input[0] === 0x7b
      ? splitFramedEnvelope(input, limits.maxEvidenceSize, limits.maxWholeFile)
      : undefined;
  if (framed !== undefined) return decodeJsonEvidence(framed.json, framed.tail);
  if (input.length > limits.maxEvidenceSize) {
    throw new ParseError({
      code: 'ERR_LENGTH_LIMIT',
      format: 'bundle',
      offset: 0,
      field: 'evidence',
      expected: `<= ${limits.maxEvidenceSize} bytes`,
      actual: `${input.length} bytes`,
    });
  }
  // JSON (UTF-8, so not necessarily ASCII): no binary evidence kind starts with `{`.
  if (looksBundle(input)) return decodeJsonEvidence(input);
  if (input.length === 0 || !isText(input)) return { data: input, encoding: 'binary' };
  const text = Buffer.from(input).toString('latin1').trim();
  if (HEX_TEXT.test(text)) {
    return { data: fromHex(text.replace(/\s+/g, ''), 'evidence'), encoding: 'hex' };
  }
  if (B64_TEXT.test(text)) {
    const b = Buffer.from(text.replace(/\s+/g, ''), 'base64');
    if (b.length > 0) return { data: new Uint8Array(b), encoding: 'base64' };
  }
  throw new ParseError({
    code: 'ERR_BAD_ENCODING',
    format: 'bundle',
    offset: 0,
    field: 'evidence',
    expected: 'binary evidence, hex or base64 text, or JSON',
    actual: JSON.stringify(text.slice(0, 16)),
  });
}

/** JSON evidence: an mrstack report envelope, a peer's container, or a bundle. */
function decodeJsonEvidence(input: Uint8Array, tail?: Uint8Array): DecodedEvidenceInput {
  const text = Buffer.from(input).toString('utf8');
  const doc = parseJsonText(text, 'evidence', { expected: 'JSON' });
  const env = parseReportEnvelope(doc, tail);
  if (env !== undefined) return { data: env.outblob, encoding: 'envelope', envelope: env };
  if (tail !== undefined)
    throw new ParseError({
      code: 'ERR_TRAILING_BYTES',
      format: 'evidence',
      offset: input.length,
      field: 'evidence',
      expected: 'a report envelope before a NUL byte and an IMA list',
      actual: 'other JSON evidence',
    });
  const peer = peerEvidenceOf(doc);
  if (peer !== undefined) return { data: peer.data, encoding: 'peer', peer };
  // A JSON object with a format name may be a bundle (its name past the first 4 KiB): the
  // bundle verifier reads it. Anything else is named for what it is not.
  if (typeof (doc as Record<string, unknown>)['format'] === 'string')
    return { data: input, encoding: 'binary' };
  const keys = Object.keys(doc as object).slice(0, 6);
  throw new ParseError({
    code: 'ERR_UNKNOWN_FORMAT',
    format: 'evidence',
    offset: 0,
    field: 'evidence',
    expected: `JSON evidence: an mrstack report envelope, an mrstack evidence bundle, ${PEER_CONTAINERS.join(', ')}`,
    actual: `a JSON object with members ${keys.length === 0 ? '(none)' : keys.join(', ')}`,
  });
}

function resolveKind(data: Uint8Array, kind: EvidenceKind | undefined): EvidenceKind {
  if (kind === undefined) return detectEvidenceKind(data);
  if (!(EVIDENCE_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(
      'ERR_USAGE',
      `--kind ${kind as string}: expected ${EVIDENCE_KINDS.join('|')}`,
    );
  }
  return kind;
}

/**
 * Decodes evidence without verifying anything.
 * @throws ParseError for malformed input; `ERR_UNSUPPORTED` for a kind without a verifier yet
 */
export function showEvidence(
  data: Uint8Array,
  kind?: EvidenceKind,
  limits: Partial<Limits> = {},
): EvidenceShowResult {
  if (
    kind === undefined &&
    looksTdReport(data) &&
    !EVIDENCE_KINDS.some((k) => EVIDENCE_VERIFIERS[k].detect(data))
  )
    return showTdReport(data);
  const k = resolveKind(data, kind);
  return EVIDENCE_VERIFIERS[k].show(data, { ...DEFAULT_LIMITS, ...limits });
}

/**
 * A raw TDREPORT, decoded: the TD's registers with their kernel names, and whether its two
 * internal SHA-384 hashes hold (its MAC only the CPU that made it can check).
 */
function showTdReport(data: Uint8Array): EvidenceShowResult {
  const t = parseTdReport(data);
  const h = checkTdReportHashes(t);
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  return {
    kind: 'tdx',
    claims: {
      format: 'tdreport',
      ...tdReportClaims(t),
      mac: hex(t.mac),
      tee_tcb_info_hash_ok: h.teeTcbInfoHash,
      tee_info_hash_ok: h.teeInfoHash,
    },
    warnings: [
      'a TDREPORT, not a quote: its MAC is checkable only by the CPU that made it, so nothing here is verified',
    ],
  };
}

/**
 * Verifies evidence offline at `options.at`.
 * @returns the result; `verified: false` with `errors` when a check failed
 * @throws ParseError for malformed input; MrstackError `ERR_COLLATERAL_MISSING` when collateral
 *   is needed and not given (and not waived), `ERR_UNSUPPORTED` for a kind without a verifier
 */
export async function verifyEvidence(
  data: Uint8Array,
  options: VerifyEvidenceOptions = {},
): Promise<EvidenceResult> {
  const k = resolveKind(data, options.kind);
  const { at, limits, policy, ...rest } = options;
  const resolved: ResolvedVerifyOptions = {
    ...rest,
    // The one place "now" is read: the edge, when the caller chose no time.
    at: at ?? new Date(),
    limits: { ...DEFAULT_LIMITS, ...limits },
    policy: resolveTrustPolicy({ ...options, ...(policy === undefined ? {} : { policy }) }),
    verifiers: EVIDENCE_VERIFIERS,
  };
  if (Number.isNaN(resolved.at.getTime())) {
    throw new UsageError('ERR_USAGE', 'verification time is not a valid date');
  }
  return EVIDENCE_VERIFIERS[k].verify(data, resolved);
}
