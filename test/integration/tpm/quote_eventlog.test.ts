// `evidence verify QUOTE --eventlog TCG_LOG` on swtpm (issue 18): the test extends PCR 12 of the
// sha256 bank with tpm2_pcrextend (tpm2-tools) by the digests of a TCG log it writes, quotes
// PCR 12 with mrstack, and verifies the quote with the AK pinned: the log replays to the quoted
// PCR 12. A log whose last record differs from what was extended fails, naming pcr12 and that
// record. The same verify --json, given to `log replay --expect`, checks the log the same way.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeTcgLog } from '../../../src/eventlog/tcg2_writer.js';
import { runCli, runCliJson } from '../../_support/cli.js';
import { startSwtpmFixture, type SwtpmFixture } from './swtpm_fixture.js';

let fx: SwtpmFixture;
before(async () => {
  fx = await startSwtpmFixture();
});
after(async () => {
  await fx.stop();
});

const EV_IPL = 0x0d;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

interface Out {
  verified: boolean;
  errors: { code: string; register?: string; record?: number }[];
  eventlog: { registers: { register: string; alg: string; proof: string }[] };
}

test('a TPM quote with its TCG log: PCR 12 replays to the quoted value; a changed record fails', async () => {
  const data = ['kernel cmdline: quiet', 'initrd sha256:…', 'grub.cfg'].map(text);
  for (const d of data) {
    const h = createHash('sha256').update(d).digest('hex');
    fx.tool('tpm2_pcrextend', [`12:sha256=${h}`]);
  }
  const good = join(fx.dir, 'good.log');
  const bad = join(fx.dir, 'bad.log');
  writeFileSync(
    good,
    encodeTcgLog(
      ['sha256'],
      data.map((d) => ({ pcr: 12, type: EV_IPL, data: d })),
    ),
  );
  const changed = [...data.slice(0, 2), text('grub.cfg (edited)')];
  writeFileSync(
    bad,
    encodeTcgLog(
      ['sha256'],
      changed.map((d) => ({ pcr: 12, type: EV_IPL, data: d })),
    ),
  );

  const quote = join(fx.dir, 'quote.json');
  const rep = await runCli([
    'report', '--provider', 'tpm', '--swtpm', fx.address, '--pcr-list', 'sha256:12',
    '--nonce', 'abcd', '--out', quote,
  ]); // prettier-ignore
  assert.equal(rep.code, 0, rep.stderr);
  // The caller pins the AK (here: the envelope's bytes, as a caller that learned them out of band).
  const env = JSON.parse(readFileSync(quote, 'utf8')) as { parts: { ak_public: string } };
  const ak = join(fx.dir, 'ak.tpmt');
  writeFileSync(ak, Buffer.from(env.parts.ak_public, 'hex'));
  const verify = (log: string): ReturnType<typeof runCliJson> =>
    runCliJson([
      'evidence',
      'verify',
      quote,
      '--nonce',
      'abcd',
      '--ak',
      ak,
      '--eventlog',
      log,
      '--json',
    ]);

  const ok = await verify(good);
  assert.equal(ok.result.code, 0, ok.result.stdout);
  assert.deepEqual(
    (ok.json as Out).eventlog.registers.map((r) => [r.register, r.alg, r.proof]),
    [['pcr12', 'sha256', 'ok']],
  );
  const no = await verify(bad);
  assert.equal(no.result.code, 1);
  const j = no.json as Out;
  assert.equal(j.verified, false);
  // Records: 0 is the Spec ID header, 1-3 the three EV_IPL records.
  assert.deepEqual(
    j.errors.filter((e) => e.code === 'ERR_REPLAY_MISMATCH').map((e) => [e.register, e.record]),
    [['pcr12', 3]],
  );

  // `log replay --expect` takes the verify output: PCR 12 of the good log matches the quote.
  const evidence = join(fx.dir, 'verified.json');
  writeFileSync(evidence, ok.result.stdout);
  const same = await runCliJson(['log', 'replay', good, '--expect', evidence, '--json']);
  assert.equal(same.result.code, 0, same.result.stdout);
  assert.deepEqual((same.json as { expect: { matched: string[] } }).expect.matched, [
    'pcr12:sha256',
  ]);
  const other = await runCliJson(['log', 'replay', bad, '--expect', evidence, '--json']);
  assert.equal(other.result.code, 1);
  const e = (other.json as { error: { code: string; register: string; last_index: number } }).error;
  assert.deepEqual([e.code, e.register, e.last_index], ['ERR_REPLAY_MISMATCH', 'pcr12', 3]);
});
