// bench/ima_bridge: IMA entries mirrored into mr_ima per second for a burst (default 1,000,000
// entries), `process` durability, over the emulated TDX (rtmr3). The agent follows a list that
// holds only its boot_aggregate; the burst is then appended to the list in one go (as a boot's
// early measurements sit in the kernel's list before the agent starts reading), and the clock
// runs until a committed mr_ima token counts every entry.
//
// Two paths, interleaved run by run, medians reported:
//   cli        `mrstack agent start --ima --ima-log LIST` as a child process (the CLI's code);
//              CPU-seconds from /proc/<pid>/stat, progress from the admin socket's status;
//   in-process Agent.open({ ima }) in this process (the same library code without the process
//              and socket around it); CPU-seconds from process.cpuUsage().
// Beside them, the peer: `evmctl ima_measurement` replaying the same list in sha1+sha256 (PCR 10
// values from the agent's banks), its wall time and CPU-seconds.
//
// Usage: node dist/bench/ima_bridge/ima_bridge_bench.js [--entries N] [--runs R] [--json]
import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from '../../src/agent/agent.js';
import { AdminClient, TenantClient } from '../../src/agent/client.js';
import { initEmulatedTvm } from '../../src/providers/emulated/tvm_state.js';
import { openEmulatedProvider } from '../../src/providers/emulated/emulated_provider.js';
import { bootAggregateEntry, encodeImaMeasurement } from '../../src/providers/emulated/ima_list.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : Number(args[i + 1]);
};
const ENTRIES = opt('--entries', 1_000_000);
const RUNS = opt('--runs', 3);
const JSON_OUT = args.includes('--json');
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const CLK_TCK = 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The burst's bytes (built once): ima-ng entries as `emulate ima measure` writes them. */
function buildBurst(n: number): Buffer {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const digest = new Uint8Array(32);
    new DataView(digest.buffer).setUint32(0, i);
    parts.push(encodeImaMeasurement({ path: `/usr/lib/x86_64-linux-gnu/lib${i}.so.1`, digest }));
  }
  return Buffer.concat(parts);
}

interface Run {
  readonly path: 'cli' | 'in-process';
  readonly wall: number;
  readonly cpu: number;
  readonly tokens: number;
  readonly banks: Record<string, string>;
}

async function fresh(tag: string): Promise<{ dir: string; tvm: string; list: string }> {
  const dir = fs.mkdtempSync(join(os.tmpdir(), `mrstack-imabench-${tag}-`));
  const tvm = join(dir, 'tvm');
  await initEmulatedTvm({ stateDir: tvm, profile: 'tdx' });
  const list = join(tvm, 'ima', 'binary_runtime_measurements');
  fs.mkdirSync(join(tvm, 'ima'));
  fs.writeFileSync(list, bootAggregateEntry());
  return { dir, tvm, list };
}

function appendBurst(list: string, burst: Buffer): void {
  const fd = fs.openSync(list, fs.constants.O_WRONLY | fs.constants.O_APPEND);
  try {
    fs.writeSync(fd, burst);
  } finally {
    fs.closeSync(fd);
  }
}

async function runInProcess(burst: Buffer): Promise<Run> {
  const { dir, tvm, list } = await fresh('inproc');
  const provider = await openEmulatedProvider({ stateDir: tvm });
  const agent = await Agent.open({
    provider,
    register: 'rtmr3',
    logDir: join(dir, 'log'),
    bootId: 'bench',
    durability: 'process',
    ima: { listPath: list },
  });
  try {
    while (agent.ima!.mirrored < 1) await sleep(5);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    appendBurst(list, burst);
    const want = ENTRIES + 1;
    while (agent.ima!.mirrored < want) await sleep(2);
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const st = agent.status()['ima'] as { tokens: number };
    const b = await agent.imaEvidence(new Uint8Array([1]));
    const banks = Object.fromEntries(
      [...b.imaLog!.banks].map(([a, v]) => [a, Buffer.from(v).toString('hex')]),
    );
    return { path: 'in-process', wall, cpu: (c.user + c.system) / 1e6, tokens: st.tokens, banks };
  } finally {
    await agent.close();
    await provider.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function procCpu(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK; // utime, stime
}

async function runCli(burst: Buffer): Promise<Run> {
  const { dir, tvm, list } = await fresh('cli');
  const run = join(dir, 'run');
  const child = spawn(
    process.execPath,
    [
      CLI,
      'agent',
      'start',
      '--tvm-state',
      tvm,
      '--run-dir',
      run,
      '--ima',
      '--ima-log',
      list,
      '--boot-id',
      'bench',
      '--durability',
      'process',
      '--log-level',
      'error',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('"ready":true')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`agent exited ${String(code)}`)));
  });
  const admin = new AdminClient(join(run, 'admin.sock'));
  const mirrored = async (): Promise<{ mirrored: number; tokens: number }> =>
    (await admin.status())['ima'] as { mirrored: number; tokens: number };
  try {
    while ((await mirrored()).mirrored < 1) await sleep(5);
    const c0 = procCpu(child.pid!);
    const t0 = performance.now();
    appendBurst(list, burst);
    const want = ENTRIES + 1;
    let st = await mirrored();
    while (st.mirrored < want) {
      await sleep(5);
      st = await mirrored();
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = procCpu(child.pid!) - c0;
    const ima = new TenantClient(join(run, 'tenants', 'ima.sock'));
    const b = (await ima.evidence(new Uint8Array([1]))) as {
      ima_log: { banks: Record<string, string> };
    };
    ima.close();
    return { path: 'cli', wall, cpu, tokens: st.tokens, banks: b.ima_log.banks };
  } finally {
    admin.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** evmctl replaying the whole list (sha1 + sha256), as the peer yardstick. */
function runEvmctl(
  burst: Buffer,
  banks: Record<string, string>,
): { wall: number; cpu: number; ok: boolean } {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'mrstack-imabench-evmctl-'));
  try {
    const list = join(dir, 'list');
    fs.writeFileSync(list, Buffer.concat([bootAggregateEntry(), burst]));
    const pcrs = (alg: string): string => {
      const v = banks[alg]!;
      let s = '';
      for (let i = 0; i < 24; i++)
        s += `PCR-${String(i).padStart(2, '0')}: ${i === 10 ? v : '00'.repeat(v.length / 2)}\n`;
      const f = join(dir, `pcrs-${alg}`);
      fs.writeFileSync(f, s);
      return f;
    };
    const a = [
      'ima_measurement',
      '--pcrs',
      `sha1,${pcrs('sha1')}`,
      '--pcrs',
      `sha256,${pcrs('sha256')}`,
      list,
    ];
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'evmctl', ...a], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    const wall = (performance.now() - t0) / 1000;
    const times = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    return {
      wall,
      cpu: (times[0] ?? 0) + (times[1] ?? 0),
      ok: r.status === 0 && `${r.stdout}${r.stderr}`.includes('Matched per TPM bank'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const load0 = os.loadavg();
const tb = performance.now();
const burst = buildBurst(ENTRIES);
const buildS = (performance.now() - tb) / 1000;
const runs: Run[] = [];
const peer: { wall: number; cpu: number; ok: boolean }[] = [];
for (let r = 0; r < RUNS; r++) {
  // interleaved: cli, in-process, evmctl, then again
  runs.push(await runCli(burst));
  runs.push(await runInProcess(burst));
  peer.push(runEvmctl(burst, runs.at(-1)!.banks));
}
const load1 = os.loadavg();
const sameBanks = runs.every((x) => JSON.stringify(x.banks) === JSON.stringify(runs[0]!.banks));
const rows = (['cli', 'in-process'] as const).map((p) => {
  const rs = runs.filter((x) => x.path === p);
  const wall = median(rs.map((x) => x.wall));
  return {
    path: p,
    entries: ENTRIES,
    runs: rs.length,
    wall_s: wall,
    cpu_s: median(rs.map((x) => x.cpu)),
    entries_per_s: Math.round(ENTRIES / wall),
    tokens: median(rs.map((x) => x.tokens)),
  };
});
const evm = {
  path: 'evmctl ima_measurement (sha1+sha256)',
  wall_s: median(peer.map((x) => x.wall)),
  cpu_s: median(peer.map((x) => x.cpu)),
  matched: peer.every((x) => x.ok),
};
const result = {
  entries: ENTRIES,
  durability: 'process',
  burst_build_s: buildS,
  cpus: os.cpus().length,
  load_before: load0.map((x) => x.toFixed(1)).join(' '),
  load_after: load1.map((x) => x.toFixed(1)).join(' '),
  same_banks_every_run: sameBanks,
  rows,
  peer: evm,
};
if (JSON_OUT) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else {
  process.stdout.write(
    `entries: ${ENTRIES}  durability: process  cpus: ${os.cpus().length}  load: ${result.load_before} → ${result.load_after}\n`,
  );
  process.stdout.write('path         runs   wall_s   cpu_s   entries/s  tokens\n');
  for (const r of rows) {
    process.stdout.write(
      `${r.path.padEnd(12)} ${String(r.runs).padStart(4)} ${r.wall_s.toFixed(2).padStart(8)} ${r.cpu_s.toFixed(2).padStart(7)} ${String(r.entries_per_s).padStart(11)} ${String(r.tokens).padStart(7)}\n`,
    );
  }
  process.stdout.write(
    `peer: ${evm.path}: wall ${evm.wall_s.toFixed(2)} s, cpu ${evm.cpu_s.toFixed(2)} s, matched the agent's banks: ${String(evm.matched)}\n`,
  );
  process.stdout.write(`same banks in every run: ${String(sameBanks)}\n`);
}
