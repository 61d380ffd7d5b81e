/**
 * Framing of whole TPM commands and responses (Part 1, 18): header, handles, authorization
 * area, parameters; and on the way back the response code, returned handles, parameterSize,
 * parameters and per-session authorizations. Every command module builds on these two.
 *
 * @module
 */
import { ByteReader } from '../../bytes/reader.js';
import { ByteWriter } from '../../bytes/writer.js';
import { TPM_ST } from './constants.js';
import { HEADER_SIZE, readHeader, writeHeader } from './marshal/header.js';
import {
  readAuthResponse,
  writeAuthArea,
  type AuthCommand,
  type AuthResponse,
} from './marshal/auth.js';
import { TpmRcError } from './rc.js';

/** What a command consists of. */
export interface CommandSpec {
  /** TPM_CC. */
  readonly cc: number;
  /** Handles of the handle area, in order. */
  readonly handles?: readonly number[];
  /** Authorizations; none gives TPM_ST_NO_SESSIONS. */
  readonly auths?: readonly AuthCommand[];
  /** The marshalled parameters. */
  readonly params?: Uint8Array;
}

/** A whole command as bytes. */
export function encodeCommand(spec: CommandSpec): Uint8Array {
  const handles = spec.handles ?? [];
  const auths = spec.auths ?? [];
  const params = spec.params ?? new Uint8Array(0);
  const w = new ByteWriter(HEADER_SIZE + handles.length * 4 + params.length + 64);
  writeHeader(w, {
    tag: auths.length > 0 ? TPM_ST.SESSIONS : TPM_ST.NO_SESSIONS,
    size: 0,
    code: spec.cc,
  });
  for (const h of handles) w.u32be(h >>> 0);
  if (auths.length > 0) writeAuthArea(w, auths);
  w.bytes(params);
  const out = w.finish();
  new DataView(out.buffer, out.byteOffset).setUint32(2, out.length, false);
  return out;
}

/** A decoded successful response. */
export interface ResponseFrame {
  readonly tag: number;
  /** Handles the response returns (e.g. CreatePrimary's objectHandle). */
  readonly handles: readonly number[];
  /** A reader over exactly the response parameters, at their absolute offset. */
  readonly params: ByteReader;
  readonly auths: readonly AuthResponse[];
}

/** How to decode a command's response. */
export interface ResponseSpec {
  /** Command name for errors (`TPM2_Quote`). */
  readonly command: string;
  /** How many handles the response returns. */
  readonly handleCount?: number;
  /** How many sessions the command carried (the response has one auth per session). */
  readonly sessionCount?: number;
}

/**
 * Decodes a response frame. A non-zero response code throws {@link TpmRcError}
 * (`ERR_TPM_RC`); malformed bytes throw ParseError naming the field and offset.
 */
export function decodeResponse(bytes: Uint8Array, spec: ResponseSpec): ResponseFrame {
  const r = new ByteReader(bytes, { format: 'tpm2' });
  const h = readHeader(r, 'response', bytes.length);
  if (h.code !== 0) {
    // An error response is the bare header.
    r.expectEnd('response');
    throw new TpmRcError(spec.command, h.code);
  }
  const sessions = spec.sessionCount ?? 0;
  if (h.tag !== (sessions > 0 ? TPM_ST.SESSIONS : TPM_ST.NO_SESSIONS)) {
    throw r.errorAt(0, 'ERR_BAD_MAGIC', 'response.tag', {
      expected: sessions > 0 ? '0x8002 (TPM_ST_SESSIONS)' : '0x8001 (TPM_ST_NO_SESSIONS)',
      actual: `0x${h.tag.toString(16).padStart(4, '0')}`,
    });
  }
  const handles: number[] = [];
  for (let i = 0; i < (spec.handleCount ?? 0); i++) handles.push(r.u32be(`response.handles[${i}]`));
  if (sessions === 0) {
    const params = r.take(r.remaining, 'response.parameters');
    return { tag: h.tag, handles, params, auths: [] };
  }
  const paramSize = r.u32be('response.parameterSize');
  const params = r.take(paramSize, 'response.parameters');
  const auths: AuthResponse[] = [];
  for (let i = 0; i < sessions; i++) auths.push(readAuthResponse(r, `response.auths[${i}]`));
  r.expectEnd('response');
  return { tag: h.tag, handles, params, auths };
}
