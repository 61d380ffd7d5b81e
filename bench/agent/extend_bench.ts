// bench/agent/extend_bench: cost of one emulated extend (trace append + tail replay), alone, as
// the trace grows: N sequential extends of rtmr3 on a fresh emulated TDX; prints µs per extend
// for each tenth of the run.
//
// Usage: node dist/bench/agent/extend_bench.js [N (default 20000)]
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { initEmulatedTvm } from '../../src/providers/emulated/tvm_state.js';
import { openEmulatedProvider } from '../../src/providers/emulated/emulated_provider.js';

const n = Number(process.argv[2] ?? 20000) || 20000;
const dir = fs.mkdtempSync(join(os.tmpdir(), 'mrstack-bench-extend-'));
try {
  await initEmulatedTvm({ stateDir: dir, profile: 'tdx' });
  const p = await openEmulatedProvider({ stateDir: dir });
  const digest = new Uint8Array(48).fill(7);
  const step = Math.max(1, Math.floor(n / 10));
  let t = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 1; i <= n; i++) {
    await p.extend({ name: 'rtmr3' }, { kind: 'digest', digest });
    if (i % step === 0) {
      const now = performance.now();
      process.stdout.write(`${i} extends: ${(((now - t) * 1000) / step).toFixed(1)} µs/extend\n`);
      t = now;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(
    `cpu per extend: ${((cpu.user + cpu.system) / n).toFixed(1)} µs (user ${(cpu.user / n).toFixed(1)}, system ${(cpu.system / n).toFixed(1)})\n`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
