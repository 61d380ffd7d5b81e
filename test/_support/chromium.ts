// Debian's chromium, headless, driven by playwright-core (no downloaded browser): one launch for
// every browser test, with a fresh profile directory and nothing that reaches the network.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';

/** Where Debian's `chromium` package installs the browser (scripts/test.sh installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Launches headless chromium with its own profile directory (playwright passes it as
 * `--user-data-dir`); `headers` go with every request the pages make.
 */
export function launchChromium(
  profileDir: string,
  headers?: Readonly<Record<string, string>>,
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    ...(headers === undefined ? {} : { extraHTTPHeaders: { ...headers } }),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Closes what {@link launchChromium} opened, within `graceMs`: on a loaded machine chromium has
 * been seen never to finish closing (a test then hung 15 minutes in its after hook). Past the
 * grace period every process started with this profile directory is killed.
 */
export async function closeChromium(
  context: BrowserContext,
  profileDir: string,
  graceMs = 30_000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hung = await Promise.race([
    context.close().then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    }),
  ]);
  clearTimeout(timer);
  // Also when close() settled: it rejects when the connection drops first, and a browser left
  // running keeps the test file's process alive, so the whole run never ends.
  killProfileProcesses(profileDir);
  if (hung) await new Promise((r) => setTimeout(r, 500)); // SIGKILLed processes release files
}

/**
 * {@link launchChromium} with a profile directory of its own, closed and removed by one hook of
 * test `t`. One hook, because node:test runs a test's after hooks in the order they were added
 * and stops at the first that throws: a temp-dir removal registered before the close failed
 * (ENOTEMPTY, chromium still writing its profile), the close never ran, and the test file's
 * process waited on the live browser for ever.
 */
export async function openChromium(
  t: TestContext,
  headers?: Readonly<Record<string, string>>,
): Promise<BrowserContext> {
  const root = mkdtempSync(join(tmpdir(), 'mrstack-chromium-'));
  const profile = join(root, 'profile');
  const context = await launchChromium(profile, headers).catch((e: unknown) => {
    rmSync(root, { recursive: true, force: true });
    throw e;
  });
  t.after(
    async () => {
      await closeChromium(context, profile);
      rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
    { timeout: 90_000 },
  );
  return context;
}

/**
 * SIGKILLs every process whose command line names the profile directory (`--user-data-dir`),
 * and the process group each of them leads: playwright starts chromium in a group of its own,
 * and its zygote and renderers do not name the profile (left alive, they kept the profile
 * directory busy: ENOTEMPTY in the temp-dir cleanup).
 */
function killProfileProcesses(profileDir: string): void {
  const own = processGroup(process.pid);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(profileDir)) continue;
      const group = processGroup(Number(pid));
      if (group !== undefined && group !== own) process.kill(-group, 'SIGKILL');
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already, or not ours to read
    }
  }
}

/** The process group of `pid` (field 5 of /proc/PID/stat, after the parenthesised name). */
function processGroup(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const group = Number(fields[2]);
    return Number.isSafeInteger(group) && group > 1 ? group : undefined;
  } catch {
    return undefined;
  }
}
