/**
 * A started swtpm must not outlive the process that started it, however that process ends:
 * `mrstack tpm swtpm start` is SIGKILLed (no handler runs), and within a few seconds swtpm's
 * command and control ports refuse connections and its process is gone (the kernel kills it at
 * once; the 30 s bound leaves room for a loaded machine to run the checks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from '../../_support/paths.js';

/** True when a TCP connection to host:port is refused (nothing listens). */
function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/** True while a process with this pid exists (and is not a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Field 3, after the parenthesised command name, is the state; Z is a zombie.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('tpm swtpm start: SIGKILL of mrstack ends swtpm; its ports close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-swtpm-life-'));
  const child = spawn(
    process.execPath,
    [CLI_PATH, 'tpm', 'swtpm', 'start', '--state', join(dir, 'st'), '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let swtpmPid: number | undefined;
  try {
    let out = '';
    const info = await new Promise<{
      address: string;
      control: string;
      pid: number;
      dies_with_parent: boolean;
    }>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        try {
          resolve(JSON.parse(out) as never);
        } catch {
          /* more to come */
        }
      });
      child.once('exit', (c) => reject(new Error(`exited ${String(c)}: ${out}`)));
    });
    swtpmPid = info.pid;
    assert.equal(info.dies_with_parent, true, 'setpriv --pdeathsig is available here');
    const split = (a: string): [string, number] => [
      a.slice(0, a.lastIndexOf(':')),
      Number(a.slice(a.lastIndexOf(':') + 1)),
    ];
    const [host, port] = split(info.address);
    const [, ctrlPort] = split(info.control);
    assert.equal(await refused(host, port), false, 'swtpm listens before the kill');
    assert.equal(alive(info.pid), true);
    // The pid mrstack reports is swtpm's own (setpriv execs it in place).
    assert.match(readFileSync(`/proc/${info.pid}/cmdline`, 'latin1'), /^swtpm\0socket\0/);

    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const t0 = Date.now();
    let closed = false;
    while (Date.now() - t0 < 30_000) {
      if ((await refused(host, port)) && (await refused(host, ctrlPort)) && !alive(info.pid)) {
        closed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(closed, true, `swtpm (pid ${info.pid}) still up 30 s after its parent died`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // Never leave a swtpm behind, even when the assertion above failed.
    if (swtpmPid !== undefined && alive(swtpmPid)) process.kill(swtpmPid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
