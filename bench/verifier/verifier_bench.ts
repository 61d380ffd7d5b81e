// bench/verifier: challenge sessions per second through `mrstack verifier serve` (the CLI's own
// process, over loopback HTTP). The timed loop is one session of attester `bench`:
//   the attester's agent (in this process, on the emulated TDX TVM) takes 100 tenant events
//   and starts a checkpoint; POST /v1/sessions {attester_id} → nonce and the stored checkpoint
//   to send since; the agent makes the bundle — an emulated TDX quote bound to the nonce, the
//   physical log since that checkpoint, the tenant's 100 events; POST it to
//   /v1/sessions/{id}/evidence → verify, incremental replay from the stored checkpoint,
//   appraisal, EAR, result, checkpoint advanced.
// The agent's work is the client's CPU, counted apart. Reports sessions/s, p50/p99 latency (from
// POST /v1/sessions to the EAR) and the service processes' CPU ms per session (/proc/PID/stat).
//
// Usage: node dist/bench/verifier/verifier_bench.js [--sessions N] [--concurrency C]
//        [--procs P] [--postgres] [--events N] [--fresh-tenant | --one-tenant | --quote-only]
//        [--warmup N] [--json] [--cpu-prof DIR]
// --postgres: the store is a PostgreSQL server this bench starts (Debian postgresql, as in the
//   tests); P processes share it, the client picks them round robin. Default: 1 process on the
//   embedded store.
// --events N: tenant events per session (default 100).
// Tenants (default): each worker attests as its own attester `bench-W` for one long-lived tenant
//   `wW`, opening its sessions with that tenant: the session names the tenant's position at the
//   stored checkpoint, and the bundle carries only the N events appended since (the run fails if a
//   timed session's tenant log holds anything else, or was not continued from the stored value).
//   --fresh-tenant: a tenant added for each session, its whole log (exactly its N events; the
//   default until session 8); --one-tenant: one tenant for all workers, its whole log every
//   time (it grows by N per session: what a long-lived tenant cost before tenant logs were sent
//   since a checkpoint).
// --quote-only: the session of sessions 3-5: a bare report envelope, no agent, no attester.
// --serve-cli FILE: another build's CLI entry serves (A/B against this build's client).
// --agent-dir DIR: where the in-process agent keeps its logs. Default: a directory on tmpfs
//   (/dev/shm) when there is one, as the agent's own default /run/mrstack is on a CVM (DESIGN §5:
//   the logs live as long as the registers); else beside the store. This machine's /run and /tmp
//   are ext4, where each state.json rename blocked the agent ~2.5 ms (ext4 flushes a file
//   renamed over another).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
} from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initEmulatedTvm } from '../../src/providers/emulated/tvm_state.js';
import { openEmulatedProvider } from '../../src/providers/emulated/emulated_provider.js';
import { reportEnvelope } from '../../src/cli/commands/report.js';
import { toJsonText } from '../../src/cli/output.js';
import { startPostgres } from '../../test/_support/postgres.js';
import { Agent } from '../../src/agent/agent.js';
import { bundleToJson, type EvidenceBundle } from '../../src/formats/bundle/bundle.js';
import { emulatedTdxCcel } from '../../src/emulate/ccel_files.js';
import { callVerifier } from '../../src/verifier/service/client.js';

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
const EVENTS = Number(flag('--events') ?? '100');
const ONE_TENANT = args.includes('--one-tenant');
const FRESH_TENANT = args.includes('--fresh-tenant');
const QUOTE_ONLY = args.includes('--quote-only');
// --warmup N: sessions per service process before the timed loop (default 300).
const WARMUP = Number(flag('--warmup') ?? '300');
// --cpu-prof DIR: each service process writes a V8 CPU profile there when it exits.
const CPU_PROF = flag('--cpu-prof');
// --serve-cli FILE: the `mrstack` entry (dist/src/cli/main.js) whose `verifier serve` runs, e.g.
// another build's for an A/B in the same minute (default: this build's).
const CLI = flag('--serve-cli') ?? fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function cpuMsOf(pid: number): number {
  // utime + stime, fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/**
 * A PostgreSQL server's CPU ms: the postmaster's own and its exited children's (cutime, cstime),
 * plus every live backend's (processes whose parent is the postmaster).
 */
function postgresCpuMs(postmaster: number): number {
  const fieldsOf = (pid: number): string[] | undefined => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      return undefined; // exited meanwhile
    }
  };
  const pm = fieldsOf(postmaster);
  if (pm === undefined) return 0;
  let ticks = Number(pm[11]) + Number(pm[12]) + Number(pm[13]) + Number(pm[14]);
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const f = fieldsOf(Number(name));
    if (f !== undefined && Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return (ticks * 1000) / 100;
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
const TMPFS_MAGIC = 0x01021994;
function onTmpfs(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return statfsSync(path).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}
const agentParent =
  flag('--agent-dir') ?? (onTmpfs('/dev/shm') ? mkdtempSync('/dev/shm/mrstack-vbench-') : dir);
const agentOnTmpfs = onTmpfs(agentParent);
const env = { ...process.env, MRSTACK_VERIFIER_KEK: randomBytes(32).toString('hex') };
const pg = POSTGRES ? await startPostgres() : undefined;
const store = pg !== undefined ? pg.createDatabase('bench') : `embedded:${join(dir, 'store')}`;

await initEmulatedTvm({ stateDir: join(dir, 'tvm'), profile: 'tdx' });
// The services trust this TVM (--trust-emulated --tvm-state): it must exist before they start.
const procs: { proc: ChildProcess; url: string }[] = [];
// A failed session throws out of the top level: the services must not outlive the bench.
process.once('exit', () => {
  for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
});
for (let i = 0; i < PROCS; i++) procs.push(await serve(store, env));

const provider = await openEmulatedProvider({ stateDir: join(dir, 'tvm') });

// The CLI's client (`agent attest --verifier`, `verifier submit`): node:http on the global
// keep-alive agent. (Until session 8 the bench posted with fetch, whose undici streams cost the
// client ~0.5 ms of CPU per session more than the code path the CLI runs.)
async function post(
  url: string,
  path: string,
  body: Uint8Array | string,
  type: string,
): Promise<unknown> {
  return callVerifier({ url }, 'POST', path, {
    bytes: typeof body === 'string' ? Buffer.from(body) : body,
    type,
  });
}

let sharedCollateral: Uint8Array | undefined;
// A fleet's attesters send the same collateral (Intel's TCB info, QE identity and CRLs change
// rarely); the emulated provider issues fresh collateral with every quote, so the bench sends
// the first one throughout, as real attesters of one platform would.
function withSharedCollateral<T extends { parts?: Readonly<Record<string, Uint8Array>> }>(r: T): T {
  sharedCollateral ??= r.parts?.['collateral'];
  return sharedCollateral === undefined || r.parts === undefined
    ? r
    : { ...r, parts: { ...r.parts, collateral: sharedCollateral } };
}

/** The session of sessions 3-5: a bare TDX report envelope, no attester. */
async function quoteSession(url: string): Promise<number> {
  const t0 = performance.now();
  const s = (await post(url, '/v1/sessions', '{}', 'application/json')) as {
    id: string;
    nonce: string;
  };
  const nonce = new Uint8Array(Buffer.from(s.nonce, 'hex'));
  const envelope = await (async () => {
    const raw = withSharedCollateral(await provider.report({ reportData: nonce }));
    return new TextEncoder().encode(toJsonText(reportEnvelope(raw, nonce, undefined, nonce)));
  })();
  const r = (await post(
    url,
    `/v1/sessions/${s.id}/evidence`,
    envelope,
    'application/octet-stream',
  )) as { passed: boolean };
  if (!r.passed) throw new Error(`a bench session did not pass: ${JSON.stringify(r)}`);
  return performance.now() - t0;
}

const ccel = emulatedTdxCcel().data;
// The attester: an agent on the TVM's RTMR3, in this process, checkpointing only when told.
const agent = QUOTE_ONLY
  ? undefined
  : await Agent.open({
      provider,
      register: 'rtmr3',
      logDir: join(agentParent, 'agent'),
      durability: 'process',
      bootId: 'bench-boot',
      checkpoint: { maxBytes: 0, maxAgeMs: 0 },
      evidenceWindowMs: 0,
      // Built once: the agent reads the same ACPI table each time (building it was ~0.1 ms).
      firmwareLog: () => Promise.resolve({ format: 'ccel', data: ccel }),
    });
let tenants = 0;
let replayedSince = 0;
let replayedTenantSince = 0;
const longLived = new Set<string>();
// workers that attested already: in the default mode every later session's tenant log is
// checked (a worker's first sends the whole log)
const attested = new Set<number>();
// The domain must be URI-like (DESIGN §4): until session 7 the bench sent `bench`, the agent
// refused all 100 events, and the sessions carried none.
const events = (tag: string): { event: { domain: string; operation: string; content: string } }[] =>
  Array.from({ length: EVENTS }, (_, i) => ({
    event: {
      domain: 'bench.example',
      operation: 'measure',
      content: `${tag} event ${i} ${'x'.repeat(40)}`,
    },
  }));

/** One session of attester `bench`: N new tenant events, bundle since the stored checkpoint. */
async function bundleSession(url: string, worker: number): Promise<number> {
  const a = agent!;
  const incremental = !ONE_TENANT && !FRESH_TENANT;
  const checkTenantLogs = attested.has(worker);
  attested.add(worker);
  const tenant = await (async () => {
    const name = ONE_TENANT ? 'bench' : FRESH_TENANT ? `t${++tenants}` : `w${worker}`;
    if (incremental) {
      if (!longLived.has(name)) {
        longLived.add(name);
        await a.addTenant({ name, vmr: `vmr_${name}` });
      }
    } else if (!ONE_TENANT || tenants++ === 0) await a.addTenant({ name, vmr: `vmr_${name}` });
    const appended = await a.appendMany(name, events(name));
    const refused = appended.find((r) => r.status === 'rejected');
    if (refused !== undefined)
      throw new Error(`the agent refused a bench event: ${JSON.stringify(refused)}`);
    // The checkpoint this session's result will vouch for: the next session sends since it.
    await a.checkpoint();
    return name;
  })();
  const t0 = performance.now();
  const s = (await post(
    url,
    '/v1/sessions',
    incremental
      ? `{"attester_id":"bench-${worker}","tenant":"${tenant}"}`
      : `{"attester_id":"bench-${worker}"}`,
    'application/json',
  )) as {
    id: string;
    nonce: string;
    since?: { seq: number };
    tenant_since?: { record: number; boot_id?: string };
  };
  const nonce = new Uint8Array(Buffer.from(s.nonce, 'hex'));
  const ts = s.tenant_since;
  const body = await (async () => {
    const b: EvidenceBundle = await a.evidence(
      tenant,
      nonce,
      undefined,
      s.since?.seq ?? 0,
      ts === undefined ? undefined : { record: ts.record, boot: ts.boot_id },
    );
    if (incremental && checkTenantLogs) {
      const tl = b.tenantLog!;
      const events = tl.lines.filter((l) => !l.startsWith('#')).length;
      if (tl.since === undefined || events !== EVENTS)
        throw new Error(
          `a timed session's tenant log holds ${events} records since ${String(tl.since?.record)}, not its ${EVENTS} new events`,
        );
    }
    return new TextEncoder().encode(
      JSON.stringify(bundleToJson({ ...b, report: withSharedCollateral(b.report) })),
    );
  })();
  const r = (await post(
    url,
    `/v1/sessions/${s.id}/evidence`,
    body,
    'application/octet-stream',
  )) as {
    passed: boolean;
    replayed_since?: number;
    replayed_tenant_since?: number;
  };
  if (!r.passed)
    throw new Error(`a bench session did not pass: ${JSON.stringify(r).slice(0, 4000)}`);
  if (r.replayed_since !== undefined) replayedSince++;
  if (r.replayed_tenant_since !== undefined) replayedTenantSince++;
  if (incremental && checkTenantLogs && r.replayed_tenant_since === undefined)
    throw new Error('a timed session was not continued from the stored tenant checkpoint');
  return performance.now() - t0;
}

const oneSession = QUOTE_ONLY ? quoteSession : bundleSession;

// Warm-up outside the timed loop: the first policy compile and signing key use, and the JIT.
// With 5 warm-up sessions (until session 8) V8's optimising compiler still ran on its
// background threads for the first few hundred timed sessions: ~16 % of the service's CPU in
// a perf profile 12-20 s into a run, a start-up cost a long-running service pays once.
for (const p of procs) {
  // the first alone: it adds the --one-tenant tenant the others append to
  await oneSession(p.url, 0);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = w + 1; i < WARMUP; i += CONCURRENCY) await oneSession(p.url, w);
    }),
  );
}
replayedSince = 0;
replayedTenantSince = 0;

const cpu0 = procs.map((p) => cpuMsOf(p.proc.pid!));
const benchCpu0 = process.cpuUsage();
const pgCpu0 = pg === undefined ? 0 : postgresCpuMs(pg.pid);
const latencies: number[] = [];
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async (_, w) => {
    for (;;) {
      const i = next++;
      if (i >= SESSIONS) return;
      latencies.push(await oneSession(procs[(i + w) % procs.length]!.url, w));
    }
  }),
);
const wall = (performance.now() - t0) / 1000;
const benchCpu = process.cpuUsage(benchCpu0);
const pgCpu = pg === undefined ? 0 : postgresCpuMs(pg.pid) - pgCpu0;
const serviceCpu = procs.reduce((a, p, i) => a + cpuMsOf(p.proc.pid!) - cpu0[i]!, 0);
latencies.sort((a, b) => a - b);
const pct = (q: number): number =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
const out = {
  store: POSTGRES ? 'postgres' : 'embedded',
  processes: PROCS,
  sessions: SESSIONS,
  warmup_sessions: WARMUP,
  concurrency: CONCURRENCY,
  sessions_per_s: +(SESSIONS / wall).toFixed(1),
  p50_ms: +pct(0.5).toFixed(2),
  p99_ms: +pct(0.99).toFixed(2),
  service_cpu_ms_per_session: +(serviceCpu / SESSIONS).toFixed(2),
  // What one busy core of service CPU would serve at that cost (the in-process client — the
  // agent — competes for the same two cores, so sessions_per_s cannot show it here).
  service_cpu_bound_sessions_per_s: +(1000 / (serviceCpu / SESSIONS)).toFixed(0),
  session: QUOTE_ONLY
    ? 'tdx report envelope'
    : `bundle: ${EVENTS} tenant events${ONE_TENANT ? ' (one tenant, whole log: it grows)' : FRESH_TENANT ? ' (a fresh tenant each, whole log)' : ' (long-lived tenant per attester, sent since its checkpoint)'}`,
  // Sessions whose bundle the service replayed from its stored checkpoint (incremental).
  ...(QUOTE_ONLY ? {} : { replayed_since_checkpoint: replayedSince }),
  // Sessions whose tenant log the service continued from the stored tenant checkpoint.
  ...(QUOTE_ONLY ? {} : { replayed_tenant_since: replayedTenantSince }),
  // This process's whole CPU in the timed loop (the agent, the quote, the HTTP client): what the
  // attester side costs the machine per session.
  agent_log_dir_tmpfs: agentOnTmpfs,
  client_cpu_ms_per_session: +((benchCpu.user + benchCpu.system) / 1000 / SESSIONS).toFixed(2),
  // The PostgreSQL server's processes (not in the service's figure).
  ...(pg === undefined ? {} : { postgres_cpu_ms_per_session: +(pgCpu / SESSIONS).toFixed(2) }),
  // service + client (+ PostgreSQL) CPU per session: on 2 cores, 2000 / this bounds sessions/s.
  total_cpu_ms_per_session: +(
    (serviceCpu + pgCpu) / SESSIONS +
    (benchCpu.user + benchCpu.system) / 1000 / SESSIONS
  ).toFixed(2),
  cores: cpus().length,
  loadavg_1m: +loadavg()[0]!.toFixed(2),
};
if (JSON_OUT) console.log(JSON.stringify(out));
else console.table(out);

await agent?.close();
await provider.close();
for (const p of procs) {
  const exited = new Promise((r) => p.proc.once('exit', r));
  p.proc.kill('SIGTERM');
  await exited;
}
await pg?.stop();
rmSync(dir, { recursive: true, force: true });
if (agentParent !== dir && flag('--agent-dir') === undefined) {
  rmSync(agentParent, { recursive: true, force: true });
}
