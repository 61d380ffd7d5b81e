/**
 * What each known tsm-mr device's registers mean. A file's mode says whether the kernel accepts
 * writes, not what a write does: the kernel sample has a live RTMR that is read-only and aliases
 * under other names, so which registers are extendable is known per device, never guessed.
 *
 * Sources: `drivers/virt/coco/tdx-guest/tdx-guest.c` (TDX), `samples/tsm-mr/tsm_mr_sample.c`
 * (the kernel's fake TVM); FIELD §A.2.
 *
 * @module
 */
import type { Profile } from '../provider.js';

/** One register of a known device. */
export interface KnownMr {
  /** `static`: fixed at launch; `runtime`: may change. */
  readonly kind: 'static' | 'runtime';
  /** Whether a write to its file is an extend this provider may issue. */
  readonly extendable: boolean;
}

/** A device that registers a tsm-mr `measurements` group. */
export interface KnownDevice {
  /** The platform the device implies, when it implies one. */
  readonly profile: Profile | undefined;
  /** Registers by name (the file name without `:hash`). */
  readonly mrs: Readonly<Record<string, KnownMr>>;
}

const STATIC: KnownMr = { kind: 'static', extendable: false };
const RTMR: KnownMr = { kind: 'runtime', extendable: true };
const LIVE_READ_ONLY: KnownMr = { kind: 'runtime', extendable: false };

/** The known devices, in the order discovery prefers them. */
export const KNOWN_TSM_MR_DEVICES: Readonly<Record<string, KnownDevice>> = {
  tdx_guest: {
    profile: 'tdx',
    mrs: {
      mrconfigid: STATIC,
      mrowner: STATIC,
      mrownerconfig: STATIC,
      mrtd: STATIC,
      rtmr0: RTMR,
      rtmr1: RTMR,
      rtmr2: RTMR,
      rtmr3: RTMR,
    },
  },
  tsm_mr_sample: {
    profile: undefined,
    mrs: {
      static_mr: STATIC,
      config_mr: STATIC,
      // LIVE but not writable: "direct extension prohibited" in the sample.
      rtmr0: LIVE_READ_ONLY,
      rtmr1: RTMR,
      // Aliases of rtmr0 (sha256) and rtmr1 (sha384) that accept extends.
      rtmr_crypto_agile: RTMR,
      // SHA-512 over the other registers, recomputed on refresh.
      report_digest: LIVE_READ_ONLY,
    },
  },
};

/** The platform a configfs-tsm `provider` name implies. */
export const TSM_REPORT_PROVIDERS = {
  tdx_guest: { profile: 'tdx', format: 'tdx-quote', inblob: { min: 64, max: 64 } },
  sev_guest: { profile: 'snp', format: 'snp-report', inblob: { min: 64, max: 64 } },
  arm_cca_guest: { profile: 'cca', format: 'cca-token', inblob: { min: 32, max: 64 } },
} as const;

/** A configfs-tsm provider name this code knows. */
export type TsmReportProviderName = keyof typeof TSM_REPORT_PROVIDERS;

/** True when `name` is a known configfs-tsm provider. */
export function isKnownReportProvider(name: string): name is TsmReportProviderName {
  return Object.hasOwn(TSM_REPORT_PROVIDERS, name);
}

/** Guest misc devices whose presence names the platform when no tsm-mr group exists. */
export const PLATFORM_MISC_DEVICES: Readonly<Record<string, Profile>> = {
  tdx_guest: 'tdx',
  'sev-guest': 'snp',
};
