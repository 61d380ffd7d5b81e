/**
 * TPM2_GetCapability (Part 3, 30.2) for PCR banks (TPM_CAP_PCRS) and properties
 * (TPM_CAP_TPM_PROPERTIES).
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CAP, TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { readPcrSelectionList, type PcrSelection } from '../marshal/pcr_selection.js';

/** What GetCapability returned. */
export type CapabilityData =
  | { readonly capability: 'pcrs'; readonly moreData: boolean; readonly banks: PcrSelection[] }
  | {
      readonly capability: 'properties';
      readonly moreData: boolean;
      readonly properties: { readonly property: number; readonly value: number }[];
    };

/** TPM2_GetCapability(capability, property, propertyCount). */
export function encodeGetCapability(
  capability: number,
  property: number,
  propertyCount: number,
): Uint8Array {
  const p = new ByteWriter(12).u32be(capability).u32be(property).u32be(propertyCount).finish();
  return encodeCommand({ cc: TPM_CC.GetCapability, params: p });
}

/**
 * Decodes GetCapability's response for TPM_CAP_PCRS or TPM_CAP_TPM_PROPERTIES.
 * @throws ParseError `ERR_BAD_VALUE` for another capability
 */
export function decodeGetCapabilityResponse(resp: Uint8Array): CapabilityData {
  const r = decodeResponse(resp, { command: 'TPM2_GetCapability' }).params;
  const moreData = r.u8('moreData') !== 0;
  const at = r.offset;
  const cap = r.u32be('capabilityData.capability');
  if (cap === TPM_CAP.PCRS) {
    const banks = readPcrSelectionList(r, 'capabilityData.data.assignedPCR');
    r.expectEnd('TPM2_GetCapability');
    return { capability: 'pcrs', moreData, banks };
  }
  if (cap === TPM_CAP.TPM_PROPERTIES) {
    const count = r.u32be('capabilityData.data.tpmProperties.count');
    r.checkLength(
      count,
      'capabilityData.data.tpmProperties.count',
      TPM2_LIMITS.maxCapabilityCount,
      8,
    );
    const properties: { property: number; value: number }[] = [];
    for (let i = 0; i < count; i++) {
      const f = `capabilityData.data.tpmProperties.tpmProperty[${i}]`;
      properties.push({ property: r.u32be(`${f}.property`), value: r.u32be(`${f}.value`) });
    }
    r.expectEnd('TPM2_GetCapability');
    return { capability: 'properties', moreData, properties };
  }
  throw r.errorAt(at, 'ERR_BAD_VALUE', 'capabilityData.capability', {
    expected: 'TPM_CAP_PCRS or TPM_CAP_TPM_PROPERTIES',
    actual: `0x${cap.toString(16)}`,
  });
}
