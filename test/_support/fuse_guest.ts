/**
 * Acting as the guest on a mount served by `mrstack emulate mount` (see
 * test/integration/fuse/mount_helpers.ts): shell commands from a separate process, configfs-tsm
 * report instances, and reports taken through the linux provider.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCliJson, verifyEvidenceJson, type EvidenceVerifyJson } from './cli.js';

/** The configfs-tsm report directory below a guest's root (every profile has it). */
export const TSM_REPORT_DIR = 'sys/kernel/config/tsm/report';

/**
 * A report instance's attributes, sorted, when its provider takes service reports (sev_guest
 * under an SVSM, arm_cca_guest): the configfs-tsm ABI's base set plus `service_provider`,
 * `service_guid`, `service_manifest_version` and `manifestblob`.
 */
export const TSM_REPORT_SERVICE_ATTRIBUTES: readonly string[] = [
  'auxblob',
  'generation',
  'inblob',
  'manifestblob',
  'outblob',
  'privlevel',
  'privlevel_floor',
  'provider',
  'service_guid',
  'service_manifest_version',
  'service_provider',
];

/** A guest's `/` and the emulated TVM state behind it (a `ServedMount` is one). */
export interface GuestRoot {
  readonly root: string;
  readonly stateDir: string;
}

/** What {@link guestShell} returns. */
export interface ShellResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/**
 * Runs `sh -c script` in a child process, as a guest's shell would touch the mount (the serving
 * process must not). `LC_ALL=C` keeps error texts such as "Permission denied" stable.
 */
export function guestShell(script: string): ShellResult {
  const r = spawnSync('sh', ['-c', script], {
    env: { ...process.env, LC_ALL: 'C' },
    timeout: 120_000, // generous: the serving process may be slow under load
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/**
 * Creates the configfs-tsm report instance `inst` with a shell `mkdir` (asserting it succeeds),
 * runs `fn` on it, and removes it with `rmdir` however `fn` ends.
 */
export async function withReportInstance(
  inst: string,
  fn: (inst: string) => void | Promise<void>,
): Promise<void> {
  const made = guestShell(`mkdir '${inst}'`);
  assert.equal(made.code, 0, made.stderr);
  try {
    await fn(inst);
  } finally {
    guestShell(`rmdir '${inst}'`);
  }
}

/**
 * `mrstack report --provider linux --root <guest>` with a fresh nonce, then `evidence verify
 * --trust-emulated --tvm-state STATE --nonce` (the full path, nothing relaxed): both exit 0, the evidence verifies, and no report
 * instance is left behind. Returns what verify printed.
 */
export async function reportAndVerifyOnMount(guest: GuestRoot): Promise<EvidenceVerifyJson> {
  const nonce = randomBytes(32).toString('hex');
  const out = join(guest.stateDir, '..', `evidence-${nonce.slice(0, 8)}.json`);
  const rep = await runCliJson([
    'report',
    '--provider',
    'linux',
    '--root',
    guest.root,
    '--nonce',
    nonce,
    '--out',
    out,
    '--json',
  ]);
  assert.equal(rep.result.code, 0, rep.result.stdout + rep.result.stderr);
  const { result, json } = await verifyEvidenceJson(out, {
    trustEmulated: true,
    tvmState: guest.stateDir,
    nonce,
  });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(json.verified, true);
  assert.deepEqual(readdirSync(join(guest.root, TSM_REPORT_DIR)), []);
  return json;
}
