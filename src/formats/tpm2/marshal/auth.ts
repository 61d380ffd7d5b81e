/**
 * Authorization areas (Part 1, 18.6–18.8; Part 2, 10.13): TPMS_AUTH_COMMAND with the password
 * session or a policy/HMAC session, and TPMS_AUTH_RESPONSE.
 *
 * @module
 */
import type { ByteReader } from '../../../bytes/reader.js';
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_RH, TPM2_LIMITS } from '../constants.js';
import { readTpm2b, writeTpm2b } from './tpm2b.js';

const EMPTY = new Uint8Array(0);

/** TPMS_AUTH_COMMAND. */
export interface AuthCommand {
  /** TPM_RS_PW for a password, or a session handle (0x02…/0x03…). */
  readonly sessionHandle: number;
  readonly nonce: Uint8Array;
  /** TPMA_SESSION bits. */
  readonly attributes: number;
  /** The password (TPM_RS_PW) or the HMAC; empty for a policy session without auth value. */
  readonly hmac: Uint8Array;
}

/** TPMS_AUTH_RESPONSE. */
export interface AuthResponse {
  readonly nonce: Uint8Array;
  readonly attributes: number;
  readonly hmac: Uint8Array;
}

/** The password session with the given password (empty by default). */
export function passwordAuth(password: Uint8Array = EMPTY): AuthCommand {
  return { sessionHandle: TPM_RH.PW, nonce: EMPTY, attributes: 0, hmac: password };
}

/**
 * A policy session used as an authorization: no HMAC (the policy needs no auth value), and
 * `continueSession` clear unless asked, so the TPM flushes the session after the command.
 */
export function policyAuth(sessionHandle: number, continueSession = false): AuthCommand {
  return { sessionHandle, nonce: EMPTY, attributes: continueSession ? 1 : 0, hmac: EMPTY };
}

/** Reads one TPMS_AUTH_COMMAND. */
export function readAuthCommand(r: ByteReader, field: string): AuthCommand {
  const sessionHandle = r.u32be(`${field}.sessionHandle`);
  const nonce = readTpm2b(r, `${field}.nonce`, TPM2_LIMITS.maxDigest);
  const attributes = r.u8(`${field}.sessionAttributes`);
  const hmac = readTpm2b(r, `${field}.hmac`, TPM2_LIMITS.maxAuth);
  return { sessionHandle, nonce, attributes, hmac };
}

/** Writes one TPMS_AUTH_COMMAND. */
export function writeAuthCommand(w: ByteWriter, a: AuthCommand): void {
  w.u32be(a.sessionHandle);
  writeTpm2b(w, a.nonce, TPM2_LIMITS.maxDigest);
  w.u8(a.attributes);
  writeTpm2b(w, a.hmac, TPM2_LIMITS.maxAuth);
}

/** Writes a command's authorization area: authorizationSize u32, then each session. */
export function writeAuthArea(w: ByteWriter, auths: readonly AuthCommand[]): void {
  const inner = new ByteWriter(16 * auths.length + 16);
  for (const a of auths) writeAuthCommand(inner, a);
  const body = inner.finish();
  w.u32be(body.length).bytes(body);
}

/** Reads a command's authorization area (size-prefixed, sessions until the size is used). */
export function readAuthArea(r: ByteReader, field: string): AuthCommand[] {
  const size = r.u32be(`${field}.authorizationSize`);
  const body = r.take(size, `${field}.authorizations`, TPM2_LIMITS.maxMessage);
  const out: AuthCommand[] = [];
  while (body.remaining > 0 && out.length < 3) {
    out.push(readAuthCommand(body, `${field}.authorizations[${out.length}]`));
  }
  body.expectEnd(`${field}.authorizations`);
  return out;
}

/** Reads one TPMS_AUTH_RESPONSE. */
export function readAuthResponse(r: ByteReader, field: string): AuthResponse {
  const nonce = readTpm2b(r, `${field}.nonce`, TPM2_LIMITS.maxDigest);
  const attributes = r.u8(`${field}.sessionAttributes`);
  const hmac = readTpm2b(r, `${field}.hmac`, TPM2_LIMITS.maxAuth);
  return { nonce, attributes, hmac };
}

/** Writes one TPMS_AUTH_RESPONSE. */
export function writeAuthResponse(w: ByteWriter, a: AuthResponse): void {
  writeTpm2b(w, a.nonce, TPM2_LIMITS.maxDigest);
  w.u8(a.attributes);
  writeTpm2b(w, a.hmac, TPM2_LIMITS.maxAuth);
}
