#!/usr/bin/env node
// Soak test of the agent's crash invariant (DESIGN §5), outside CI: 8 tenants append with
// request ids — single events and batches — while `agent start` is SIGKILLed at seeded random
// instants (during recovery too) and, every fourth phase, kills itself at an injected fault of
// each append step in turn (the test-only entry's constructor hook). At the end (and every
// --check-every kills) an idle agent is started and stopped, and this script proves from the
// files alone, with its own replay (node:crypto, not mrstack's replay code):
//   - the physical log replays from zero to rtmr3 as the emulated TVM reports it, and every
//     SYNC equals the running value (no off-log gap);
//   - each tenant log replays, the VMR records' values for its vMR are its running values in
//     order, the last one its final value (everything covered);
//   - every acknowledged event is in its tenant log exactly once, at the record its
//     acknowledgement named; no request id appears twice.
//
// Usage: npx tsc -p tsconfig.json && node scripts/soak_agent.mjs [--kills 1000] [--seed N]
//        [--check-every 100] [--keep]
// Prints one JSON summary line; exit 0 only when every check passed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'dist', 'src', 'cli', 'main.js');
const ENTRY = join(root, 'dist', 'test', '_support', 'agent_entry.js');
const { TenantClient } = await import(join(root, 'dist', 'src', 'agent', 'client.js'));

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const KILLS = Number(opt('--kills', '1000'));
const SEED = Number(opt('--seed', '20261206'));
const CHECK_EVERY = Number(opt('--check-every', '100'));
const STEPS = [
  'validated',
  'tenant-written',
  'tenant-synced',
  'vmr-written',
  'physical-synced',
  'extended',
  'acked',
];
const TENANTS = Array.from({ length: 8 }, (_, i) => `t${i}`);

/** mulberry32: the same seed gives the same kill instants, faults and batch sizes. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = fs.mkdtempSync(join(os.tmpdir(), 'mrstack-soak-'));
const tvm = join(dir, 'tvm');
const run = join(dir, 'run');
const logDir = join(run, 'log');
const tenantsFile = join(dir, 'tenants.json');
const init = spawnSync(process.execPath, [
  CLI,
  'emulate',
  'init',
  '--profile',
  'tdx',
  '--tvm-state',
  tvm,
]);
if (init.status !== 0) throw new Error(`emulate init: ${init.stderr}`);
fs.writeFileSync(
  tenantsFile,
  JSON.stringify({ tenants: TENANTS.map((n) => ({ name: n, vmr: n })) }),
);

function startAgent(env = {}, hooks = false) {
  const child = spawn(
    process.execPath,
    [
      hooks ? ENTRY : CLI,
      'agent',
      'start',
      '--tvm-state',
      tvm,
      '--run-dir',
      run,
      '--tenants',
      tenantsFile,
      '--boot-id',
      'soak-boot',
      '--log-level',
      'error',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (b) => (out.stdout += b));
  child.stderr.on('data', (b) => (out.stderr += b));
  const exited = new Promise((r) => child.once('close', (code, signal) => r({ code, signal })));
  const ready = new Promise((resolve) => {
    const check = () => out.stdout.includes('"ready":true') && resolve(true);
    child.stdout.on('data', check);
    void exited.then(() => resolve(false));
  });
  return { child, out, exited, ready };
}

// ---- clients ----
const stats = { acked: 0, retries: 0, duplicates: 0, batches: 0 };
const clients = TENANTS.map((name, i) => ({
  name,
  batches: i % 2 === 1,
  next: 0,
  pending: [],
  acked: new Map(),
}));
let failure;
const fail = (msg) => {
  failure ??= msg;
};

function record(st, r, id) {
  if (r.status !== 'acknowledged') return fail(`${id} rejected: ${JSON.stringify(r)}`);
  if (r.id !== id) return fail(`${id}: answer for ${r.id}`);
  const first = st.acked.get(id);
  if (first === undefined) {
    st.acked.set(id, r.record);
    stats.acked++;
    if (r.duplicate) stats.duplicates++; // the first answer was lost with a killed agent
  } else if (!r.duplicate || r.record !== first) {
    fail(`${id}: second answer ${r.record} (duplicate ${r.duplicate}), first ${first}`);
  }
}

async function clientLoop(st, stop) {
  const c = new TenantClient(join(run, 'tenants', `${st.name}.sock`), { timeoutMs: 20_000 });
  try {
    while (!stop.stopped && failure === undefined) {
      if (st.pending.length === 0) {
        const n = st.batches ? 1 + Math.floor(rand() * 64) : 1;
        st.pending = Array.from({ length: n }, () => `${st.name}-${st.next++}`);
      }
      const ids = st.pending;
      try {
        if (st.batches) {
          const rs = await c.appendBatch(
            ids.map((id) => ({
              domain: 'soak.example',
              operation: 'append',
              content: `event ${id}`,
              id,
            })),
          );
          stats.batches++;
          if (rs.length !== ids.length) fail(`${rs.length} results for ${ids.length} events`);
          rs.forEach((r, i) => record(st, r, ids[i]));
        } else {
          const r = await c.append(
            { domain: 'soak.example', operation: 'append', content: `event ${ids[0]}` },
            ids[0],
          );
          record(st, r, ids[0]);
        }
        st.pending = [];
      } catch (e) {
        if (e?.code !== 'ERR_AGENT_UNREACHABLE' && e?.code !== 'ERR_TIMEOUT') {
          fail(`${st.name}: unexpected error ${e?.code}: ${e?.message}`);
          return;
        }
        stats.retries++;
        await sleep(20);
      }
    }
  } finally {
    c.close();
  }
}

// ---- the independent check ----
const sha384 = (b) => createHash('sha384').update(b).digest();
const ext = (mr, line) => sha384(Buffer.concat([mr, sha384(Buffer.from(line, 'utf8'))]));
const linesOf = (path) => {
  const t = fs.readFileSync(path, 'utf8');
  if (t.length > 0 && !t.endsWith('\n')) throw new Error(`${path} does not end with LF`);
  return t.split('\n').slice(0, -1);
};

function rtmr3() {
  const r = spawnSync(process.execPath, [
    CLI,
    'mr',
    'read',
    'rtmr3',
    '--provider',
    'emulated',
    '--tvm-state',
    tvm,
    '--json',
  ]);
  if (r.status !== 0) throw new Error(`mr read: ${r.stderr}`);
  return JSON.parse(r.stdout).value;
}

function verify() {
  const problems = [];
  const physDir = join(logDir, 'physical');
  const segs = fs
    .readdirSync(physDir)
    .filter((n) => /^rtmr3\.[0-9]{6}\.mrlog$/.test(n))
    .sort();
  const phys = segs.flatMap((f) => linesOf(join(physDir, f)));
  let v = Buffer.alloc(48);
  const vmrValues = new Map();
  for (const [i, l] of phys.entries()) {
    if (l.startsWith('#')) continue;
    if (l.startsWith('SYNC ')) {
      const m = /sha384\/([0-9a-f]{96})/.exec(l);
      if (m?.[1] !== v.toString('hex'))
        problems.push(`physical record ${i}: SYNC differs from the running value (off-log gap)`);
    }
    if (l.startsWith('VMR ')) {
      for (const m of l.slice(4).matchAll(/([a-z0-9_-]+)=sha384\/([0-9a-f]{96})/g)) {
        if (!vmrValues.has(m[1])) vmrValues.set(m[1], []);
        vmrValues.get(m[1]).push(m[2]);
      }
    }
    v = ext(v, l);
  }
  const reg = rtmr3();
  if (v.toString('hex') !== reg)
    problems.push(`physical log replays to ${v.toString('hex')}, rtmr3 is ${reg}`);
  let eventsInLogs = 0;
  for (const st of clients) {
    const lines = linesOf(join(logDir, 'tenants', `${st.name}.mrlog`));
    let tv = Buffer.alloc(48);
    const running = new Map([[tv.toString('hex'), 0]]);
    const seen = new Map();
    let rec = 0;
    let lastId;
    for (const l of lines) {
      if (l.startsWith('#id ')) {
        lastId = l.slice(4);
        continue;
      }
      if (l.startsWith('#')) continue;
      rec++;
      tv = ext(tv, l);
      running.set(tv.toString('hex'), rec);
      if (lastId !== undefined) {
        if (seen.has(lastId)) problems.push(`${st.name}: id ${lastId} appears twice`);
        seen.set(lastId, rec);
        if (l !== `soak.example append event ${lastId}`)
          problems.push(`${st.name}: record ${rec} is not ${lastId}'s event`);
        eventsInLogs++;
      }
      lastId = undefined;
    }
    let prev = -1;
    const stated = vmrValues.get(st.name) ?? [];
    for (const s of stated) {
      const at = running.get(s);
      if (at === undefined)
        problems.push(`${st.name}: a VMR value is not a running value of its log`);
      else if (at < prev) problems.push(`${st.name}: VMR values out of order`);
      else prev = at;
    }
    if (stated[stated.length - 1] !== tv.toString('hex'))
      problems.push(`${st.name}: last VMR value is not the log's final value (uncovered records)`);
    for (const [id, r] of st.acked) {
      if (seen.get(id) !== r)
        problems.push(`${st.name}: acknowledged ${id} at record ${r}, log has ${seen.get(id)}`);
    }
  }
  return { problems, physicalRecords: phys.length, eventsInLogs };
}

async function idleCheck() {
  const a = startAgent();
  if (!(await a.ready)) throw new Error(`the agent did not start: ${a.out.stderr}`);
  a.child.kill('SIGTERM');
  const x = await a.exited;
  if (x.code !== 0) fail(`graceful stop exited ${x.code ?? x.signal}`);
  return verify();
}

// ---- the soak ----
const t0 = Date.now();
const kills = {
  external: 0,
  beforeReady: 0,
  injected: Object.fromEntries(STEPS.map((s) => [s, 0])),
  other: 0,
};
let totalKills = 0;
let checks = 0;
let faultIdx = 0;
let phase = 0;
while (totalKills < KILLS && failure === undefined) {
  phase++;
  const injected = phase % 4 === 0;
  const step = STEPS[faultIdx % STEPS.length];
  const n = 1 + Math.floor(rand() * 4);
  const agent = injected ? startAgent({ MRSTACK_TEST_FAULT: `${step}:${n}` }, true) : startAgent();
  const stop = { stopped: false };
  const loops = clients.map((st) => clientLoop(st, stop));
  if (injected) {
    const x = await Promise.race([agent.exited, sleep(60_000).then(() => undefined)]);
    if (x?.signal === 'SIGKILL' && agent.out.stderr.includes(`fault ${step}:${n}\n`)) {
      kills.injected[step]++;
      faultIdx++;
    } else {
      // it did not reach the step in time (or died otherwise): kill it ourselves
      agent.child.kill('SIGKILL');
      const y = await agent.exited;
      if (y.signal !== 'SIGKILL')
        fail(`agent exited ${y.code} instead of dying at ${step}:${n}: ${agent.out.stderr}`);
      kills.other++;
    }
  } else if (rand() < 0.15) {
    // a kill at a random instant of start-up and recovery
    await sleep(Math.floor(rand() * 400));
    agent.child.kill('SIGKILL');
    const x = await agent.exited;
    if (x.signal !== 'SIGKILL' && x.code !== 0)
      fail(`agent exited ${x.code} before its kill: ${agent.out.stderr}`);
    kills.beforeReady++;
  } else {
    const up = await agent.ready;
    if (!up) fail(`agent exited before ready: ${agent.out.stderr}`);
    await sleep(5 + Math.floor(rand() * 200));
    agent.child.kill('SIGKILL');
    const x = await agent.exited;
    if (x.signal !== 'SIGKILL')
      fail(`agent exited ${x.code} instead of SIGKILL: ${agent.out.stderr}`);
    kills.external++;
  }
  totalKills++;
  stop.stopped = true;
  await Promise.all(loops);
  if (totalKills % CHECK_EVERY === 0 || totalKills === KILLS) {
    const r = await idleCheck();
    checks++;
    process.stderr.write(
      `soak: ${totalKills} kills, ${stats.acked} events acknowledged, ${r.problems.length} problems (${Math.round((Date.now() - t0) / 1000)} s)\n`,
    );
    if (r.problems.length > 0) fail(r.problems.slice(0, 10).join('; '));
  }
}
const final =
  failure === undefined
    ? await idleCheck()
    : { problems: [failure], physicalRecords: 0, eventsInLogs: 0 };
const summary = {
  result: failure === undefined && final.problems.length === 0 ? 'pass' : 'FAIL',
  kills: totalKills,
  kill_kinds: kills,
  events_acknowledged: stats.acked,
  events_in_logs: final.eventsInLogs,
  acknowledged_after_lost_answer: stats.duplicates,
  retries: stats.retries,
  batches: stats.batches,
  physical_records: final.physicalRecords,
  full_checks: checks + 1,
  seed: SEED,
  seconds: Math.round((Date.now() - t0) / 1000),
  load: os.loadavg().map((x) => Number(x.toFixed(1))),
  problems: final.problems.slice(0, 10),
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
if (!args.includes('--keep')) fs.rmSync(dir, { recursive: true, force: true });
else process.stderr.write(`soak: state kept in ${dir}\n`);
process.exit(summary.result === 'pass' ? 0 : 1);
