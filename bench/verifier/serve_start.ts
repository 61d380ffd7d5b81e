/**
 * bench/verifier/serve_start: start-to-ready of `mrstack verifier serve --policy P` (embedded
 * store) with a keylime runtime policy of N paths (default 1,000,000; imported once with
 * `policy import --from keylime`, ~140 MB of JSON), whole service processes, interleaved:
 *
 * - `cold`: an empty policy cache and a new store — the first start with this policy (it
 *   validates the file and writes the cache entry);
 * - `warm`: the cache holds the entry, a new store (the policy is stored once more);
 * - `restart`: the cache holds the entry and the store the policy (a restart of a running
 *   service: what every deployment's restart pays);
 * - with `--base-cli PATH` (another build's `dist/src/cli/main.js`, e.g. main before the
 *   service used the cache): `base-restart`, that build's restart on its own store.
 *
 * Each start's figures are taken when the service prints its `listening` line: the process's
 * CPU-s (utime+stime from /proc/PID/stat: the service's every thread), the wall from spawn, the
 * peak RSS (VmHWM). The policy cache is the bench's own (`MRSTACK_POLICY_CACHE`), never the
 * user's. Printed: a row per start with the load average, medians per mode, and the ratios of
 * the medians to `cold` (and to `base-restart`).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/verifier/serve_start.js \
 *     [--paths 1000000] [--runs 3] [--base-cli PATH] [--json]
 *
 * @module
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keylimePolicyOf } from '../eventlog/gen_ima.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const strOpt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const N = opt('paths', 1_000_000);
const RUNS = opt('runs', 3);
const BASE = strOpt('base-cli');
const JSON_OUT = args.includes('--json');
const WORK = resolve('bench/out', `serve-start-${N}`);
mkdirSync(WORK, { recursive: true });
const cliPath = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const log = (s: string): void => void process.stderr.write(`${s}\n`);

const CACHE = join(WORK, 'policy-cache');
// 1. the keylime runtime policy (one digest per path, as gen_ima's list), imported once; the
// import primes a cache entry, so it writes into a scratch cache removed right after
const policy = join(WORK, 'policy.json');
if (!existsSync(policy)) {
  const kl = join(WORK, 'keylime.json');
  writeFileSync(kl, keylimePolicyOf(N));
  const scratch = join(WORK, 'import-cache');
  execFileSync(process.execPath, [cliPath, 'policy', 'import', '--from', 'keylime', kl, '--out', policy], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, MRSTACK_POLICY_CACHE: scratch },
  }); // prettier-ignore
  rmSync(scratch, { recursive: true, force: true });
  rmSync(kl, { force: true });
}
const policyBytes = readFileSync(policy).length;

const KEK = randomBytes(32).toString('hex');

interface Start {
  readonly mode: string;
  readonly cpuS: number;
  readonly wallS: number;
  readonly rssMB: number;
  readonly load: string;
}

function procCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function procHwmMB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

/** One service start: figures at its `listening` line, then SIGTERM and wait for the exit. */
function start(mode: string, cli: string, store: string, cacheDir: string): Promise<Start> {
  const l = load();
  const t0 = process.hrtime.bigint();
  const p = spawn(
    process.execPath,
    [cli, 'verifier', 'serve', '--listen', '127.0.0.1:0', '--store', `embedded:${store}`,
      '--policy', policy, '--rate-limit', '0', '--log-level', 'warn'], // prettier-ignore
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MRSTACK_VERIFIER_KEK: KEK, MRSTACK_POLICY_CACHE: cacheDir },
    },
  );
  let err = '';
  p.stderr.on('data', (b: Buffer) => void (err += b.toString()));
  return new Promise((resolveStart, reject) => {
    let out = '';
    let row: Start | undefined;
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (row !== undefined || !out.includes('"listening"')) return;
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      row = { mode, cpuS: procCpuS(p.pid!), wallS, rssMB: procHwmMB(p.pid!), load: l };
      p.kill('SIGTERM');
    });
    p.once('exit', (code) => {
      if (row !== undefined) resolveStart(row);
      else reject(new Error(`${mode}: verifier serve exited ${code} before listening: ${err}`));
    });
  });
}

const stores = { warm: join(WORK, 'store-warm'), restart: join(WORK, 'store-restart') };
const baseStore = join(WORK, 'store-base');
const baseCache = join(WORK, 'policy-cache-base');
// the restart modes' stores hold the policy (and the cache its entry) before the timed starts
rmSync(CACHE, { recursive: true, force: true });
rmSync(stores.restart, { recursive: true, force: true });
log(`priming (policy of ${N} paths, ${(policyBytes / 1e6).toFixed(0)} MB) …`);
await start('prime', cliPath, stores.restart, CACHE);
if (BASE !== undefined) {
  rmSync(baseStore, { recursive: true, force: true });
  rmSync(baseCache, { recursive: true, force: true });
  await start('prime-base', BASE, baseStore, baseCache);
}

const rows: Start[] = [];
for (let r = 0; r < RUNS; r++) {
  const coldCache = join(WORK, 'policy-cache-cold');
  const coldStore = join(WORK, 'store-cold');
  rmSync(coldCache, { recursive: true, force: true });
  rmSync(coldStore, { recursive: true, force: true });
  rows.push(await start('cold', cliPath, coldStore, coldCache));
  rmSync(stores.warm, { recursive: true, force: true });
  rows.push(await start('warm', cliPath, stores.warm, CACHE));
  rows.push(await start('restart', cliPath, stores.restart, CACHE));
  if (BASE !== undefined) rows.push(await start('base-restart', BASE, baseStore, baseCache));
  for (const x of rows.slice(-(BASE === undefined ? 3 : 4)))
    log(
      `${x.mode.padEnd(12)} ${x.cpuS.toFixed(2)} CPU-s  ${x.wallS.toFixed(2)} s wall  ${x.rssMB.toFixed(0)} MB peak RSS  (load ${x.load})`,
    );
}

const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1
    ? s[(s.length - 1) / 2]!
    : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const modes = [...new Set(rows.map((r) => r.mode))];
const medians = Object.fromEntries(
  modes.map((m) => {
    const of = rows.filter((r) => r.mode === m);
    return [
      m,
      {
        cpu_s: +med(of.map((r) => r.cpuS)).toFixed(2),
        wall_s: +med(of.map((r) => r.wallS)).toFixed(2),
        peak_rss_mb: Math.round(med(of.map((r) => r.rssMB))),
      },
    ];
  }),
) as Record<string, { cpu_s: number; wall_s: number; peak_rss_mb: number }>;
const ratio = (a: string, b: string): { cpu: number; wall: number } | undefined =>
  medians[a] === undefined || medians[b] === undefined
    ? undefined
    : {
        cpu: +(medians[a].cpu_s / medians[b].cpu_s).toFixed(3),
        wall: +(medians[a].wall_s / medians[b].wall_s).toFixed(3),
      };
const summary = {
  paths: N,
  policy_mb: +(policyBytes / 1e6).toFixed(1),
  runs: RUNS,
  medians,
  ratios: {
    restart_to_cold: ratio('restart', 'cold'),
    warm_to_cold: ratio('warm', 'cold'),
    ...(BASE === undefined ? {} : { restart_to_base_restart: ratio('restart', 'base-restart') }),
  },
  rows,
  load_end: load(),
};
if (JSON_OUT) console.log(JSON.stringify(summary, null, 2));
else {
  for (const [m, v] of Object.entries(medians))
    console.log(
      `${m.padEnd(12)} median ${v.cpu_s} CPU-s, ${v.wall_s} s wall, ${v.peak_rss_mb} MB peak RSS`,
    );
  console.log(`ratios: ${JSON.stringify(summary.ratios)}  (load at end ${summary.load_end})`);
}
