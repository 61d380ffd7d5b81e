/**
 * bench/eventlog: mrstack's IMA and TCG parse + replay against evmctl and tpm2_eventlog on the
 * same generated files, in one run (interleaved, so machine noise hits every tool alike).
 * Prints medians, mrstack/peer ratios and mrstack's peak RSS; checks every replayed value.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/eventlog/run.js [--entries 1000000] [--runs 3]
 *
 * Generated files go to bench/out/ (git-ignored) and are reused when present.
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateImaList } from './gen_ima.js';
import { generateTcgLog } from './gen_tcg.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = opt('entries', 1_000_000);
const RUNS = opt('runs', 3);
const OUT = 'bench/out';
const replayOne = fileURLToPath(new URL('./replay_one.js', import.meta.url));

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

function timeTool(cmd: string, argv: string[]): { seconds: number; status: number | null } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { stdio: 'ignore', maxBuffer: 0 });
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, status: r.status };
}

interface One {
  seconds: number;
  maxRssMB: number;
  result: {
    pcrs: Record<string, Record<string, string> | undefined>;
    templateHashMismatches?: number;
  };
}
function mrstack(mode: string, file: string, banks?: string): One {
  const r = spawnSync(
    process.execPath,
    [replayOne, mode, file, ...(banks === undefined ? [] : [banks])],
    {
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    },
  );
  if (r.status !== 0) throw new Error(`replay_one ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as One;
}

const cliPath = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
function mrstackCli(argv: string[]): {
  seconds: number;
  registers: Record<string, Record<string, string> | undefined>;
} {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cliPath, ...argv], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`mrstack ${argv.join(' ')} failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { registers: Record<string, Record<string, string>> };
  return { seconds, registers: j.registers };
}

const rows = new Map<string, { t: number[]; rss: number[] }>();
const record = (name: string, seconds: number, rss = 0): void => {
  const row = rows.get(name) ?? { t: [], rss: [] };
  row.t.push(seconds);
  row.rss.push(rss);
  rows.set(name, row);
};
const fail = (what: string): never => {
  throw new Error(`wrong result: ${what}`);
};

for (let run = 0; run < RUNS; run++) {
  process.stderr.write(`run ${run + 1}/${RUNS}\n`);
  const ev = timeTool('evmctl', [
    'ima_measurement',
    '--pcrs',
    `sha1,${f1}`,
    '--pcrs',
    `sha256,${f256}`,
    imaFile,
  ]);
  if (ev.status !== 0) fail('evmctl did not match the generated PCR10 values');
  record('evmctl ima_measurement (sha1+sha256)', ev.seconds);
  const both = mrstack('ima-parallel', imaFile, 'sha1,sha256');
  const p10 = both.result.pcrs['pcr10'];
  if (p10?.['sha1'] !== ima.sha1 || p10['sha256'] !== ima.sha256) {
    fail('mrstack both banks');
  }
  if (both.result.templateHashMismatches !== 0) fail('template hash mismatches');
  record('mrstack IMA sha1+sha256 (2 threads)', both.seconds, both.maxRssMB);
  const q = mrstack('ima-parallel', imaFile, 'sha256');
  if (q.result.pcrs['pcr10']?.['sha256'] !== ima.sha256) fail('mrstack sha256 bank');
  record('mrstack IMA quoted sha256 bank (2 threads)', q.seconds, q.maxRssMB);
  const sq = mrstack('ima-serial', imaFile, 'sha256');
  if (sq.result.pcrs['pcr10']?.['sha256'] !== ima.sha256) fail('mrstack serial sha256 bank');
  if (sq.result.templateHashMismatches !== 0) fail('template hash mismatches (serial)');
  record('mrstack IMA quoted sha256 bank (1 thread)', sq.seconds, sq.maxRssMB);
  const s = mrstack('ima-serial', imaFile, 'sha1,sha256');
  if (s.result.pcrs['pcr10']?.['sha256'] !== ima.sha256) fail('mrstack serial');
  record('mrstack IMA sha1+sha256 (1 thread)', s.seconds, s.maxRssMB);
  // The command a user runs, whole process (node start-up included), through the generic
  // registry + Replay path rather than the IMA-specialised one above.
  const cli = mrstackCli(['log', 'replay', imaFile, '--ima-banks', 'sha1,sha256', '--json']);
  const c10 = cli.registers['pcr10'];
  if (c10?.['sha1'] !== ima.sha1 || c10['sha256'] !== ima.sha256) fail('mrstack CLI IMA');
  record('mrstack log replay CLI, IMA sha1+sha256', cli.seconds);
  const tt = timeTool('tpm2_eventlog', [tcgFile]);
  if (tt.status !== 0) fail('tpm2_eventlog');
  record('tpm2_eventlog (TCG, output discarded)', tt.seconds);
  const t = mrstack('log', tcgFile);
  for (const [pcr, v] of Object.entries(tcg.pcrs)) {
    const got = t.result.pcrs[pcr];
    if (got?.['sha256'] !== v.sha256 || got['sha1'] !== v.sha1) fail(`tcg ${pcr}`);
  }
  record('mrstack TCG parse + replay (registry, stream)', t.seconds, t.maxRssMB);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const med = (name: string): number => median(rows.get(name)!.t);
console.log(`\nbench/eventlog — ${N} entries/events, ${RUNS} runs, medians (all values checked)\n`);
for (const [name, r] of rows) {
  const rss = Math.max(...r.rss);
  console.log(
    `${name.padEnd(48)} ${med(name).toFixed(2).padStart(7)} s  ${((med(name) / N) * 1e6).toFixed(2).padStart(6)} µs/entry${rss > 0 ? `  peak RSS ${rss.toFixed(0)} MB` : ''}`,
  );
}
const evm = med('evmctl ima_measurement (sha1+sha256)');
const ratio = (name: string): string => (med(name) / evm).toFixed(2);
console.log('');
console.log(
  `both banks, 1 thread / evmctl:    ${ratio('mrstack IMA sha1+sha256 (1 thread)')} (goal <= 1)`,
);
console.log(
  `quoted bank, 1 thread / evmctl:   ${ratio('mrstack IMA quoted sha256 bank (1 thread)')} (goal <= 0.5)`,
);
console.log(`both banks, 2 threads / evmctl:   ${ratio('mrstack IMA sha1+sha256 (2 threads)')}`);
console.log(
  `quoted bank, 2 threads / evmctl:  ${ratio('mrstack IMA quoted sha256 bank (2 threads)')}`,
);
console.log(
  `both banks, log replay CLI / evmctl: ${ratio('mrstack log replay CLI, IMA sha1+sha256')} (whole process)`,
);
const tcgName = 'mrstack TCG parse + replay (registry, stream)';
console.log(
  `TCG / tpm2_eventlog:              ${(med(tcgName) / med('tpm2_eventlog (TCG, output discarded)')).toFixed(2)} (${((med(tcgName) / N) * 1e6).toFixed(2)} µs/event; goal < 4)`,
);
