// `mrstack log replay` on a terminal: a progress bar on stderr for a large log, stdout untouched.
// `script` (util-linux) gives the child a real pseudo-terminal as stderr; stdout goes to a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from '../../_support/paths.js';
import { runCli } from '../../_support/cli.js';

/**
 * A SHA-1-layout TCG log (PC Client PFP §10.2.1: pcrIndex, eventType, SHA-1 digest, eventSize,
 * event) of `n` EV_IPL records in PCR 8, each 200 bytes of data whose SHA-1 is its digest.
 * Returns the bytes and PCR 8 replayed here with node:crypto.
 */
function legacyLog(n: number): { bytes: Buffer; pcr8: string } {
  const rec = 32 + 200;
  const out = Buffer.alloc(n * rec);
  let pcr = Buffer.alloc(20);
  for (let i = 0; i < n; i++) {
    const at = i * rec;
    const data = Buffer.alloc(200, i & 0xff);
    data.writeUInt32LE(i, 0);
    const digest = createHash('sha1').update(data).digest();
    out.writeUInt32LE(8, at);
    out.writeUInt32LE(0x0d, at + 4); // EV_IPL
    digest.copy(out, at + 8);
    out.writeUInt32LE(200, at + 28);
    data.copy(out, at + 32);
    pcr = createHash('sha1')
      .update(Buffer.concat([pcr, digest]))
      .digest();
  }
  return { bytes: out, pcr8: pcr.toString('hex') };
}

test('log replay of a 9 MiB log on a terminal draws a bar to 100 % on stderr; stdout JSON is the same as without one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-progress-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const n = Math.ceil((9 * 1024 * 1024) / 232);
  const log = legacyLog(n);
  const file = join(dir, 'big.binary_bios_measurements');
  writeFileSync(file, log.bytes);
  const outFile = join(dir, 'out.json');

  const cmd = `'${process.execPath}' '${CLI_PATH}' log replay '${file}' --json > '${outFile}'`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const terminal = r.stdout;
  assert.match(terminal, /big\.binary_bios_measurements \[#{30}\] 100% \| 9\.0\/9\.0 MiB/);
  const onTerminal = JSON.parse(readFileSync(outFile, 'utf8')) as {
    events: number;
    registers: Record<string, Record<string, string>>;
  };
  assert.equal(onTerminal.events, n);
  assert.equal(onTerminal.registers['pcr8']?.['sha1'], log.pcr8);

  // Not a terminal: no bar, and the same JSON.
  const piped = await runCli(['log', 'replay', file, '--json']);
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stderr, /MiB|%/);
  assert.deepEqual(JSON.parse(piped.stdout), onTerminal);
});
