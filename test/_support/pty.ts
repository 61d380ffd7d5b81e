/**
 * Runs the built CLI on a pseudo-terminal of a given width (`script` from util-linux/bsdutils
 * allocates it; `stty cols` sets its size) and returns the screen as lines.
 */
import { spawn } from 'node:child_process';
import { CLI_PATH } from './paths.js';

/** What a run on a pseudo-terminal printed (stdout and stderr share the terminal). */
export interface PtyResult {
  readonly code: number | null;
  /** The screen, one entry per line, without the terminal's carriage returns. */
  readonly lines: readonly string[];
  readonly raw: string;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** `mrstack ...args` on a `columns`-wide pseudo-terminal. */
export function runCliPty(
  args: readonly string[],
  columns = 100,
  env: Readonly<Record<string, string>> = {},
): Promise<PtyResult> {
  const cmd = `stty cols ${columns} rows 50; exec ${quote(process.execPath)} ${quote(CLI_PATH)} ${args.map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    // -e: the child's exit code; -q: no "Script started" banner; the typescript file is /dev/null.
    const child = spawn('script', ['-qec', cmd, '/dev/null'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000, // generous: the machine may be loaded
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const raw = Buffer.concat(out).toString('utf8');
      const lines = raw.replace(/\r\n/g, '\n').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      resolve({ code, lines, raw });
    });
  });
}

/** Columns a screen line takes (one per code point: the CLI prints no wide characters). */
export function columnsOf(line: string): number {
  return Array.from(line).length;
}
