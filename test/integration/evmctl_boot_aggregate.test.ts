// `mrstack log boot-aggregate` against `evmctl ima_boot_aggregate` (Debian ima-evm-utils 1.4) on
// the shared TCG captures. evmctl reads only TPM 1.2 (SHA-1 layout) logs itself, so those are
// given to it as they are; for crypto-agile logs evmctl gets the PCR values tpm2_eventlog
// (tpm2-tools 5.4) replays from the same log (`--pcrs ALG,FILE`), so both the PCRs and the
// aggregate come from tools other than mrstack. Logs where tpm2_eventlog's replay rules differ
// from the PC Client specification on PCR0–9 (StartupLocality/H-CRTM starting values,
// EV_NO_ACTION extended; see tpm2_eventlog_crosscheck.test.ts) are left out of that half.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliJson } from '../_support/cli.js';
import { fixture } from '../_support/paths.js';
import { tempDir } from '../_support/tmp.js';
import { parseAll, logFixture } from '../unit/eventlog/support.js';

const TCG = (name: string): string => fixture('eventlogs', 'tcg', name);

// PROVENANCE (eventlogs/tcg): TPM 1.2 SHA-1 logs from a Linux host and an Intel NUC. (The
// option-ROM log holds PCR index 0xFFFFFFFF records, which evmctl refuses to read: "Invalid PCR -1".)
const SHA1_LOGS = [
  'linux-tpm12.binary_bios_measurements',
  'intel-nuc-sha1-legacy-format.binary_bios_measurements',
];

// Crypto-agile logs (PROVENANCE: Fedora 37 systemd-boot, a dual-bank PC Client log, GCE
// images, a Lenovo laptop, keylime's sample).
const AGILE_LOGS = [
  'fedora37-systemd-boot.binary_bios_measurements',
  'pc-client-sha1-sha256.binary_bios_measurements',
  'gce-rhel8-secureboot.binary_bios_measurements',
  'gce-ubuntu2104-no-secureboot.binary_bios_measurements',
  'lenovo-thinkpad-sha256.binary_bios_measurements',
  'keylime-secureboot-enabled-sha256.binary_bios_measurements',
];

function evmctl(args: readonly string[]): string {
  const r = spawnSync('evmctl', ['ima_boot_aggregate', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `evmctl ima_boot_aggregate ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  const m = /^([a-z0-9]+):([0-9a-f]+)$/m.exec(r.stdout);
  assert.ok(m !== null, r.stdout);
  return `${m[1]!}:${m[2]!}`;
}

/** tpm2_eventlog's `pcrs:` block for one bank: pcr → hex. */
function toolPcrs(path: string, alg: string): Map<number, string> {
  const r = spawnSync('tpm2_eventlog', [path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const out = new Map<number, string>();
  let inBank = false;
  for (const l of lines.slice(lines.indexOf('pcrs:') + 1)) {
    const a = /^ {2}([a-z0-9_]+):\s*$/.exec(l);
    if (a !== null) inBank = a[1] === alg;
    const p = /^ {4}(\d+)\s*: 0x([0-9a-fA-F]+)$/.exec(l);
    if (p !== null && inBank) out.set(Number(p[1]), p[2]!.toLowerCase());
  }
  return out;
}

test('SHA-1 (TPM 1.2) logs: mrstack log boot-aggregate = evmctl ima_boot_aggregate LOG', async () => {
  for (const name of SHA1_LOGS) {
    const want = evmctl([TCG(name)]);
    const r = await runCli(['log', 'boot-aggregate', TCG(name), '--alg', 'sha1', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), want, name);
    // Without --alg the only bank the log has is taken.
    const d = await runCli(['log', 'boot-aggregate', TCG(name), '--quiet']);
    assert.equal(d.stdout.trim(), want, name);
  }
});

test('crypto-agile logs: sha1 (PCR0-7) and sha256 (PCR0-9) agree with evmctl over tpm2_eventlog PCRs', async (t) => {
  const dir = tempDir(t, 'mrstack-bootagg-');
  let compared = 0;
  for (const name of AGILE_LOGS) {
    // Logs where tpm2_eventlog 5.4 replays PCR0-9 by other rules than the specification.
    const { events } = await parseAll(logFixture(`tcg/${name}`));
    const sensitive = events.some(
      (e) =>
        e.register !== undefined &&
        /^pcr[0-9]$/.test(e.register) &&
        (e.anchor !== undefined || (e.kind === 'tcg2' && e.untrustedType === 3 && !e.header)),
    );
    assert.equal(sensitive, false, `${name}: pick logs tpm2_eventlog replays by the spec's rules`);
    for (const alg of ['sha1', 'sha256']) {
      const pcrs = toolPcrs(TCG(name), alg);
      if (pcrs.size === 0) continue;
      const size = alg === 'sha1' ? 20 : 32;
      const file = join(dir, `${name}.${alg}`);
      let text = '';
      for (let i = 0; i < 24; i++) {
        text += `PCR-${String(i).padStart(2, '0')}: ${pcrs.get(i) ?? '00'.repeat(size)}\n`;
      }
      writeFileSync(file, text);
      const want = evmctl(['--hashalgo', alg, '--pcrs', `${alg},${file}`]);
      const { result, json } = await runCliJson([
        'log',
        'boot-aggregate',
        TCG(name),
        '--alg',
        alg,
        '--json',
      ]);
      assert.equal(result.code, 0, result.stderr);
      const j = json as { alg: string; boot_aggregate: string; pcrs: Record<string, string> };
      assert.equal(`${j.alg}:${j.boot_aggregate}`, want, `${name} ${alg}`);
      // The PCRs hashed are the kernel's: 0-7 for sha1, 0-9 otherwise.
      const max = Math.max(...Object.keys(j.pcrs).map((k) => Number(k.slice(3))));
      assert.ok(max <= (alg === 'sha1' ? 7 : 9), `${name} ${alg}: ${Object.keys(j.pcrs).join()}`);
      compared++;
    }
  }
  assert.ok(compared >= 8, `only ${String(compared)} bank/log pairs compared`);
});

test('a bank the log lacks and a log that is not TCG are usage errors', async () => {
  const r = await runCli(['log', 'boot-aggregate', TCG(SHA1_LOGS[0]!), '--alg', 'sha256']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no sha256 bank \(banks: sha1\)/);
  const ima = fixture(
    'eventlogs',
    'ima',
    'rust-keylime-agent-ima-ng-sha1.ascii_runtime_measurements',
  );
  const i = await runCli(['log', 'boot-aggregate', ima]);
  assert.equal(i.code, 2);
  assert.match(i.stderr, /needs a TCG PC Client log, not ima-ascii/);
});
