/**
 * TPMS_CONTEXT (Part 2, 14.5): a saved object or session context, as ContextSave returns it.
 *
 * @module
 */
import { ByteReader } from '../../../bytes/reader.js';
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM2_LIMITS } from '../constants.js';
import { readTpm2b, writeTpm2b } from './tpm2b.js';

/** A TPMS_CONTEXT. */
export interface TpmsContext {
  readonly sequence: bigint;
  readonly savedHandle: number;
  readonly hierarchy: number;
  /** TPM2B_CONTEXT_DATA body (integrity digest + encrypted context). */
  readonly contextBlob: Uint8Array;
}

/** Reads a TPMS_CONTEXT. */
export function readContext(r: ByteReader, field: string): TpmsContext {
  const sequence = r.u64be(`${field}.sequence`);
  const savedHandle = r.u32be(`${field}.savedHandle`);
  const hierarchy = r.u32be(`${field}.hierarchy`);
  const contextBlob = readTpm2b(r, `${field}.contextBlob`, TPM2_LIMITS.maxContext);
  return { sequence, savedHandle, hierarchy, contextBlob };
}

/** Writes a TPMS_CONTEXT. */
export function writeContext(w: ByteWriter, c: TpmsContext): void {
  w.u64be(c.sequence).u32be(c.savedHandle).u32be(c.hierarchy);
  writeTpm2b(w, c.contextBlob, TPM2_LIMITS.maxContext);
}

/** A TPMS_CONTEXT as bytes. */
export function encodeContext(c: TpmsContext): Uint8Array {
  const w = new ByteWriter(c.contextBlob.length + 18);
  writeContext(w, c);
  return w.finish();
}

/** Parses a whole TPMS_CONTEXT blob. */
export function parseContext(bytes: Uint8Array, origin = 0): TpmsContext {
  const r = new ByteReader(bytes, { format: 'tpm2', origin });
  const c = readContext(r, 'context');
  r.expectEnd('context');
  return c;
}
