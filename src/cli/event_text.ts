/**
 * One line for people of what an event holds, from its decoded fields (`LogFormat.describe`):
 * IMA file names, AAEL domain/operation/content, UEFI variable GUID:name (and a boot entry's
 * description and device path), EFI application device paths, COS TLV content, and strings such
 * as `EV_IPL` command lines without their NUL bytes — what `tpm2_eventlog` shows, on one line.
 *
 * @module
 */
import { COS_EVENT_TYPES } from '../formats/cel/cel_record.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Text of bytes (or hex) when they are printable ASCII (a trailing NUL allowed), else hex. */
export function bytesText(v: Uint8Array | string): string {
  let bytes: Buffer;
  if (typeof v === 'string') {
    if (v.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(v)) return v;
    bytes = Buffer.from(v, 'hex');
  } else bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const hex = bytes.toString('hex');
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes = bytes.subarray(0, -1);
  if (bytes.length === 0) return hex;
  for (const b of bytes) if (b < 0x20 || b > 0x7e) return hex;
  return bytes.toString('latin1');
}

/** A string with its NULs removed and its runs of white space made one blank. */
function clean(s: string): string {
  // A UTF-16LE command line read as bytes shows a NUL after each character: drop them.
  return s.replaceAll('\0', '').replace(/\s+/g, ' ').trim();
}

function variable(d: Readonly<Record<string, unknown>>, name: string): string {
  const guid = str(d['variable_guid_name']) ?? str(d['variable_name']) ?? '?';
  let out = `${guid}:${name}`;
  const opt = d['load_option'];
  if (typeof opt === 'object' && opt !== null) {
    const o = opt as Record<string, unknown>;
    const desc = str(o['description']);
    const path = str(o['device_path']);
    if (desc !== undefined) out += ` "${clean(desc)}"`;
    if (path !== undefined && path !== '') out += ` ${path}`;
  } else if (Array.isArray(d['boot_order'])) {
    out += ` = ${(d['boot_order'] as unknown[]).map(String).join(',')}`;
  } else if (typeof d['enabled'] === 'boolean') {
    out += ` = ${d['enabled'] ? 'enabled' : 'disabled'}`;
  }
  return out;
}

function cosContent(content: unknown): string | undefined {
  if (!Array.isArray(content)) return undefined;
  return content
    .map((c: unknown) => {
      const { type, data } = (c ?? {}) as { type?: unknown; data?: unknown };
      const name = typeof type === 'number' ? (COS_EVENT_TYPES[type] ?? `type ${type}`) : '?';
      return typeof data === 'string' || data instanceof Uint8Array
        ? `${name}=${bytesText(data)}`
        : name;
    })
    .join(' ');
}

/** One line describing an event from its decoded fields; '' when nothing is worth showing. */
export function eventSummary(decoded: Readonly<Record<string, unknown>>): string {
  const d = decoded;
  const file = str(d['file_name']);
  if (file !== undefined) return clean(file);
  const domain = str(d['domain']);
  if (domain !== undefined) {
    return clean([domain, str(d['operation']) ?? '', str(d['content']) ?? ''].join(' '));
  }
  const name = str(d['unicode_name']);
  if (name !== undefined) return variable(d, clean(name));
  const path = str(d['device_path']);
  if (path !== undefined) return path === '' ? '(no device path)' : path;
  if (d['content_type'] === 'cos') return cosContent(d['content']) ?? '';
  for (const k of [
    'string',
    'version',
    'signature',
    'blob_description',
    'table_description',
    'aael',
    'content',
    'line',
  ]) {
    const v = str(d[k]);
    if (v !== undefined) return clean(v);
  }
  const tagged = d['tagged_event_data'];
  if (typeof tagged === 'string' || tagged instanceof Uint8Array) return bytesText(tagged);
  return '';
}
