/**
 * Command and response headers (Part 1, 18; Part 3, 5): tag u16, size u32 (the whole message),
 * then the command code or the response code.
 *
 * @module
 */
import type { ByteReader } from '../../../bytes/reader.js';
import type { ByteWriter } from '../../../bytes/writer.js';
import { TPM_ST, TPM2_LIMITS } from '../constants.js';

/** Size of either header. */
export const HEADER_SIZE = 10;

/** A command or response header. */
export interface MessageHeader {
  /** TPM_ST_NO_SESSIONS or TPM_ST_SESSIONS (TPM_ST_RSP_COMMAND for TPM 1.2-style errors). */
  readonly tag: number;
  /** The whole message's size, header included. */
  readonly size: number;
  /** Command code (command) or response code (response). */
  readonly code: number;
}

/**
 * Reads a header and checks it against the message it opens: a known tag, a size of at least
 * the header, at most the cap, and equal to the bytes available (`messageLength`).
 * @throws ParseError `ERR_BAD_MAGIC` (tag), `ERR_TRUNCATED` (size beyond the message),
 *   `ERR_TRAILING_BYTES` (size short of it), `ERR_LENGTH_LIMIT`
 */
export function readHeader(r: ByteReader, field: string, messageLength: number): MessageHeader {
  const at = r.offset;
  const tag = r.u16be(`${field}.tag`);
  if (tag !== TPM_ST.NO_SESSIONS && tag !== TPM_ST.SESSIONS && tag !== TPM_ST.RSP_COMMAND) {
    throw r.errorAt(at, 'ERR_BAD_MAGIC', `${field}.tag`, {
      expected: 'TPM_ST_NO_SESSIONS (0x8001) or TPM_ST_SESSIONS (0x8002)',
      actual: `0x${tag.toString(16).padStart(4, '0')}`,
    });
  }
  const sizeAt = r.offset;
  const size = r.u32be(`${field}.size`);
  if (size > TPM2_LIMITS.maxMessage) {
    throw r.errorAt(sizeAt, 'ERR_LENGTH_LIMIT', `${field}.size`, {
      expected: `<= ${TPM2_LIMITS.maxMessage}`,
      actual: String(size),
    });
  }
  if (size < HEADER_SIZE) {
    throw r.errorAt(sizeAt, 'ERR_BAD_VALUE', `${field}.size`, {
      expected: `>= ${HEADER_SIZE}`,
      actual: String(size),
    });
  }
  if (size > messageLength) {
    throw r.errorAt(sizeAt, 'ERR_TRUNCATED', `${field}.size`, {
      expected: `${size} bytes`,
      actual: `${messageLength} bytes`,
      incomplete: true,
    });
  }
  if (size < messageLength) {
    throw r.errorAt(sizeAt, 'ERR_TRAILING_BYTES', `${field}.size`, {
      expected: `${messageLength} bytes`,
      actual: `size field ${size}`,
    });
  }
  const code = r.u32be(`${field}.code`);
  return { tag, size, code };
}

/** Writes a header. */
export function writeHeader(w: ByteWriter, h: MessageHeader): void {
  w.u16be(h.tag)
    .u32be(h.size)
    .u32be(h.code >>> 0);
}
