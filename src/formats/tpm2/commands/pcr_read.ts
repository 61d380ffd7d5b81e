/**
 * TPM2_PCR_Read (Part 3, 22.4). A TPM returns at most 8 digests per call and clears from
 * `pcrSelectionOut` what it did not return, so callers loop until everything was read.
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CC } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { readDigestList } from '../marshal/digests.js';
import {
  readPcrSelectionList,
  writePcrSelectionList,
  type PcrSelection,
} from '../marshal/pcr_selection.js';

/** PCR_Read's result. */
export interface PcrReadResult {
  readonly pcrUpdateCounter: number;
  /** What was read, in the order of `pcrValues`. */
  readonly pcrSelectionOut: PcrSelection[];
  readonly pcrValues: Uint8Array[];
}

/** TPM2_PCR_Read(pcrSelectionIn). */
export function encodePcrRead(selection: readonly PcrSelection[]): Uint8Array {
  const w = new ByteWriter(32);
  writePcrSelectionList(w, selection);
  return encodeCommand({ cc: TPM_CC.PCR_Read, params: w.finish() });
}

/**
 * Decodes PCR_Read's response; the number of values must equal the number of PCRs selected
 * in `pcrSelectionOut`.
 */
export function decodePcrReadResponse(resp: Uint8Array): PcrReadResult {
  const r = decodeResponse(resp, { command: 'TPM2_PCR_Read' }).params;
  const pcrUpdateCounter = r.u32be('pcrUpdateCounter');
  const pcrSelectionOut = readPcrSelectionList(r, 'pcrSelectionOut');
  const at = r.offset;
  const pcrValues = readDigestList(r, 'pcrValues');
  const selected = pcrSelectionOut.reduce((n, s) => n + s.pcrs.length, 0);
  if (selected !== pcrValues.length) {
    throw r.errorAt(at, 'ERR_BAD_VALUE', 'pcrValues.count', {
      expected: `${selected} (PCRs in pcrSelectionOut)`,
      actual: String(pcrValues.length),
    });
  }
  r.expectEnd('TPM2_PCR_Read');
  return { pcrUpdateCounter, pcrSelectionOut, pcrValues };
}
