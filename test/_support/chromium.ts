// Debian's chromium, headless, driven by playwright-core (no downloaded browser): one launch for
// every browser test, with a fresh profile directory and nothing that reaches the network.
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
