/**
 * The emulated TDX guest's firmware event log, as Linux shows it: the ACPI CCEL table at
 * `sys/firmware/acpi/tables/CCEL` and the log area at `sys/firmware/acpi/tables/data/CCEL`.
 *
 * The emulated TVM boots no firmware, so its log is what firmware that measured nothing would
 * leave: the crypto-agile header (a SHA-1-format EV_NO_ACTION record carrying the Spec ID event
 * with one algorithm, SHA-384, the RTMR bank) followed by 0xFF up to the log area's minimum
 * length, as TDVF leaves the unused area. Replaying it gives the RTMRs' reset values (zero);
 * extends made later through tsm-mr are, as on real hardware, not in this log.
 *
 * @module
 */
import { ByteWriter } from '../bytes/writer.js';
import { hashInfo } from '../crypto/hash_alg.js';
import { CcType, encodeCcelAcpiTable } from '../formats/ccel/acpi_table.js';
import { encodePcrEvent } from '../formats/tcg2/pcr_event.js';
import { encodeSpecIdEvent, SPEC_ID_EVENT03 } from '../formats/tcg2/spec_id_event.js';

/** The log area's minimum length (LAML), as TDVF reserves it (64 KiB). */
export const EMULATED_CCEL_LAML = 0x10000;
/** A guest-physical address for LASA; nothing reads memory there. */
export const EMULATED_CCEL_LASA = 0x7f000000n;
/** TCG EV_NO_ACTION. */
const EV_NO_ACTION = 0x00000003;

/** The two files: the 56-byte ACPI table and the log area. */
export interface EmulatedCcel {
  readonly table: Uint8Array;
  readonly data: Uint8Array;
}

/** Builds the emulated TDX CCEL. */
export function emulatedTdxCcel(): EmulatedCcel {
  const sha384 = hashInfo('sha384');
  const spec = new ByteWriter();
  encodeSpecIdEvent(spec, {
    signature: SPEC_ID_EVENT03,
    platformClass: 0,
    specVersionMinor: 0,
    specVersionMajor: 2,
    specErrata: 0,
    // UINTN is 64 bits in a TD.
    uintnSize: 2,
    algorithms: [{ algId: sha384.algId, digestSize: sha384.size, alg: 'sha384' }],
    vendorInfo: new Uint8Array(0),
  });
  const w = new ByteWriter();
  encodePcrEvent(w, {
    pcrIndex: 0,
    eventType: EV_NO_ACTION,
    digests: [{ algId: 0x0004, alg: 'sha1', digest: new Uint8Array(20) }],
    data: spec.finish(),
  });
  const header = w.finish();
  const data = new Uint8Array(EMULATED_CCEL_LAML).fill(0xff);
  data.set(header);
  const table = encodeCcelAcpiTable({
    revision: 1,
    checksum: 0,
    oemId: 'MRSTCK',
    oemTableId: 'EMULATED',
    oemRevision: 1,
    creatorId: 'MRST',
    creatorRevision: 1,
    ccType: CcType.TDX,
    ccSubtype: 0,
    laml: BigInt(EMULATED_CCEL_LAML),
    lasa: EMULATED_CCEL_LASA,
  });
  return { table, data };
}
