/**
 * UEFI device paths as text (UEFI 2.10 §10.3 "Device Path Nodes", §10.6 text forms), for
 * display only. Each node: Type (u8), SubType (u8), Length (u16, includes the 4-byte header).
 * Unknown nodes print as `Path(type,subtype,hex)`, as the UEFI text protocol does.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { toHex } from '../../bytes/hex.js';
import type { FormatId } from '../../errors.js';
import { formatGuid } from './guid.js';

function hx(n: number | bigint): string {
  return `0x${n.toString(16).toUpperCase()}`;
}

function utf16z(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const c = b[i]! | (b[i + 1]! << 8);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

function node(type: number, sub: number, r: ByteReader): string {
  const raw = (): string => `Path(${type},${sub},${toHex(r.rest())})`;
  switch (type) {
    case 0x01: // hardware
      if (sub === 0x01 && r.remaining >= 2) {
        const fn = r.u8('function');
        const dev = r.u8('device');
        return `Pci(${hx(dev)},${hx(fn)})`;
      }
      if (sub === 0x03 && r.remaining >= 20) {
        const t = r.u32le('memoryType');
        const start = r.u64le('start');
        const end = r.u64le('end');
        return `MemoryMapped(${hx(t)},${hx(start)},${hx(end)})`;
      }
      if (sub === 0x04 && r.remaining >= 16) {
        const g = formatGuid(r.bytes(16, 'guid'));
        return r.remaining > 0 ? `VenHw(${g},${toHex(r.rest())})` : `VenHw(${g})`;
      }
      return raw();
    case 0x02: // ACPI
      if (sub === 0x01 && r.remaining >= 8) {
        const hid = r.u32le('hid');
        const uid = r.u32le('uid');
        if (hid === 0x0a0341d0) return `PciRoot(${hx(uid)})`;
        if (hid === 0x0a0841d0) return `PcieRoot(${hx(uid)})`;
        return `Acpi(${hx(hid)},${hx(uid)})`;
      }
      return raw();
    case 0x03: // messaging
      if (sub === 0x02 && r.remaining >= 4) {
        const pun = r.u16le('pun');
        const lun = r.u16le('lun');
        return `Scsi(${hx(pun)},${hx(lun)})`;
      }
      if (sub === 0x05 && r.remaining >= 2) {
        const port = r.u8('port');
        const intf = r.u8('interface');
        return `USB(${hx(port)},${hx(intf)})`;
      }
      if (sub === 0x0a && r.remaining >= 16) {
        const g = formatGuid(r.bytes(16, 'guid'));
        return r.remaining > 0 ? `VenMsg(${g},${toHex(r.rest())})` : `VenMsg(${g})`;
      }
      if (sub === 0x12 && r.remaining >= 6) {
        const hba = r.u16le('hba');
        const pm = r.u16le('portMultiplier');
        const lun = r.u16le('lun');
        return `Sata(${hx(hba)},${hx(pm)},${hx(lun)})`;
      }
      if (sub === 0x17 && r.remaining >= 12) {
        const nsid = r.u32le('nsid');
        const eui = r.bytes(8, 'eui');
        return `NVMe(${hx(nsid)},${[...eui].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join('-')})`;
      }
      if (sub === 0x18) return `Uri(${new TextDecoder().decode(r.rest())})`;
      return raw();
    case 0x04: // media
      if (sub === 0x01 && r.remaining >= 38) {
        const part = r.u32le('partitionNumber');
        const start = r.u64le('partitionStart');
        const size = r.u64le('partitionSize');
        const sig = r.bytes(16, 'signature');
        r.u8('mbrType');
        const sigType = r.u8('signatureType');
        const s =
          sigType === 2
            ? `GPT,${formatGuid(sig)}`
            : sigType === 1
              ? `MBR,${hx(sig[0]! | (sig[1]! << 8) | (sig[2]! << 16) | (sig[3]! * 0x1000000))}`
              : `${sigType},0`;
        return `HD(${part},${s},${hx(start)},${hx(size)})`;
      }
      if (sub === 0x02 && r.remaining >= 20) {
        const entry = r.u32le('bootEntry');
        const start = r.u64le('start');
        const size = r.u64le('size');
        return `CDROM(${hx(entry)},${hx(start)},${hx(size)})`;
      }
      if (sub === 0x03 && r.remaining >= 16) {
        const g = formatGuid(r.bytes(16, 'guid'));
        return r.remaining > 0 ? `VenMedia(${g},${toHex(r.rest())})` : `VenMedia(${g})`;
      }
      if (sub === 0x04) return utf16z(r.rest());
      if (sub === 0x06 && r.remaining >= 16) return `FvFile(${formatGuid(r.bytes(16, 'guid'))})`;
      if (sub === 0x07 && r.remaining >= 16) return `Fv(${formatGuid(r.bytes(16, 'guid'))})`;
      if (sub === 0x08 && r.remaining >= 20) {
        r.u32le('reserved');
        const s = r.u64le('start');
        const e = r.u64le('end');
        return `Offset(${hx(s)},${hx(e)})`;
      }
      return raw();
    case 0x05: // BIOS boot specification
      if (sub === 0x01 && r.remaining >= 4) {
        const t = r.u16le('deviceType');
        const flags = r.u16le('statusFlag');
        const desc = new TextDecoder().decode(r.rest()).replace(/\0.*$/s, '');
        return `BBS(${hx(t)},${desc},${hx(flags)})`;
      }
      return raw();
    default:
      return raw();
  }
}

/**
 * A device path as UEFI text (`PciRoot(0x0)/Pci(0x3,0x0)/Scsi(0x0,0x1)/HD(1,GPT,…)/\EFI\…`).
 * Malformed paths end with `…<malformed at N>` rather than throwing: display only.
 */
export function devicePathToText(path: Uint8Array, format: FormatId = 'tcg2'): string {
  const r = new ByteReader(path, { format });
  const parts: string[] = [];
  let instance: string[] = [];
  while (r.remaining >= 4) {
    const at = r.position;
    const type = r.u8('type');
    const sub = r.u8('subType');
    const len = r.u16le('length');
    if (len < 4 || len - 4 > r.remaining) {
      instance.push(`<malformed at ${at}>`);
      break;
    }
    const body = r.take(len - 4, 'node');
    if (type === 0x7f) {
      parts.push(instance.join('/'));
      instance = [];
      if (sub === 0xff) break;
      continue;
    }
    instance.push(node(type, sub, body));
  }
  if (instance.length > 0) parts.push(instance.join('/'));
  return parts.join(',');
}
