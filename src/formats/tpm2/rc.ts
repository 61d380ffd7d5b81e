/**
 * TPM 2.0 response codes (Part 2, 6.6): decoding of format-0 and format-1 codes into the
 * specification's names (`TPM_RC_HANDLE`, …) with the parameter, handle or session number a
 * format-1 code carries, and the typed error that carries them.
 *
 * @module
 */
import { MrstackError } from '../../errors.js';

const RC_VER1 = 0x100;
const RC_FMT1 = 0x080;
const RC_WARN = 0x900;

const VER1_NAMES: Readonly<Record<number, string>> = {
  0x000: 'TPM_RC_INITIALIZE',
  0x001: 'TPM_RC_FAILURE',
  0x003: 'TPM_RC_SEQUENCE',
  0x00b: 'TPM_RC_PRIVATE',
  0x019: 'TPM_RC_HMAC',
  0x020: 'TPM_RC_DISABLED',
  0x021: 'TPM_RC_EXCLUSIVE',
  0x024: 'TPM_RC_AUTH_TYPE',
  0x025: 'TPM_RC_AUTH_MISSING',
  0x026: 'TPM_RC_POLICY',
  0x027: 'TPM_RC_PCR',
  0x028: 'TPM_RC_PCR_CHANGED',
  0x02d: 'TPM_RC_UPGRADE',
  0x02e: 'TPM_RC_TOO_MANY_CONTEXTS',
  0x02f: 'TPM_RC_AUTH_UNAVAILABLE',
  0x030: 'TPM_RC_REBOOT',
  0x031: 'TPM_RC_UNBALANCED',
  0x042: 'TPM_RC_COMMAND_SIZE',
  0x043: 'TPM_RC_COMMAND_CODE',
  0x044: 'TPM_RC_AUTHSIZE',
  0x045: 'TPM_RC_AUTH_CONTEXT',
  0x046: 'TPM_RC_NV_RANGE',
  0x047: 'TPM_RC_NV_SIZE',
  0x048: 'TPM_RC_NV_LOCKED',
  0x049: 'TPM_RC_NV_AUTHORIZATION',
  0x04a: 'TPM_RC_NV_UNINITIALIZED',
  0x04b: 'TPM_RC_NV_SPACE',
  0x04c: 'TPM_RC_NV_DEFINED',
  0x050: 'TPM_RC_BAD_CONTEXT',
  0x051: 'TPM_RC_CPHASH',
  0x052: 'TPM_RC_PARENT',
  0x053: 'TPM_RC_NEEDS_TEST',
  0x054: 'TPM_RC_NO_RESULT',
  0x055: 'TPM_RC_SENSITIVE',
};

const FMT1_NAMES: Readonly<Record<number, string>> = {
  0x01: 'TPM_RC_ASYMMETRIC',
  0x02: 'TPM_RC_ATTRIBUTES',
  0x03: 'TPM_RC_HASH',
  0x04: 'TPM_RC_VALUE',
  0x05: 'TPM_RC_HIERARCHY',
  0x07: 'TPM_RC_KEY_SIZE',
  0x08: 'TPM_RC_MGF',
  0x09: 'TPM_RC_MODE',
  0x0a: 'TPM_RC_TYPE',
  0x0b: 'TPM_RC_HANDLE',
  0x0c: 'TPM_RC_KDF',
  0x0d: 'TPM_RC_RANGE',
  0x0e: 'TPM_RC_AUTH_FAIL',
  0x0f: 'TPM_RC_NONCE',
  0x10: 'TPM_RC_PP',
  0x12: 'TPM_RC_SCHEME',
  0x15: 'TPM_RC_SIZE',
  0x16: 'TPM_RC_SYMMETRIC',
  0x17: 'TPM_RC_TAG',
  0x18: 'TPM_RC_SELECTOR',
  0x1a: 'TPM_RC_INSUFFICIENT',
  0x1b: 'TPM_RC_SIGNATURE',
  0x1c: 'TPM_RC_KEY',
  0x1d: 'TPM_RC_POLICY_FAIL',
  0x1f: 'TPM_RC_INTEGRITY',
  0x20: 'TPM_RC_TICKET',
  0x21: 'TPM_RC_RESERVED_BITS',
  0x22: 'TPM_RC_BAD_AUTH',
  0x23: 'TPM_RC_EXPIRED',
  0x24: 'TPM_RC_POLICY_CC',
  0x25: 'TPM_RC_BINDING',
  0x26: 'TPM_RC_CURVE',
  0x27: 'TPM_RC_ECC_POINT',
};

const WARN_NAMES: Readonly<Record<number, string>> = {
  0x001: 'TPM_RC_CONTEXT_GAP',
  0x002: 'TPM_RC_OBJECT_MEMORY',
  0x003: 'TPM_RC_SESSION_MEMORY',
  0x004: 'TPM_RC_MEMORY',
  0x005: 'TPM_RC_SESSION_HANDLES',
  0x006: 'TPM_RC_OBJECT_HANDLES',
  0x007: 'TPM_RC_LOCALITY',
  0x008: 'TPM_RC_YIELDED',
  0x009: 'TPM_RC_CANCELED',
  0x00a: 'TPM_RC_TESTING',
  0x010: 'TPM_RC_REFERENCE_H0',
  0x011: 'TPM_RC_REFERENCE_H1',
  0x012: 'TPM_RC_REFERENCE_H2',
  0x013: 'TPM_RC_REFERENCE_H3',
  0x014: 'TPM_RC_REFERENCE_H4',
  0x015: 'TPM_RC_REFERENCE_H5',
  0x016: 'TPM_RC_REFERENCE_H6',
  0x018: 'TPM_RC_REFERENCE_S0',
  0x019: 'TPM_RC_REFERENCE_S1',
  0x01a: 'TPM_RC_REFERENCE_S2',
  0x01b: 'TPM_RC_REFERENCE_S3',
  0x01c: 'TPM_RC_REFERENCE_S4',
  0x01d: 'TPM_RC_REFERENCE_S5',
  0x01e: 'TPM_RC_REFERENCE_S6',
  0x020: 'TPM_RC_NV_RATE',
  0x021: 'TPM_RC_LOCKOUT',
  0x022: 'TPM_RC_RETRY',
  0x023: 'TPM_RC_NV_UNAVAILABLE',
};

/** A decoded TPM_RC. */
export interface TpmRcInfo {
  /** The raw 32-bit response code. */
  readonly rc: number;
  /** The specification's name, e.g. `TPM_RC_HANDLE`; `TPM_RC_UNKNOWN_0x…` when not named. */
  readonly name: string;
  /** Format 1 (bit 7): the code names a parameter, handle or session. */
  readonly format1: boolean;
  /** A warning (format 0, bit 11), e.g. `TPM_RC_RETRY`: the command may succeed later. */
  readonly warning: boolean;
  /** A vendor-defined code (format 0, bit 10). */
  readonly vendor: boolean;
  /** A TPM 1.2 code (format 0 without bit 8). */
  readonly tpm12: boolean;
  /** 1-based parameter number (format 1, P bit set). */
  readonly parameter?: number;
  /** 1-based handle number (format 1, P clear, bit 11 clear). */
  readonly handle?: number;
  /** 1-based session number (format 1, P clear, bit 11 set). */
  readonly session?: number;
}

/** Decodes a non-zero TPM_RC (Part 2, 6.6.2 figure 26). */
export function decodeRc(rc: number): TpmRcInfo {
  const hex = `0x${rc.toString(16).padStart(3, '0')}`;
  const base = { rc, format1: false, warning: false, vendor: false, tpm12: false };
  if ((rc & RC_FMT1) !== 0) {
    const n = rc & 0x3f;
    const name = FMT1_NAMES[n] ?? `TPM_RC_UNKNOWN_${hex}`;
    const num = (rc >> 8) & 0xf;
    if ((rc & 0x40) !== 0) return { ...base, name, format1: true, parameter: num };
    if ((num & 0x8) !== 0) return { ...base, name, format1: true, session: num & 0x7 };
    return num === 0
      ? { ...base, name, format1: true }
      : { ...base, name, format1: true, handle: num };
  }
  if ((rc & RC_VER1) === 0) return { ...base, name: `TPM_RC_TPM12_${hex}`, tpm12: true };
  if ((rc & 0x400) !== 0) return { ...base, name: `TPM_RC_VENDOR_${hex}`, vendor: true };
  if ((rc & RC_WARN) === RC_WARN) {
    return { ...base, name: WARN_NAMES[rc & 0x7f] ?? `TPM_RC_UNKNOWN_${hex}`, warning: true };
  }
  return { ...base, name: VER1_NAMES[rc & 0x7f] ?? `TPM_RC_UNKNOWN_${hex}` };
}

/** Readable form: `TPM_RC_HANDLE (0x18b, handle 1)`. */
export function formatRc(info: TpmRcInfo): string {
  const where =
    info.parameter !== undefined
      ? `, parameter ${info.parameter}`
      : info.handle !== undefined
        ? `, handle ${info.handle}`
        : info.session !== undefined
          ? `, session ${info.session}`
          : '';
  return `${info.name} (0x${info.rc.toString(16)}${where})`;
}

/** The TPM answered a command with an error response code (`ERR_TPM_RC`, exit 3). */
export class TpmRcError extends MrstackError {
  /** The decoded response code. */
  readonly rcInfo: TpmRcInfo;
  /** The command that failed, by name (`TPM2_Quote`). */
  readonly command: string;

  constructor(command: string, rc: number) {
    const info = decodeRc(rc);
    super('ERR_TPM_RC', `${command}: ${formatRc(info)}`, {
      details: {
        tpm_rc: info.name,
        rc: `0x${rc.toString(16)}`,
        command,
        ...(info.parameter === undefined ? {} : { parameter: info.parameter }),
        ...(info.handle === undefined ? {} : { handle: info.handle }),
        ...(info.session === undefined ? {} : { session: info.session }),
      },
    });
    this.rcInfo = info;
    this.command = command;
  }

  /** The specification's name of the code. */
  get rcName(): string {
    return this.rcInfo.name;
  }
}
