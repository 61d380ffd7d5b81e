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

const FAST: Readonly<Record<string, string | undefined>> = {
  'ima-ng': undefined,
  'ima-sig': 'sig',
  'ima-buf': 'buf',
};
const utf8 = new TextDecoder('utf-8');

/**
 * `ima-ng`, `ima-sig` and `ima-buf` read straight from their length-prefixed fields (a list is
 * almost only these, a million entries at a time); undefined when a length does not fit, so the
 * general decoder reports it.
 */
function fastFields(name: string, d: Uint8Array, le: boolean): ImaFileFields | undefined {
  if (!Object.hasOwn(FAST, name)) return undefined;
  const third = FAST[name];
  let p = 0;
  const field = (): Uint8Array | undefined => {
    if (p + 4 > d.length) return undefined;
    const n = u32(d, p, le);
    if (n > d.length - p - 4) return undefined;
    const f = d.subarray(p + 4, p + 4 + n);
    p += 4 + n;
    return f;
  };
  const dng = field();
  const nng = field();
  const extra = third === undefined ? new Uint8Array(0) : field();
  if (dng === undefined || nng === undefined || extra === undefined || p !== d.length)
    return undefined;
  const dg = splitDigestField(dng);
  const end = nng.length > 0 && nng[nng.length - 1] === 0 ? nng.length - 1 : nng.length;
  return {
    path: utf8.decode(nng.subarray(0, end)),
    digestAlg: dg.alg ?? (dg.digest.length === 20 ? 'sha1' : 'md5'),
    digest: toHex(dg.digest),
    ...(third === 'sig' && extra.length > 0 ? { signature: extra } : {}),
    ...(third === 'buf' ? { buf: extra } : {}),
  };
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
