/**
 * IMA `ascii_runtime_measurements` (and the per-bank `…_<alg>` lists): read and write.
 *
 * One entry per LF-terminated line: `PCR TEMPLATE-HASH TEMPLATE-NAME FIELD…`, each field
 * preceded by one space and printed as the kernel does (see `imaFieldAscii`). File names may
 * contain spaces, so the fields before the name are split from the left and those after it
 * from the right. The entries read here carry template data rebuilt in the binary layout
 * (little-endian), so the template hash can be recomputed and the list converted losslessly.
 *
 * @module
 */
import { ParseError } from '../../errors.js';
import { fromHex, toHex } from '../../bytes/hex.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import { LineSplitter, decodeLine, type Line } from '../stream/lines.js';
import type { HashAlg } from '../../crypto/hash_alg.js';
import {
  decodeImaFields,
  encodeImaTemplateData,
  imaFieldAscii,
  imaFieldFromAscii,
  imaFieldKind,
  imaTemplateFields,
  type ImaEntry,
  type ImaField,
} from './ima_template.js';

/** Options for reading an ascii list. */
export interface ImaAsciiOptions {
  readonly limits?: Partial<Limits>;
}

/** The bank a template-hash column of this many hex digits can be (sha256 and sm3 share 64). */
export function banksForHashHex(len: number): readonly HashAlg[] {
  switch (len) {
    case 40:
      return ['sha1'];
    case 64:
      return ['sha256', 'sm3'];
    case 96:
      return ['sha384'];
    case 128:
      return ['sha512'];
    default:
      return [];
  }
}

function lineError(
  line: number,
  field: string,
  expected: string,
  actual: string,
  code: 'ERR_BAD_VALUE' | 'ERR_BAD_HEX' | 'ERR_UNSUPPORTED_VERSION' = 'ERR_BAD_VALUE',
): ParseError {
  return new ParseError({
    code,
    format: 'ima-ascii',
    offset: line,
    unit: 'line',
    record: line - 1,
    field,
    expected,
    actual: JSON.stringify(actual.length > 80 ? `${actual.slice(0, 80)}…` : actual),
  });
}

/**
 * Parses one line (without its LF). `lineNo` is 1-based and names the line in errors.
 * @throws ParseError
 */
export function parseImaAsciiLine(
  line: string,
  lineNo: number,
  index: number = lineNo - 1,
): ImaEntry {
  // The kernel prints the PCR as `%2d`: one-digit registers get a leading space.
  const text = line.startsWith(' ') ? line.slice(1) : line;
  const s1 = text.indexOf(' ');
  const s2 = s1 < 0 ? -1 : text.indexOf(' ', s1 + 1);
  const s3 = s2 < 0 ? -1 : text.indexOf(' ', s2 + 1);
  if (s1 < 0 || s2 < 0) {
    throw lineError(lineNo, 'line', 'PCR TEMPLATE-HASH TEMPLATE-NAME FIELDS…', text);
  }
  const pcrText = text.slice(0, s1);
  if (!/^[0-9]{1,10}$/.test(pcrText) || Number(pcrText) > 0xffffffff) {
    throw lineError(lineNo, 'pcr', 'a decimal register index', pcrText);
  }
  const hashText = text.slice(s1 + 1, s2);
  if (banksForHashHex(hashText.length).length === 0 || !/^[0-9a-fA-F]+$/.test(hashText)) {
    throw lineError(
      lineNo,
      'template_hash',
      '40, 64, 96 or 128 hex digits',
      hashText,
      'ERR_BAD_HEX',
    );
  }
  const templateName = s3 < 0 ? text.slice(s2 + 1) : text.slice(s2 + 1, s3);
  const rest = s3 < 0 ? undefined : text.slice(s3 + 1);
  const ids = imaTemplateFields(templateName);
  if (ids === undefined) {
    throw lineError(
      lineNo,
      'template_name',
      'a known IMA template or a field list',
      templateName,
      'ERR_UNSUPPORTED_VERSION',
    );
  }
  if (rest === undefined) {
    throw lineError(lineNo, 'template_data', `${ids.length} fields`, text);
  }
  const nameAt = ids.findIndex((id) => imaFieldKind(id) === 'name');
  const texts = splitFields(rest, ids.length, nameAt < 0 ? ids.length - 1 : nameAt);
  if (texts === undefined) {
    throw lineError(lineNo, 'template_data', `${ids.length} space-separated fields`, rest);
  }
  const fields: ImaField[] = ids.map((id, i) => ({
    id,
    data: texts[i] === '' ? new Uint8Array(0) : imaFieldFromAscii(id, texts[i]!, lineNo),
  }));
  if (templateName === 'ima' && fields[0]!.data.length !== 20) {
    throw lineError(lineNo, 'template_data.d', '40 hex digits', texts[0]!);
  }
  return {
    index,
    offset: lineNo,
    pcr: Number(pcrText),
    templateHash: fromHex(hashText),
    templateName,
    templateData: encodeImaTemplateData(templateName, fields, true),
    littleEndian: true,
  };
}

/** Splits `n` fields; the one at `free` takes whatever the others leave (it may hold spaces). */
function splitFields(rest: string, n: number, free: number): string[] | undefined {
  const out: string[] = new Array<string>(n);
  let start = 0;
  for (let i = 0; i < free; i++) {
    const sp = rest.indexOf(' ', start);
    if (sp < 0) return undefined;
    out[i] = rest.slice(start, sp);
    start = sp + 1;
  }
  let end = rest.length;
  for (let i = n - 1; i > free; i--) {
    const sp = rest.lastIndexOf(' ', end - 1);
    if (sp < start - 1 || sp < 0) return undefined;
    out[i] = rest.slice(sp + 1, end);
    end = sp;
  }
  if (end < start) return undefined;
  out[free] = rest.slice(start, end);
  return out;
}

/**
 * Parses a whole ascii list. Empty input is an empty list; a final line without LF is
 * accepted (the kernel always writes one, but copies often lose it).
 */
export function parseImaAscii(input: string | Uint8Array, opts: ImaAsciiOptions = {}): ImaEntry[] {
  const out: ImaEntry[] = [];
  const rd = new ImaAsciiReader(opts);
  out.push(...rd.push(input));
  out.push(...rd.end());
  return out;
}

/** Incremental line reader (constant memory: one line at most `maxLineLength` bytes). */
export class ImaAsciiReader {
  readonly #lines: LineSplitter;

  constructor(opts: ImaAsciiOptions = {}) {
    const max = opts.limits?.maxLineLength ?? DEFAULT_LIMITS.maxLineLength;
    this.#lines = new LineSplitter(
      max,
      (line, actual) =>
        new ParseError({
          code: 'ERR_LENGTH_LIMIT',
          format: 'ima-ascii',
          offset: line,
          unit: 'line',
          field: 'line',
          expected: `<= ${max} bytes`,
          actual,
        }),
    );
  }

  /** Adds text or bytes and returns the entries of every complete line. */
  push(chunk: string | Uint8Array): ImaEntry[] {
    const out: ImaEntry[] = [];
    const bytes = typeof chunk === 'string' ? textEncoder.encode(chunk) : chunk;
    this.#lines.push(bytes, (l) => out.push(parseLine(l)));
    return out;
  }

  /** Ends the input; a last line without LF is parsed. */
  end(): ImaEntry[] {
    const l = this.#lines.end();
    return l === undefined ? [] : [parseLine(l)];
  }
}

const textEncoder = new TextEncoder();

function parseLine(l: Line): ImaEntry {
  const text = decodeLine(l, 'ima-ascii', l.line - 1);
  return parseImaAsciiLine(text.endsWith('\r') ? text.slice(0, -1) : text, l.line);
}

/** Reads entries from a stream of chunks. */
export async function* readImaAsciiStream(
  chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  opts: ImaAsciiOptions = {},
): AsyncGenerator<ImaEntry, void, undefined> {
  const rd = new ImaAsciiReader(opts);
  for await (const c of chunks) yield* rd.push(c);
  yield* rd.end();
}

/** One entry as an ascii line, without the LF. */
export function formatImaAsciiLine(e: ImaEntry): string {
  let s = `${String(e.pcr).padStart(2, ' ')} ${toHex(e.templateHash)} ${e.templateName}`;
  for (const f of decodeImaFields(e))
    s += ` ${f.data.length === 0 ? '' : imaFieldAscii(f, e.littleEndian)}`;
  return s;
}

/** A whole list as ascii text (LF after every line, as the kernel writes). */
export function encodeImaAscii(entries: Iterable<ImaEntry>): string {
  let s = '';
  for (const e of entries) s += `${formatImaAsciiLine(e)}\n`;
  return s;
}
