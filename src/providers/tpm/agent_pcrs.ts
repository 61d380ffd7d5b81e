/**
 * The agent-facing rule for TPM PCRs: PCR 16 (debug) and PCR 23 (application) can be reset
 * from locality 0, so a log anchored in them proves nothing; the agent refuses them unless the
 * operator explicitly allows it. PCRs 17–22 belong to DRTM (locality 4 and above) and cannot be
 * extended from user space at all.
 *
 * @module
 */
import { UsageError } from '../../errors.js';

/** PCRs resettable from locality 0 (TCG PC Client Platform Firmware Profile, PCR attributes). */
export const RESETTABLE_PCRS: readonly number[] = Object.freeze([16, 23]);

/** PCRs reserved for DRTM, extendable only from localities 2–4. */
export const DRTM_PCRS: readonly number[] = Object.freeze([17, 18, 19, 20, 21, 22]);

/**
 * Checks that an agent may own a PCR.
 * @throws UsageError `ERR_USAGE` for 16 and 23 (unless `allowResettable`), 17–22, and
 *   indexes outside 0..23
 */
export function checkAgentPcr(pcr: number, allowResettable = false): void {
  if (!Number.isInteger(pcr) || pcr < 0 || pcr > 23) {
    throw new UsageError('ERR_USAGE', `pcr${pcr}: expected a PCR index 0..23`);
  }
  if (DRTM_PCRS.includes(pcr)) {
    throw new UsageError(
      'ERR_USAGE',
      `pcr${pcr} is a DRTM PCR (locality 2-4); user space cannot extend it`,
    );
  }
  if (!allowResettable && RESETTABLE_PCRS.includes(pcr)) {
    throw new UsageError(
      'ERR_USAGE',
      `pcr${pcr} can be reset from locality 0, so its log could be rewritten; refused for agent use unless explicitly allowed`,
    );
  }
}
