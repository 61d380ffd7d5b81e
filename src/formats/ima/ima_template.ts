/**
 * IMA templates and template fields: which fields a template carries, how each field is stored
 * in the template data, how it prints in the ascii list, and what the template hash covers.
 *
 * Template data (every template but the legacy `ima`) is a sequence of fields, each a u32 length
 * (host byte order, or little-endian with `ima_canonical_fmt`) followed by the field's bytes; the
 * template hash is the hash of exactly those bytes. The legacy `ima` template is stored as a
 * 20-byte digest, a u32 name length and the name without its NUL, but its template hash covers
 * the digest and the name zero-padded to 256 bytes (the kernel's fixed-size legacy fields).
 *
 * Facts from the kernel's `security/integrity/ima/ima_template*.c` (field ids, templates,
 * ascii rendering: `d-ng` prints `alg:hex`, `n-ng` prints the name without its NUL, binary
 * fields print as hex, an empty field prints nothing after its separating space).
 *
 * @module
 */
import { ParseError, type FormatId } from '../../errors.js';
import { fromHex, toHex } from '../../bytes/hex.js';
import { ByteReader } from '../../bytes/reader.js';

/** Template name length limit (the kernel's IMA_TEMPLATE_NAME_LEN_MAX + slack for formats). */
export const IMA_TEMPLATE_NAME_MAX = 255;
/** The legacy `ima` template's name field is padded to this many bytes for hashing. */
export const IMA_LEGACY_NAME_PADDED = 256;
/** Longest legacy `ima` event name (IMA_EVENT_NAME_LEN_MAX). */
export const IMA_LEGACY_NAME_MAX = 255;
/** Size of the legacy `d` field (a SHA-1 or zero-padded MD5 digest). */
export const IMA_LEGACY_DIGEST_SIZE = 20;

/** The templates the kernel defines, by name, as their field lists. */
export const IMA_TEMPLATES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  ima: ['d', 'n'],
  'ima-ng': ['d-ng', 'n-ng'],
  'ima-ngv2': ['d-ngv2', 'n-ng'],
  'ima-sig': ['d-ng', 'n-ng', 'sig'],
  'ima-sigv2': ['d-ngv2', 'n-ng', 'sig'],
  'ima-buf': ['d-ng', 'n-ng', 'buf'],
  'ima-modsig': ['d-ng', 'n-ng', 'sig', 'd-modsig', 'modsig'],
  'evm-sig': [
    'd-ng',
    'n-ng',
    'evmsig',
    'xattrnames',
    'xattrlengths',
    'xattrvalues',
    'iuid',
    'igid',
    'imode',
  ],
});

/** How a field's bytes are interpreted. */
export const IMA_FIELD_KINDS = {
  /** `d`: a raw 20-byte digest. */
  legacyDigest: 'legacy-digest',
  /** `d-ng`, `d-ngv2`, `d-modsig`: `[type:]alg:` NUL digest. */
  digest: 'digest',
  /** `n`, `n-ng`: a name (`n-ng` ends with a NUL). */
  name: 'name',
  /** `iuid`, `igid`, `imode`: a small integer. */
  uint: 'uint',
  /** everything else: bytes, printed as hex. */
  bytes: 'bytes',
} as const;

/** One of {@link IMA_FIELD_KINDS}. */
export type ImaFieldKind = (typeof IMA_FIELD_KINDS)[keyof typeof IMA_FIELD_KINDS];

/** The kind of a field id. */
export function imaFieldKind(id: string): ImaFieldKind {
  switch (id) {
    case 'd':
      return 'legacy-digest';
    case 'd-ng':
    case 'd-ngv2':
    case 'd-modsig':
      return 'digest';
    case 'n':
    case 'n-ng':
      return 'name';
    case 'iuid':
    case 'igid':
    case 'imode':
      return 'uint';
    default:
      return 'bytes';
  }
}

/**
 * The field list of a template name: a kernel template, or a custom format string
 * (`d-ng|n-ng|sig`, as logged when `ima_template_fmt=` has no name). Undefined when unknown.
 */
export function imaTemplateFields(name: string): readonly string[] | undefined {
  const known = IMA_TEMPLATES[name];
  if (known !== undefined) return known;
  if (name.includes('|')) return name.split('|');
  return undefined;
}

/** One field of an entry's template data. */
export interface ImaField {
  readonly id: string;
  readonly data: Uint8Array;
}

/** One IMA measurement list entry, as logged (binary or ascii). */
export interface ImaEntry {
  /** Record number, 0-based. */
  readonly index: number;
  /** Absolute byte offset of the record (binary) or 1-based line number (ascii). */
  readonly offset: number;
  /** The PCR (or, on some TDX kernels, RTMR) index the entry was extended into. */
  readonly pcr: number;
  /** The template hash as logged, in the list's bank (all zeros for a violation). */
  readonly templateHash: Uint8Array;
  readonly templateName: string;
  /**
   * Template data as stored in the binary list (for `ima`: digest ‖ u32 length ‖ name; else the
   * length-prefixed fields).
   */
  readonly templateData: Uint8Array;
  /** Byte order of the u32 lengths inside `templateData`. */
  readonly littleEndian: boolean;
}

/** True when every byte is zero (a violation's logged template hash). */
export function isAllZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** True when the entry records a measurement violation (all-zero template hash). */
export function isImaViolation(e: ImaEntry): boolean {
  return isAllZero(e.templateHash);
}

/**
 * The bytes the template hash covers: the template data, except for the legacy `ima` template
 * (digest ‖ name zero-padded to 256 bytes).
 */
export function imaTemplateHashInput(e: ImaEntry): Uint8Array {
  if (e.templateName !== 'ima') return e.templateData;
  const d = e.templateData;
  const out = new Uint8Array(IMA_LEGACY_DIGEST_SIZE + IMA_LEGACY_NAME_PADDED);
  out.set(d.subarray(0, IMA_LEGACY_DIGEST_SIZE), 0);
  out.set(d.subarray(IMA_LEGACY_DIGEST_SIZE + 4), IMA_LEGACY_DIGEST_SIZE);
  return out;
}

/**
 * Splits an entry's template data into its fields. Unknown templates give fields named
 * `field0`, `field1` … (still length-prefixed).
 * @throws ParseError when the template data does not hold the template's fields exactly
 */
export function decodeImaFields(e: ImaEntry, format: FormatId = 'ima-binary'): ImaField[] {
  const r = new ByteReader(e.templateData, { format, record: e.index });
  if (e.templateName === 'ima') {
    const d = r.bytes(IMA_LEGACY_DIGEST_SIZE, 'template_data.d');
    const n = e.littleEndian
      ? r.u32le('template_data.n.length')
      : r.u32be('template_data.n.length');
    r.checkLength(n, 'template_data.n', IMA_LEGACY_NAME_MAX);
    const name = r.bytes(n, 'template_data.n');
    r.expectEnd('template_data');
    return [
      { id: 'd', data: d },
      { id: 'n', data: name },
    ];
  }
  const ids = imaTemplateFields(e.templateName);
  const out: ImaField[] = [];
  let i = 0;
  while (ids === undefined ? r.remaining > 0 : i < ids.length) {
    const id = ids === undefined ? `field${i}` : ids[i]!;
    const len = e.littleEndian
      ? r.u32le(`template_data.${id}.length`)
      : r.u32be(`template_data.${id}.length`);
    r.checkLength(len, `template_data.${id}`);
    out.push({ id, data: r.bytes(len, `template_data.${id}`) });
    i++;
  }
  r.expectEnd('template_data');
  return out;
}

/** A digest field split into its parts. */
export interface ImaDigestField {
  /** `ima` or `verity` for `d-ngv2`, else undefined. */
  readonly type?: string;
  /** Algorithm name as logged (`sha256`, `sm3`, `md5` …), undefined when not prefixed. */
  readonly alg?: string;
  readonly digest: Uint8Array;
}

/** Splits `[type:]alg:` NUL digest. A field without a NUL-terminated prefix is a bare digest. */
export function splitDigestField(data: Uint8Array): ImaDigestField {
  const nul = data.indexOf(0);
  // A prefix is short ASCII ending in ':' right before the NUL.
  if (nul > 0 && nul <= 32 && data[nul - 1] === 0x3a) {
    let ok = true;
    for (let i = 0; i < nul; i++) {
      const c = data[i]!;
      if (c < 0x21 || c > 0x7e) ok = false;
    }
    if (ok) {
      // printable ASCII, checked above: one char per byte
      let prefix = '';
      for (let i = 0; i < nul - 1; i++) prefix += String.fromCharCode(data[i]!);
      const parts = prefix.split(':');
      const alg = parts.pop()!;
      const digest = data.subarray(nul + 1);
      return parts.length > 0 ? { type: parts.join(':'), alg, digest } : { alg, digest };
    }
  }
  return { digest: data };
}

const latin = new TextDecoder('utf-8');

/** A name field as text (the trailing NUL of `n-ng` removed). */
export function nameFieldText(id: string, data: Uint8Array): string {
  const end =
    id === 'n-ng' && data.length > 0 && data[data.length - 1] === 0 ? data.length - 1 : data.length;
  return latin.decode(data.subarray(0, end));
}

/** How a field prints in `ascii_runtime_measurements`. */
export function imaFieldAscii(f: ImaField, littleEndian = true): string {
  switch (imaFieldKind(f.id)) {
    case 'legacy-digest':
      return toHex(f.data);
    case 'digest': {
      const d = splitDigestField(f.data);
      const prefix = [d.type, d.alg].filter((s) => s !== undefined).join(':');
      return prefix === '' ? toHex(d.digest) : `${prefix}:${toHex(d.digest)}`;
    }
    case 'name':
      return nameFieldText(f.id, f.data);
    case 'uint': {
      const v = new DataView(f.data.buffer, f.data.byteOffset, f.data.byteLength);
      if (f.data.length === 2) return String(v.getUint16(0, littleEndian));
      if (f.data.length === 4) return String(v.getUint32(0, littleEndian));
      return toHex(f.data);
    }
    case 'bytes':
      return toHex(f.data);
  }
}

/**
 * The bytes of a field from its ascii rendering (the inverse of {@link imaFieldAscii}).
 * `uint` fields are refused: their stored width is not in the ascii list.
 */
export function imaFieldFromAscii(id: string, text: string, line: number): Uint8Array {
  const bad = (expected: string): ParseError =>
    new ParseError({
      code: 'ERR_BAD_VALUE',
      format: 'ima-ascii',
      offset: line,
      unit: 'line',
      field: id,
      expected,
      actual: JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text),
    });
  const hex = (s: string): Uint8Array => {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw bad('hex');
    return fromHex(s);
  };
  switch (imaFieldKind(id)) {
    case 'legacy-digest':
      return hex(text);
    case 'digest': {
      const k = text.lastIndexOf(':');
      if (k < 0) return hex(text);
      const prefix = new TextEncoder().encode(text.slice(0, k + 1));
      const digest = hex(text.slice(k + 1));
      const out = new Uint8Array(prefix.length + 1 + digest.length);
      out.set(prefix, 0);
      out.set(digest, prefix.length + 1);
      return out;
    }
    case 'name': {
      const b = new TextEncoder().encode(text);
      if (id !== 'n-ng') return b;
      const out = new Uint8Array(b.length + 1);
      out.set(b, 0);
      return out;
    }
    case 'uint':
      throw new ParseError({
        code: 'ERR_LOSSY_CONVERSION',
        format: 'ima-ascii',
        offset: line,
        unit: 'line',
        field: id,
        expected: 'a field whose stored width the ascii list records',
      });
    case 'bytes':
      return hex(text);
  }
}

/** Template data from fields (little-endian lengths, or the legacy `ima` layout). */
export function encodeImaTemplateData(
  templateName: string,
  fields: readonly ImaField[],
  littleEndian = true,
): Uint8Array {
  if (templateName === 'ima') {
    const d = fields[0]?.data ?? new Uint8Array(IMA_LEGACY_DIGEST_SIZE);
    const n = fields[1]?.data ?? new Uint8Array(0);
    const out = new Uint8Array(IMA_LEGACY_DIGEST_SIZE + 4 + n.length);
    out.set(d.subarray(0, IMA_LEGACY_DIGEST_SIZE), 0);
    new DataView(out.buffer).setUint32(IMA_LEGACY_DIGEST_SIZE, n.length, littleEndian);
    out.set(n, IMA_LEGACY_DIGEST_SIZE + 4);
    return out;
  }
  let size = 0;
  for (const f of fields) size += 4 + f.data.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let p = 0;
  for (const f of fields) {
    v.setUint32(p, f.data.length, littleEndian);
    out.set(f.data, p + 4);
    p += 4 + f.data.length;
  }
  return out;
}

/** The decoded, JSON-ready view of an entry's fields (hex for bytes). */
export function imaEntryDetails(
  e: ImaEntry,
  format: FormatId = 'ima-binary',
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of decodeImaFields(e, format)) {
    switch (f.id) {
      case 'd':
        out['file_digest'] = toHex(f.data);
        break;
      case 'd-ng':
      case 'd-ngv2': {
        const d = splitDigestField(f.data);
        out['file_digest'] = toHex(d.digest);
        if (d.alg !== undefined) out['file_digest_alg'] = d.alg;
        if (d.type !== undefined) out['digest_type'] = d.type;
        break;
      }
      case 'n':
      case 'n-ng':
        out['file_name'] = nameFieldText(f.id, f.data);
        break;
      case 'sig':
        if (f.data.length > 0) out['signature'] = toHex(f.data);
        break;
      case 'd-modsig': {
        const d = splitDigestField(f.data);
        if (d.digest.length > 0) out['modsig_digest'] = imaFieldAscii(f, e.littleEndian);
        break;
      }
      default:
        out[f.id.replace(/-/g, '_')] = imaFieldAscii(f, e.littleEndian);
    }
  }
  return out;
}
