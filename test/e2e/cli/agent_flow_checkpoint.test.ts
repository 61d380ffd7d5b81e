// End to end through the built CLI (issue 8): `agent start --compress-archives`, `agent
// checkpoint` leaves the closed segment gzip'ed (and `log replay` reads it), `evidence verify`
// names the checkpoints it verified, and a bundle served `--since` a checkpoint anchors as
// `trusted-checkpoint` with `--trusted-checkpoint SPEC|FILE`. The emulated TDX's firmware log
// (CCEL) travels in the bundle and is reported as extending nothing into RTMR3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { runCli, runCliJson } from '../../_support/cli.js';
import { appendStep, cliEvidence, cliVerify, startCliAgent } from '../../_support/agent_harness.js';

interface VerifyJson {
  verified: boolean;
  errors: { code: string }[];
  warnings: string[];
  claims: { layers: Record<string, Record<string, unknown>> };
}

let tvmDir = '';
async function verify(file: string, nonce: string, checkpoint?: string): Promise<VerifyJson> {
  return (await cliVerify(file, nonce, tvmDir, checkpoint)).json as VerifyJson;
}

const sha384 = (b: Uint8Array | string): Buffer => createHash('sha384').update(b).digest();
const replayLines = (start: Buffer, lines: string[]): Buffer =>
  lines.reduce<Buffer>(
    (v, l) => (l.startsWith('#') ? v : sha384(Buffer.concat([v, sha384(l)]))),
    start,
  );

test(
  'checkpoint → gzip archive; evidence --since verifies against a trusted checkpoint',
  { timeout: 600_000 },
  async (t) => {
    const {
      dir,
      run,
      tvm,
      sock: sockOf,
    } = await startCliAgent(t, 'e2e-agentcp', ['alice'], ['--compress-archives']);
    tvmDir = tvm;
    const sock = sockOf('alice');
    const append = (content: string): Promise<void> => appendStep(sock, content);
    await append('before checkpoint');
    const cp = await runCliJson(['agent', 'checkpoint', '--run-dir', run, '--json']);
    assert.equal((cp.json as { checkpoint: number }).checkpoint, 1);
    await append('after checkpoint');

    // the closed segment becomes gzip (in the background)
    const phys = join(run, 'log', 'physical');
    const gz = join(phys, 'rtmr3.000000.mrlog.gz');
    // a generous deadline: the background gzip runs at this machine's speed (5 s was tight)
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(gz) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(fs.existsSync(gz) && !fs.existsSync(join(phys, 'rtmr3.000000.mrlog')));
    const seg0 = gunzipSync(fs.readFileSync(gz)).toString('utf8').split('\n');
    seg0.pop();
    const seg1 = fs.readFileSync(join(phys, 'rtmr3.000001.mrlog'), 'utf8').split('\n');
    assert.equal(
      seg1[0],
      `CHECKPOINT 1 prev=sha384/${sha384(gunzipSync(fs.readFileSync(gz))).toString('hex')}`,
    );
    // `log replay` reads the .gz segment
    const rp = await runCliJson(['log', 'replay', gz, '--json']);
    assert.equal(rp.result.code, 0, rp.result.stderr);
    const before1 = replayLines(Buffer.alloc(48), seg0).toString('hex');
    assert.equal(
      (rp.json as { registers: Record<string, Record<string, string>> }).registers['rtmr3']![
        'sha384'
      ],
      before1,
    );

    // a full bundle (reads the archived segment): verifies, names checkpoint 1 with the value before it
    const n0 = randomBytes(32).toString('hex');
    const full = join(dir, 'full.json');
    assert.equal(await cliEvidence(sock, n0, full), 0);
    const v0 = await verify(full, n0);
    assert.equal(v0.verified, true, JSON.stringify(v0.errors));
    const p0 = v0.claims.layers['physical']!;
    assert.equal(p0['anchor'], 'reset');
    assert.deepEqual(p0['firmwareLog'], {
      format: 'ccel',
      events: 0,
      use: 'no-events-for-register',
    });
    const seen = p0['checkpoints'] as { seq: number; spec: string }[];
    assert.deepEqual(
      seen.map((c) => c.spec),
      [`1:sha384/${before1}`],
    );

    // served since checkpoint 1: anchored by the trusted checkpoint, as SPEC and as FILE
    const n1 = randomBytes(32).toString('hex');
    const since = join(dir, 'since.json');
    assert.equal(await cliEvidence(sock, n1, since, '--since', '1'), 0);
    const loose = await verify(since, n1);
    assert.equal(loose.claims.layers['physical']!['anchor'], 'unverified');
    const bySpec = await verify(since, n1, `1:sha384/${before1}`);
    assert.equal(bySpec.verified, true, JSON.stringify(bySpec.errors));
    assert.equal(bySpec.claims.layers['physical']!['anchor'], 'trusted-checkpoint');
    // the full bundle carries the firmware log (it anchors a log from BOOT); one served since a
    // checkpoint does not (its log is anchored at the checkpoint, never at the firmware log)
    const fwOf = (f: string): unknown =>
      (JSON.parse(fs.readFileSync(f, 'utf8')) as { firmware_log?: unknown }).firmware_log;
    assert.equal((fwOf(full) as { format?: string }).format, 'ccel');
    assert.equal(fwOf(since), null);
    assert.equal(bySpec.claims.layers['physical']!['firmwareLog'], undefined);
    const file = join(dir, 'cp1.json');
    fs.writeFileSync(file, JSON.stringify({ seq: 1, values: { sha384: before1 } }));
    const byFile = await verify(since, n1, file);
    assert.equal(byFile.claims.layers['physical']!['anchor'], 'trusted-checkpoint');
    // a checkpoint the log does not start at is refused
    const other = await verify(since, n1, `2:sha384/${before1}`);
    assert.equal(other.verified, false);
    assert.deepEqual(
      other.errors.map((e) => e.code),
      ['ERR_REPLAY_MISMATCH'],
    );
    // a malformed SPEC is bad input (exit 2)
    const bad = await runCli([
      'evidence',
      'verify',
      since,
      '--trust-emulated',
      '--tvm-state',
      tvm,
      '--trusted-checkpoint',
      '1:sha384/abc',
    ]);
    assert.equal(bad.code, 2);
  },
);
