/**
 * TPM2_Load (Part 3, 12.2): loads a created object under its parent.
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { passwordAuth, type AuthCommand } from '../marshal/auth.js';
import { readTpm2b, writeTpm2b } from '../marshal/tpm2b.js';

/** A loaded object. */
export interface LoadResult {
  readonly handle: number;
  readonly name: Uint8Array;
}

/**
 * TPM2_Load(parentHandle, inPrivate, inPublic). `publicBytes` is the TPMT_PUBLIC exactly as
 * Create returned it (re-marshalling could change the object's name).
 */
export function encodeLoad(
  parent: number,
  outPrivate: Uint8Array,
  publicBytes: Uint8Array,
  auth: AuthCommand = passwordAuth(),
): Uint8Array {
  const w = new ByteWriter(outPrivate.length + publicBytes.length + 8);
  writeTpm2b(w, outPrivate, TPM2_LIMITS.maxPrivate);
  writeTpm2b(w, publicBytes, TPM2_LIMITS.maxPublic);
  return encodeCommand({ cc: TPM_CC.Load, handles: [parent], auths: [auth], params: w.finish() });
}

/** Decodes Load's response. */
export function decodeLoadResponse(resp: Uint8Array): LoadResult {
  const f = decodeResponse(resp, { command: 'TPM2_Load', handleCount: 1, sessionCount: 1 });
  const name = readTpm2b(f.params, 'name', TPM2_LIMITS.maxName);
  f.params.expectEnd('TPM2_Load');
  return { handle: f.handles[0]!, name };
}
