/**
 * What appraisal reads of an IMA entry: the file path (or buffer name), the file digest with its
 * algorithm, and the `ima-sig` signature and `ima-buf` buffer when the template carries them.
 * One decoding, used by the IMA rules for a list given beside evidence and by the `mr_ima` layer
 * of an ima bundle.
 *
 * @module
 */
import type { FormatId } from '../../errors.js';
import { toHex } from '../../bytes/hex.js';
import { decodeImaFields, nameFieldText, splitDigestField, type ImaEntry } from './ima_template.js';
import type { ImaRecordView } from './ima_binary.js';

/** The fields of an entry that IMA rules judge. */
export interface ImaFileFields {
  /** The file path (`n-ng`/`n`), or the buffer's name for `ima-buf`. */
  readonly path: string;
  /** The file digest's algorithm (`sha256` …), as the `d-ng` field names it. */
  readonly digestAlg: string;
  /** The file digest (hex, lower case). */
  readonly digest: string;
  /** `ima-sig`: the signature field, when not empty. */
  readonly signature?: Uint8Array;
  /** `ima-buf`: the buffer. */
  readonly buf?: Uint8Array;
}

/**
 * Splits an entry's template data into the fields IMA rules read.
 * @throws ParseError for template data whose field lengths do not fit
 */
export function imaFileFields(e: ImaEntry, format: FormatId = 'ima-binary'): ImaFileFields {
  return fastFields(e.templateName, e.templateData, e.littleEndian) ?? decodedFields(e, format);
}

/**
 * {@link imaFileFields} of a record read in place (a binary list's {@link ImaRecordView}), with
 * no copy of the record for the common templates.
 * @throws ParseError for template data whose field lengths do not fit
 */
export function imaViewFileFields(v: ImaRecordView): ImaFileFields {
  return fastFields(v.templateName, v.templateData(), v.littleEndian) ?? decodedFields(v.entry());
}

/**
 * Checks that {@link imaViewFileFields} of a record would succeed, without decoding the common
 * templates (a million-entry list is checked as it is folded, its fields decoded when read).
 * @throws ParseError for template data whose field lengths do not fit
 */
export function checkImaViewFields(v: ImaRecordView): void {
  if (!fastLayout(v.templateName, v.bytes, v.dataAt, v.dataLen, v.littleEndian))
    decodedFields(v.entry());
}

/** Where the fields of a plain `ima-ng` record lie in its bytes ({@link imaNgSpans}). */
export interface ImaNgSpans {
  /** The file path: `bytes[pathAt, pathEnd)`, its trailing NUL left out. */
  pathAt: number;
  pathEnd: number;
  /** The file digest: `bytes[digestAt, digestEnd)`. */
  digestAt: number;
  digestEnd: number;
}

/**
 * The path and digest positions of an `ima-ng` record read in place, when its template data is
 * what {@link imaViewFileFields} reads with a known `<alg>:` prefix (the path then decodes to
 * the same text, the digest to the same hex); false for any other record. No allocation: the
 * IMA rules judge a million entries from their bytes this way.
 */
export function imaNgSpans(v: ImaRecordView, out: ImaNgSpans): boolean {
  if (v.templateName !== 'ima-ng') return false;
  const d = v.bytes;
  const at = v.dataAt;
  const len = v.dataLen;
  const le = v.littleEndian;
  if (len < 4) return false;
  const n1 = u32(d, at, le);
  if (n1 > len - 4) return false;
  const e1 = 4 + n1;
  if (e1 + 4 > len) return false;
  const n2 = u32(d, at + e1, le);
  if (n2 !== len - e1 - 4) return false;
  const known = knownPrefix(d, at + 4, at + e1);
  if (known === undefined) return false;
  const e2 = at + len;
  out.pathAt = at + e1 + 4;
  out.pathEnd = n2 > 0 && d[e2 - 1] === 0 ? e2 - 1 : e2;
  out.digestAt = at + 4 + known.length;
  out.digestEnd = at + e1;
  return true;
}

const FAST: Readonly<Record<string, string | undefined>> = {
  'ima-ng': undefined,
  'ima-sig': 'sig',
  'ima-buf': 'buf',
};
const utf8 = new TextDecoder('utf-8');

/**
 * `ima-ng`, `ima-sig` and `ima-buf` read straight from their length-prefixed fields (a list is
 * almost only these, a million entries at a time); undefined when a length does not fit, so the
 * general decoder reports it. Positions, not views, until the values are made: no closure or
 * subarray per field, and the common `<alg>:` prefixes are known strings.
 */
function fastFields(name: string, d: Uint8Array, le: boolean): ImaFileFields | undefined {
  if (!Object.hasOwn(FAST, name)) return undefined;
  const third = FAST[name];
  const len = d.length;
  if (len < 4) return undefined;
  const n1 = u32(d, 0, le);
  if (n1 > len - 4) return undefined;
  const e1 = 4 + n1;
  if (e1 + 4 > len) return undefined;
  const n2 = u32(d, e1, le);
  if (n2 > len - e1 - 4) return undefined;
  const a2 = e1 + 4;
  const e2 = a2 + n2;
  let a3 = e2;
  let e3 = e2;
  if (third !== undefined) {
    if (e2 + 4 > len) return undefined;
    const n3 = u32(d, e2, le);
    if (n3 > len - e2 - 4) return undefined;
    a3 = e2 + 4;
    e3 = a3 + n3;
  }
  if (e3 !== len) return undefined;
  // d-ng: `<alg>:\0<digest>` for the common algorithms, else the general split
  let digestAlg: string;
  let at: number;
  const known = knownPrefix(d, 4, e1);
  if (known !== undefined) {
    digestAlg = known.alg;
    at = 4 + known.length;
  } else {
    const dg = splitDigestField(d.subarray(4, e1));
    digestAlg = dg.alg ?? (dg.digest.length === 20 ? 'sha1' : 'md5');
    at = e1 - dg.digest.length;
  }
  const end = n2 > 0 && d[e2 - 1] === 0 ? e2 - 1 : e2;
  const path = utf8.decode(d.subarray(a2, end));
  const digest = hexOf(d, at, e1);
  if (third === 'sig' && e3 > a3) return { path, digestAlg, digest, signature: d.subarray(a3, e3) };
  if (third === 'buf') return { path, digestAlg, digest, buf: d.subarray(a3, e3) };
  return { path, digestAlg, digest };
}

/** `d-ng` prefixes met in practice, as bytes with their algorithm's name. */
const KNOWN_PREFIXES: readonly {
  readonly bytes: Uint8Array;
  readonly alg: string;
  readonly length: number;
}[] = ['sha256', 'sha1', 'sha384', 'sha512', 'sm3', 'md5'].map((alg) => {
  const bytes = new TextEncoder().encode(`${alg}:\0`);
  return { bytes, alg, length: bytes.length };
});

/** The known prefix `d` starts with at `at` (the NUL included), if any. */
function knownPrefix(
  d: Uint8Array,
  at: number,
  end: number,
): { readonly alg: string; readonly length: number } | undefined {
  for (const k of KNOWN_PREFIXES) {
    const b = k.bytes;
    if (end - at < b.length) continue;
    let i = 0;
    while (i < b.length && d[at + i] === b[i]) i++;
    if (i === b.length) return k;
  }
  return undefined;
}

/** Buffer's hex writer, called on any Uint8Array (no Buffer object per digest). */
type HexSlice = (this: Uint8Array, from: number, to: number) => string;
const hexSlice = (Buffer.prototype as unknown as { hexSlice: HexSlice }).hexSlice;

function hexOf(d: Uint8Array, from: number, to: number): string {
  return hexSlice.call(d, from, to);
}

/** The u32 at `p`, in the list's byte order. */
function u32(b: Uint8Array, p: number, le: boolean): number {
  return le
    ? (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0
    : ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** Whether {@link fastFields} would read the template data at `at` (no allocation). */
function fastLayout(name: string, b: Uint8Array, at: number, len: number, le: boolean): boolean {
  if (!Object.hasOwn(FAST, name)) return false;
  const end = at + len;
  let p = at;
  for (let i = FAST[name] === undefined ? 2 : 3; i > 0; i--) {
    if (p + 4 > end) return false;
    const n = u32(b, p, le);
    if (n > end - p - 4) return false;
    p += 4 + n;
  }
  return p === end;
}

function decodedFields(e: ImaEntry, format: FormatId = 'ima-binary'): ImaFileFields {
  let path = '';
  let digestAlg = e.templateName === 'ima' ? 'sha1' : '';
  let digest = '';
  let signature: Uint8Array | undefined;
  let buf: Uint8Array | undefined;
  for (const f of decodeImaFields(e, format)) {
    if (f.id === 'd') digest = toHex(f.data);
    else if (f.id === 'd-ng' || f.id === 'd-ngv2') {
      const d = splitDigestField(f.data);
      digest = toHex(d.digest);
      // an unprefixed d-ng digest is SHA-1 (or MD5 zero-padded), as in the legacy template
      digestAlg = d.alg ?? (d.digest.length === 20 ? 'sha1' : 'md5');
    } else if (f.id === 'n' || f.id === 'n-ng') path = nameFieldText(f.id, f.data);
    else if (f.id === 'sig' && f.data.length > 0) signature = f.data;
    else if (f.id === 'buf') buf = f.data;
  }
  return {
    path,
    digestAlg,
    digest,
    ...(signature === undefined ? {} : { signature }),
    ...(buf === undefined ? {} : { buf }),
  };
}
