/**
 * The SVSM services manifest (AMD "Secure VM Service Module for SEV-SNP Guests" spec, attestation
 * protocol, `SVSM_ATTEST_SERVICES`): what configfs-tsm returns as `manifestblob` when
 * `service_provider` is `svsm`. Little-endian: the manifest GUID (16), total size u32, service
 * count u32, then per service {GUID (16), offset u32, size u32} (offsets from the manifest
 * start), then the service data. The vTPM service's data is the EK public area (TPMT_PUBLIC).
 * The attestation report binds it: REPORT_DATA = SHA-512(nonce ‖ manifest).
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ByteWriter } from '../../bytes/writer.js';
import { guidFromString, guidToString } from '../snp/cert_table.js';

/** Well-known GUIDs. */
export const SVSM_GUIDS = {
  manifest: '63849ebb-3d92-4670-a1ff-58f9c94b87bb',
  vtpm: 'c476f1eb-0123-45a5-9641-b4e7dde5bfe3',
} as const;

/** One service of the manifest. */
export interface SvsmService {
  readonly guid: string;
  readonly name: 'vtpm' | undefined;
  readonly data: Uint8Array;
}

/** A parsed services manifest. */
export interface SvsmManifest {
  readonly services: readonly SvsmService[];
}

/** Most services a manifest may list. */
export const SVSM_MAX_SERVICES = 256;

/**
 * Parses a services manifest.
 * @throws ParseError (`svsm-manifest`) `ERR_BAD_MAGIC`, `ERR_TRUNCATED`, `ERR_LENGTH_LIMIT`,
 *   `ERR_BAD_VALUE`
 */
export function parseSvsmManifest(buf: Uint8Array): SvsmManifest {
  const r = new ByteReader(buf, { format: 'svsm-manifest' });
  const guid = guidToString(r.bytes(16, 'guid'));
  if (guid !== SVSM_GUIDS.manifest) {
    throw r.errorAt(0, 'ERR_BAD_MAGIC', 'guid', { expected: SVSM_GUIDS.manifest, actual: guid });
  }
  const sizeAt = r.offset;
  const size = r.u32le('size');
  if (size !== buf.length) {
    throw r.errorAt(sizeAt, size > buf.length ? 'ERR_TRUNCATED' : 'ERR_BAD_VALUE', 'size', {
      expected: String(buf.length),
      actual: String(size),
      ...(size > buf.length ? { incomplete: true } : {}),
    });
  }
  const count = r.u32le('count');
  r.checkLength(count, 'count', SVSM_MAX_SERVICES, 24);
  const services: SvsmService[] = [];
  for (let i = 0; i < count; i++) {
    const g = guidToString(r.bytes(16, `service[${i}].guid`));
    const offAt = r.offset;
    const off = r.u32le(`service[${i}].offset`);
    const len = r.u32le(`service[${i}].size`);
    if (off + len > buf.length) {
      throw r.errorAt(offAt, 'ERR_TRUNCATED', `service[${i}]`, {
        expected: `offset+size <= ${buf.length}`,
        actual: `${off}+${len}`,
        incomplete: true,
      });
    }
    services.push({
      guid: g,
      name: g === SVSM_GUIDS.vtpm ? 'vtpm' : undefined,
      data: buf.slice(off, off + len),
    });
  }
  return { services };
}

/** Builds a services manifest (the inverse of {@link parseSvsmManifest}). */
export function encodeSvsmManifest(
  services: readonly { readonly guid: string; readonly data: Uint8Array }[],
): Uint8Array {
  const header = 24 + 24 * services.length;
  const total = header + services.reduce((a, s) => a + s.data.length, 0);
  const w = new ByteWriter(total);
  w.bytes(guidFromString(SVSM_GUIDS.manifest)).u32le(total).u32le(services.length);
  let off = header;
  for (const s of services) {
    w.bytes(guidFromString(s.guid)).u32le(off).u32le(s.data.length);
    off += s.data.length;
  }
  for (const s of services) w.bytes(s.data);
  return w.finish();
}
