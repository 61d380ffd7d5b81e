/**
 * TCG PC Client event types (TCG PC Client Platform Firmware Profile Specification, version
 * 1.05 rev 23, §10.4.1 "Event Types"), with names for display.
 *
 * The event type is outside every digest: treat it as a hint until replay and the event data
 * agree with it.
 *
 * @module
 */

/** Event type values (`EV_*`). */
export const EventType = {
  EV_PREBOOT_CERT: 0x0,
  EV_POST_CODE: 0x1,
  EV_UNUSED: 0x2,
  EV_NO_ACTION: 0x3,
  EV_SEPARATOR: 0x4,
  EV_ACTION: 0x5,
  EV_EVENT_TAG: 0x6,
  EV_S_CRTM_CONTENTS: 0x7,
  EV_S_CRTM_VERSION: 0x8,
  EV_CPU_MICROCODE: 0x9,
  EV_PLATFORM_CONFIG_FLAGS: 0xa,
  EV_TABLE_OF_DEVICES: 0xb,
  EV_COMPACT_HASH: 0xc,
  EV_IPL: 0xd,
  EV_IPL_PARTITION_DATA: 0xe,
  EV_NONHOST_CODE: 0xf,
  EV_NONHOST_CONFIG: 0x10,
  EV_NONHOST_INFO: 0x11,
  EV_OMIT_BOOT_DEVICE_EVENTS: 0x12,
  EV_POST_CODE2: 0x13,
  EV_EFI_EVENT_BASE: 0x80000000,
  EV_EFI_VARIABLE_DRIVER_CONFIG: 0x80000001,
  EV_EFI_VARIABLE_BOOT: 0x80000002,
  EV_EFI_BOOT_SERVICES_APPLICATION: 0x80000003,
  EV_EFI_BOOT_SERVICES_DRIVER: 0x80000004,
  EV_EFI_RUNTIME_SERVICES_DRIVER: 0x80000005,
  EV_EFI_GPT_EVENT: 0x80000006,
  EV_EFI_ACTION: 0x80000007,
  EV_EFI_PLATFORM_FIRMWARE_BLOB: 0x80000008,
  EV_EFI_HANDOFF_TABLES: 0x80000009,
  EV_EFI_PLATFORM_FIRMWARE_BLOB2: 0x8000000a,
  EV_EFI_HANDOFF_TABLES2: 0x8000000b,
  EV_EFI_VARIABLE_BOOT2: 0x8000000c,
  EV_EFI_GPT_EVENT2: 0x8000000d,
  EV_EFI_HCRTM_EVENT: 0x80000010,
  EV_EFI_VARIABLE_AUTHORITY: 0x800000e0,
  EV_EFI_SPDM_FIRMWARE_BLOB: 0x800000e1,
  EV_EFI_SPDM_FIRMWARE_CONFIG: 0x800000e2,
  EV_EFI_SPDM_DEVICE_POLICY: 0x800000e3,
  EV_EFI_SPDM_DEVICE_AUTHORITY: 0x800000e4,
} as const;

/** A known event type name. */
export type EventTypeName = keyof typeof EventType;

const NAMES = new Map<number, EventTypeName>(
  (Object.entries(EventType) as [EventTypeName, number][]).map(([k, v]) => [v, k]),
);

/** The name of an event type (`EV_SEPARATOR`), or `EV_UNKNOWN_0x…` for others. */
export function eventTypeName(type: number): string {
  return NAMES.get(type) ?? `EV_UNKNOWN_0x${type.toString(16)}`;
}

/** The value of an event type name, or undefined. */
export function eventTypeByName(name: string): number | undefined {
  return (EventType as Record<string, number | undefined>)[name];
}

/**
 * Event types whose digest the specification defines as the hash of the event data itself
 * (PC Client PFP §10.4.1 and §10.4.4): a mismatch there is worth a warning. Other types hash
 * something the log does not carry (a PE image, a firmware volume) or their data only in part.
 */
export const DIGEST_IS_HASH_OF_DATA: ReadonlySet<number> = new Set<number>([
  EventType.EV_SEPARATOR,
  EventType.EV_ACTION,
  EventType.EV_EFI_ACTION,
  EventType.EV_EFI_VARIABLE_DRIVER_CONFIG,
  EventType.EV_EFI_GPT_EVENT,
  EventType.EV_EFI_GPT_EVENT2,
  EventType.EV_PLATFORM_CONFIG_FLAGS,
  EventType.EV_OMIT_BOOT_DEVICE_EVENTS,
]);
