/**
 * TPM2_Create (Part 3, 12.1): an ordinary key under a loaded parent; returns the wrapped private
 * part and the public part to Load.
 *
 * @module
 */
import { TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse } from '../command.js';
import { passwordAuth, type AuthCommand } from '../marshal/auth.js';
import { readPublic2b, type PublicArea, type TpmPublic } from '../marshal/public.js';
import { readTpm2b } from '../marshal/tpm2b.js';
import { encodeCreateCommand, skipCreationOutputs } from './create_primary.js';

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
  return encodeCreateCommand(TPM_CC.Create, parent, template, auth, userAuth);
}

/** Decodes Create's response. */
export function decodeCreateResponse(resp: Uint8Array): CreateResult {
  const r = decodeResponse(resp, { command: 'TPM2_Create', sessionCount: 1 }).params;
  const outPrivate = readTpm2b(r, 'outPrivate', TPM2_LIMITS.maxPrivate);
  const outPublic = readPublic2b(r, 'outPublic');
  skipCreationOutputs(r);
  r.expectEnd('TPM2_Create');
  return { outPrivate, outPublic };
}
