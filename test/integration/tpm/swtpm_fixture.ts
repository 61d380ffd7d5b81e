/**
 * A swtpm on loopback with a temporary state for one test file, and tpm2-tools pointed at it.
 * swtpm has no resource manager: tpm2-tools leave transient objects loaded, so every tool run
 * is followed by `tpm2_flushcontext -t`. swtpm serves one connection at a time, so mrstack's
 * connection is closed before a tool runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startSwtpm, type SwtpmInstance } from '../../../src/providers/tpm/swtpm_process.js';
import { SwtpmTransport } from '../../../src/providers/tpm/swtpm_transport.js';
import { Tpm } from '../../../src/providers/tpm/tpm.js';

/** A running swtpm plus helpers. */
export interface SwtpmFixture {
  readonly sw: SwtpmInstance;
  readonly dir: string;
  readonly address: string;
  /** Runs a tpm2-tools command against the swtpm (then flushes transient objects). */
  tool(cmd: string, args: readonly string[]): string;
  /** Runs a tpm2-tools command that needs no TPM (`-T none`), without flushing anything. */
  offline(cmd: string, args: readonly string[]): string;
  /** Runs `fn` with an mrstack TPM client, closing its connection afterwards. */
  withTpm<T>(fn: (tpm: Tpm) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** Starts swtpm in a fresh temporary directory. */
export async function startSwtpmFixture(): Promise<SwtpmFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-swtpm-'));
  const sw = await startSwtpm(join(dir, 'state'));
  const env = { ...process.env, TPM2TOOLS_TCTI: `swtpm:host=${sw.host},port=${sw.port}` };
  const run = (cmd: string, args: readonly string[]): string =>
    execFileSync(cmd, [...args], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  return {
    sw,
    dir,
    address: `${sw.host}:${sw.port}`,
    tool(cmd, args) {
      try {
        return run(cmd, args);
      } finally {
        run('tpm2_flushcontext', ['-t']);
      }
    },
    offline(cmd, args) {
      return run(cmd, args);
    },
    async withTpm(fn) {
      const tpm = new Tpm(new SwtpmTransport({ host: sw.host, port: sw.port }));
      try {
        return await fn(tpm);
      } finally {
        await tpm.close();
      }
    },
    async stop() {
      await sw.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Parses `tpm2_pcrread` YAML output into bank → pcr → lowercase hex. */
export function parsePcrreadYaml(text: string): Map<string, Map<number, string>> {
  const out = new Map<string, Map<number, string>>();
  let bank: Map<number, string> | undefined;
  for (const line of text.split('\n')) {
    const b = /^\s{2}(\w+):\s*$/.exec(line);
    if (b !== null) {
      bank = new Map();
      out.set(b[1]!, bank);
      continue;
    }
    const v = /^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)/.exec(line);
    if (v !== null && bank !== undefined) bank.set(Number(v[1]), v[2]!.toLowerCase());
  }
  return out;
}
