/**
 * The kernel paths an emulated TVM shows for its profile, as a {@link VirtualTree}:
 *
 * - tdx: `sys/devices/virtual/misc/tdx_guest/measurements/` (`mrconfigid`, `mrowner`,
 *   `mrownerconfig`, `mrtd:sha384` read-only; `rtmr0..3:sha384` writable), the configfs-tsm
 *   report group with the `tdx_guest` provider, and the CCEL under `sys/firmware/acpi/tables/`;
 * - snp: `sys/devices/virtual/misc/sev-guest/` (no tsm-mr: SNP has no runtime registers) and
 *   reports from `sev_guest`;
 * - cca: reports from `arm_cca_guest` (Linux offers no user-space REM extend);
 * - every profile: IMA's `binary_runtime_measurements` and `ascii_runtime_measurements` under
 *   `sys/kernel/security/ima/`, from the TVM state's list (`emulate ima measure`).
 *
 * @module
 */
import { UsageError } from '../errors.js';
import { emulatedTdxCcel } from './ccel_files.js';
import { KNOWN_TSM_MR_DEVICES } from '../providers/linux/devices.js';
import {
  LOG_PATHS,
  MISC_DEVICES_DIR,
  measurementsDir,
  TSM_REPORT_DIR,
} from '../providers/linux/kernel_paths.js';
import type { Profile, Provider } from '../providers/provider.js';
import { tsmMrFile } from './tsm_mr_file.js';
import { tsmReportProfile, tsmReportGroup, type EmulatedKernelOptions } from './tsm_report_dir.js';
import { constFile, StaticDir, VirtualTree } from './vfs.js';
import { imaListFiles } from './ima_files.js';

/** The profiles a mount can serve. */
export const MOUNT_PROFILES: readonly Profile[] = ['tdx', 'snp', 'cca'];

/** The tsm-mr device each profile's kernel driver registers, if any. */
const TSM_MR_DEVICE: Partial<Record<Profile, string>> = { tdx: 'tdx_guest' };
/** Guest misc devices present per profile. */
const MISC_DEVICE: Partial<Record<Profile, string>> = { tdx: 'tdx_guest', snp: 'sev-guest' };

/**
 * Builds the tree for a provider's profile.
 * @throws UsageError `ERR_USAGE` for a profile the kernel ABI has no guest driver for (`tpm`),
 *   or kernel options out of range
 */
export async function buildTvmTree(
  provider: Provider,
  profile: Profile,
  kernel: EmulatedKernelOptions = {},
): Promise<VirtualTree> {
  const report = tsmReportProfile(profile, kernel);
  if (!MOUNT_PROFILES.includes(profile) || report === undefined) {
    throw new UsageError(
      'ERR_USAGE',
      `profile ${profile}: the kernel ABI mount serves tdx, snp or cca guests (a TPM has /dev/tpmrm0 instead)`,
    );
  }
  const root = new StaticDir();
  const misc = MISC_DEVICE[profile];
  if (misc !== undefined) root.path(`${MISC_DEVICES_DIR}/${misc}`);
  const device = TSM_MR_DEVICE[profile];
  if (device !== undefined) {
    const known = KNOWN_TSM_MR_DEVICES[device]!;
    const dir = root.path(measurementsDir(device));
    for (const mr of await provider.describe()) {
      const meaning = known.mrs[mr.name];
      if (meaning === undefined) continue;
      const file = mr.alg === undefined ? mr.name : `${mr.name}:${mr.alg}`;
      dir.add(
        file,
        tsmMrFile(provider, {
          name: mr.name,
          alg: mr.alg,
          size: mr.size,
          writable: meaning.extendable,
        }),
      );
    }
  }
  if (profile === 'tdx') {
    const ccel = emulatedTdxCcel();
    const tables = root.path(LOG_PATHS.ccelTable.split('/').slice(0, -1).join('/'));
    // ACPI tables are readable by root only (0400), as Linux shows them.
    tables.add('CCEL', constFile(ccel.table, 0o400));
    tables.dir('data').add('CCEL', constFile(ccel.data, 0o400));
  }
  root
    .path(TSM_REPORT_DIR.split('/').slice(0, -1).join('/'))
    .add('report', tsmReportGroup(provider, report, kernel));
  // IMA's lists (a kernel in TPM-bypass mode), from the TVM state's list
  const stateDir = (provider as { stateDir?: unknown }).stateDir;
  if (typeof stateDir === 'string') {
    const ima = imaListFiles(stateDir);
    const dir = root.path(LOG_PATHS.imaDir);
    dir.add('binary_runtime_measurements', ima.binary);
    dir.add('ascii_runtime_measurements', ima.ascii);
  }
  return new VirtualTree(root);
}
