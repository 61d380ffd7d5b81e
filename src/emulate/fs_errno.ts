/**
 * The errno a served file operation fails with, and how provider errors become one — the
 * kernel's errors as a guest's programs see them (EINVAL, EFBIG, EACCES, EBUSY, EIO …).
 *
 * @module
 */
import { constants } from 'node:os';
import { isMrstackError, type ErrorCode } from '../errors.js';

/** An errno name the emulated kernel ABI returns. */
export type ErrnoName =
  | 'ENOENT'
  | 'EACCES'
  | 'EPERM'
  | 'EINVAL'
  | 'EFBIG'
  | 'EBUSY'
  | 'EIO'
  | 'EINTR'
  | 'ENXIO'
  | 'EEXIST'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'ENOTEMPTY'
  | 'ETIMEDOUT'
  | 'ERANGE'
  | 'EBADF'
  | 'ETXTBSY'
  | 'ENOTTY';

/** A file operation's failure: the errno the caller's system call returns. */
export class FsErrno extends Error {
  readonly errno: ErrnoName;
  constructor(errno: ErrnoName, message?: string) {
    super(message ?? errno);
    this.name = 'FsErrno';
    this.errno = errno;
  }

  /** The negative number FUSE replies with. */
  get negative(): number {
    return -constants.errno[this.errno];
  }
}

const BY_CODE: Partial<Record<ErrorCode, ErrnoName>> = {
  ERR_DEVICE_BUSY: 'EBUSY',
  ERR_DEVICE_IO: 'EIO',
  ERR_DEVICE_INTERRUPTED: 'EINTR',
  ERR_DEVICE_INVALID: 'EINVAL',
  ERR_DEVICE_TOO_BIG: 'EFBIG',
  ERR_PERMISSION: 'EACCES',
  ERR_DIGEST_SIZE: 'EINVAL',
  ERR_NOT_EXTENDABLE: 'EINVAL',
  ERR_USAGE: 'EINVAL',
  ERR_BAD_VALUE: 'EINVAL',
  // The kernel answers ENXIO when no provider can serve a report.
  ERR_UNSUPPORTED: 'ENXIO',
  ERR_TIMEOUT: 'ETIMEDOUT',
};

/** The errno for any thrown value (EIO for what has no closer meaning). */
export function toFsErrno(e: unknown): FsErrno {
  if (e instanceof FsErrno) return e;
  if (isMrstackError(e)) return new FsErrno(BY_CODE[e.code] ?? 'EIO', e.message);
  return new FsErrno('EIO', e instanceof Error ? e.message : String(e));
}
