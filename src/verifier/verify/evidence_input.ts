/**
 * What a user hands over, turned into evidence bytes ({@link decodeEvidenceInput}): binary as
 * is, hex or base64 text decoded, an mrstack report envelope (JSON, or JSON + NUL + IMA list)
 * unpacked, a peer's container (trustee evidence JSON) opened; an agent bundle passes through
 * unparsed (its verifier reads it once).
 *
 * @module
 */
import { ParseError } from '../../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import { fromHex } from '../../bytes/hex.js';
import { parseJsonText } from '../../formats/json/json_text.js';
import {
  parseReportEnvelope,
  splitFramedEnvelope,
  type ReportEnvelope,
} from '../../formats/envelope/report_envelope.js';
import { looksLikeJsonObject } from './evidence_detect.js';
import { PEER_CONTAINERS, peerEvidenceOf, type PeerEvidence } from './peer_evidence.js';

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
export function looksLikeBundle(d: Uint8Array): boolean {
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

/** ERR_LENGTH_LIMIT for evidence of `input.length` bytes, over `max`. */
function evidenceTooLong(input: Uint8Array, max: number): ParseError {
  return new ParseError({
    code: 'ERR_LENGTH_LIMIT',
    format: 'bundle',
    offset: 0,
    field: 'evidence',
    expected: `<= ${max} bytes`,
    actual: `${input.length} bytes`,
  });
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
      throw evidenceTooLong(input, limits.maxWholeFile);
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
    throw evidenceTooLong(input, limits.maxEvidenceSize);
  }
  // JSON (UTF-8, so not necessarily ASCII): no binary evidence kind starts with `{`.
  if (looksLikeJsonObject(input)) return decodeJsonEvidence(input);
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
