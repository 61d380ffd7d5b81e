/**
 * TPM2_Create (Part 3, 12.1): an ordinary key under a loaded parent; returns the wrapped private
 * part and the public part to Load.
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { passwordAuth, type AuthCommand } from '../marshal/auth.js';
import { readPublic2b, type PublicArea, type TpmPublic } from '../marshal/public.js';
import { readTpm2b, readTpm2bReader } from '../marshal/tpm2b.js';
import { writeCreateParams } from './create_primary.js';

/** A created (not yet loaded) object. */
export interface CreateResult {
  /** TPM2B_PRIVATE body. */
  readonly outPrivate: Uint8Array;
  readonly outPublic: PublicArea;
}

/** TPM2_Create(parentHandle, inSensitive, inPublic, outsideInfo, creationPCR). */
export function encodeCreate(
  parent: number,
  template: TpmPublic,
  auth: AuthCommand = passwordAuth(),
  userAuth: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const w = new ByteWriter(512);
  writeCreateParams(w, template, userAuth);
  return encodeCommand({ cc: TPM_CC.Create, handles: [parent], auths: [auth], params: w.finish() });
}

/** Decodes Create's response. */
export function decodeCreateResponse(resp: Uint8Array): CreateResult {
  const r = decodeResponse(resp, { command: 'TPM2_Create', sessionCount: 1 }).params;
  const outPrivate = readTpm2b(r, 'outPrivate', TPM2_LIMITS.maxPrivate);
  const outPublic = readPublic2b(r, 'outPublic');
  readTpm2bReader(r, 'creationData', TPM2_LIMITS.maxCreationData);
  readTpm2b(r, 'creationHash', TPM2_LIMITS.maxDigest);
  r.u16be('creationTicket.tag');
  r.u32be('creationTicket.hierarchy');
  readTpm2b(r, 'creationTicket.digest', TPM2_LIMITS.maxDigest);
  r.expectEnd('TPM2_Create');
  return { outPrivate, outPublic };
}
