/**
 * Registers' reset values, by register name.
 *
 * TPM PC Client (PC Client Platform TPM Profile, PCR attributes): PCR0–16 and 23 reset to all
 * zeros; PCR17–22 (the dynamic-launch PCRs) to all ones until a D-RTM event resets them.
 * StartupLocality (PCR0 = 00…0L) and H-CRTM (PCR0 = 00…04) are carried by log records as
 * anchors, not here. TDX RTMRs, CCA REMs and virtual MRs reset to zeros.
 *
 * @module
 */
import { digestSize, type HashAlg } from '../crypto/hash_alg.js';

const PCR_RE = /^pcr(\d+)$/;

/** The value a register holds after a platform reset, in one bank. */
export function resetValue(register: string, alg: HashAlg): Uint8Array {
  const out = new Uint8Array(digestSize(alg));
  const m = PCR_RE.exec(register);
  if (m !== null) {
    const n = Number(m[1]);
    if (n >= 17 && n <= 22) out.fill(0xff);
  }
  return out;
}
