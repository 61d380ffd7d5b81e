/**
 * tsm-mr discovery: the `measurements` groups under `sys/devices/virtual/misc/*` and the
 * registers their file names describe (`MRNAME:HASH`, or bare `MRNAME` for a no-hash register;
 * the same name may appear under several hashes). Sizes are the files' sizes, which sysfs sets
 * to the register size.
 *
 * @module
 */
import { lookupHashAlg, type HashAlg } from '../../crypto/hash_alg.js';
import type { MrInfo } from '../provider.js';
import { KNOWN_TSM_MR_DEVICES } from './devices.js';
import { measurementsDir, MISC_DEVICES_DIR } from './kernel_paths.js';
import type { TsmFs } from './tsm_fs.js';

/** One register file of a tsm-mr group. */
export interface TsmMrFile extends MrInfo {
  /** Path relative to the root. */
  readonly path: string;
  /** The device whose group holds it. */
  readonly device: string;
}

/** The devices that have a tsm-mr group, known ones first (in table order), then by name. */
export async function findTsmMrDevices(fs: TsmFs): Promise<readonly string[]> {
  const top = await fs.stat(MISC_DEVICES_DIR);
  if (top?.isDirectory !== true) return [];
  const found: string[] = [];
  for (const dev of await fs.list(MISC_DEVICES_DIR)) {
    const st = await fs.stat(measurementsDir(dev));
    if (st?.isDirectory === true) found.push(dev);
  }
  const known = Object.keys(KNOWN_TSM_MR_DEVICES);
  const rank = (d: string): number => {
    const i = known.indexOf(d);
    return i < 0 ? known.length : i;
  };
  return found.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Splits a tsm-mr file name into register name and algorithm. Returns undefined for names that
 * are not registers (a hash suffix the kernel could print but this code does not know).
 */
export function parseTsmMrFileName(
  file: string,
): { readonly name: string; readonly alg: HashAlg | undefined } | undefined {
  const i = file.indexOf(':');
  if (i < 0) return /^[A-Za-z0-9_]+$/.test(file) ? { name: file, alg: undefined } : undefined;
  const name = file.slice(0, i);
  const alg = lookupHashAlg(file.slice(i + 1));
  if (alg === undefined || !/^[A-Za-z0-9_]+$/.test(name)) return undefined;
  return { name, alg };
}

/** The registers of one device's tsm-mr group, in file-name order. */
export async function listTsmMrs(fs: TsmFs, device: string): Promise<readonly TsmMrFile[]> {
  const dir = measurementsDir(device);
  const known = KNOWN_TSM_MR_DEVICES[device];
  const out: TsmMrFile[] = [];
  for (const file of await fs.list(dir)) {
    const parsed = parseTsmMrFileName(file);
    if (parsed === undefined) continue;
    const path = `${dir}/${file}`;
    const st = await fs.stat(path);
    if (st === undefined || st.isDirectory) continue;
    // Unknown devices and registers are listed but never extended: what a write means there is
    // not known (DESIGN §2).
    const meaning = known?.mrs[parsed.name] ?? { kind: 'static', extendable: false };
    out.push({
      name: parsed.name,
      alg: parsed.alg,
      size: st.size,
      kind: meaning.kind,
      extendable: meaning.extendable,
      ...(meaning.extendable ? { extendInput: { min: st.size, max: st.size } } : {}),
      path,
      device,
    });
  }
  return out;
}
