/**
 * TPM2_NV_ReadPublic (Part 3, 31.6): an NV index's public area (TPMS_NV_PUBLIC) and name.
 *
 * @module
 */
import { TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { readTpm2b, readTpm2bReader } from '../marshal/tpm2b.js';

/** TPMS_NV_PUBLIC. */
export interface NvPublic {
  readonly nvIndex: number;
  readonly nameAlg: number;
  /** TPMA_NV bits. */
  readonly attributes: number;
  readonly authPolicy: Uint8Array;
  readonly dataSize: number;
}

/** NV_ReadPublic's result. */
export interface NvReadPublicResult {
  readonly nvPublic: NvPublic;
  readonly nvName: Uint8Array;
}

/** TPMA_NV bits mrstack looks at. */
export const TPMA_NV = {
  PPREAD: 0x10000,
  OWNERREAD: 0x20000,
  AUTHREAD: 0x40000,
  POLICYREAD: 0x80000,
  WRITTEN: 0x20000000,
} as const;

/** TPM2_NV_ReadPublic(nvIndex). */
export function encodeNvReadPublic(nvIndex: number): Uint8Array {
  return encodeCommand({ cc: TPM_CC.NV_ReadPublic, handles: [nvIndex] });
}

/** Decodes NV_ReadPublic's response. */
export function decodeNvReadPublicResponse(resp: Uint8Array): NvReadPublicResult {
  const r = decodeResponse(resp, { command: 'TPM2_NV_ReadPublic' }).params;
  const b = readTpm2bReader(r, 'nvPublic', 256);
  const nvIndex = b.u32be('nvPublic.nvIndex');
  const nameAlg = b.u16be('nvPublic.nameAlg');
  const attributes = b.u32be('nvPublic.attributes');
  const authPolicy = readTpm2b(b, 'nvPublic.authPolicy', TPM2_LIMITS.maxDigest);
  const dataSize = b.u16be('nvPublic.dataSize');
  b.expectEnd('nvPublic');
  const nvName = readTpm2b(r, 'nvName', TPM2_LIMITS.maxName);
  r.expectEnd('TPM2_NV_ReadPublic');
  return { nvPublic: { nvIndex, nameAlg, attributes, authPolicy, dataSize }, nvName };
}
