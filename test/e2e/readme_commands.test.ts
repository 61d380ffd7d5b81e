// README's commands run as written (issue 18): every command in a ```sh block runs, in order, in
// one bash per block against the emulated default in a temp dir, and must exit 0 unless the table
// below says which code it exits with and why. Every line of a ```text synopsis block names
// commands that exist and options their --help lists. A README edit that breaks a command, or a
// CLI change that breaks the README, fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../_support/cli.js';
import { CLI_PATH, REPO_ROOT, fixture } from '../_support/paths.js';
import { tempDir } from '../_support/tmp.js';

/** A fenced block of README.md: its info string and its lines. */
interface Block {
  readonly lang: string;
  readonly lines: string[];
  readonly line: number;
}

function readmeBlocks(): Block[] {
  const text = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').split('\n');
  const out: Block[] = [];
  let cur: Block | undefined;
  text.forEach((l, i) => {
    const fence = /^```(\S*)\s*$/.exec(l);
    if (fence !== null) {
      if (cur === undefined) cur = { lang: fence[1] ?? '', lines: [], line: i + 2 };
      else {
        out.push(cur);
        cur = undefined;
      }
    } else if (cur !== undefined) cur.lines.push(l);
  });
  assert.equal(cur, undefined, 'README.md has an unclosed code block');
  return out;
}

/** Backslash-continued lines joined; blank and comment-only lines dropped. */
function commands(block: Block): string[] {
  const out: string[] = [];
  let acc = '';
  for (const l of block.lines) {
    if (l.endsWith('\\')) {
      acc += l.slice(0, -1) + ' ';
      continue;
    }
    const cmd = (acc + l).trim();
    acc = '';
    if (cmd !== '' && !cmd.startsWith('#')) out.push(cmd);
  }
  return out;
}

/** Commands the README shows that exit non-zero on the emulated default, by design. */
const EXPECTED_EXIT: readonly { match: RegExp; code: number; why: string }[] = [
  {
    match: /^mrstack appraise --eventlog \S*ascii_runtime_measurements/,
    code: 1,
    why: "a host's IMA log holds files keylime's test policy does not list: contraindicated",
  },
];

/** Commands not run here, each with the reason. */
const NOT_RUN: readonly { match: RegExp; why: string }[] = [
  { match: /^bash scripts\/test\.sh$/, why: 'it is this test suite (CI runs it as .ci/run)' },
];

/** README paths a user has and a temp dir does not: replaced by fixtures. */
function substitute(cmd: string, dir: string): string {
  // `/tmp/` first: the fixtures' own paths may lie under /tmp (a clone there, as CI may make).
  return cmd
    .replaceAll('/tmp/', `${dir}/`)
    .replaceAll('/sys/kernel/security/ima/ascii_runtime_measurements', IMA_LOG)
    .replaceAll(' runtime-policy.json', ` ${KEYLIME_POLICY}`)
    .replace(/^bash scripts\//, `bash ${REPO_ROOT}/scripts/`);
}

// PROVENANCE (eventlogs/ima): a rust-keylime agent's ima-ng list; appraisal/keylime: keylime's own
// runtime-policy test data.
const IMA_LOG = fixture(
  'eventlogs',
  'ima',
  'rust-keylime-agent-ima-ng-sha1.ascii_runtime_measurements',
);
const KEYLIME_POLICY = fixture('appraisal', 'keylime', 'runtime-policy-test.json');

/** A user's environment with its home, state and cache in `dir`: the default TVM is fresh. */
function readmeEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: join(dir, 'home'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_CACHE_HOME: join(dir, 'cache'),
  };
  delete env['MRSTACK_TVM_STATE'];
  return env;
}

interface Ran {
  readonly cmd: string;
  readonly code: number | undefined;
}

/** Runs one block's commands in one bash (shared variables), each exit code reported on fd 3. */
function runBlock(cmds: readonly string[], dir: string): Promise<{ ran: Ran[]; log: string }> {
  // `mrstack` is a program on PATH (not a shell function), so `mrstack … &` is the CLI itself.
  mkdirSync(join(dir, 'bin'));
  writeFileSync(
    join(dir, 'bin', 'mrstack'),
    `#!/bin/sh\nexec "${process.execPath}" "${CLI_PATH}" "$@"\n`,
    { mode: 0o755 },
  );
  const script = [
    `export PATH="${dir}/bin:$PATH"`,
    `cd "${dir}"`,
    ...cmds.flatMap((c, i) => [c, `printf '%s %s\\n' ${String(i)} $? >&3`]),
    // Anything the block left running in the background ends with it.
    'kill $(jobs -p) 2>/dev/null; wait',
  ].join('\n');
  const file = join(dir, 'block.sh');
  writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [file], {
      cwd: dir,
      env: readmeEnv(dir),
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
      timeout: 600_000,
    });
    let log = '';
    let codes = '';
    child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => (codes += b.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      // Whatever the block started and left behind ends with it (its pipes would hold `close`).
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    });
    child.on('close', () => {
      const byIndex = new Map<number, number>();
      for (const l of codes
        .trim()
        .split('\n')
        .filter((x) => x !== '')) {
        const [i, c] = l.split(' ').map(Number);
        byIndex.set(i!, c!);
      }
      resolve({ ran: cmds.map((cmd, i) => ({ cmd, code: byIndex.get(i) })), log });
    });
  });
}

test('every command in README.md sh blocks exits as the README says', async (t) => {
  const blocks = readmeBlocks().filter((b) => b.lang === 'sh');
  assert.ok(blocks.length >= 4, `README.md has ${String(blocks.length)} sh blocks`);
  const expectedUsed = new Set<RegExp>();
  const notRunUsed = new Set<RegExp>();
  for (const block of blocks) {
    const dir = tempDir(t, 'mrstack-readme-');
    const cmds: string[] = [];
    for (const c of commands(block)) {
      const skip = NOT_RUN.find((n) => n.match.test(c));
      if (skip !== undefined) notRunUsed.add(skip.match);
      else cmds.push(c);
    }
    if (cmds.length === 0) continue;
    const { ran, log } = await runBlock(
      cmds.map((c) => substitute(c, dir)),
      dir,
    );
    ran.forEach((r, i) => {
      const original = cmds[i]!;
      const exp = EXPECTED_EXIT.find((e) => e.match.test(original));
      if (exp !== undefined) expectedUsed.add(exp.match);
      const want = exp?.code ?? 0;
      assert.equal(
        r.code,
        want,
        `README.md block at line ${String(block.line)}: \`${original}\` exited ${String(r.code)}, expected ${String(want)}${exp ? ` (${exp.why})` : ''}\n${log}`,
      );
    });
  }
  // The tables name only commands that are in the README.
  for (const e of EXPECTED_EXIT) assert.ok(expectedUsed.has(e.match), `unused: ${String(e.match)}`);
  for (const n of NOT_RUN) assert.ok(notRunUsed.has(n.match), `unused: ${String(n.match)}`);
});

/** The command paths a synopsis line names: `log parse|replay FILE` → [log parse], [log replay]. */
function synopsisPaths(segment: string): string[][] {
  const words: string[] = [];
  for (const w of segment.split(/\s+/).slice(1)) {
    if (w === '' || /^[-[<…]/.test(w) || /^[A-Z]/.test(w) || w.includes('=')) break;
    words.push(w);
  }
  const alts = words.join(' ').split('|');
  if (alts.length === 1 && alts[0] === '') return [[]];
  const first = alts[0]!.split(' ');
  const prefix = first.length > 1 ? first.slice(0, -1) : [];
  return alts.map((a, i) => (i === 0 ? first : [...prefix, ...a.trim().split(' ')]));
}

test('every synopsis line of README.md names commands and options that exist', async () => {
  const blocks = readmeBlocks().filter((b) => b.lang === 'text');
  assert.ok(blocks.length >= 2);
  const helps = new Map<string, string>();
  const help = async (path: string[]): Promise<string> => {
    const key = path.join(' ');
    let h = helps.get(key);
    if (h === undefined) {
      const r = await runCli([...path, '--help']);
      assert.equal(r.code, 0, `mrstack ${key} --help exited ${String(r.code)}: ${r.stderr}`);
      h = r.stdout;
      helps.set(key, h);
    }
    return h;
  };
  let checked = 0;
  for (const block of blocks) {
    for (const line of commands(block)) {
      for (const segment of line.replace(/\s+#.*$/, '').split(' ; ')) {
        if (!segment.startsWith('mrstack')) continue;
        const paths = synopsisPaths(segment);
        const texts = await Promise.all(paths.map(help));
        for (const flag of segment.match(/--[a-z][a-z0-9-]*/g) ?? []) {
          if (flag === '--help') continue;
          assert.ok(
            texts.some((h) => h.includes(flag)),
            `README.md: \`${segment}\`: no \`mrstack ${paths.map((p) => p.join(' ')).join('|')} --help\` lists ${flag}`,
          );
        }
        checked++;
      }
    }
  }
  assert.ok(checked >= 15, `only ${String(checked)} synopsis commands checked`);
});
