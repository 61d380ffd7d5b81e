/**
 * bench/verifier/ima_incremental: incremental vs full appraisal of a 1,000,000-entry IMA list
 * through `mrstack verifier serve` (issue #14, goal: 1,000 new entries on top of a
 * 1,000,000-entry history appraised in under 50 ms).
 *
 * An emulated TDX whose agent (`agent start --ima --ima-log LIVE`) mirrors a growing list into
 * mr_ima; the service (embedded store) holds a policy allowing every entry by digest (N + R·M
 * paths). Session 1 is attester `bench-ima`'s with no IMA checkpoint: the
 * whole list (N entries) travels, is folded in sha1/sha256/sha384 against the mr_ima tokens and
 * judged. Then R rounds: M entries are appended to LIVE, and the attester attests again — the session
 * names the stored IMA checkpoint, the agent sends only the entries after it, the service folds
 * them from the stored running value and judges them. Every result must be affirming and move
 * the IMA checkpoint to the list's length (checked).
 *
 * The attester's side runs in this process as `agent attest` does (open the session, the
 * agent's bundle from the entry the session names, POST it). Printed per session: the service
 * process's CPU ms (utime+stime from /proc/PID/stat around the session: verify, replay,
 * appraisal, EAR, store — nothing else runs in it) and the POST's wall ms (evidence in → EAR
 * out), with the load average. The list is bench/eventlog/gen_ima's
 * (PCR 10 per bank computed there with node:crypto).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/verifier/ima_incremental.js \
 *     [--entries 1000000] [--new 1000] [--rounds 5]
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileOf, generateImaList } from '../eventlog/gen_ima.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = opt('entries', 1_000_000);
const M = opt('new', 1000);
const R = opt('rounds', 10);
const TOTAL = N + R * M;
const OUT = 'bench/out';
const WORK = join(OUT, `ima-incremental-${N}`);
const cliPath = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

// 1. the list of N + R·M entries (generator: node:crypto), and the byte end of each prefix
const listFile = join(OUT, `ima-ng-${TOTAL}.bin`);
if (!existsSync(`${listFile}.json`))
  writeFileSync(`${listFile}.json`, JSON.stringify(generateImaList(TOTAL, listFile)));
/** Byte offsets where entries N, N+M, … start (records walked from their layout). */
function entryEnds(file: string, counts: readonly number[]): number[] {
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(1 << 16);
  const out: number[] = [];
  let at = 0;
  let n = 0;
  try {
    for (const want of counts) {
      while (n < want) {
        readSync(fd, head, 0, 32, at);
        const nl = head.readUInt32LE(24);
        readSync(fd, head, 0, 4, at + 28 + nl);
        at += 32 + nl + head.readUInt32LE(0);
        n++;
      }
      out.push(at);
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
const ends = entryEnds(
  listFile,
  Array.from({ length: R + 1 }, (_, i) => N + i * M),
);
const whole = readFileSync(listFile);

rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
const live = join(WORK, 'live.bin');
writeFileSync(live, whole.subarray(0, ends[0]));

function cli(argv: readonly string[]): string {
  const r = spawnSync(process.execPath, [cliPath, ...argv], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`mrstack ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/** Spawns a CLI daemon and resolves with its first stdout line matching `ready`. */
function daemon(
  argv: readonly string[],
  ready: RegExp,
): Promise<{ p: ChildProcess; line: string }> {
  const p = spawn(process.execPath, [cliPath, ...argv], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MRSTACK_VERIFIER_KEK: randomBytes(32).toString('hex') },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => ready.test(l));
      if (line !== undefined) resolve({ p, line });
    });
    p.once('exit', (c) => reject(new Error(`${argv.slice(0, 2).join(' ')} exited ${c}: ${out}`)));
  });
}

// 2. the TVM, the policy (every entry allowed by digest), the agent and the service
const tvm = join(WORK, 'tvm');
cli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm]);
const policy = join(WORK, 'policy.json');
{
  const digests: Record<string, string[]> = {};
  for (let i = 0; i < TOTAL; i++) {
    const f = fileOf(i);
    digests[f.name] = [Buffer.from(f.digest).toString('hex')];
  }
  writeFileSync(policy, JSON.stringify({ version: 1, name: 'bench-ima', ima: { digests } }));
}
const tenants = join(WORK, 'tenants.json');
writeFileSync(tenants, JSON.stringify({ tenants: [] }));
const run = join(WORK, 'run');
const children: ChildProcess[] = [];
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
const agent = await daemon(
  ['agent', 'start', '--tvm-state', tvm, '--run-dir', run, '--tenants', tenants, '--ima',
    '--ima-log', live, '--log-level', 'warn', '--json'], // prettier-ignore
  /"ready":true/,
);
children.push(agent.p);
const t0 = Date.now();
const svc = await daemon(
  ['verifier', 'serve', '--listen', '127.0.0.1:0', '--store', `embedded:${join(WORK, 'store')}`,
    '--trust-emulated', '--tvm-state', tvm, '--policy', policy, '--rate-limit', '0',
    '--body-limit', String(1 << 30), '--log-level', 'warn'], // prettier-ignore
  /"listening"/,
);
children.push(svc.p);
const url = (JSON.parse(svc.line) as { listening: string }).listening;
process.stderr.write(
  `service up in ${((Date.now() - t0) / 1000).toFixed(1)} s (policy of ${TOTAL} paths)\n`,
);
const pid = svc.p.pid!;

interface Row {
  readonly kind: 'full' | 'incremental';
  readonly sent: number;
  readonly bytes: number;
  readonly serviceCpuMs: number;
  readonly wallMs: number;
  readonly load: string;
}
const rows: Row[] = [];
const { openSession, submitEvidence } = await import('../../src/verifier/service/client.js');
const { TenantClient } = await import('../../src/agent/client.js');
const ep = { url };
async function attest(kind: Row['kind'], expectSince: number, expectOffset: number): Promise<void> {
  const l = load();
  // the attester's side, in this process (its CPU is not the service's): the session, the
  // agent's bundle from the entry the session names, the POST
  const cpu0 = cpuMsOf(pid);
  const session = await openSession(ep, 'bench-ima');
  const imaSince = session.ima_since?.offset;
  const client = new TenantClient(join(run, 'tenants', 'ima.sock'));
  let bytes: Uint8Array;
  try {
    const b = await client.evidence(
      new Uint8Array(Buffer.from(session.nonce, 'hex')),
      undefined,
      session.since?.seq,
      imaSince,
    );
    bytes = new TextEncoder().encode(JSON.stringify(b));
  } finally {
    client.close();
  }
  const w0 = process.hrtime.bigint();
  const j = (await submitEvidence(ep, session.id, bytes)) as {
    status: string;
    ima_checkpoint?: { since: number; offset: number; advanced: boolean };
  };
  const wallMs = Number(process.hrtime.bigint() - w0) / 1e6;
  const serviceCpuMs = cpuMsOf(pid) - cpu0;
  if (j.status !== 'affirming')
    throw new Error(`attestation not affirming: ${JSON.stringify(j).slice(0, 2000)}`);
  const cp = j.ima_checkpoint;
  if (cp?.since !== expectSince || cp.offset !== expectOffset || !cp.advanced)
    throw new Error(
      `IMA checkpoint ${JSON.stringify(cp)}, expected ${expectSince} → ${expectOffset}`,
    );
  rows.push({
    kind,
    sent: expectOffset - expectSince,
    bytes: bytes.length,
    serviceCpuMs,
    wallMs,
    load: l,
  });
  process.stderr.write(
    `${kind}: ${expectOffset - expectSince} entries sent (${(bytes.length / 1e6).toFixed(2)} MB), service ${serviceCpuMs.toFixed(0)} CPU-ms, POST ${wallMs.toFixed(0)} ms wall (load ${l})\n`,
  );
}

// 3. the whole list once, then R rounds of M new entries
await attest('full', 0, N);
for (let i = 1; i <= R; i++) {
  appendFileSync(live, whole.subarray(ends[i - 1], ends[i]));
  await attest('incremental', N + (i - 1) * M, N + i * M);
}
agent.p.kill('SIGTERM');
svc.p.kill('SIGTERM');

const inc = rows.filter((r) => r.kind === 'incremental');
const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1
    ? s[(s.length - 1) / 2]!
    : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const full = rows[0]!;
const summary = {
  entries: N,
  new_per_round: M,
  rounds: R,
  full: {
    bytes: full.bytes,
    service_cpu_ms: full.serviceCpuMs,
    post_wall_ms: Math.round(full.wallMs),
    load: full.load,
  },
  incremental: {
    bytes: inc[0]?.bytes,
    // /proc CPU is counted in 10 ms ticks: the mean over the rounds is the finer figure
    service_cpu_ms_mean: +(inc.reduce((a, r) => a + r.serviceCpuMs, 0) / inc.length).toFixed(1),
    service_cpu_ms_median: med(inc.map((r) => r.serviceCpuMs)),
    service_cpu_ms: inc.map((r) => r.serviceCpuMs),
    post_wall_ms_median: Math.round(med(inc.map((r) => r.wallMs))),
    post_wall_ms: inc.map((r) => Math.round(r.wallMs)),
    loads: inc.map((r) => r.load),
  },
  ratio_service_cpu: +(
    inc.reduce((a, r) => a + r.serviceCpuMs, 0) /
    inc.length /
    full.serviceCpuMs
  ).toFixed(4),
  goal: 'incremental: 1,000 new entries on a 1,000,000-entry history in under 50 ms',
  load_end: load(),
};
console.log(JSON.stringify(summary, null, 2));
