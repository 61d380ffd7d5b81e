/**
 * One mrlog record (DESIGN §4, grammar in `docs/mrlog.md`): the parsed form of one LF-terminated
 * line, and its canonical text. Records are hashed byte-exact as the line's UTF-8 bytes without
 * the LF; this module only parses and formats, it hashes nothing.
 *
 * @module
 */
import { ParseError } from '../../errors.js';
import { digestSize, lookupHashAlg, type HashAlg } from '../../crypto/hash_alg.js';
import { fromHex, toHex } from '../../bytes/hex.js';

/** A value of one register bank as the log spells it: `<alg>/<hex>`. */
export interface MrlogValue {
  readonly alg: HashAlg;
  readonly value: Uint8Array;
}

/**
 * A named vMR value in a `VMR` record: `<name>=<alg>/<hex>`, or `<name>=<alg>/<hex>@<count>`
 * for the IMA vMR, whose record also states how many IMA entries the value covers.
 */
export interface MrlogVmrValue extends MrlogValue {
  readonly name: string;
  /** Entries covered; present exactly for {@link MR_IMA_VMR} (`@<count>`). */
  readonly count?: number;
}

/**
 * The reserved vMR whose log is the kernel's IMA list (DESIGN §4). Its VMR token carries
 * `@<count>` and a salted commitment instead of a running value.
 */
export const MR_IMA_VMR = 'mr_ima';
/** The reserved system tenant that owns {@link MR_IMA_VMR}. */
export const IMA_TENANT = 'ima';

/** The reserved record kinds and the application event; `comment` lines are not extended. */
export type MrlogRecordBody =
  | { readonly kind: 'comment'; readonly text: string }
  | { readonly kind: 'boot'; readonly bootId: string; readonly epoch: number }
  | { readonly kind: 'sync'; readonly values: readonly MrlogValue[] }
  | { readonly kind: 'checkpoint'; readonly seq: number; readonly prev: MrlogValue }
  | { readonly kind: 'vmr'; readonly values: readonly MrlogVmrValue[] }
  | { readonly kind: 'salt'; readonly salt: Uint8Array }
  | {
      readonly kind: 'tenant';
      readonly name: string;
      readonly vmr: string;
      readonly created: string;
    }
  | {
      readonly kind: 'event';
      readonly domain: string;
      readonly operation: string;
      readonly content: string;
    };

/** Kinds of record. */
export type MrlogRecordKind = MrlogRecordBody['kind'];

/** A parsed record with its exact text and position. */
export type MrlogRecord = MrlogRecordBody & {
  /** The line exactly as hashed (UTF-8, without the LF). */
  readonly line: string;
  /** 1-based line number in its log. */
  readonly lineNo: number;
};

/** Reserved first tokens (upper case; written only by the agent). */
export const MRLOG_RESERVED: Readonly<Record<string, string>> = Object.freeze({
  BOOT: 'BOOT',
  SYNC: 'SYNC',
  CHECKPOINT: 'CHECKPOINT',
  VMR: 'VMR',
  SALT: 'SALT',
  TENANT: 'TENANT',
} as const);

/** A reserved-looking first token: upper-case letters, digits and `_`, starting with a letter. */
export const RESERVED_TOKEN_RE: Readonly<RegExp> = /^[A-Z][A-Z0-9_]*$/;
/** Tenant and vMR names: lower case, digits, `_` and `-`, at most 64 characters. */
export const NAME_RE: Readonly<RegExp> = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** An event domain: URI-like characters, containing `.` or `/`, not starting with `#`. */
export const DOMAIN_RE: Readonly<RegExp> = /^[A-Za-z0-9._~:/?#[\]@!$&'()*+,;=%-]+$/;
/** An event operation. */
export const OPERATION_RE: Readonly<RegExp> = /^[A-Za-z0-9_.-]+$/;
const BOOT_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const DECIMAL_RE = /^(0|[1-9][0-9]{0,15})$/;
const CREATED_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$/;
const LOWER_HEX_RE = /^[0-9a-f]+$/;

/**
 * The first control character in a string (C0, DEL, C1), or -1. mrlog lines contain none.
 */
export function findControlChar(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return i;
  }
  return -1;
}

/** True for a domain token the grammar accepts. */
export function isDomain(s: string): boolean {
  return DOMAIN_RE.test(s) && !s.startsWith('#') && (s.includes('.') || s.includes('/'));
}

function fail(lineNo: number, field: string, expected: string, actual: string): never {
  throw new ParseError({
    code: 'ERR_BAD_VALUE',
    format: 'mrlog',
    offset: lineNo,
    unit: 'line',
    record: lineNo - 1,
    field,
    expected,
    actual,
  });
}

function parseValue(tok: string, lineNo: number, field: string): MrlogValue {
  const slash = tok.indexOf('/');
  if (slash <= 0) fail(lineNo, field, '<alg>/<hex>', JSON.stringify(tok));
  const algName = tok.slice(0, slash);
  const alg = lookupHashAlg(algName);
  if (alg === undefined || alg !== algName) {
    throw new ParseError({
      code: 'ERR_UNKNOWN_ALGORITHM',
      format: 'mrlog',
      offset: lineNo,
      unit: 'line',
      record: lineNo - 1,
      field,
      expected: 'sha1, sha256, sha384, sha512 or sm3',
      actual: JSON.stringify(algName),
    });
  }
  const hex = tok.slice(slash + 1);
  if (!LOWER_HEX_RE.test(hex) || hex.length !== digestSize(alg) * 2) {
    fail(lineNo, field, `${digestSize(alg) * 2} lowercase hex digits`, JSON.stringify(hex));
  }
  return { alg, value: fromHex(hex, field) };
}

function parseDecimal(tok: string | undefined, lineNo: number, field: string): number {
  if (tok === undefined || !DECIMAL_RE.test(tok) || !Number.isSafeInteger(Number(tok))) {
    fail(lineNo, field, 'a decimal integer', JSON.stringify(tok ?? ''));
  }
  return Number(tok);
}

/** `<name>=<alg>/<hex>[@<count>]`; the count is required for mr_ima and refused elsewhere. */
function parseVmrToken(t: string, lineNo: number, i: number): MrlogVmrValue {
  const eq = t.indexOf('=');
  const name = eq < 0 ? '' : t.slice(0, eq);
  if (!NAME_RE.test(name)) fail(lineNo, `VMR.value[${i}].name`, 'a vMR name', t);
  const at = t.indexOf('@', eq + 1);
  const valueTok = at < 0 ? t.slice(eq + 1) : t.slice(eq + 1, at);
  const value = { name, ...parseValue(valueTok, lineNo, `VMR.value[${i}]`) };
  if (name !== MR_IMA_VMR) {
    if (at >= 0) fail(lineNo, `VMR.value[${i}].count`, `no @<count> (only ${MR_IMA_VMR})`, t);
    return value;
  }
  if (at < 0) fail(lineNo, `VMR.value[${i}].count`, `${MR_IMA_VMR}=<alg>/<hex>@<count>`, t);
  return { ...value, count: parseDecimal(t.slice(at + 1), lineNo, `VMR.value[${i}].count`) };
}

function parseReserved(token: string, rest: string[], lineNo: number): MrlogRecordBody {
  const arity = (n: number): void => {
    if (rest.length !== n) fail(lineNo, token, `${n} fields`, `${rest.length}`);
  };
  switch (token) {
    case 'BOOT': {
      arity(2);
      const bootId = rest[0]!;
      if (!BOOT_ID_RE.test(bootId)) fail(lineNo, 'BOOT.boot_id', 'a boot id', bootId);
      return { kind: 'boot', bootId, epoch: parseDecimal(rest[1], lineNo, 'BOOT.epoch') };
    }
    case 'SYNC': {
      if (rest.length === 0) fail(lineNo, 'SYNC', 'at least one <alg>/<hex>', 'none');
      const values = rest.map((t, i) => parseValue(t, lineNo, `SYNC.value[${i}]`));
      if (new Set(values.map((v) => v.alg)).size !== values.length) {
        fail(lineNo, 'SYNC', 'one value per bank', 'a repeated bank');
      }
      return { kind: 'sync', values };
    }
    case 'CHECKPOINT': {
      arity(2);
      const seq = parseDecimal(rest[0], lineNo, 'CHECKPOINT.seq');
      const p = rest[1]!;
      if (!p.startsWith('prev=')) fail(lineNo, 'CHECKPOINT.prev', 'prev=<alg>/<hex>', p);
      return { kind: 'checkpoint', seq, prev: parseValue(p.slice(5), lineNo, 'CHECKPOINT.prev') };
    }
    case 'VMR': {
      if (rest.length === 0) fail(lineNo, 'VMR', 'at least one <name>=<alg>/<hex>', 'none');
      const values = rest.map((t, i) => parseVmrToken(t, lineNo, i));
      if (new Set(values.map((v) => v.name)).size !== values.length) {
        fail(lineNo, 'VMR', 'each vMR once', 'a repeated vMR');
      }
      return { kind: 'vmr', values };
    }
    case 'SALT': {
      arity(1);
      const hex = rest[0]!;
      if (!LOWER_HEX_RE.test(hex) || hex.length !== 64) {
        fail(lineNo, 'SALT', '64 lowercase hex digits', JSON.stringify(hex));
      }
      return { kind: 'salt', salt: fromHex(hex, 'SALT') };
    }
    case 'TENANT': {
      arity(3);
      const [name, vmr, created] = rest as [string, string, string];
      if (!NAME_RE.test(name)) fail(lineNo, 'TENANT.name', 'a tenant name', name);
      if (!NAME_RE.test(vmr)) fail(lineNo, 'TENANT.vmr', 'a vMR name', vmr);
      if (!CREATED_RE.test(created))
        fail(lineNo, 'TENANT.created', 'an RFC 3339 UTC time', created);
      return { kind: 'tenant', name, vmr, created };
    }
    default:
      return fail(lineNo, 'record', 'a known reserved record', JSON.stringify(token));
  }
}

/**
 * Parses one line (without its LF).
 * @param lineNo - 1-based line number, for errors.
 * @throws ParseError `ERR_BAD_ENCODING` (control characters, empty line), `ERR_BAD_VALUE`,
 *   `ERR_UNKNOWN_ALGORITHM`
 */
export function parseMrlogLine(line: string, lineNo: number): MrlogRecord {
  const cc = findControlChar(line);
  if (cc >= 0) {
    throw new ParseError({
      code: 'ERR_BAD_ENCODING',
      format: 'mrlog',
      offset: lineNo,
      unit: 'line',
      record: lineNo - 1,
      field: `char[${cc}]`,
      expected: 'no control characters',
      actual: `U+${line.charCodeAt(cc).toString(16).padStart(4, '0')}`,
    });
  }
  if (line === '') fail(lineNo, 'line', 'a record', 'an empty line');
  if (line.startsWith('#')) return { kind: 'comment', text: line.slice(1), line, lineNo };
  const sp = line.indexOf(' ');
  const first = sp < 0 ? line : line.slice(0, sp);
  if (RESERVED_TOKEN_RE.test(first)) {
    const rest = sp < 0 ? [] : line.slice(sp + 1).split(' ');
    if (rest.includes('')) fail(lineNo, first, 'single spaces between fields', 'an empty field');
    return { ...parseReserved(first, rest, lineNo), line, lineNo };
  }
  const m = /^([^ ]+) ([^ ]+) (.*)$/s.exec(line);
  if (m === null) fail(lineNo, 'event', '<domain> <operation> <content>', JSON.stringify(line));
  const [, domain, operation, content] = m as unknown as [string, string, string, string];
  if (!isDomain(domain)) fail(lineNo, 'event.domain', 'a domain with "." or "/"', domain);
  if (!OPERATION_RE.test(operation)) fail(lineNo, 'event.operation', '[A-Za-z0-9_.-]+', operation);
  return { kind: 'event', domain, operation, content, line, lineNo };
}

const fmtValue = (v: MrlogValue): string => `${v.alg}/${toHex(v.value)}`;
const fmtVmrValue = (v: MrlogVmrValue): string =>
  `${v.name}=${fmtValue(v)}${v.count === undefined ? '' : `@${v.count}`}`;

/** The canonical line (without LF) of a record body. */
export function formatMrlogRecord(r: MrlogRecordBody): string {
  switch (r.kind) {
    case 'comment':
      return `#${r.text}`;
    case 'boot':
      return `BOOT ${r.bootId} ${r.epoch}`;
    case 'sync':
      return `SYNC ${r.values.map(fmtValue).join(' ')}`;
    case 'checkpoint':
      return `CHECKPOINT ${r.seq} prev=${fmtValue(r.prev)}`;
    case 'vmr':
      return `VMR ${r.values.map(fmtVmrValue).join(' ')}`;
    case 'salt':
      return `SALT ${toHex(r.salt)}`;
    case 'tenant':
      return `TENANT ${r.name} ${r.vmr} ${r.created}`;
    case 'event':
      return `${r.domain} ${r.operation} ${r.content}`;
  }
}
