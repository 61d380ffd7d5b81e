/**
 * bench/evidence/front_door: what loading the evidence front door costs, this build against
 * another (`--base DIR`: a checkout with its own `dist/`, e.g. main before the verifiers were
 * loaded per kind), interleaved run by run:
 *
 * - `import`: a fresh Node process imports the front door the CLI's `evidence verify` imports
 *   (`verify/evidence_dispatch.js` + `verify/evidence_input.js` where they exist, else
 *   `verify/evidence.js`) and reports the CPU its import took (`process.cpuUsage`);
 * - `verify tdx`: `mrstack evidence verify` of a real TDX quote with its collateral (the
 *   dcap-qvl capture in test/fixtures, `--at` its collateral's time) under `/usr/bin/time`;
 * - `verify tpm`: the same for a go-tpm-tools attestation (GCE capture), the kind whose
 *   verifier needs protobufjs.
 *
 * Every verify run must exit 0 with `verified: true` (else the bench fails). Printed: each run's
 * CPU ms with the load average, the medians per build and the ratio this/base.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/evidence/front_door.js --base /path/to/main \
 *     [--runs 7] [--json]
 *
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const strOpt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(strOpt('runs') ?? 7);
const BASE = strOpt('base');
const JSON_OUT = args.includes('--json');
const HERE = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const fx = (...p: string[]): string => join(HERE, 'test', 'fixtures', 'evidence', ...p);

const CASES: Record<string, readonly string[]> = {
  'verify tdx': [
    fx('tdx', 'dcapqvl-v4-b0c06f.quote.bin'),
    '--collateral', fx('tdx', 'dcapqvl-v4-b0c06f.collateral.json'),
    '--at', '2025-07-19T10:00:34Z', '--relax', 'nonce', '--json',
  ], // prettier-ignore
  'verify tpm': [
    fx('tpm', 'gotpm-gce-cos85-no-nonce.attestation.pb'),
    '--cert', fx('tpm', 'gce-tpm-ek-intermediate-2.crt'),
    '--trust-anchor', fx('tpm', 'gce-tpm-ek-root-1.cer'),
    '--relax', 'nonce', '--at', '2024-06-01T00:00:00Z', '--json',
  ], // prettier-ignore
};

/** The CPU ms a fresh process spends importing the build's front door. */
function importCpuMs(root: string): number {
  const v = join(root, 'dist', 'src', 'verifier', 'verify');
  const mods = existsSync(join(v, 'evidence_dispatch.js'))
    ? [join(v, 'evidence_dispatch.js'), join(v, 'evidence_input.js')]
    : [join(v, 'evidence.js')];
  const code = `const c0 = process.cpuUsage();
for (const m of ${JSON.stringify(mods)}) await import(m);
const c = process.cpuUsage(c0);
console.log((c.user + c.system) / 1000);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    encoding: 'utf8',
  });
  return Number(out.trim());
}

/** One CLI run under /usr/bin/time: CPU ms (user + sys) and wall ms; fails unless verified. */
function cliRun(root: string, argv: readonly string[]): { cpuMs: number; wallMs: number } {
  const cli = join(root, 'dist', 'src', 'cli', 'main.js');
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', 'bench-time %e %U %S', process.execPath, cli, 'evidence', 'verify', ...argv],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const m = /bench-time ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (m === null) throw new Error(`no timing: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { verified?: boolean };
  if (r.status !== 0 || j.verified !== true)
    throw new Error(`${root}: evidence verify ${argv[0]} did not verify (exit ${r.status})`);
  return { cpuMs: (Number(m[2]) + Number(m[3])) * 1000, wallMs: Number(m[1]) * 1000 };
}

interface Row {
  readonly build: 'this' | 'base';
  readonly what: string;
  readonly cpuMs: number;
  readonly wallMs?: number;
  readonly load: string;
}
const builds: ['this' | 'base', string][] = [['this', HERE]];
if (BASE !== undefined) builds.push(['base', resolve(BASE)]);
const rows: Row[] = [];
for (let r = 0; r < RUNS; r++) {
  // alternate which build goes first, so that neither always runs on a warmer cache
  const order = r % 2 === 0 ? builds : [...builds].reverse();
  for (const [build, root] of order) {
    rows.push({ build, what: 'import', cpuMs: importCpuMs(root), load: load() });
    for (const [what, argv] of Object.entries(CASES))
      rows.push({ build, what, ...cliRun(root, argv), load: load() });
  }
  process.stderr.write(`run ${r + 1}/${RUNS} (load ${load()})\n`);
}

const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1
    ? s[(s.length - 1) / 2]!
    : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const whats = ['import', ...Object.keys(CASES)];
const medians: Record<string, Record<string, number>> = {};
for (const [build] of builds)
  for (const w of whats)
    (medians[w] ??= {})[build] = +med(
      rows.filter((x) => x.build === build && x.what === w).map((x) => x.cpuMs),
    ).toFixed(1);
const ratios = Object.fromEntries(
  whats
    .filter((w) => medians[w]?.['base'] !== undefined)
    .map((w) => [w, +(medians[w]!['this']! / medians[w]!['base']!).toFixed(3)]),
);
const summary = {
  runs: RUNS,
  median_cpu_ms: medians,
  ratio_this_to_base: ratios,
  rows,
  load_end: load(),
};
if (JSON_OUT) console.log(JSON.stringify(summary, null, 2));
else {
  for (const w of whats)
    console.log(
      `${w.padEnd(11)} median CPU ms: ${Object.entries(medians[w]!)
        .map(([b, v]) => `${b} ${v}`)
        .join(', ')}${ratios[w] === undefined ? '' : `  (this/base ${ratios[w]})`}`,
    );
  console.log(`load at end: ${summary.load_end}`);
}
