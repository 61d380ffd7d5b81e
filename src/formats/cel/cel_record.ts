/**
 * The TCG Canonical Event Log (CEL) information model, shared by the TLV and JSON encodings.
 *
 * A record (CELR) has a record number, one register handle (a PCR, an NV index, or — Google's
 * extension used by Confidential Space — a confidential-computing MR index), a list of digests
 * (one per bank, each tagged with its TPM_ALG_ID) and one content of a given type. Content
 * types: `cel_mgt` (4, CEL management events), `pcclient_std` (5, a PC Client event type and
 * data), `ima_template` (7, an IMA template name and data), `ima_tlv` (8), Google's COS content
 * (80), and systemd's userspace measurement records (JSON only).
 *
 * Values from the TCG "Canonical Event Log Format" specification as implemented by
 * google/go-eventlog (TLV type numbers, 5-byte TLV headers with a big-endian length, nested
 * digest TLVs typed by TPM_ALG_ID) and libcel (JSON member names, content-type names, hex for
 * bytes). Where neither fixes the width of an integer inside a content TLV, mrstack writes
 * big-endian: 4 bytes for `pcclient_std` event types and CEL version numbers, 8 for
 * timestamps, 1 for state transitions; on reading it accepts 1–8 bytes.
 *
 * @module
 */
import { hashAlgFromId, type HashAlg } from '../../crypto/hash_alg.js';

/** TLV type numbers of the top-level record fields and content types. */
export const CEL_TLV_TYPES = {
  recnum: 0,
  pcr: 1,
  nvIndex: 2,
  digests: 3,
  celMgt: 4,
  pcclientStd: 5,
  imaTemplate: 7,
  imaTlv: 8,
  /** Google: COS / Confidential Space launcher events. */
  cos: 80,
  /** Google: confidential-computing MR index (CCEL numbering: 0 MRTD, 1-4 RTMR0-3). */
  ccMr: 108,
} as const;

/** Nested TLV types inside `cel_mgt` content. */
export const CEL_MGT_TYPES = {
  cel_version: 1,
  firmware_end: 2,
  cel_timestamp: 80,
  state_trans: 81,
} as const;

/** Values of a `state_trans` management event. */
export const CEL_STATE_TRANS = { suspend: 0, hibernate: 1, kexec: 2 } as const;

/** Nested TLV types inside `cel_version`. */
export const CEL_VERSION_FIELDS = { major: 0, minor: 1 } as const;

/** Nested TLV types inside `pcclient_std` content. */
export const CEL_PCCLIENT_FIELDS = { event_type: 0, event_data: 1 } as const;

/** Nested TLV types inside `ima_template` content. */
export const CEL_IMA_TEMPLATE_FIELDS = { template_name: 0, template_data: 1 } as const;

/** COS event types inside Google's content type 80 (from the gce capture's provenance). */
export const COS_EVENT_TYPES: Readonly<Record<number, string>> = Object.freeze({
  0: 'image_ref',
  1: 'image_digest',
  2: 'restart_policy',
  3: 'image_id',
  4: 'arg',
  5: 'env_var',
  6: 'override_arg',
  7: 'override_env',
  8: 'launch_separator',
  9: 'memory_monitor',
  10: 'gpu_cc_mode',
});

/** Kinds of register handle. */
export type CelRegisterKind = 'pcr' | 'nv_index' | 'cc_mr';

/** The register a record was extended into. */
export interface CelRegister {
  readonly kind: CelRegisterKind;
  readonly index: number;
  /** Width of the index in the TLV encoding (kept for byte-exact round trips). */
  readonly size?: number;
}

/** One digest of a record. */
export interface CelDigest {
  /** TPM_ALG_ID. */
  readonly algId: number;
  readonly digest: Uint8Array;
}

/** A CEL management event. */
export type CelMgtEvent =
  | { readonly type: 'cel_version'; readonly major: number; readonly minor: number }
  | { readonly type: 'firmware_end' }
  | { readonly type: 'cel_timestamp'; readonly value: bigint }
  | { readonly type: 'state_trans'; readonly value: keyof typeof CEL_STATE_TRANS };

/** A nested TLV kept as is. */
export interface CelTlv {
  readonly type: number;
  readonly value: Uint8Array;
}

/** The content of a record, by content type. `raw` is the TLV value as read, when read. */
export type CelContent =
  | {
      readonly type: 'cel_mgt';
      readonly events: readonly CelMgtEvent[];
      readonly raw?: Uint8Array;
    }
  | {
      readonly type: 'pcclient_std';
      readonly eventType: number;
      readonly eventData: Uint8Array;
      readonly raw?: Uint8Array;
    }
  | {
      readonly type: 'ima_template';
      readonly templateName: string;
      readonly templateData: Uint8Array;
      readonly raw?: Uint8Array;
    }
  | { readonly type: 'ima_tlv'; readonly fields: readonly CelTlv[]; readonly raw?: Uint8Array }
  | { readonly type: 'cos'; readonly events: readonly CelTlv[]; readonly raw?: Uint8Array }
  | { readonly type: 'systemd'; readonly value: Readonly<Record<string, unknown>> }
  | { readonly type: 'unknown'; readonly contentType: number; readonly raw: Uint8Array };

/** One CEL record. */
export interface CelRecord {
  /** Position in the log, 0-based. */
  readonly index: number;
  /** Absolute byte offset of the record (TLV) or of its JSON text. */
  readonly offset: number;
  readonly recnum: number;
  /** Width of the recnum in the TLV encoding (kept for byte-exact round trips). */
  readonly recnumSize?: number;
  readonly register: CelRegister;
  readonly digests: readonly CelDigest[];
  readonly content: CelContent;
}

/** The content-type number of a content (undefined for systemd, which has none in TLV). */
export function celContentTypeNumber(c: CelContent): number | undefined {
  switch (c.type) {
    case 'cel_mgt':
      return CEL_TLV_TYPES.celMgt;
    case 'pcclient_std':
      return CEL_TLV_TYPES.pcclientStd;
    case 'ima_template':
      return CEL_TLV_TYPES.imaTemplate;
    case 'ima_tlv':
      return CEL_TLV_TYPES.imaTlv;
    case 'cos':
      return CEL_TLV_TYPES.cos;
    case 'systemd':
      return undefined;
    case 'unknown':
      return c.contentType;
  }
}

/** The kernel-style register name of a record: `pcr<N>`, CC MRs as `mrtd`/`rtmr<N-1>`. */
export function celRegisterName(r: CelRegister): string {
  switch (r.kind) {
    case 'pcr':
      return `pcr${r.index}`;
    case 'cc_mr':
      return r.index === 0 ? 'mrtd' : `rtmr${r.index - 1}`;
    case 'nv_index':
      return `nv0x${r.index.toString(16)}`;
  }
}

/** The bank name of a digest's algorithm id, when it is a known hash. */
export function celDigestAlg(d: CelDigest): HashAlg | undefined {
  return hashAlgFromId(d.algId);
}

/** PC Client event type names as libcel spells them in JSON (lower case `ev_*`). */
export const PCCLIENT_EVENT_TYPES: Readonly<Record<string, number>> = Object.freeze({
  ev_prebootcert: 0x0,
  ev_post_code: 0x1,
  ev_unused: 0x2,
  ev_no_action: 0x3,
  ev_separator: 0x4,
  ev_action: 0x5,
  ev_event_tag: 0x6,
  ev_s_crtm_contents: 0x7,
  ev_s_crtm_version: 0x8,
  ev_cpu_microcode: 0x9,
  ev_platform_config_flags: 0xa,
  ev_table_of_devices: 0xb,
  ev_compact_hash: 0xc,
  ev_ipl: 0xd,
  ev_ipl_partition_data: 0xe,
  ev_nonhost_code: 0xf,
  ev_nonhost_config: 0x10,
  ev_nonhost_info: 0x11,
  ev_omit_boot_device_events: 0x12,
  ev_efi_variable_driver_config: 0x80000001,
  ev_efi_variable_boot: 0x80000002,
  ev_efi_boot_services_application: 0x80000003,
  ev_efi_boot_services_driver: 0x80000004,
  ev_efi_runtime_services_driver: 0x80000005,
  ev_efi_gpt_event: 0x80000006,
  ev_efi_action: 0x80000007,
  ev_efi_platform_firmware_blob: 0x80000008,
  ev_efi_handoff_tables: 0x80000009,
  ev_efi_platform_firmware_blob2: 0x8000000a,
  ev_efi_handoff_tables2: 0x8000000b,
  ev_efi_variable_boot2: 0x8000000c,
  ev_efi_hcrtm_event: 0x80000010,
  ev_efi_variable_authority: 0x800000e0,
  ev_efi_spdm_firmware_blob: 0x800000e1,
  ev_efi_spdm_firmware_config: 0x800000e2,
});
