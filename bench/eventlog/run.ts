/**
 * bench/eventlog: the commands users run, whole process, against the peers on the same generated
 * files, interleaved in one invocation so machine noise hits every tool alike:
 *
 * - IMA: `mrstack log replay LIST --ima-banks sha1,sha256 --json` vs `evmctl ima_measurement`
 *   with the same two banks (both check every template hash and replay PCR10 in both banks);
 * - TCG: `mrstack log replay LOG --json` vs `tpm2_eventlog LOG` (both replay every bank the log
 *   carries; tpm2_eventlog's output goes to /dev/null).
 *
 * Every process runs under `/usr/bin/time` for wall time, CPU seconds (user + system) and peak
 * RSS; every mrstack result is checked against the generator's values, every evmctl run must
 * match them. Prints medians and mrstack/peer ratios, and `uptime` before and after (other
 * work on the machine moves the figures: compare ratios, not seconds).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/eventlog/run.js [--entries 1000000] [--runs 5]
 *
 * Generated files go to bench/out/ (git-ignored) and are reused when present.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateImaList } from './gen_ima.js';
import { generateTcgLog } from './gen_tcg.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = opt('entries', 1_000_000);
const RUNS = opt('runs', 5);
const OUT = 'bench/out';
mkdirSync(OUT, { recursive: true });

function cached<T>(jsonPath: string, make: () => T): T {
  if (existsSync(jsonPath)) return JSON.parse(readFileSync(jsonPath, 'utf8')) as T;
  const v = make();
  writeFileSync(jsonPath, JSON.stringify(v));
  return v;
}

const imaFile = `${OUT}/ima-ng-${N}.bin`;
const tcgFile = `${OUT}/tcg-${N}.bin`;
process.stderr.write(`generating (or reusing) ${imaFile} and ${tcgFile}…\n`);
const ima = cached(`${imaFile}.json`, () => generateImaList(N, imaFile));
const tcg = cached(`${tcgFile}.json`, () => generateTcgLog(N, tcgFile));

function pcrFile(path: string, hex: string): string {
  let s = '';
  for (let i = 0; i < 24; i++) {
    s += `PCR-${String(i).padStart(2, '0')}: ${i === 10 ? hex : '00'.repeat(hex.length / 2)}\n`;
  }
  writeFileSync(path, s);
  return path;
}
const f1 = pcrFile(`${OUT}/pcrs-sha1.txt`, ima.sha1);
const f256 = pcrFile(`${OUT}/pcrs-sha256.txt`, ima.sha256);

/** One process run: wall and CPU seconds, peak RSS, exit status, stdout. */
interface Run {
  readonly wall: number;
  readonly cpu: number;
  readonly rssMB: number;
  readonly status: number | null;
  readonly stdout: string;
}

const TIME_FORMAT = 'mrstack-bench-time %e %U %S %M';

function timed(cmd: string, argv: readonly string[], keepStdout: boolean): Run {
  const r = spawnSync('/usr/bin/time', ['-f', TIME_FORMAT, cmd, ...argv], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', keepStdout ? 'pipe' : 'ignore', 'pipe'],
  });
  const m = /mrstack-bench-time ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  if (m === null) throw new Error(`no timing from ${cmd}: ${r.stderr}`);
  return {
    wall: Number(m[1]),
    cpu: Number(m[2]) + Number(m[3]),
    rssMB: Number(m[4]) / 1024,
    status: r.status,
    stdout: keepStdout ? r.stdout : '',
  };
}

const cliPath = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
function mrstackCli(
  argv: readonly string[],
): Run & { registers: Record<string, Record<string, string>> } {
  const r = timed(process.execPath, [cliPath, ...argv], true);
  if (r.status !== 0) throw new Error(`mrstack ${argv.join(' ')} failed (${r.status})`);
  const j = JSON.parse(r.stdout) as { registers: Record<string, Record<string, string>> };
  return { ...r, registers: j.registers };
}

const rows = new Map<string, Run[]>();
const record = (name: string, r: Run): void => {
  rows.set(name, [...(rows.get(name) ?? []), r]);
};
const fail = (what: string): never => {
  throw new Error(`wrong result: ${what}`);
};

const EVMCTL = 'evmctl ima_measurement, sha1+sha256';
const IMA = 'mrstack log replay --ima-banks sha1,sha256';
const TPM2 = 'tpm2_eventlog (TCG, output discarded)';
const TCG = 'mrstack log replay (TCG, all banks)';

const uptime = (): string => execFileSync('uptime', { encoding: 'utf8' }).trim();
const before = uptime();
for (let run = 0; run < RUNS; run++) {
  process.stderr.write(`run ${run + 1}/${RUNS}\n`);
  const ev = timed(
    'evmctl',
    ['ima_measurement', '--pcrs', `sha1,${f1}`, '--pcrs', `sha256,${f256}`, imaFile],
    false,
  );
  if (ev.status !== 0) fail('evmctl did not match the generated PCR10 values');
  record(EVMCTL, ev);
  const cli = mrstackCli(['log', 'replay', imaFile, '--ima-banks', 'sha1,sha256', '--json']);
  const c10 = cli.registers['pcr10'];
  if (c10?.['sha1'] !== ima.sha1 || c10['sha256'] !== ima.sha256) fail('mrstack CLI IMA');
  record(IMA, cli);
  const tt = timed('tpm2_eventlog', [tcgFile], false);
  if (tt.status !== 0) fail('tpm2_eventlog');
  record(TPM2, tt);
  const t = mrstackCli(['log', 'replay', tcgFile, '--json']);
  for (const [pcr, v] of Object.entries(tcg.pcrs)) {
    const got = t.registers[pcr];
    if (got?.['sha256'] !== v.sha256 || got['sha1'] !== v.sha1) fail(`tcg ${pcr}`);
  }
  record(TCG, t);
}
const after = uptime();

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const med = (name: string, k: 'wall' | 'cpu' | 'rssMB'): number =>
  median(rows.get(name)!.map((r) => r[k]));

console.log(`\nbench/eventlog — ${N} entries/events, ${RUNS} interleaved runs, medians`);
console.log(`(every result checked; each process timed by /usr/bin/time)`);
console.log(`load before: ${before}`);
console.log(`load after:  ${after}\n`);
console.log(
  `${'command'.padEnd(46)} ${'wall s'.padStart(7)} ${'CPU s'.padStart(7)} ${'peak RSS'.padStart(9)}`,
);
for (const name of rows.keys()) {
  console.log(
    `${name.padEnd(46)} ${med(name, 'wall').toFixed(2).padStart(7)} ${med(name, 'cpu').toFixed(2).padStart(7)} ${`${med(name, 'rssMB').toFixed(0)} MB`.padStart(9)}`,
  );
}
const ratio = (a: string, b: string, k: 'wall' | 'cpu'): string =>
  (med(a, k) / med(b, k)).toFixed(2);
// the same ratio per interleaved run (the pair ran back to back), then its median
const pairRatio = (a: string, b: string, k: 'wall' | 'cpu'): string =>
  median(rows.get(a)!.map((r, i) => r[k] / rows.get(b)![i]![k])).toFixed(2);
console.log('');
console.log(
  `IMA, mrstack / evmctl: wall ${ratio(IMA, EVMCTL, 'wall')}, CPU ${ratio(IMA, EVMCTL, 'cpu')} (goal <= 0.5, RSS < 150 MB: ${med(IMA, 'rssMB').toFixed(0)} MB); median of per-run ratios: wall ${pairRatio(IMA, EVMCTL, 'wall')}, CPU ${pairRatio(IMA, EVMCTL, 'cpu')}`,
);
console.log(
  `TCG, mrstack / tpm2_eventlog: wall ${ratio(TCG, TPM2, 'wall')}, CPU ${ratio(TCG, TPM2, 'cpu')} (goal <= 0.4); median of per-run ratios: wall ${pairRatio(TCG, TPM2, 'wall')}, CPU ${pairRatio(TCG, TPM2, 'cpu')}`,
);
// replayLogs hashes the second bank on a worker thread when the machine has two cores.
console.log(
  `mrstack IMA ran on 2 threads (bank worker); CPU/wall ${(med(IMA, 'cpu') / med(IMA, 'wall')).toFixed(2)}`,
);
