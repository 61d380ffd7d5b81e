/**
 * Where the kernel puts the measurement ABI, relative to the root (DESIGN §2, FIELD §A.2–A.3).
 *
 * @module
 */

/** The parent of every misc device; a tsm-mr group is `<device>/measurements/`. */
export const MISC_DEVICES_DIR = 'sys/devices/virtual/misc';

/** The attribute group name tsm-mr registers on its device. */
export const MEASUREMENTS_GROUP = 'measurements';

/** configfs-tsm report instances live below this directory. */
export const TSM_REPORT_DIR = 'sys/kernel/config/tsm/report';

/** The first TPM's PCR banks: `pcr-<alg>/<n>`, hex text. */
export const TPM_PCR_DIR = 'sys/class/tpm/tpm0';

/** Event-log locations the kernel exposes. */
export const LOG_PATHS = {
  /** The CCEL ACPI table header (TDX: where the log lives and how long it is). */
  ccelTable: 'sys/firmware/acpi/tables/CCEL',
  /** The CCEL log area itself. */
  ccelData: 'sys/firmware/acpi/tables/data/CCEL',
  /** The TPM's firmware (TCG2) event log. */
  tpmBiosLog: 'sys/kernel/security/tpm0/binary_bios_measurements',
  /** IMA's logs live here: `{ascii,binary}_runtime_measurements[_<alg>]`. */
  imaDir: 'sys/kernel/security/ima',
} as const;

/** The tsm-mr group of a device. */
export function measurementsDir(device: string): string {
  return `${MISC_DEVICES_DIR}/${device}/${MEASUREMENTS_GROUP}`;
}
