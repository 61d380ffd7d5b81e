/**
 * TPM2_CreatePrimary (Part 3, 24.1): a primary key from a hierarchy's seed and a template.
 *
 * @module
 */
import type { ByteReader } from '../../../bytes/reader.js';
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CC, TPM2_LIMITS } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';
import { passwordAuth, type AuthCommand } from '../marshal/auth.js';
import { writePcrSelectionList } from '../marshal/pcr_selection.js';
import { readPublic2b, writePublic2b, type PublicArea, type TpmPublic } from '../marshal/public.js';
import { readTpm2b, readTpm2bReader, writeTpm2b, writeTpm2bOf } from '../marshal/tpm2b.js';

/** A created primary object. */
export interface CreatePrimaryResult {
  readonly handle: number;
  readonly outPublic: PublicArea;
  /** TPM2B_NAME of the object. */
  readonly name: Uint8Array;
}

/** Writes TPM2B_SENSITIVE_CREATE (userAuth, data), outsideInfo and an empty creationPCR. */
export function writeCreateParams(w: ByteWriter, template: TpmPublic, userAuth: Uint8Array): void {
  writeTpm2bOf(w, (s) => {
    writeTpm2b(s, userAuth, TPM2_LIMITS.maxAuth);
    writeTpm2b(s, new Uint8Array(0));
  });
  writePublic2b(w, template);
  writeTpm2b(w, new Uint8Array(0)); // outsideInfo
  writePcrSelectionList(w, []); // creationPCR
}

/** A Create-family command (Create, CreatePrimary): one authorised handle, then the params. */
export function encodeCreateCommand(
  cc: number,
  handle: number,
  template: TpmPublic,
  auth: AuthCommand,
  userAuth: Uint8Array,
): Uint8Array {
  const w = new ByteWriter(512);
  writeCreateParams(w, template, userAuth);
  return encodeCommand({ cc, handles: [handle], auths: [auth], params: w.finish() });
}

/**
 * Reads past creationData, creationHash and creationTicket (Part 3, 12.1 / 24.1): checked for
 * size, not kept (mrstack does not certify creation).
 */
export function skipCreationOutputs(r: ByteReader): void {
  readTpm2bReader(r, 'creationData', TPM2_LIMITS.maxCreationData);
  readTpm2b(r, 'creationHash', TPM2_LIMITS.maxDigest);
  r.u16be('creationTicket.tag');
  r.u32be('creationTicket.hierarchy');
  readTpm2b(r, 'creationTicket.digest', TPM2_LIMITS.maxDigest);
}

/** TPM2_CreatePrimary(primaryHandle, inSensitive, inPublic, outsideInfo, creationPCR). */
export function encodeCreatePrimary(
  hierarchy: number,
  template: TpmPublic,
  auth: AuthCommand = passwordAuth(),
  userAuth: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return encodeCreateCommand(TPM_CC.CreatePrimary, hierarchy, template, auth, userAuth);
}

/** Decodes CreatePrimary's response (creation data and ticket are skipped over, checked). */
export function decodeCreatePrimaryResponse(resp: Uint8Array): CreatePrimaryResult {
  const f = decodeResponse(resp, {
    command: 'TPM2_CreatePrimary',
    handleCount: 1,
    sessionCount: 1,
  });
  const r = f.params;
  const outPublic = readPublic2b(r, 'outPublic');
  skipCreationOutputs(r);
  const name = readTpm2b(r, 'name', TPM2_LIMITS.maxName);
  r.expectEnd('TPM2_CreatePrimary');
  return { handle: f.handles[0]!, outPublic, name };
}
