/**
 * The index maps between TCG PCRs, CC measurement-register indexes and register names, stated
 * once.
 *
 * - CCEL / EFI_CC_MEASUREMENT_PROTOCOL MR index (UEFI 2.10 §38.4, TDX GHCI "TD Event Log"):
 *   0 = MRTD, 1–4 = RTMR0–3 (an RTMR's index is its own number plus one, because MRTD takes 0).
 *   MRTD is built by the TDX module from the TD's initial pages, never by extends: a log record
 *   at index 0 is never replayed against MRTD.
 * - UEFI's PCR → CC MR map (UEFI 2.10 §38.4.1, `MapPcrToMrIndex`): PCR0 → MRTD, PCR1 and 7 →
 *   RTMR0, PCR2–6 → RTMR1, PCR8–15 → RTMR2, PCR ≥ 16 unmapped.
 * - CoCo's convention (guest-components, trustee) additionally maps PCR ≥ 16 (in practice
 *   PCR17) to RTMR3: the named map `coco`.
 *
 * Register names are the kernel's lowercase ones (`pcr0`, `mrtd`, `rtmr0`…`rtmr3`).
 *
 * @module
 */

/** The named PCR → CC MR maps. */
export type PcrMapName = 'uefi' | 'coco';

/** Every named map, for option validation. */
export const PCR_MAP_NAMES: readonly PcrMapName[] = Object.freeze(['uefi', 'coco']);

/** TCG PCR index meaning "no PCR" (padding / informational records such as Windows AIK blobs). */
export const PCR_INDEX_NONE = 0xffffffff;

/** Kernel name of PCR `n` (`pcr7`), or undefined for 0xFFFFFFFF. */
export function pcrName(n: number): string | undefined {
  return n === PCR_INDEX_NONE ? undefined : `pcr${n}`;
}

/** Register name of a CC MR index: 0 → `mrtd`, 1–4 → `rtmr0`…`rtmr3`; others undefined. */
export function ccMrName(index: number): string | undefined {
  if (index === 0) return 'mrtd';
  if (index >= 1 && index <= 4) return `rtmr${index - 1}`;
  return undefined;
}

/** CC MR index of an RTMR number (RTMR n ↔ index n + 1). */
export function rtmrToCcMrIndex(rtmr: number): number {
  return rtmr + 1;
}

/**
 * CC MR index for a PCR under a named map, or undefined when the map leaves it unmapped.
 * @param map - `uefi` (the UEFI table) or `coco` (also PCR ≥ 16 → RTMR3, index 4).
 */
export function pcrToCcMrIndex(pcr: number, map: PcrMapName = 'uefi'): number | undefined {
  if (pcr === 0) return 0;
  if (pcr === 1 || pcr === 7) return 1;
  if (pcr >= 2 && pcr <= 6) return 2;
  if (pcr >= 8 && pcr <= 15) return 3;
  if (pcr >= 16 && pcr !== PCR_INDEX_NONE && map === 'coco') return 4;
  return undefined;
}

/** True for register names that are extended by replay (MRTD is not: the TDX module builds it). */
export function isReplayable(register: string): boolean {
  return register !== 'mrtd';
}
