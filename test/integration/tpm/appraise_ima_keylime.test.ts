// Issue 13, Must show: a TPM quote with its IMA list (`--eventlog`) against an imported keylime
// runtime policy. The test writes an ima-ng list itself (the kernel's binary layout: PCR, SHA-1
// template hash, template name, template data = d-ng "sha256:\0"‖digest and n-ng path\0, every
// length a little-endian u32) for three files it creates, extends PCR 10 of swtpm's sha256 bank
// with tpm2_pcrextend by SHA-256 of each entry's template data (the kernel's per-bank template
// digest), quotes PCR 10 with mrstack, and imports a keylime runtime policy v1 it wrote listing
// the files' SHA-256. `mrstack appraise QUOTE --ak AK --eventlog LIST --policy P` is affirming
// (exit 0); after one more file the policy does not list is measured and extended, the new quote
// gives `ima.file.unknown` naming that path and its entry index (exit 1).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runCliJson } from '../../_support/cli.js';
import { startSwtpmFixture, type SwtpmFixture } from './swtpm_fixture.js';

let fx: SwtpmFixture;
before(async () => {
  fx = await startSwtpmFixture();
});
after(async () => {
  await fx.stop();
});

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const field = (b: Buffer): Buffer => Buffer.concat([u32(b.length), b]);

/** One ima-ng entry and its template data (what PCR 10 is extended with). */
function imaNg(path: string, sha256: Buffer): { entry: Buffer; templateData: Buffer } {
  const templateData = Buffer.concat([
    field(Buffer.concat([Buffer.from('sha256:\0'), sha256])),
    field(Buffer.from(`${path}\0`)),
  ]);
  const name = Buffer.from('ima-ng');
  const entry = Buffer.concat([
    u32(10),
    createHash('sha1').update(templateData).digest(),
    u32(name.length),
    name,
    field(templateData),
  ]);
  return { entry, templateData };
}

interface Appraised {
  status: string;
  findings: {
    id: string;
    status: string;
    claim: string;
    where: { layer: string; record?: number };
  }[];
  ima?: { entries: number; matched: number; unknown: number };
}

test('TPM quote + IMA list vs an imported keylime policy: affirming; an unlisted file → ima.file.unknown', async () => {
  const files = ['/usr/bin/app', '/usr/lib/libapp.so', '/etc/app.conf'];
  const contents = files.map(() => randomBytes(64));
  const digests = contents.map((c) => createHash('sha256').update(c).digest());
  const bootAggregate = Buffer.alloc(32); // a bare swtpm: PCRs 0-7 are zero
  const entries = [
    imaNg('boot_aggregate', bootAggregate),
    ...files.map((f, i) => imaNg(f, digests[i]!)),
  ];
  for (const e of entries) {
    const h = createHash('sha256').update(e.templateData).digest('hex');
    fx.tool('tpm2_pcrextend', [`10:sha256=${h}`]);
  }
  const list = join(fx.dir, 'ima-1.bin');
  writeFileSync(list, Buffer.concat(entries.map((e) => e.entry)));

  // keylime runtime policy v1 (keylime/ima/ima.py's format) listing the boot aggregate and files
  const keylime = join(fx.dir, 'runtime-policy.json');
  writeFileSync(
    keylime,
    JSON.stringify({
      meta: { version: 1, generator: 0, timestamp: '2026-12-07 00:00:00' },
      release: 0,
      digests: {
        boot_aggregate: [`sha256:${bootAggregate.toString('hex')}`],
        ...Object.fromEntries(files.map((f, i) => [f, [digests[i]!.toString('hex')]])),
      },
      excludes: [],
      keyrings: {},
      ima: { ignored_keyrings: [], log_hash_alg: 'sha1', dm_policy: null },
      'ima-buf': {},
      'verification-keys': '',
    }),
  );
  const policy = join(fx.dir, 'policy.json');
  const imp = await runCli(['policy', 'import', '--from', 'keylime', keylime, '--out', policy]);
  assert.equal(imp.code, 0, imp.stderr);

  const quoteAndAppraise = async (
    tag: string,
    log: string,
  ): Promise<{ code: number | null; json: Appraised }> => {
    const quote = join(fx.dir, `quote-${tag}.json`);
    const nonce = randomBytes(16).toString('hex');
    const rep = await runCli([
      'report', '--provider', 'tpm', '--swtpm', fx.address, '--pcr-list', 'sha256:10',
      '--nonce', nonce, '--out', quote,
    ]); // prettier-ignore
    assert.equal(rep.code, 0, rep.stderr);
    // the caller pins the AK (learned out of band; here the envelope's bytes)
    const env = JSON.parse(readFileSync(quote, 'utf8')) as { parts: { ak_public: string } };
    const ak = join(fx.dir, `ak-${tag}.tpmt`);
    writeFileSync(ak, Buffer.from(env.parts.ak_public, 'hex'));
    const { result, json } = await runCliJson([
      'appraise', quote, '--ak', ak, '--nonce', nonce, '--eventlog', log, '--policy', policy,
      '--json',
    ]); // prettier-ignore
    return { code: result.code, json: json as Appraised };
  };

  const ok = await quoteAndAppraise('1', list);
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.equal(ok.json.status, 'affirming');
  const ids = ok.json.findings.map((f) => f.id);
  assert.ok(ids.includes('ima.log.allowed'), JSON.stringify(ids));
  assert.ok(ids.includes('replay.pcr10.match'), JSON.stringify(ids));
  assert.deepEqual([ok.json.ima?.entries, ok.json.ima?.matched, ok.json.ima?.unknown], [4, 4, 0]);

  // a file the policy does not list is measured (and extended, as the kernel would)
  const extra = imaNg('/opt/unlisted/evil', createHash('sha256').update('evil').digest());
  fx.tool('tpm2_pcrextend', [
    `10:sha256=${createHash('sha256').update(extra.templateData).digest('hex')}`,
  ]);
  const list2 = join(fx.dir, 'ima-2.bin');
  writeFileSync(list2, Buffer.concat([...entries.map((e) => e.entry), extra.entry]));
  const bad = await quoteAndAppraise('2', list2);
  assert.equal(bad.code, 1, JSON.stringify(bad.json));
  assert.equal(bad.json.status, 'contraindicated');
  const unknown = bad.json.findings.filter((f) => f.id === 'ima.file.unknown');
  assert.equal(unknown.length, 1, JSON.stringify(bad.json.findings));
  assert.equal(unknown[0]!.claim, '/opt/unlisted/evil');
  assert.equal(unknown[0]!.where.layer, 'ima');
  assert.equal(unknown[0]!.where.record, 4); // entries 0 (boot_aggregate) … 4
  // the list itself is proven: PCR 10 still replays to the quoted value
  assert.ok(bad.json.findings.some((f) => f.id === 'replay.pcr10.match'));
});
