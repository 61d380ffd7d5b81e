/**
 * The mrstack report envelope (`mrstack-report-v1`, docs/evidence.md): the JSON document
 * `mrstack report` writes and every verifier reads — the raw report (`outblob`) with what came
 * beside it (`auxblob`, `manifestblob`, named `parts`, TDX `collateral`) and what it was asked
 * for (`nonce`, `user_data`, `report_data`). Bytes are lowercase hex.
 *
 * {@link encodeReportEnvelope} writes it; {@link parseReportEnvelope} reads it strictly: every
 * member is checked for its type, an unknown member is refused, and each error names the member
 * (`ERR_BAD_JSON`). Nothing in an envelope is trusted for what it says: the verifier checks the
 * report, and `emulated` and `report_data` are informational.
 *
 * @module
 */
import { fromHex, toHex } from '../../bytes/hex.js';
import { fieldErrors, ParseError } from '../../errors.js';

/** The `format` member. */
export const REPORT_ENVELOPE_FORMAT = 'mrstack-report-v1';

/** The kinds an envelope may name. */
export const ENVELOPE_KINDS = ['tdx', 'snp', 'tpm', 'cca', 'bundle'] as const;

/** One of {@link ENVELOPE_KINDS}. */
export type EnvelopeKind = (typeof ENVELOPE_KINDS)[number];

/** A report envelope, decoded. */
export interface ReportEnvelope {
  readonly format: typeof REPORT_ENVELOPE_FORMAT;
  readonly kind: EnvelopeKind;
  /** The provider that made the report (`tdx_guest`, `tpm` …). */
  readonly provider?: string;
  /** Informational: the writer said the report came from an emulated TVM. */
  readonly emulated: boolean;
  readonly nonce?: Uint8Array;
  readonly userData?: Uint8Array;
  /** Informational: the report data the writer asked for. */
  readonly reportData?: Uint8Array;
  readonly outblob: Uint8Array;
  readonly auxblob?: Uint8Array;
  /**
   * Named parts of the report (TPM `signature`, `ak_public`, `ak_cert` …); a top-level
   * `manifestblob` (SVSM) is one of them, under that name.
   */
  readonly parts?: Readonly<Record<string, Uint8Array>>;
  /** Collateral that came with the report (TDX: a QuoteCollateralV3-shaped JSON object). */
  readonly collateral?: unknown;
  /** A TPM quote's IMA list (binary), for a verifier service to replay against PCR 10. */
  readonly imaLog?: EnvelopeImaLog;
}

/**
 * The `ima_log` member: the kernel's binary IMA list beside a TPM quote, from entry `since` on
 * (0: the whole list; above 0: the entries after the verifier's trusted IMA checkpoint). In the
 * JSON either `data` (base64, as in a bundle's `ima_log`) or `bytes`: the list's length, its
 * bytes following the JSON text after one NUL byte ({@link frameEnvelope}).
 */
export interface EnvelopeImaLog {
  readonly format: 'ima-binary';
  readonly since: number;
  readonly data: Uint8Array;
}

/** What {@link encodeReportEnvelope} writes. */
export interface ReportEnvelopeInput {
  readonly kind: EnvelopeKind;
  readonly provider: string;
  readonly emulated: boolean;
  readonly nonce: Uint8Array;
  readonly userData?: Uint8Array;
  readonly reportData: Uint8Array;
  readonly outblob: Uint8Array;
  readonly auxblob?: Uint8Array;
  readonly manifestblob?: Uint8Array;
  readonly parts?: Readonly<Record<string, Uint8Array>>;
  readonly collateral?: unknown;
  readonly imaLog?: EnvelopeImaLog;
}

/** The JSON object of an envelope (member order as documented). */
export function encodeReportEnvelope(e: ReportEnvelopeInput): Record<string, unknown> {
  const parts = Object.entries(e.parts ?? {});
  return {
    format: REPORT_ENVELOPE_FORMAT,
    kind: e.kind,
    provider: e.provider,
    emulated: e.emulated,
    nonce: toHex(e.nonce),
    ...(e.userData === undefined ? {} : { user_data: toHex(e.userData) }),
    report_data: toHex(e.reportData),
    outblob: toHex(e.outblob),
    ...(e.auxblob === undefined ? {} : { auxblob: toHex(e.auxblob) }),
    ...(e.manifestblob === undefined ? {} : { manifestblob: toHex(e.manifestblob) }),
    ...(parts.length === 0
      ? {}
      : { parts: Object.fromEntries(parts.map(([k, v]) => [k, toHex(v)])) }),
    ...(e.collateral === undefined ? {} : { collateral: e.collateral }),
    ...(e.imaLog === undefined
      ? {}
      : {
          ima_log: {
            format: e.imaLog.format,
            ...(e.imaLog.since === 0 ? {} : { since: e.imaLog.since }),
            data: Buffer.from(
              e.imaLog.data.buffer,
              e.imaLog.data.byteOffset,
              e.imaLog.data.byteLength,
            ).toString('base64'),
          },
        }),
  };
}

const MEMBERS = new Set([
  'format',
  'kind',
  'provider',
  'emulated',
  'nonce',
  'user_data',
  'report_data',
  'outblob',
  'auxblob',
  'manifestblob',
  'parts',
  'collateral',
  'ima_log',
]);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The `ima_log` member, checked member by member; `tail`: the bytes after the JSON text. */
function imaLogMember(v: unknown, tail: Uint8Array | undefined): EnvelopeImaLog {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw bad('ima_log', 'an object {format, since?, data | bytes}', typeName(v));
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'format' && k !== 'since' && k !== 'data' && k !== 'bytes')
      throw bad(`ima_log.${k}`, 'no such member in ima_log');
  if (o['format'] !== 'ima-binary')
    throw bad('ima_log.format', 'ima-binary', JSON.stringify(o['format']));
  const since = o['since'] ?? 0;
  if (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0)
    throw bad('ima_log.since', 'an IMA entry number', JSON.stringify(since));
  if (o['bytes'] !== undefined) {
    // the list after the JSON text: its length as the JSON says, exactly
    const n = o['bytes'];
    if (o['data'] !== undefined) throw bad('ima_log.data', 'no data beside bytes', 'both');
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
      throw bad('ima_log.bytes', 'a byte count', JSON.stringify(n));
    if (tail === undefined)
      throw bad('ima_log.bytes', `${n} bytes after the JSON text and a NUL`, 'none');
    if (tail.length !== n)
      throw new ParseError({
        code: n < tail.length ? 'ERR_TRAILING_BYTES' : 'ERR_TRUNCATED',
        format: 'json',
        offset: 0,
        field: 'ima_log.bytes',
        expected: `${n} bytes after the JSON text`,
        actual: `${tail.length} bytes`,
      });
    return { format: 'ima-binary', since, data: tail };
  }
  const data = o['data'];
  if (typeof data !== 'string' || data.length % 4 !== 0 || !BASE64.test(data))
    throw bad('ima_log.data', 'base64', typeName(data));
  return { format: 'ima-binary', since, data: new Uint8Array(Buffer.from(data, 'base64')) };
}

/**
 * An envelope whose IMA list travels as bytes, not base64: the JSON text (its `ima_log` with
 * `bytes` instead of `data`), one NUL byte, the list. A JSON text holds no NUL byte (control
 * characters are escaped inside strings, and only whitespace stands between tokens), so the
 * first NUL ends it. A million-entry list is ~110 MB: a third more as base64, and all of it a
 * JSON string to parse.
 */
export function frameEnvelope(
  json: Record<string, unknown>,
  ima: { readonly since: number; readonly data: Uint8Array },
): Uint8Array {
  const head = Buffer.from(
    JSON.stringify({
      ...json,
      ima_log: {
        format: 'ima-binary',
        ...(ima.since === 0 ? {} : { since: ima.since }),
        bytes: ima.data.length,
      },
    }) + '\n',
  );
  const out = new Uint8Array(head.length + 1 + ima.data.length);
  out.set(head, 0);
  out[head.length] = 0;
  out.set(ima.data, head.length + 1);
  return out;
}

/**
 * Splits a framed envelope ({@link frameEnvelope}) at its first NUL byte, looked for in the first
 * `maxJson` + 1 bytes only; undefined when there is none (plain JSON evidence).
 * @throws ParseError `ERR_LENGTH_LIMIT` when the bytes after it exceed `maxTail`
 */
export function splitFramedEnvelope(
  input: Uint8Array,
  maxJson: number,
  maxTail: number,
): { readonly json: Uint8Array; readonly tail: Uint8Array } | undefined {
  const head = input.subarray(0, Math.min(input.length, maxJson + 1));
  const nul = head.indexOf(0);
  if (nul < 0) return undefined;
  const tail = input.subarray(nul + 1);
  if (tail.length > maxTail)
    throw new ParseError({
      code: 'ERR_LENGTH_LIMIT',
      format: 'json',
      offset: nul + 1,
      field: 'ima_log',
      expected: `<= ${maxTail} bytes`,
      actual: `${tail.length} bytes`,
    });
  return { json: input.subarray(0, nul), tail };
}

const bad = fieldErrors({ code: 'ERR_BAD_JSON', format: 'json' });

const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;

function hexMember(o: Record<string, unknown>, key: string, field = key): Uint8Array | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(field, 'a hex string', typeName(v));
  return fromHex(v, field);
}

/**
 * Reads an envelope from a parsed JSON value: undefined when the value is not one (no
 * `"format": "mrstack-report-v1"`), else the envelope, checked member by member.
 * @throws ParseError `ERR_BAD_JSON` naming the member that is wrong (`kind`, `parts.signature` …),
 *   `ERR_BAD_HEX` for hex that does not decode
 */
export function parseReportEnvelope(
  value: unknown,
  /** The bytes after the JSON text of a framed envelope ({@link frameEnvelope}). */
  tail?: Uint8Array,
): ReportEnvelope | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if (o['format'] !== REPORT_ENVELOPE_FORMAT) return undefined;
  if (tail !== undefined && (o['ima_log'] as { bytes?: unknown } | undefined)?.bytes === undefined)
    throw new ParseError({
      code: 'ERR_TRAILING_BYTES',
      format: 'json',
      offset: 0,
      field: 'evidence',
      expected: 'nothing after the JSON text but an IMA list its ima_log.bytes counts',
      actual: `${tail.length} bytes after a NUL`,
    });
  for (const k of Object.keys(o))
    if (!MEMBERS.has(k)) throw bad(k, `no such member in a ${REPORT_ENVELOPE_FORMAT} envelope`);
  const kind = o['kind'];
  if (typeof kind !== 'string' || !(ENVELOPE_KINDS as readonly string[]).includes(kind))
    throw bad('kind', ENVELOPE_KINDS.join('|'), JSON.stringify(kind));
  const provider = o['provider'];
  if (provider !== undefined && typeof provider !== 'string')
    throw bad('provider', 'a string', typeName(provider));
  const emulated = o['emulated'];
  if (emulated !== undefined && typeof emulated !== 'boolean')
    throw bad('emulated', 'true or false', typeName(emulated));
  const outblob = hexMember(o, 'outblob');
  if (outblob === undefined) throw bad('outblob', 'a hex string', 'missing');
  const parts: Record<string, Uint8Array> = {};
  const p = o['parts'];
  if (p !== undefined) {
    if (typeof p !== 'object' || p === null || Array.isArray(p))
      throw bad('parts', 'an object of hex strings', typeName(p));
    for (const k of Object.keys(p))
      parts[k] = hexMember(p as Record<string, unknown>, k, `parts.${k}`)!;
  }
  const manifest = hexMember(o, 'manifestblob');
  if (manifest !== undefined) {
    if (parts['manifestblob'] !== undefined)
      throw bad('manifestblob', 'one manifestblob (top level or in parts, not both)');
    parts['manifestblob'] = manifest;
  }
  const nonce = hexMember(o, 'nonce');
  const userData = hexMember(o, 'user_data');
  const reportData = hexMember(o, 'report_data');
  const auxblob = hexMember(o, 'auxblob');
  return {
    format: REPORT_ENVELOPE_FORMAT,
    kind: kind as EnvelopeKind,
    ...(provider === undefined ? {} : { provider }),
    emulated: emulated === true,
    ...(nonce === undefined ? {} : { nonce }),
    ...(userData === undefined ? {} : { userData }),
    ...(reportData === undefined ? {} : { reportData }),
    outblob,
    ...(auxblob === undefined ? {} : { auxblob }),
    ...(Object.keys(parts).length === 0 ? {} : { parts }),
    ...(o['collateral'] === undefined ? {} : { collateral: o['collateral'] }),
    ...(o['ima_log'] === undefined ? {} : { imaLog: imaLogMember(o['ima_log'], tail) }),
  };
}
