// The verifier service's dashboard in a real browser: `mrstack verifier serve` (embedded store,
// an emulated TDX trusted with --trust-emulated) receives two sessions' evidence — an emulated
// quote bound to its session's nonce (affirming) and one bound to another nonce (the appraisal
// contract says `nonce.mismatch`, contraindicated) — then Debian's chromium, driven by
// playwright-core (no browser download), loads `GET /` from the running service with the admin
// token, takes a screenshot, and the assertions read the rendered DOM: one row per result with
// its verdict and its non-affirming findings, one row per attester with its latest verdict, and
// the link to the failing result's own page, which renders its verdict.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli } from '../../_support/cli.js';
import { closeChromium, launchChromium } from '../../_support/chromium.js';
import {
  startVerifier,
  verifierEnv,
  verifierHttp,
  type ServedVerifier,
} from '../../_support/verifier_service.js';

const root = mkdtempSync(join(tmpdir(), 'mrstack-vdash-'));
const ENV = verifierEnv();
const AUTH = { authorization: `Bearer ${ENV.MRSTACK_VERIFIER_ADMIN_TOKEN}` };
const tvm = join(root, 'tvm');
let svc: ServedVerifier;

/** An emulated TDX report envelope bound to `nonce` (hex), as `mrstack report` writes it. */
async function report(nonce: string, name: string): Promise<Uint8Array> {
  const out = join(root, name);
  const r = await runCli([
    'report',
    '--provider',
    'emulated',
    '--tvm-state',
    tvm,
    '--nonce',
    nonce,
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return new Uint8Array(readFileSync(out));
}

/** A session for `attester`, answered with a report bound to `nonce` (default: its own). */
async function attest(attester: string, nonce?: string): Promise<Record<string, unknown>> {
  const s = await verifierHttp(svc.url, 'POST', '/v1/sessions', { attester_id: attester });
  assert.equal(s.status, 201);
  const bytes = await report(nonce ?? (s.json['nonce'] as string), `${attester}.json`);
  const r = await verifierHttp(
    svc.url,
    'POST',
    `/v1/sessions/${s.json['id'] as string}/evidence`,
    bytes,
  );
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
}

before(async () => {
  const init = await runCli(['emulate', 'init', '--profile', 'tdx', '--tvm-state', tvm]);
  assert.equal(init.code, 0, init.stderr);
  svc = await startVerifier(
    [
      '--listen',
      '127.0.0.1:0',
      '--store',
      `embedded:${join(root, 'store')}`,
      '--trust-emulated',
      '--tvm-state',
      tvm,
    ],
    ENV,
  );
});

after(async () => {
  await svc.stop();
  rmSync(root, { recursive: true, force: true });
});

/** The few browser globals the page-side callbacks use (the test compiles without the DOM lib). */
interface Doc {
  querySelectorAll(s: string): ArrayLike<{
    getAttribute(n: string): string | null;
    querySelector(s: string): { textContent: string | null } | null;
  }>;
}

test('GET / in headless chromium: a row per result with its verdict and findings, a row per attester, links to the result page', async () => {
  const good = await attest('vm-good');
  assert.equal(good['status'], 'affirming');
  const bad = await attest('vm-bad', randomBytes(32).toString('hex'));
  assert.equal(bad['passed'], false);

  // Without the admin token the dashboard is refused.
  assert.equal((await verifierHttp(svc.url, 'GET', '/')).status, 403);

  const profile = join(root, 'profile');
  const context = await launchChromium(profile, AUTH);
  try {
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const res = await page.goto(svc.url + '/');
    assert.equal(res?.status(), 200);
    const shot = join(root, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // Only the page itself was fetched: no script, stylesheet or image from anywhere.
    assert.deepEqual(requests, [svc.url + '/']);

    interface Row {
      key: string | null;
      cells: Record<string, string>;
    }
    const rows = (sel: string, key: string): Promise<Row[]> =>
      page.evaluate(
        ([s, k, cols]) => {
          const doc = (globalThis as unknown as { document: Doc }).document;
          return Array.from(doc.querySelectorAll(s), (tr) => ({
            key: tr.getAttribute(k),
            cells: Object.fromEntries(
              cols.map((c) => [
                c,
                (tr.querySelector(`[data-col="${c}"]`)?.textContent ?? '').trim(),
              ]),
            ),
          }));
        },
        [sel, key, ['id', 'kind', 'status', 'attester', 'passed', 'findings', 'link']] as const,
      );

    const results = await rows('#results tbody tr', 'data-result');
    assert.equal(results.length, 2);
    // Newest first: the failing one, then the affirming one.
    assert.deepEqual(
      results.map((r) => [r.key, r.cells['attester'], r.cells['status'], r.cells['passed']]),
      [
        [bad['result_id'], 'vm-bad', bad['status'], 'no'],
        [good['result_id'], 'vm-good', 'affirming', 'yes'],
      ],
    );
    assert.match(results[0]!.cells['findings']!, /nonce\.mismatch/);
    assert.equal(results[1]!.cells['findings'], 'none');

    const attesters = await rows('#attesters tbody tr', 'data-attester');
    assert.deepEqual(attesters.map((a) => [a.key, a.cells['status']]).sort(), [
      ['vm-bad', bad['status']],
      ['vm-good', 'affirming'],
    ]);

    // The failing result's link opens its page, which shows the same verdict.
    await page.click(`#results tr[data-result="${bad['result_id'] as string}"] a`);
    await page.waitForSelector('#verdict');
    assert.equal(await page.getAttribute('#verdict', 'data-status'), bad['status']);
    assert.equal(new URL(page.url()).pathname, `/results/${bad['result_id'] as string}`);
  } finally {
    await closeChromium(context, profile);
  }
});
