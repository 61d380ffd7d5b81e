/**
 * TPM2_NV_Read (Part 3, 31.13): `size` bytes at `offset` of an NV index.
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { passwordAuth, type AuthCommand } from '../marshal/auth.js';
import { readTpm2b } from '../marshal/tpm2b.js';

/** TPM2_NV_Read(authHandle, nvIndex, size, offset). */
export function encodeNvRead(
  authHandle: number,
  nvIndex: number,
  size: number,
  offset: number,
  auth: AuthCommand = passwordAuth(),
): Uint8Array {
  return encodeCommand({
    cc: TPM_CC.NV_Read,
    handles: [authHandle, nvIndex],
    auths: [auth],
    params: new ByteWriter(4).u16be(size).u16be(offset).finish(),
  });
}

/** NV_Read's data. */
export function decodeNvReadResponse(resp: Uint8Array): Uint8Array {
  const r = decodeResponse(resp, { command: 'TPM2_NV_Read', sessionCount: 1 }).params;
  const data = readTpm2b(r, 'data', TPM2_LIMITS.maxBuffer);
  r.expectEnd('TPM2_NV_Read');
  return data;
}
