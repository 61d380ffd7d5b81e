/**
 * Decodes TCG PC Client event data for display (PC Client PFP 1.05 §10.4 and UEFI 2.10 §38):
 * EFI variables (`UEFI_VARIABLE_DATA`), image loads (`UEFI_IMAGE_LOAD_EVENT`) with device paths
 * as text, firmware blobs, handoff tables, S-CRTM versions, separators, action strings, GRUB
 * command lines (EV_IPL), the Spec ID header, StartupLocality, SP800-155 and tagged events (with
 * CoCo AAEL text).
 *
 * Display only: nothing here is trusted (the event type is outside the digest) and nothing
 * throws; malformed data yields `decode_error`.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { toHex } from '../../bytes/hex.js';
import { hashAlgFromId } from '../../crypto/hash_alg.js';
import { isMrstackError } from '../../errors.js';
import { devicePathToText } from './device_path.js';
import { EventType } from './event_types.js';
import { formatGuid, KNOWN_GUIDS } from './guid.js';
import { isSpecIdEvent03, parseSpecIdEvent } from './spec_id_event.js';

/** The tagged-event ID of CoCo AAEL v2 records: 'AAEL' as a little-endian u32 (reads "LEAA"). */
export const AAEL_TAGGED_EVENT_ID = 0x4141454c;

const utf8 = new TextDecoder('utf-8', { fatal: false });

function utf16(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const c = b[i]! | (b[i + 1]! << 8);
    if (c === 0 && i + 2 >= b.length) break;
    s += String.fromCharCode(c);
  }
  return s;
}

function printable(b: Uint8Array): boolean {
  for (const x of b)
    if (x !== 0 && x !== 9 && x !== 10 && x !== 13 && (x < 0x20 || x > 0x7e)) return false;
  return true;
}

/** ASCII/UTF-8 text with one trailing NUL removed. */
function text(b: Uint8Array): string {
  const end = b.length > 0 && b[b.length - 1] === 0 ? b.length - 1 : b.length;
  return utf8.decode(b.subarray(0, end));
}

function guidText(b: Uint8Array): string {
  return formatGuid(b);
}

function variableData(data: Uint8Array): Record<string, unknown> {
  const r = new ByteReader(data, { format: 'tcg2' });
  const guid = guidText(r.bytes(16, 'variableName'));
  const nameLen = Number(r.u64le('unicodeNameLength'));
  const dataLen = Number(r.u64le('variableDataLength'));
  r.checkLength(nameLen, 'unicodeName', undefined, 2);
  const name = utf16(r.bytes(nameLen * 2, 'unicodeName'));
  const vdata = r.bytes(Math.min(dataLen, r.remaining), 'variableData');
  const out: Record<string, unknown> = {
    variable_name: guid,
    ...(KNOWN_GUIDS.has(guid) ? { variable_guid_name: KNOWN_GUIDS.get(guid) } : {}),
    unicode_name: name,
    variable_data_length: dataLen,
  };
  if (name === 'BootOrder' && vdata.length % 2 === 0) {
    const order: string[] = [];
    for (let i = 0; i < vdata.length; i += 2) {
      order.push(
        `Boot${(vdata[i]! | (vdata[i + 1]! << 8)).toString(16).toUpperCase().padStart(4, '0')}`,
      );
    }
    out['boot_order'] = order;
  } else if (/^Boot[0-9A-Fa-f]{4}$/.test(name) && vdata.length >= 6) {
    const lr = new ByteReader(vdata, { format: 'tcg2' });
    const attributes = lr.u32le('attributes');
    const fplen = lr.u16le('filePathListLength');
    let desc = '';
    while (lr.remaining >= 2) {
      const c = lr.u16le('description');
      if (c === 0) break;
      desc += String.fromCharCode(c);
    }
    const fp = lr.bytes(Math.min(fplen, lr.remaining), 'filePathList');
    out['load_option'] = {
      attributes,
      description: desc,
      device_path: devicePathToText(fp),
      optional_data: lr.rest(),
    };
  } else if (
    (name === 'SecureBoot' || name === 'DeployedMode' || name === 'AuditMode') &&
    vdata.length === 1
  ) {
    out['enabled'] = vdata[0] === 1;
  }
  out['variable_data'] = vdata;
  return out;
}

function imageLoad(data: Uint8Array): Record<string, unknown> {
  const r = new ByteReader(data, { format: 'tcg2' });
  const loc = r.u64le('imageLocationInMemory');
  const len = r.u64le('imageLengthInMemory');
  const link = r.u64le('imageLinkTimeAddress');
  const dpLen = Number(r.u64le('lengthOfDevicePath'));
  const dp = r.bytes(Math.min(dpLen, r.remaining), 'devicePath');
  return {
    image_location_in_memory: loc,
    image_length_in_memory: len,
    image_link_time_address: link,
    device_path: devicePathToText(dp),
  };
}

function noAction(data: Uint8Array): Record<string, unknown> {
  if (isSpecIdEvent03(data)) {
    const r = new ByteReader(data, { format: 'tcg2' });
    const { event, vendorInfoSize } = parseSpecIdEvent(r, 64);
    return {
      signature: 'Spec ID Event03',
      platform_class: event.platformClass,
      spec_version: `${event.specVersionMajor}.${event.specVersionMinor}`,
      spec_errata: event.specErrata,
      uintn_size: event.uintnSize,
      algorithms: event.algorithms.map((a) => ({
        algorithm_id: a.algId,
        algorithm: a.alg ?? null,
        digest_size: a.digestSize,
      })),
      vendor_info_size: vendorInfoSize,
      vendor_info: event.vendorInfo,
    };
  }
  const sig = text(data.subarray(0, 16)).replace(/\0+$/, '');
  if (sig === 'StartupLocality' && data.length === 17) {
    return { signature: sig, startup_locality: data[16] };
  }
  if (sig.startsWith('SP800-155 Event')) {
    return { signature: sig };
  }
  if (sig.startsWith('Spec ID Event')) return { signature: sig };
  return {};
}

function tagged(data: Uint8Array): Record<string, unknown> {
  const r = new ByteReader(data, { format: 'tcg2' });
  const id = r.u32le('taggedEventID');
  const size = r.u32le('taggedEventDataSize');
  const body = r.bytes(Math.min(size, r.remaining), 'taggedEventData');
  const out: Record<string, unknown> = { tagged_event_id: id, tagged_event_data_size: size };
  if (id === AAEL_TAGGED_EVENT_ID) {
    out['aael'] = text(body);
  } else {
    out['tagged_event_data'] = body;
  }
  return out;
}

function decode(type: number, data: Uint8Array, header: boolean): Record<string, unknown> {
  if (header) return noAction(data);
  switch (type) {
    case EventType.EV_NO_ACTION:
      return noAction(data);
    case EventType.EV_SEPARATOR: {
      const out: Record<string, unknown> = { separator: data };
      if (data.length === 4)
        out['value'] = data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! * 0x1000000);
      else if (printable(data)) out['text'] = text(data);
      return out;
    }
    case EventType.EV_S_CRTM_VERSION:
      if (data.length === 16 && !printable(data)) return { version_guid: guidText(data) };
      return { version: data.length % 2 === 0 && data[1] === 0 ? utf16(data) : text(data) };
    case EventType.EV_ACTION:
    case EventType.EV_EFI_ACTION:
    case EventType.EV_EFI_HCRTM_EVENT:
    case EventType.EV_COMPACT_HASH:
    case EventType.EV_OMIT_BOOT_DEVICE_EVENTS:
      return printable(data) ? { string: text(data) } : {};
    case EventType.EV_IPL:
      // GRUB logs `grub_cmd: …`, `kernel_cmdline: …`, `module_cmdline: …` here; systemd-boot
      // logs UTF-16 command lines.
      if (printable(data)) return { string: text(data) };
      if (data.length >= 2 && data[1] === 0) return { string: utf16(data) };
      return {};
    case EventType.EV_POST_CODE:
      if (data.length === 16) {
        const r = new ByteReader(data, { format: 'tcg2' });
        return { blob_base: r.u64le('base'), blob_length: r.u64le('length') };
      }
      return printable(data) ? { string: text(data) } : {};
    case EventType.EV_EFI_VARIABLE_DRIVER_CONFIG:
    case EventType.EV_EFI_VARIABLE_BOOT:
    case EventType.EV_EFI_VARIABLE_BOOT2:
    case EventType.EV_EFI_VARIABLE_AUTHORITY:
      return variableData(data);
    case EventType.EV_EFI_BOOT_SERVICES_APPLICATION:
    case EventType.EV_EFI_BOOT_SERVICES_DRIVER:
    case EventType.EV_EFI_RUNTIME_SERVICES_DRIVER:
      return imageLoad(data);
    case EventType.EV_EFI_PLATFORM_FIRMWARE_BLOB: {
      const r = new ByteReader(data, { format: 'tcg2' });
      return { blob_base: r.u64le('base'), blob_length: r.u64le('length') };
    }
    case EventType.EV_EFI_PLATFORM_FIRMWARE_BLOB2: {
      const r = new ByteReader(data, { format: 'tcg2' });
      const n = r.u8('blobDescriptionSize');
      const desc = text(r.bytes(n, 'blobDescription'));
      return { blob_description: desc, blob_base: r.u64le('base'), blob_length: r.u64le('length') };
    }
    case EventType.EV_EFI_HANDOFF_TABLES: {
      const r = new ByteReader(data, { format: 'tcg2' });
      const n = Number(r.u64le('numberOfTables'));
      r.checkLength(n, 'tableEntry', undefined, 24);
      const tables: Record<string, unknown>[] = [];
      for (let i = 0; i < n; i++) {
        const g = guidText(r.bytes(16, 'vendorGuid'));
        tables.push({
          vendor_guid: g,
          ...(KNOWN_GUIDS.has(g) ? { name: KNOWN_GUIDS.get(g) } : {}),
          vendor_table: r.u64le('vendorTable'),
        });
      }
      return { tables };
    }
    case EventType.EV_EFI_HANDOFF_TABLES2: {
      const r = new ByteReader(data, { format: 'tcg2' });
      const n = r.u8('tableDescriptionSize');
      return { table_description: text(r.bytes(n, 'tableDescription')) };
    }
    case EventType.EV_EVENT_TAG:
      return tagged(data);
    default:
      return {};
  }
}

/**
 * Decoded fields of an event's data, for `log parse` (bytes stay Uint8Array; the CLI prints
 * hex). Never throws.
 */
export function describeTcgEventData(
  type: number,
  data: Uint8Array,
  header = false,
): Record<string, unknown> {
  try {
    return decode(type, data, header);
  } catch (e) {
    return { decode_error: isMrstackError(e) ? e.message : String(e) };
  }
}

/** The algorithm name for a TPM_ALG_ID, or its hex. */
export function algorithmName(id: number): string {
  return hashAlgFromId(id) ?? `0x${id.toString(16).padStart(4, '0')}`;
}

/** Hex of bytes (re-exported for display helpers). */
export function dataHex(b: Uint8Array): string {
  return toHex(b);
}
