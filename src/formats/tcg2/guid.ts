/**
 * EFI_GUID text form (RFC 4122 layout with the first three fields little-endian, as UEFI stores
 * them).
 *
 * @module
 */
import { toHex } from '../../bytes/hex.js';

/** `8be4df61-93ca-11d2-aa0d-00e098032b8c` from the 16 stored bytes. */
export function formatGuid(b: Uint8Array): string {
  if (b.length !== 16) return toHex(b);
  const h = (i: number): string => b[i]!.toString(16).padStart(2, '0');
  const le = (...idx: number[]): string => idx.map(h).join('');
  return `${le(3, 2, 1, 0)}-${le(5, 4)}-${le(7, 6)}-${le(8, 9)}-${le(10, 11, 12, 13, 14, 15)}`;
}

/** Well-known GUIDs, for display. */
export const KNOWN_GUIDS: ReadonlyMap<string, string> = new Map([
  ['8be4df61-93ca-11d2-aa0d-00e098032b8c', 'EFI_GLOBAL_VARIABLE'],
  ['d719b2cb-3d3a-4596-a3bc-dad00e67656f', 'EFI_IMAGE_SECURITY_DATABASE_GUID'],
  ['605dab50-e046-4300-abb6-3dd810dd8b23', 'SHIM_LOCK_GUID'],
  ['eb9d2d31-2d88-11d3-9a16-0090273fc14d', 'SMBIOS_TABLE_GUID'],
  ['f2fd1544-9794-4a2c-992e-e5bbcf20e394', 'SMBIOS3_TABLE_GUID'],
  ['8868e871-e4f1-11d3-bc22-0080c73c8881', 'ACPI_20_TABLE_GUID'],
]);
