// The result page in a real browser: Debian's chromium, driven by playwright-core (no browser
// download), loads the page from a file with the network cut off, takes a screenshot, and the
// assertions read the rendered DOM — verdict text, tiers, the highlighted first divergent
// record, the EAR's decoded claims — not the HTML string.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Finding } from '../../../src/verifier/appraise/finding.js';
import { issueEar } from '../../../src/verifier/result/ear_issue.js';
import { generateEarKey, loadSigningKey } from '../../../src/verifier/result/ear_keys.js';
import { renderResultHtml } from '../../../src/verifier/result/result_html.js';
import { tempDir } from '../../_support/tmp.js';
import { CHROMIUM, openChromium } from '../../_support/chromium.js';

/** The few browser globals the page-side callbacks use (the test compiles without the DOM lib). */
interface Win {
  getComputedStyle(e: unknown): { backgroundColor: string };
  document: { body: { dataset: Record<string, string | undefined> } };
}
const R1 = 'aa'.repeat(48);
const R1_EXPECTED = 'bb'.repeat(48);

const findings: Finding[] = [
  { id: 'nonce.match', status: 'affirming', claim: 'report_data', where: { layer: 'report' } },
  {
    id: 'tdx.td.not-debug',
    status: 'affirming',
    claim: 'td_attributes.debug',
    where: { layer: 'report' },
  },
  { id: 'tdx.mrtd.match', status: 'affirming', claim: 'mrtd', where: { layer: 'report' } },
  // Two log findings: the vMR one comes first in the list, the firmware-log one is lower in the
  // layer order — the page must highlight the firmware-log record.
  {
    id: 'tenant.event.not-allowed',
    status: 'contraindicated',
    claim: 'acme load <img src=x onerror="document.body.dataset.pwned=1">',
    where: { layer: 'tenant', log: 'tenant/acme', record: 3 },
    message: '<script>document.body.dataset.pwned = 1</script> not allowed',
  },
  {
    id: 'replay.rtmr1.mismatch',
    status: 'contraindicated',
    claim: 'rtmr1',
    expected: [R1_EXPECTED],
    actual: R1,
    where: { layer: 'firmware-log', log: 'ccel', record: 41, offset: 0x1a4 },
  },
];

test(
  'the result page renders in chromium: verdict, tiers, chain, first divergence, EAR claims; nothing escapes',
  { timeout: 300_000 },
  async (t) => {
    assert.ok(existsSync(CHROMIUM), 'Debian chromium is installed (scripts/test.sh installs it)');
    const dir = tempDir(t, 'result-page-');
    const key = await loadSigningKey(
      new Uint8Array(Buffer.from(generateEarKey('ES256').export({ format: 'pem', type: 'pkcs8' }))),
    );
    const appraisal = {
      status: 'contraindicated' as const,
      findings,
      policyId: 'demo@sha256:0123',
      kind: 'tdx' as const,
      at: '2026-06-01T12:00:00.000Z',
      ima: {
        entries: 10,
        matched: 7,
        signed: 0,
        excluded: 2,
        unknown: 1,
        mismatched: 0,
        violations: 0,
      },
    };
    const proven = {
      signature: 'ok',
      nonce: 'ok',
      tcb: 'skipped',
      relaxed: [],
      skipped: {},
    } as const;
    const issued = await issueEar([{ appraisal, proven }], key, {
      at: new Date(appraisal.at),
      nonce: new Uint8Array(32).fill(1),
    });
    const html = renderResultHtml({
      appraisal,
      support: proven,
      chain: [
        { role: 'anchor', subject: 'Intel SGX Root CA', detail: 'SPKI SHA-256 00ff' },
        { role: 'intermediate', subject: 'Intel SGX PCK Platform CA' },
        { role: 'leaf', subject: 'PCK certificate <b>x</b>' },
      ],
      replay: {
        registers: [
          {
            name: 'rtmr1',
            alg: 'sha384',
            value: new Uint8Array(48).fill(0xaa),
            proof: 'ok',
            layer: 'firmware-log',
          },
        ],
        tenantEvents: [],
      },
      ear: { claims: issued.claims, token: issued.token },
    });
    const file = join(dir, 'result.html');
    writeFileSync(file, html);

    // Closed (30 s, then killed) and its profile removed by a hook of its own.
    const context = await openChromium(t);
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href);
    const shot = join(dir, 'result.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(png.length > 10_000, `screenshot has content (${png.length} bytes)`);

    // The only request is the page itself: no external asset, nothing fetched.
    assert.deepEqual(requests, [pathToFileURL(file).href]);
    // Verdict at the top, as rendered text.
    assert.equal((await page.locator('#verdict').innerText()).trim(), 'CONTRAINDICATED');
    const verdictBox = await page.locator('#verdict').boundingBox();
    assert.ok(verdictBox !== null && verdictBox.y < 100, 'the verdict is at the top');
    // Tiers per claim: debug is affirmed off but the TCB was skipped (configuration 0 = none);
    // the tenant event and RTMR1 give executables 96.
    const tier = (c: string): Promise<string | null> =>
      page.locator(`.claim[data-claim="${c}"]`).getAttribute('data-tier');
    assert.equal(await tier('executables'), 'contraindicated');
    assert.equal(await tier('configuration'), 'none');
    assert.equal(await tier('hardware'), 'none');
    assert.equal(await tier('instance-identity'), 'affirming');
    assert.equal(await tier('runtime-opaque'), 'affirming');
    // The evidence chain, anchor → intermediate → leaf, with the leaf's markup shown as text.
    assert.deepEqual(
      await Promise.all(
        (await page.locator('#chain > div').all()).map((l) => l.getAttribute('data-role')),
      ),
      ['anchor', 'intermediate', 'leaf'],
    );
    assert.match(
      await page.locator('#chain [data-role="leaf"]').innerText(),
      /PCK certificate <b>x<\/b>/,
    );
    // Exactly one highlighted record: the firmware-log one, with its expected and actual values.
    const hl = page.locator('.divergent');
    assert.equal(await hl.count(), 1);
    assert.equal(await hl.getAttribute('data-finding'), 'replay.rtmr1.mismatch');
    const hlText = await hl.innerText();
    assert.ok(
      hlText.includes(R1) && hlText.includes(R1_EXPECTED) && hlText.includes('record 41'),
      hlText,
    );
    const bg = await hl.evaluate(
      (e) => (globalThis as unknown as Win).getComputedStyle(e).backgroundColor,
    );
    assert.notEqual(bg, 'rgba(0, 0, 0, 0)', 'the highlighted row is painted');
    // IMA counts.
    assert.equal(await page.locator('#ima [data-count="unknown"]').innerText(), '1');
    assert.equal(await page.locator('#ima [data-count="matched"]').innerText(), '7');
    // The EAR's decoded claims.
    const earText = await page.locator('#ear').innerText();
    assert.match(earText, /tag:github\.com,2023:veraison\/ear/);
    assert.match(earText, /submod tdx\s+contraindicated/);
    // Hostile strings from the evidence stayed text: no element was injected, no script ran.
    assert.equal(
      await page.evaluate(
        () => (globalThis as unknown as Win).document.body.dataset['pwned'] ?? null,
      ),
      null,
    );
    assert.equal(await page.locator('main img, main script').count(), 0);
    assert.match(
      await page.locator('[data-finding="tenant.event.not-allowed"]').innerText(),
      /<script>document\.body/,
    );
  },
);
