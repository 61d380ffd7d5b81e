// bench/verifier: challenge sessions per second through `mrstack verifier serve` (the CLI's own
// process, over loopback HTTP). The timed loop is one session: POST /v1/sessions, the client
// makes an emulated TDX quote bound to the nonce in this process (client CPU, measured apart),
// POST the report envelope to /v1/sessions/{id}/evidence, receive the EAR. Reports sessions/s,
// p50/p99 latency and the service processes' CPU ms per session (from /proc/<pid>/stat).
//
// Usage: node dist/bench/verifier/verifier_bench.js [--sessions N] [--concurrency C]
//        [--procs P] [--postgres] [--json] [--cpu-prof DIR]
// --postgres: the store is a PostgreSQL server this bench starts (Debian postgresql, as in the
//   tests); P processes share it, the client picks them round robin. Default: 1 process on the
//   embedded store.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initEmulatedTvm } from '../../src/providers/emulated/tvm_state.js';
import { openEmulatedProvider } from '../../src/providers/emulated/emulated_provider.js';
import { reportEnvelope } from '../../src/cli/commands/report.js';
import { toJsonText } from '../../src/cli/output.js';
import { startPostgres } from '../../test/_support/postgres.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const SESSIONS = Number(flag('--sessions') ?? '1000');
const CONCURRENCY = Number(flag('--concurrency') ?? '8');
const PROCS = Number(flag('--procs') ?? '1');
const POSTGRES = args.includes('--postgres');
const JSON_OUT = args.includes('--json');
// --cpu-prof DIR: each service process writes a V8 CPU profile there when it exits.
const CPU_PROF = flag('--cpu-prof');
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function cpuMsOf(pid: number): number {
  // utime + stime, fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function serve(
  store: string,
  env: NodeJS.ProcessEnv,
): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(
    process.execPath,
    [
      ...(CPU_PROF === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`]),
      CLI,
      'verifier',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--store',
      store,
      '--trust-emulated',
      '--tvm-state',
      join(dir, 'tvm'),
      '--log-level',
      'warn',
      '--session-ttl',
      '600',
      // One client address makes every request: the per-address limit would throttle the bench.
      '--rate-limit',
      '0',
    ],
    { env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.on('exit', (c) => reject(new Error(`serve exited ${String(c)}`)));
  });
  return { proc, url: (JSON.parse(line) as { listening: string }).listening };
}

const dir = mkdtempSync(join(tmpdir(), 'mrstack-vbench-'));
const env = { ...process.env, MRSTACK_VERIFIER_KEK: randomBytes(32).toString('hex') };
const pg = POSTGRES ? await startPostgres() : undefined;
const store = pg !== undefined ? pg.createDatabase('bench') : `embedded:${join(dir, 'store')}`;

await initEmulatedTvm({ stateDir: join(dir, 'tvm'), profile: 'tdx' });
// The services trust this TVM (--trust-emulated --tvm-state): it must exist before they start.
const procs: { proc: ChildProcess; url: string }[] = [];
for (let i = 0; i < PROCS; i++) procs.push(await serve(store, env));

const provider = await openEmulatedProvider({ stateDir: join(dir, 'tvm') });

async function post(
  url: string,
  path: string,
  body: Uint8Array | string,
  type: string,
): Promise<unknown> {
  const r = await fetch(new URL(path, url), {
    method: 'POST',
    headers: { 'content-type': type },
    body: typeof body === 'string' ? body : Buffer.from(body),
  });
  const j = await r.json();
  if (r.status >= 300) throw new Error(`${path}: HTTP ${r.status} ${JSON.stringify(j)}`);
  return j;
}

let clientCpuUs = 0;
let sharedCollateral: Uint8Array | undefined;
async function oneSession(url: string): Promise<number> {
  const t0 = performance.now();
  const s = (await post(url, '/v1/sessions', '{}', 'application/json')) as {
    id: string;
    nonce: string;
  };
  const c0 = process.cpuUsage();
  const nonce = new Uint8Array(Buffer.from(s.nonce, 'hex'));
  const raw = await provider.report({ reportData: nonce });
  // A fleet's attesters send the same collateral (Intel's TCB info, QE identity and CRLs change
  // rarely); the emulated provider issues fresh collateral with every quote, so the bench sends
  // the first one throughout, as real attesters of one platform would.
  sharedCollateral ??= raw.parts?.['collateral'];
  const parts =
    sharedCollateral === undefined ? raw.parts : { ...raw.parts, collateral: sharedCollateral };
  const envelope = new TextEncoder().encode(
    toJsonText(
      reportEnvelope(
        { ...raw, ...(parts === undefined ? {} : { parts }) },
        nonce,
        undefined,
        nonce,
      ),
    ),
  );
  const c1 = process.cpuUsage(c0);
  clientCpuUs += c1.user + c1.system;
  const r = (await post(
    url,
    `/v1/sessions/${s.id}/evidence`,
    envelope,
    'application/octet-stream',
  )) as { passed: boolean };
  if (!r.passed) throw new Error('a bench session did not pass');
  return performance.now() - t0;
}

// Warm-up (JIT, first policy compile, first signing key use) outside the timed loop.
for (const p of procs) for (let i = 0; i < 5; i++) await oneSession(p.url);
clientCpuUs = 0;

const cpu0 = procs.map((p) => cpuMsOf(p.proc.pid!));
const latencies: number[] = [];
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async (_, w) => {
    for (;;) {
      const i = next++;
      if (i >= SESSIONS) return;
      latencies.push(await oneSession(procs[(i + w) % procs.length]!.url));
    }
  }),
);
const wall = (performance.now() - t0) / 1000;
const serviceCpu = procs.reduce((a, p, i) => a + cpuMsOf(p.proc.pid!) - cpu0[i]!, 0);
latencies.sort((a, b) => a - b);
const pct = (q: number): number =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
const out = {
  store: POSTGRES ? 'postgres' : 'embedded',
  processes: PROCS,
  sessions: SESSIONS,
  concurrency: CONCURRENCY,
  sessions_per_s: +(SESSIONS / wall).toFixed(1),
  p50_ms: +pct(0.5).toFixed(2),
  p99_ms: +pct(0.99).toFixed(2),
  service_cpu_ms_per_session: +(serviceCpu / SESSIONS).toFixed(2),
  client_quote_cpu_ms_per_session: +(clientCpuUs / 1000 / SESSIONS).toFixed(2),
  cores: cpus().length,
  loadavg_1m: +loadavg()[0]!.toFixed(2),
};
if (JSON_OUT) console.log(JSON.stringify(out));
else console.table(out);

await provider.close();
for (const p of procs) {
  const exited = new Promise((r) => p.proc.once('exit', r));
  p.proc.kill('SIGTERM');
  await exited;
}
await pg?.stop();
rmSync(dir, { recursive: true, force: true });
