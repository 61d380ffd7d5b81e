/**
 * bench/ima_bridge/verify: at N IMA entries (default 1,000,000), the layered verify + appraisal
 * of the `ima` tenant's bundle beside `evmctl ima_measurement` on the same list with the same
 * banks (sha1 + sha256), interleaved, whole processes under `/usr/bin/time`:
 *
 * - `evmctl ima_measurement --pcrs sha1,F1 --pcrs sha256,F2 LIST` (Debian ima-evm-utils 1.4):
 *   template hash check and the PCR-10 replay in both banks;
 * - `mrstack evidence verify BUNDLE --nonce … --trust-emulated --tvm-state DIR --json`: the TDX
 *   quote, the binding, RTMR3 from the physical log, every mr_ima token's commitment, the fold
 *   of the list in sha1, sha256 and sha384 (one bank more than evmctl), the template hash
 *   column;
 * - `mrstack appraise BUNDLE --policy P …`: the same, plus the keylime runtime policy (N paths,
 *   imported with `policy import --from keylime`) loaded and applied to every verified entry.
 *
 * Inputs (built once, reused from bench/out/): the list from bench/eventlog/gen_ima (PCR 10 per
 * bank computed by the generator with node:crypto), an emulated TDX whose agent (`agent start
 * --ima --ima-log LIST`) mirrors the list and serves the bundle, the keylime policy. Every run's
 * result is checked: evmctl must match, verify must say verified, appraise affirming; the banks
 * evmctl is given are the bundle's, which must equal the generator's.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/ima_bridge/verify.js [--entries N] [--runs 5]
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateImaList, keylimePolicyOf } from '../eventlog/gen_ima.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = opt('entries', 1_000_000);
const RUNS = opt('runs', 5);
const OUT = 'bench/out';
const WORK = join(OUT, `ima-verify-${N}`);
mkdirSync(WORK, { recursive: true });
const cliPath = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function cli(argv: readonly string[]): string {
  return execFileSync(process.execPath, [cliPath, ...argv], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

// 1. the list and its PCR 10 per bank (generator: node:crypto, not mrstack's replay)
const listFile = join(OUT, `ima-ng-${N}.bin`);
const listMeta = `${listFile}.json`;
if (!existsSync(listMeta)) writeFileSync(listMeta, JSON.stringify(generateImaList(N, listFile)));
const gen = JSON.parse(readFileSync(listMeta, 'utf8')) as { sha1: string; sha256: string };

// 2. the ima bundle, from an agent mirroring the list on an emulated TDX
const tvm = join(WORK, 'tvm');
const bundle = join(WORK, 'ima-bundle.json');
const nonce = '6d72737461636b2d62656e63682d6e6f6e6365'; // fixed: the bundle is reused
const collateral = join(WORK, 'collateral.json');
async function makeBundle(): Promise<void> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  cli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm]);
  const run = join(WORK, 'run');
  const agent = spawn(
    process.execPath,
    [
      cliPath,
      'agent',
      'start',
      '--tvm-state',
      tvm,
      '--run-dir',
      run,
      '--ima',
      '--ima-log',
      listFile,
      '--log-level',
      'warn',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    agent.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('"ready":true')) resolve();
    });
    agent.once('close', (c) => reject(new Error(`agent exited ${c}: ${out}`)));
  });
  try {
    const t0 = Date.now();
    cli([
      'evidence',
      'get',
      '--socket',
      join(run, 'tenants', 'ima.sock'),
      '--nonce',
      nonce,
      '--out',
      bundle,
    ]);
    process.stderr.write(
      `bundle of ${N} entries served in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
  } finally {
    agent.kill('SIGTERM');
  }
  const env = join(WORK, 'report.json');
  cli(['report', '--nonce', '00', '--tvm-state', tvm, '--out', env]);
  writeFileSync(
    collateral,
    JSON.stringify((JSON.parse(readFileSync(env, 'utf8')) as { collateral: unknown }).collateral),
  );
}
if (!existsSync(bundle) || !existsSync(collateral)) await makeBundle();
const b = JSON.parse(readFileSync(bundle, 'utf8')) as {
  ima_log: { count: number; banks: Record<string, string>; data: string };
};
if (b.ima_log.count !== N) throw new Error(`the bundle has ${b.ima_log.count} entries, not ${N}`);
if (b.ima_log.banks['sha1'] !== gen.sha1 || b.ima_log.banks['sha256'] !== gen.sha256)
  throw new Error("the bundle's banks are not the generator's PCR 10");
const bundleList = join(WORK, 'bundle-list.bin');
writeFileSync(bundleList, Buffer.from(b.ima_log.data, 'base64'));

// 3. a keylime runtime policy allowing every entry, imported once
const policy = join(WORK, 'policy.json');
if (!existsSync(policy)) {
  const kl = join(WORK, 'keylime.json');
  writeFileSync(kl, keylimePolicyOf(N));
  cli(['policy', 'import', '--from', 'keylime', kl, '--out', policy]);
}

function pcrFile(path: string, hex: string): string {
  let s = '';
  for (let i = 0; i < 24; i++)
    s += `PCR-${String(i).padStart(2, '0')}: ${i === 10 ? hex : '00'.repeat(hex.length / 2)}\n`;
  writeFileSync(path, s);
  return path;
}
const f1 = pcrFile(join(WORK, 'pcrs-sha1.txt'), b.ima_log.banks['sha1']);
const f256 = pcrFile(join(WORK, 'pcrs-sha256.txt'), b.ima_log.banks['sha256']);

interface Run {
  readonly wall: number;
  readonly cpu: number;
  readonly rssMB: number;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}
// the bench's own policy cache: emptied first, so that the warm-up run is a cache miss
const policyCache = join(WORK, 'policy-cache');
rmSync(policyCache, { recursive: true, force: true });
function timed(cmd: string, argv: readonly string[]): Run {
  const r = spawnSync('/usr/bin/time', ['-f', 'mrstack-bench-time %e %U %S %M', cmd, ...argv], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MRSTACK_POLICY_CACHE: policyCache },
  });
  const m = /mrstack-bench-time ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  if (m === null) throw new Error(`no timing from ${cmd}: ${r.stderr}`);
  return {
    wall: Number(m[1]),
    cpu: Number(m[2]) + Number(m[3]),
    rssMB: Number(m[4]) / 1024,
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

const EVMCTL = 'evmctl ima_measurement, sha1+sha256';
const VERIFY = 'mrstack evidence verify (ima bundle)';
const APPRAISE = 'mrstack appraise (ima bundle, keylime policy)';
const rows = new Map<string, Run[]>();
const record = (name: string, r: Run): void => void rows.set(name, [...(rows.get(name) ?? []), r]);
const uptime = (): string => execFileSync('uptime', { encoding: 'utf8' }).trim();
// appraise reads a validated policy from the policy cache (docs/appraisal.md), keyed by the
// policy file's bytes: one run before the interleaved ones writes the entry (a cache miss: the
// first appraisal with a new policy, printed beside the table), so every timed run measures
// what a repeated appraisal costs
const appraiseArgs = [
  cliPath,
  'appraise',
  bundle,
  '--policy',
  policy,
  '--nonce',
  nonce,
  '--trust-emulated',
  '--tvm-state',
  tvm,
  '--collateral',
  collateral,
  '--json',
];
const missLoad = uptime();
const miss = timed(process.execPath, appraiseArgs);
if (miss.status !== 0) throw new Error(`cache-miss appraise: exit ${miss.status}`);
const before = uptime();
for (let run = 0; run < RUNS; run++) {
  process.stderr.write(`run ${run + 1}/${RUNS}\n`);
  const ev = timed('evmctl', [
    'ima_measurement',
    '--pcrs',
    `sha1,${f1}`,
    '--pcrs',
    `sha256,${f256}`,
    bundleList,
  ]);
  if (ev.status !== 0 || !`${ev.stdout}${ev.stderr}`.includes('Matched per TPM bank'))
    throw new Error('evmctl did not match');
  record(EVMCTL, ev);
  const v = timed(process.execPath, [
    cliPath,
    'evidence',
    'verify',
    bundle,
    '--nonce',
    nonce,
    '--trust-emulated',
    '--tvm-state',
    tvm,
    '--json',
  ]);
  const vj = JSON.parse(v.stdout) as {
    verified: boolean;
    claims: { layers: { ima: { verified: number } } };
  };
  if (v.status !== 0 || !vj.verified || vj.claims.layers.ima.verified !== N)
    throw new Error('verify failed');
  record(VERIFY, v);
  const a = timed(process.execPath, appraiseArgs);
  const aj = JSON.parse(a.stdout) as { status: string; ima?: { matched: number } };
  if (a.status !== 0 || aj.status !== 'affirming' || aj.ima?.matched !== N)
    throw new Error(`appraise: ${aj.status}`);
  record(APPRAISE, a);
}
const after = uptime();

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const med = (name: string, k: 'wall' | 'cpu' | 'rssMB'): number =>
  median(rows.get(name)!.map((r) => r[k]));
console.log(`\nbench/ima_bridge/verify — ${N} IMA entries, ${RUNS} interleaved runs, medians`);
console.log(`(every result checked; each process timed by /usr/bin/time)`);
console.log(`load before: ${before}`);
console.log(`load after:  ${after}\n`);
console.log(
  `${'command'.padEnd(48)} ${'wall s'.padStart(7)} ${'CPU s'.padStart(7)} ${'peak RSS'.padStart(9)}`,
);
for (const name of rows.keys())
  console.log(
    `${name.padEnd(48)} ${med(name, 'wall').toFixed(2).padStart(7)} ${med(name, 'cpu').toFixed(2).padStart(7)} ${`${med(name, 'rssMB').toFixed(0)} MB`.padStart(9)}`,
  );
const ratio = (x: string, k: 'wall' | 'cpu'): string => (med(x, k) / med(EVMCTL, k)).toFixed(2);
console.log('');
// the same ratio per interleaved run (each run's processes ran within the same minute)
const pairRatio = (x: string, k: 'wall' | 'cpu'): string =>
  median(rows.get(x)!.map((r, i) => r[k] / rows.get(EVMCTL)![i]![k])).toFixed(2);
for (const x of [VERIFY, APPRAISE])
  console.log(
    `${x} / evmctl: wall ${ratio(x, 'wall')}, CPU ${ratio(x, 'cpu')} (goal <= 1); median of per-run ratios: wall ${pairRatio(x, 'wall')}, CPU ${pairRatio(x, 'cpu')}; peak RSS ${med(x, 'rssMB').toFixed(0)} MB`,
  );
console.log(
  `cache-miss appraise (the first with this ${N}-path policy; it writes the cache entry): ${miss.wall.toFixed(2)} s wall, ${miss.cpu.toFixed(2)} CPU-s, peak RSS ${miss.rssMB.toFixed(0)} MB; load then: ${missLoad}`,
);
console.log(
  'mrstack folds the mr_ima banks on 3 worker threads (sha1, sha256, sha384; started while the bundle is parsed), its main thread checks the records, loads the policy and judges; the sha384 hashes of template data are shared out to the threads with nothing left to do (the extends stay one chain); evmctl is one thread',
);
