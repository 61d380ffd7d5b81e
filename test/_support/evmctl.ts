/**
 * `evmctl ima_measurement --pcrs ALG,FILE LIST` (Debian ima-evm-utils 1.4) as an independent
 * judge of IMA replay: it replays the binary list itself and exits 0 only when every given bank's
 * PCR10 matches. FILE holds `PCR-NN: <hex>` lines for PCR-00 to PCR-23 in order.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A scratch directory for evmctl's input files; `close()` removes it. */
export class Evmctl {
  readonly #dir = mkdtempSync(join(tmpdir(), 'mrstack-evmctl-'));
  #n = 0;

  /** Runs evmctl on the list with PCR10 values per bank (hex); status 0 means accepted. */
  run(
    list: Uint8Array,
    pcr10: Readonly<Record<string, string>>,
    extra: readonly string[] = [],
  ): { status: number | null; out: string } {
    const path = join(this.#dir, `list-${this.#n++}`);
    writeFileSync(path, list);
    const args = ['ima_measurement', ...extra];
    for (const [alg, hex] of Object.entries(pcr10)) {
      args.push('--pcrs', `${alg},${this.#pcrFile(hex, hex.length / 2)}`);
    }
    args.push(path);
    const r = spawnSync('evmctl', args, { encoding: 'utf8', timeout: 300_000 });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  }

  close(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #pcrFile(pcr10Hex: string, size: number): string {
    let s = '';
    for (let i = 0; i < 24; i++) {
      s += `PCR-${String(i).padStart(2, '0')}: ${i === 10 ? pcr10Hex : '00'.repeat(size)}\n`;
    }
    const p = join(this.#dir, `pcrs-${this.#n++}`);
    writeFileSync(p, s);
    return p;
  }
}
