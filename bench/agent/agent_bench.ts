// bench/agent: acknowledged appends per second and p50/p99 latency for 1, 8 and 64 concurrent
// tenants, in both durability modes, beside the disk's own fdatasync rate measured in the same
// run; also with the emulated extend slowed to 1 ms; and (--million) RSS over 1,000,000 events.
//
// The agent and its unix-socket service run in this process over the emulated TDX; the tenants
// run in a worker thread (its own event loop), each appending as fast as acknowledgements come.
//
// Usage: node dist/bench/agent/agent_bench.js [--seconds N] [--depth D] [--only T:DUR:EXT_MS]
//        [--batch B] [--batched] [--paced RATE] [--events N] [--million] [--ids] [--json]
// --batch B: each request carries B events (`POST /v1/events` with an array; in-process:
//   `agent.appendMany`); latency is per request. --batched: the batched table — 1, 8, 64
//   tenants × batches of 1, 16, 256 × process/os, the in-process core rate (single appends and
//   batches of 256) and the disk's fdatasync rate in the same run, then the goal rows (64
//   tenants, batches of 256: 1 ms extends, request ids). --events N (with --batched): a
//   64-tenant batched run of N events with RSS/heap samples (memory flat).
// --ids: every append carries a fresh request id (`t<k>-<i>`), as a client that wants
//   exactly-once retries sends them; the agent then indexes each id (docs/agent.md).
// --depth D: each tenant keeps D requests outstanding (default 1: strictly sequential).
// --in-process: no sockets; the tenants' loops call agent.append in the agent's own thread
//   (the agent core's own cost; client_busy is then the same thread).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Agent } from '../../src/agent/agent.js';
import { AgentServer } from '../../src/agent/server.js';
import { TenantClient } from '../../src/agent/client.js';
import type { Durability } from '../../src/agent/append_file.js';
import { initEmulatedTvm } from '../../src/providers/emulated/tvm_state.js';
import { openEmulatedProvider } from '../../src/providers/emulated/emulated_provider.js';
import type { Provider } from '../../src/providers/provider.js';

interface WorkerJob {
  readonly sockets: readonly string[];
  readonly seconds: number;
  readonly events: number;
  /** Requests each tenant keeps outstanding (1: send the next once the last is acknowledged). */
  readonly depth: number;
  /** Give every append a fresh request id. */
  readonly ids: boolean;
  /** Events per request. */
  readonly batch: number;
  /** Offered events/s over all tenants (0: closed loop, as fast as acknowledgements come). */
  readonly rate: number;
}

interface WorkerResult {
  readonly acked: number;
  readonly errors: number;
  readonly latencies: Float64Array;
  readonly elapsed: number;
  /** Event-loop utilization of the clients' thread. */
  readonly busy: number;
}

/** One tenant's connection: sends `n` events, resolves with how many were acknowledged. */
interface Sender {
  send: (contents: readonly string[], ids: readonly string[] | undefined) => Promise<number>;
  close: () => void;
}

/** Each tenant appends as fast as acknowledgements come, `depth` requests outstanding. */
async function runLoops(
  tenants: number,
  open: (k: number) => Sender,
  seconds: number,
  events: number,
  depth: number,
  ids: boolean,
  batch: number,
  rate = 0,
): Promise<WorkerResult> {
  // preallocated (16 MB), so that the bench's own memory does not grow during a run
  const latencies = new Float64Array(2_000_000);
  let kept = 0;
  let acked = 0;
  let errors = 0;
  const t0 = performance.now();
  const elu0 = performance.eventLoopUtilization();
  const deadline = t0 + seconds * 1000;
  const perTenant = events > 0 ? Math.ceil(events / tenants) : Infinity;
  await Promise.all(
    Array.from({ length: tenants }, async (_, k) => {
      const c = open(k);
      let n = 0;
      // `depth` loops per tenant share the tenant's client (a keep-alive connection each)
      // paced (open loop): tenant k sends a batch every `interval` ms, phases spread evenly
      const interval = rate > 0 ? (batch * tenants * 1000) / rate : 0;
      let sent = 0;
      const loop = async (): Promise<void> => {
        while (n < perTenant && (events > 0 || performance.now() < deadline)) {
          if (interval > 0) {
            const at = t0 + (k / tenants) * interval + sent++ * interval;
            const wait = at - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            if (performance.now() >= deadline) break;
          }
          const a = performance.now();
          const i0 = n;
          const m = Math.min(batch, perTenant - n);
          n += m;
          const contents = Array.from({ length: m }, (_, j) => `tenant ${k} event ${i0 + j}`);
          const idList = ids ? Array.from({ length: m }, (_, j) => `t${k}-${i0 + j}`) : undefined;
          try {
            const ok = await c.send(contents, idList);
            acked += ok;
            errors += m - ok;
            if (kept < latencies.length) latencies[kept++] = performance.now() - a;
          } catch {
            errors += m;
          }
        }
      };
      await Promise.all(Array.from({ length: depth }, loop));
      c.close();
    }),
  );
  const busy = performance.eventLoopUtilization(elu0).utilization;
  return {
    acked,
    errors,
    latencies: latencies.slice(0, kept),
    elapsed: performance.now() - t0,
    busy,
  };
}

function runClients(job: WorkerJob): Promise<WorkerResult> {
  return runLoops(
    job.sockets.length,
    (k) => {
      const c = new TenantClient(job.sockets[k]!);
      return {
        send: async (contents, ids) => {
          if (job.batch === 1) {
            await c.append(
              { domain: 'bench.example', operation: 'append', content: contents[0]! },
              ids?.[0],
            );
            return 1;
          }
          const rs = await c.appendBatch(
            contents.map((content, j) => ({
              domain: 'bench.example',
              operation: 'append',
              content,
              ...(ids === undefined ? {} : { id: ids[j]! }),
            })),
          );
          return rs.reduce((n, r) => n + (r.status === 'acknowledged' ? 1 : 0), 0);
        },
        close: () => c.close(),
      };
    },
    job.seconds,
    job.events,
    job.depth,
    job.ids,
    job.batch,
    job.rate,
  );
}

if (!isMainThread) {
  void runClients(workerData as WorkerJob).then((r) => parentPort!.postMessage(r));
}

function clientsInWorker(job: WorkerJob): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: job });
    w.once('message', (r: WorkerResult) => {
      void w.terminate();
      resolve(r);
    });
    w.once('error', reject);
  });
}

function fdatasyncRate(dir: string, ms = 1000): number {
  const fd = fs.openSync(join(dir, 'fsync.probe'), 'a');
  const buf = Buffer.alloc(200, 0x61);
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    fs.writeSync(fd, buf);
    fs.fdatasyncSync(fd);
    n++;
  }
  fs.closeSync(fd);
  return n / (ms / 1000);
}

function slowed(p: Provider, ms: number): Provider {
  if (ms <= 0) return p;
  return {
    kind: p.kind,
    profile: p.profile,
    describe: (o) => p.describe(o),
    read: (s, o) => p.read(s, o),
    report: (r, o) => p.report(r, o),
    close: () => p.close(),
    extend: async (s, i, o) => {
      await new Promise((r) => setTimeout(r, ms));
      return p.extend(s, i, o);
    },
  };
}

const pct = (xs: Float64Array, q: number): number => {
  if (xs.length === 0) return NaN;
  const s = xs.slice().sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

interface Row {
  /** Offered events/s (0: closed loop). */
  offered: number;
  tenants: number;
  depth: number;
  batch: number;
  in_process: boolean;
  ids: boolean;
  durability: Durability;
  extend_ms: number;
  acked_per_s: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  batches: number;
  /** Event-loop utilization of the agent's thread (server + agent core) during the run. */
  agent_busy: number;
  /** Event-loop utilization of the clients' thread. */
  client_busy: number;
  /** Busy time of the agent's thread per acknowledged event. */
  agent_us_per_event: number;
}

async function scenario(
  tenants: number,
  durability: Durability,
  extendMs: number,
  seconds: number,
  depth: number,
  inProcess: boolean,
  ids: boolean,
  events = 0,
  onRss?: (acked: number) => void,
  batch = 1,
  rate = 0,
): Promise<Row> {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'mrstack-bench-agent-'));
  try {
    await initEmulatedTvm({ stateDir: join(dir, 'tvm'), profile: 'tdx' });
    const provider = slowed(await openEmulatedProvider({ stateDir: join(dir, 'tvm') }), extendMs);
    const names = Array.from({ length: tenants }, (_, i) => `t${i}`);
    const agent = await Agent.open({
      provider,
      register: 'rtmr3',
      logDir: join(dir, 'log'),
      durability,
      bootId: 'bench',
      tenants: names.map((n) => ({ name: n, vmr: n })),
    });
    const server = inProcess
      ? undefined
      : await AgentServer.start({ agent, runDir: join(dir, 'run') });
    let timer: NodeJS.Timeout | undefined;
    if (onRss !== undefined)
      timer = setInterval(() => onRss(agent.status()['acknowledged'] as number), 2000);
    const elu0 = performance.eventLoopUtilization();
    const r =
      server === undefined
        ? await runLoops(
            tenants,
            (k) => ({
              send: async (contents, idList) => {
                if (batch === 1) {
                  await agent.append(
                    names[k]!,
                    { domain: 'bench.example', operation: 'append', content: contents[0]! },
                    idList?.[0],
                  );
                  return 1;
                }
                const rs = await agent.appendMany(
                  names[k]!,
                  contents.map((content, j) => ({
                    event: { domain: 'bench.example', operation: 'append', content },
                    ...(idList === undefined ? {} : { id: idList[j]! }),
                  })),
                );
                return rs.reduce((n, r) => n + (r.status === 'acknowledged' ? 1 : 0), 0);
              },
              close: () => undefined,
            }),
            seconds,
            events,
            depth,
            ids,
            batch,
            rate,
          )
        : await clientsInWorker({
            sockets: names.map((n) => server.tenantSocket(n)),
            seconds,
            events,
            depth,
            ids,
            batch,
            rate,
          });
    const elu = performance.eventLoopUtilization(elu0).utilization;
    if (timer !== undefined) clearInterval(timer);
    const batches = agent.status()['batches'] as number;
    await server?.close();
    await agent.close();
    return {
      offered: rate,
      tenants,
      depth,
      batch,
      in_process: inProcess,
      ids,
      durability,
      extend_ms: extendMs,
      acked_per_s: Math.round(r.acked / (r.elapsed / 1000)),
      p50_ms: Number(pct(r.latencies, 0.5).toFixed(2)),
      p99_ms: Number(pct(r.latencies, 0.99).toFixed(2)),
      errors: r.errors,
      batches,
      agent_busy: Number(elu.toFixed(2)),
      client_busy: Number(r.busy.toFixed(2)),
      agent_us_per_event: Math.round((elu * r.elapsed * 1000) / Math.max(1, r.acked)),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** RSS and the agent thread's heap, after a full GC when run with --expose-gc. */
function memory(): { rss_mb: number; heap_mb: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss_mb: Math.round(m.rss / 1e6), heap_mb: Math.round(m.heapUsed / 1e6) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined =>
    args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
  const seconds = Number(opt('--seconds') ?? 3) || 3;
  const json = args.includes('--json');
  const depth = Number(opt('--depth') ?? 1) || 1;
  const inProcess = args.includes('--in-process');
  const ids = args.includes('--ids');
  const probeDir = fs.mkdtempSync(join(os.tmpdir(), 'mrstack-bench-fsync-'));
  const fsync = Math.round(fdatasyncRate(probeDir));
  fs.rmSync(probeDir, { recursive: true, force: true });
  const batch = Number(opt('--batch') ?? 1) || 1;
  if (args.includes('--batched')) {
    await batched(opt, seconds, fsync, json);
    return;
  }
  const rows: Row[] = [];
  // --only T:D:E runs one scenario (tenants, durability, extend ms), e.g. for a CPU profile
  const only = opt('--only')?.split(':');
  // rows: tenants, durability, extend ms, depth (the --depth rows, then 64 tenants pipelining 4)
  const plan: [number, Durability, number, number][] =
    only !== undefined
      ? [[Number(only[0]), (only[1] ?? 'process') as Durability, Number(only[2] ?? 0), depth]]
      : [
          ...(['process', 'os'] as const).flatMap((d) =>
            [1, 8, 64].map((t): [number, Durability, number, number] => [t, d, 0, depth]),
          ),
          [8, 'process', 1, depth],
          [64, 'process', 1, depth],
          ...(depth === 1
            ? ([
                [64, 'process', 0, 4],
                [64, 'os', 0, 4],
                [64, 'process', 1, 4],
              ] as [number, Durability, number, number][])
            : []),
        ];
  for (const [t, d, e, k] of plan)
    rows.push(await scenario(t, d, e, seconds, k, inProcess, ids, 0, undefined, batch));
  let million: { acked: number; rss_mb: number; heap_mb: number }[] | undefined;
  if (args.includes('--million')) {
    million = [];
    const samples = million;
    const row = await scenario(64, 'process', 0, 0, depth, inProcess, ids, 1_000_000, (acked) =>
      samples.push({ acked, ...memory() }),
    );
    rows.push(row);
  }
  const out = {
    cpus: os.cpus().length,
    loadavg: os.loadavg().map((x) => Number(x.toFixed(1))),
    fdatasync_per_s: fsync,
    rows,
    ...(million === undefined ? {} : { million_rss: million }),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    `disk fdatasync: ${fsync}/s   cpus: ${out.cpus}   load: ${out.loadavg.join(' ')}   request ids: ${ids ? 'on every event' : 'none'}\n`,
  );
  process.stdout.write(
    'tenants depth durability extend_ms  acked/s   p50_ms  p99_ms  batches agent_busy client_busy agent_us/ev errors\n',
  );
  for (const r of rows) {
    process.stdout.write(
      `${String(r.tenants).padStart(7)} ${String(r.depth).padStart(5)} ${r.durability.padEnd(10)} ${String(r.extend_ms).padStart(9)} ${String(r.acked_per_s).padStart(8)} ${String(r.p50_ms).padStart(8)} ${String(r.p99_ms).padStart(7)} ${String(r.batches).padStart(8)} ${r.agent_busy.toFixed(2).padStart(10)} ${r.client_busy.toFixed(2).padStart(11)} ${String(r.agent_us_per_event).padStart(11)} ${r.errors}\n`,
    );
  }
  if (million !== undefined)
    process.stdout.write(
      `over 1,000,000 events (acked: rss/heap after GC, MB): ${million.map((m) => `${m.acked}:${m.rss_mb}/${m.heap_mb}`).join(' ')}\n`,
    );
}

function printRows(rows: readonly Row[]): void {
  process.stdout.write(
    'path       offered tenants batch durability extend_ms ids    acked/s  p50_ms  p99_ms  batches agent_busy client_busy agent_us/ev errors\n',
  );
  for (const r of rows) {
    process.stdout.write(
      `${(r.in_process ? 'in-process' : 'sockets').padEnd(10)} ${String(r.offered || '-').padStart(7)} ${String(r.tenants).padStart(7)} ${String(r.batch).padStart(5)} ${r.durability.padEnd(10)} ${String(r.extend_ms).padStart(9)} ${(r.ids ? 'yes' : 'no').padEnd(4)} ${String(r.acked_per_s).padStart(9)} ${String(r.p50_ms).padStart(7)} ${String(r.p99_ms).padStart(7)} ${String(r.batches).padStart(8)} ${r.agent_busy.toFixed(2).padStart(10)} ${r.client_busy.toFixed(2).padStart(11)} ${String(r.agent_us_per_event).padStart(11)} ${r.errors}\n`,
    );
  }
}

/** The batched table and the goal rows (see the header). */
async function batched(
  opt: (name: string) => string | undefined,
  seconds: number,
  fsync: number,
  json: boolean,
): Promise<void> {
  const uptime = (): string =>
    os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  const loadStart = uptime();
  const rows: Row[] = [];
  const run = async (
    t: number,
    d: Durability,
    e: number,
    b: number,
    inProcess: boolean,
    ids: boolean,
    rate = 0,
  ): Promise<Row> => {
    const r = await scenario(t, d, e, seconds, 1, inProcess, ids, 0, undefined, b, rate);
    rows.push(r);
    if (!json) printRows([r]);
    return r;
  };
  if (!json) {
    process.stdout.write(
      `disk fdatasync: ${fsync}/s   cpus: ${os.cpus().length}   load: ${loadStart}\n`,
    );
  }
  const core1 = await run(64, 'process', 0, 1, true, false);
  const core256 = await run(64, 'process', 0, 256, true, false);
  if (opt('--only') === undefined) {
    for (const d of ['process', 'os'] as const)
      for (const t of [1, 8, 64]) for (const b of [1, 16, 256]) await run(t, d, 0, b, false, false);
  }
  const goal = await run(64, 'process', 0, 256, false, false);
  // the same at an offered rate (open loop, default 60,000 events/s: a 3 s window holds a
  // whole number of each tenant's 328 ms send intervals only roughly, so offering exactly the
  // 50,000/s goal serves ~45,000/s): latency when not saturated
  const pacedRate = Number(opt('--paced') ?? 60_000);
  const paced = await run(64, 'process', 0, 256, false, false, pacedRate);
  const slow = await run(64, 'process', 1, 256, false, false);
  const withIds = await run(64, 'process', 0, 256, false, true);
  const coreIds = await run(64, 'process', 0, 256, true, true);
  let memory: { acked: number; rss_mb: number; heap_mb: number }[] | undefined;
  const events = Number(opt('--events') ?? 0);
  if (events > 0) {
    memory = [];
    const samples = memory;
    const r = await scenario(
      64,
      'process',
      0,
      0,
      1,
      false,
      false,
      events,
      (acked) => samples.push({ acked, ...memory_() }),
      256,
    );
    rows.push(r);
    if (!json) printRows([r]);
  }
  const summary = {
    cpus: os.cpus().length,
    load_start: loadStart,
    load_end: uptime(),
    fdatasync_per_s: fsync,
    in_process_core_per_s: { single: core1.acked_per_s, batch_256: core256.acked_per_s },
    goal_64x256_process: {
      acked_per_s: goal.acked_per_s,
      p99_ms: goal.p99_ms,
      vs_core_single: Number((goal.acked_per_s / core1.acked_per_s).toFixed(2)),
      vs_core_batch_256: Number((goal.acked_per_s / core256.acked_per_s).toFixed(2)),
    },
    paced: {
      offered_per_s: pacedRate,
      acked_per_s: paced.acked_per_s,
      p50_ms: paced.p50_ms,
      p99_ms: paced.p99_ms,
    },
    extend_1ms_per_s: slow.acked_per_s,
    with_ids_per_s: withIds.acked_per_s,
    in_process_with_ids_per_s: coreIds.acked_per_s,
    rows,
    ...(memory === undefined ? {} : { memory }),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${JSON.stringify({ ...summary, rows: undefined }, null, 1)}\n`);
}

const memory_ = (): { rss_mb: number; heap_mb: number } => memory();

if (isMainThread) await main();
